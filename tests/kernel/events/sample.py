"""Events, handlers and an effects table the event tests (and the worker subprocess) share.

The effects table has its own metadata so it never joins the application's schema.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from careplane.kernel.db import Database
from careplane.kernel.events import DomainEvent, handles


class EffectBase(DeclarativeBase):
    pass


class Effect(EffectBase):
    """A row a handler writes: what the tests count to prove an effect happened exactly once."""

    __tablename__ = "test_event_effects"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(100), index=True)
    note: Mapped[str] = mapped_column(String(100))


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class SampleHappened(DomainEvent):
    ref: str
    #: ok | slow | fail (until FIXED) | fail_once | kill_once (SIGKILL own process the first time; needs marker)
    mode: str = "ok"
    marker: str | None = None
    patient_id: uuid.UUID | None = None
    at: datetime | None = None
    day: date | None = None
    count: int = 0
    urgent: bool = False
    colour: Colour | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FannedOut(DomainEvent):
    ref: str


#: Every handler call in this process, including ones whose transaction later rolled back.
CALLS: list[tuple[str, str]] = []
_calls_lock = threading.Lock()
#: Set to True to "deploy the fix" for mode="fail".
FIXED = {"value": False}
SEEN: list[SampleHappened] = []


def _note_call(handler: str, ref: str) -> None:
    with _calls_lock:
        CALLS.append((handler, ref))


@handles(SampleHappened)
def record_effect(session: Session, event: SampleHappened) -> None:
    _note_call("record_effect", event.ref)
    SEEN.append(event)
    session.add(Effect(ref=event.ref, note="sample"))
    session.flush()
    if event.mode == "slow":
        time.sleep(0.005)  # widen the window in which two workers could collide
    if event.mode == "fail" and not FIXED["value"]:
        raise RuntimeError(f"downstream refused {event.ref}")
    if event.mode == "fail_once" and sum(1 for h, r in CALLS if r == event.ref) == 1:
        raise RuntimeError(f"transient failure for {event.ref}")
    if event.mode == "kill_once":
        marker = Path(event.marker or "")
        if not marker.exists():
            marker.write_text("killed once")
            os.kill(os.getpid(), signal.SIGKILL)


@handles(FannedOut, name="fan.first")
def fan_first(session: Session, event: FannedOut) -> None:
    _note_call("fan.first", event.ref)
    session.add(Effect(ref=event.ref, note="first"))


@handles(FannedOut, name="fan.second")
def fan_second(session: Session, event: FannedOut) -> None:
    _note_call("fan.second", event.ref)
    session.add(Effect(ref=event.ref, note="second"))


def prepare_effects(db: Database) -> None:
    EffectBase.metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        conn.execute(Effect.__table__.delete())
    CALLS.clear()
    SEEN.clear()
    FIXED["value"] = False


def effect_count(db: Database, ref: str | None = None) -> int:
    with db.unit_of_work() as s:
        query = select(func.count()).select_from(Effect)
        if ref is not None:
            query = query.where(Effect.ref == ref)
        return s.scalar(query) or 0
