"""The demo's mailbox: every e-mail the local outbox holds, so a demo can follow its links.

It holds everyone's reset links, so it is there only when ``careplane demo`` turned it on
(``Settings.demo_mailbox``), on the embedded database, outside production, and only to a browser on
the same computer (a request from the loopback address). Everyone else gets "no such page"."""

from __future__ import annotations

import ipaddress
import re
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel.errors import NotFound
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.mail import OutboxMail
from careplane.kernel.web import client_ip, db_session, optional_page_actor, render

_URL = re.compile(r"https?://[^\s<>\"']+")


def is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def demo_only(request: Request) -> None:
    """Refuse, as a page that is not there, unless this is ``careplane demo`` asked from its own computer."""
    settings = request.app.state.settings
    if (
        not settings.demo_mailbox
        or settings.environment == "production"
        or not settings.embedded
        or not is_loopback(client_ip(request))
    ):
        raise NotFound("There is no such page.")


# The mailbox needs no login (reset links are read while logged out); a logged-in visitor still gets the nav.
router = APIRouter(
    route_class=GuardedRoute,
    prefix="/mailbox",
    include_in_schema=False,
    dependencies=[Depends(demo_only), Depends(optional_page_actor)],
)


def linkify(text: str) -> Markup:
    """The mail body, escaped, with its web addresses as links."""
    escaped = str(escape(text))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


@router.get("")
def mailbox(request: Request, session: Session = Depends(db_session)) -> Response:
    mails = session.scalars(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(200)).all()
    return render(request, "mail/mailbox.html", {"mails": mails})


@router.get("/{mail_id}")
def mail(request: Request, mail_id: uuid.UUID, session: Session = Depends(db_session)) -> Response:
    found = session.get(OutboxMail, mail_id)
    if found is None:
        raise NotFound("There is no such e-mail.")
    return render(request, "mail/mail.html", {"mail": found, "body": linkify(found.body)})
