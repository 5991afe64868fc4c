"""Login, second factor, password reset, e-mail verification and profile pages. No rules here."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel.errors import ValidationFailed
from careplane.kernel.identity import service
from careplane.kernel.web import db_session, render

router = APIRouter(include_in_schema=False)


@router.get("/verify-email/{token}")
def verify_email(request: Request, token: str, session: Session = Depends(db_session)) -> Response:
    try:
        user = service.verify_email(session, token)
    except ValidationFailed as exc:
        return render(request, "auth/email_verified.html", {"problem": exc.errors["token"]}, status_code=400)
    return render(request, "auth/email_verified.html", {"email": user.email})
