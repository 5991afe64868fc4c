"""The development mailbox: every e-mail the local outbox holds, so a demo can follow links. 404 in production."""

from __future__ import annotations

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
from careplane.kernel.web import db_session, optional_page_actor, render

# The mailbox needs no login (reset links are read while logged out); a logged-in visitor still gets the nav.
router = APIRouter(route_class=GuardedRoute, prefix="/mailbox", include_in_schema=False, dependencies=[Depends(optional_page_actor)])

_URL = re.compile(r"https?://[^\s<>\"']+")


def development_only(request: Request) -> None:
    """Only the embedded demo shows the mailbox: it holds everyone's reset links. A PostgreSQL
    deployment never does, even if CAREPLANE_ENVIRONMENT was left at its development default."""
    settings = request.app.state.settings
    if settings.environment == "production" or not settings.embedded:
        raise NotFound("There is no such page.")


def linkify(text: str) -> Markup:
    """The mail body, escaped, with its web addresses as links."""
    escaped = str(escape(text))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


@router.get("", dependencies=[Depends(development_only)])
def mailbox(request: Request, session: Session = Depends(db_session)) -> Response:
    mails = session.scalars(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(200)).all()
    return render(request, "mail/mailbox.html", {"mails": mails})


@router.get("/{mail_id}", dependencies=[Depends(development_only)])
def mail(request: Request, mail_id: uuid.UUID, session: Session = Depends(db_session)) -> Response:
    found = session.get(OutboxMail, mail_id)
    if found is None:
        raise NotFound("There is no such e-mail.")
    return render(request, "mail/mail.html", {"mail": found, "body": linkify(found.body)})
