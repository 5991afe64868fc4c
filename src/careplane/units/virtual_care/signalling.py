"""The video call's signalling: a WebSocket per person at ``/virtual-care/visits/{id}/signal`` that
relays the WebRTC offer, answer and ICE candidates between a visit's two people. The media itself
flows browser to browser (peer to peer); the server never sees it.

Who may connect is decided as for the room's page (:func:`video_call.room`: the visit's patient,
checked in, and its booked clinician; audited), from the session cookie, and only from a page of
this site (the ``Origin`` must be this host: no other site can open a socket with a visitor's
cookie). Anyone else is accepted and closed at once with code 4403 and the reason.

The relay is in this process's memory, keyed by visit: enough for one app server. Running several
behind a load balancer needs the two sockets of a visit on the same server (sticky routing by
visit), or a shared relay (PostgreSQL LISTEN/NOTIFY, Redis); docs/units/virtual-care.md says so.

Messages are JSON objects of at most :data:`MAX_MESSAGE` characters whose ``type`` is one of
:data:`RELAYED`; the server adds ``ready`` (both are here; the clinician makes the offer) and
``peer-left``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied, CareplaneError, Conflict
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import actor_for, authenticate
from careplane.units.virtual_care.services import video_call
from careplane.units.virtual_care.services.video_call import Side

router = APIRouter(route_class=GuardedRoute)

REFUSED = 4403
#: A second connection of the same person to the same call replaces the first (a reloaded page).
REPLACED = 4409
MAX_MESSAGE = 64 * 1024
RELAYED = frozenset({"offer", "answer", "candidate", "bye"})


class Relay:
    """The open sockets of each visit's call, one per side (one event loop: no locks needed)."""

    def __init__(self) -> None:
        self.rooms: dict[uuid.UUID, dict[Side, WebSocket]] = {}

    async def join(self, visit_id: uuid.UUID, side: Side, socket: WebSocket) -> None:
        room = self.rooms.setdefault(visit_id, {})
        earlier = room.get(side)
        room[side] = socket
        if earlier is not None:
            await earlier.close(code=REPLACED, reason="Joined again from another page.")
        if len(room) == 2:
            for who, peer in room.items():
                await _send(peer, {"type": "ready", "offerer": who == "clinician"})

    async def leave(self, visit_id: uuid.UUID, side: Side, socket: WebSocket) -> None:
        room = self.rooms.get(visit_id, {})
        if room.get(side) is not socket:
            return  # replaced already
        del room[side]
        for peer in room.values():
            await _send(peer, {"type": "peer-left"})
        if not room:
            self.rooms.pop(visit_id, None)

    async def relay(self, visit_id: uuid.UUID, side: Side, message: dict[str, object]) -> None:
        for who, peer in self.rooms.get(visit_id, {}).items():
            if who != side:
                await _send(peer, message)


async def _send(peer: WebSocket, message: dict[str, object]) -> None:
    """Send to a peer; one that is going away meanwhile is left to its own loop to clean up."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await peer.send_json(message)


RELAY = Relay()


def _same_origin(socket: WebSocket) -> bool:
    origin = socket.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == socket.headers.get("host")


def _admit(db: Database, socket: WebSocket, visit_id: uuid.UUID) -> Side:
    """The side of the call this socket's person is on; refused (raises) for anyone else."""
    with db.unit_of_work() as session:
        who = authenticate(socket, session)
        if who is None or who.needs_mfa:
            raise AccessDenied("Log in to join the call.")
        who.refuse_unconfirmed()
        room = video_call.room(session, actor_for(socket, who, via="web"), visit_id)
        if reason := room.refusal:
            raise Conflict(reason)
        video_call.joined(session, room)
        return room.side


def _parsed(text: str) -> dict[str, object] | None:
    if len(text) > MAX_MESSAGE:
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) and message.get("type") in RELAYED else None


@router.websocket("/virtual-care/visits/{visit_id}/signal")
async def signal(socket: WebSocket, visit_id: str) -> None:
    await socket.accept()
    try:
        visit = uuid.UUID(visit_id)
        if not _same_origin(socket):
            raise AccessDenied("The call is joined from careplane's own page.")
        side = await run_in_threadpool(_admit, socket.app.state.db, socket, visit)
    except (CareplaneError, ValueError) as refused:
        reason = refused.detail if isinstance(refused, CareplaneError) else "There is no such visit."
        await socket.close(code=REFUSED, reason=reason[:120])
        return
    await RELAY.join(visit, side, socket)
    try:
        while True:
            received = await socket.receive()
            if received["type"] == "websocket.disconnect":
                break
            message = _parsed(received.get("text") or "")
            if message is not None:
                await RELAY.relay(visit, side, message)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the peer went away mid-send
    finally:
        await RELAY.leave(visit, side, socket)
