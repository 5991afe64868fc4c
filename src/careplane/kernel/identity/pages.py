"""Login, second factor, password reset, e-mail verification and profile pages. No rules here."""

from __future__ import annotations

import uuid
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from careplane.kernel.errors import TooManyRequests, ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute, needs_login
from careplane.kernel.identity import mfa, service
from careplane.kernel.identity.authn import Authenticated
from careplane.kernel.identity.confirmation import CONFIRM_PAGE, awaiting_confirmation
from careplane.kernel.identity.passwords import RULE as PASSWORD_RULE
from careplane.kernel.identity.service import UNITS
from careplane.kernel.web import (
    SESSION_COOKIE,
    LoginRequired,
    MfaRequired,
    actor_for,
    authenticate,
    client_ip,
    csrf_protect,
    db_session,
    redirect,
    render,
)
from careplane.settings import Settings

router = APIRouter(route_class=GuardedRoute, include_in_schema=False, dependencies=[Depends(csrf_protect)])


# ---------------------------------------------------------------- helpers


def safe_next(value: str | None) -> str:
    """Only a path on this site: anything with a scheme or host (or '//', '\\') goes home instead."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _with_next(url: str, next_url: str) -> str:
    return url if next_url == "/" else f"{url}?next={quote(next_url, safe='/')}"


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _set_session_cookie(response: Response, raw: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _log_out_response(url: str, flash: str) -> Response:
    response = redirect(url, flash=flash)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@needs_login()
def half_logged_in(request: Request, session: Session = Depends(db_session)) -> Authenticated:
    """A web session, whether or not its second factor has been given yet."""
    who = authenticate(request, session)
    if who is None or who.web_session is None:
        raise LoginRequired("Please log in to continue.")
    request.state.user = who.user
    return who


@needs_login()
def logged_in(request: Request, session: Session = Depends(db_session)) -> Authenticated:
    """Like ``page_actor`` but also gives the web session (profile actions need it)."""
    who = half_logged_in(request, session)
    if who.needs_mfa:
        raise MfaRequired("Enter the code from your authenticator app.")
    who.refuse_unconfirmed()
    actor_for(request, who, via="web")
    return who


# ---------------------------------------------------------------- login and logout


@router.get("/login")
def login_form(request: Request, next: str = "/", session: Session = Depends(db_session)) -> Response:
    next_url = safe_next(next)
    who = authenticate(request, session)
    if who is not None and who.web_session is not None and not who.needs_mfa:
        return redirect(next_url)
    return render(request, "auth/login.html", {"next": next_url, "email": ""})


@router.post("/login")
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    session: Session = Depends(db_session),
) -> Response:
    settings = _settings(request)
    next_url = safe_next(next)
    try:
        outcome = service.login(
            session, settings, email, password, ip=client_ip(request), user_agent=request.headers.get("user-agent")
        )
    except (service.LoginFailed, service.AccountLocked, service.AccountInactive, TooManyRequests) as exc:
        response: Response = render(
            request,
            "auth/login.html",
            {"next": next_url, "email": email, "problem": exc.detail, "problem_title": exc.title},
            status_code=exc.status,
        )
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.extensions["retry_after"])
        return response
    # A session someone held before logging in (perhaps as another person) ends here.
    previous = authenticate(request, session) if request.cookies.get(SESSION_COOKIE) else None
    if previous is not None and previous.web_session is not None:
        service.end_web_session(session, previous.web_session)
    response = redirect(_with_next(outcome.next_step, next_url) if outcome.next_step else next_url)
    _set_session_cookie(response, outcome.cookie, settings)
    return response


@router.post("/logout")
def logout(request: Request, session: Session = Depends(db_session)) -> Response:
    who = authenticate(request, session) if request.cookies.get(SESSION_COOKIE) else None
    if who is not None and who.web_session is not None:
        service.end_web_session(session, who.web_session)
    return _log_out_response("/login", "You have logged out.")


@router.post("/session/keep-alive")
def keep_alive(who: Authenticated = Depends(logged_in)) -> Response:
    """'Stay logged in', from the warning shown before the idle timeout (static/page-helpers.js)."""
    if who.web_session is not None:
        service.keep_web_session(who.web_session)
    return Response(status_code=204)


# ---------------------------------------------------------------- second factor


@router.get("/mfa")
def mfa_form(request: Request, next: str = "/", who: Authenticated = Depends(half_logged_in)) -> Response:
    next_url = safe_next(next)
    if not who.needs_mfa:
        return redirect(next_url)
    if not who.user.mfa_enabled:
        return redirect(_with_next("/mfa/enrol", next_url))
    demo_account = who.user.email if request.app.state.settings.demo_mailbox else None
    return render(request, "auth/mfa.html", {"next": next_url, "demo_account": demo_account})


@router.post("/mfa")
def mfa_submit(
    request: Request,
    code: str = Form(""),
    recovery_code: str = Form(""),
    next: str = Form("/"),
    who: Authenticated = Depends(half_logged_in),
    session: Session = Depends(db_session),
) -> Response:
    next_url = safe_next(next)
    if not who.needs_mfa:
        return redirect(next_url)
    if not who.user.mfa_enabled:
        return redirect(_with_next("/mfa/enrol", next_url))
    assert who.web_session is not None
    try:
        mfa.verify_second_factor(session, who.user, who.web_session, code or recovery_code, ip=client_ip(request))
    except ValidationFailed as exc:
        field = "code" if code else "recovery_code"
        return render(
            request, "auth/mfa.html", {"next": next_url, "errors": {field: exc.errors["code"]}}, status_code=422
        )
    except mfa.SecondFactorAbandoned as exc:
        return _log_out_response("/login", exc.detail)
    return redirect(next_url)


def _enrol_page(
    request: Request,
    session: Session,
    who: Authenticated,
    next_url: str,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    secret = mfa.pending_secret(session, who.user)
    uri = mfa.provisioning_uri(who.user, secret)
    return render(
        request,
        "auth/mfa_enrol.html",
        {
            "next": next_url,
            "qr_svg": mfa.qr_svg(uri),
            "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "errors": errors or {},
            "required": who.user.is_staff,
        },
        status_code=status_code,
    )


@router.get("/mfa/enrol")
def mfa_enrol_form(
    request: Request,
    next: str = "/",
    who: Authenticated = Depends(half_logged_in),
    session: Session = Depends(db_session),
) -> Response:
    next_url = safe_next(next)
    if who.user.mfa_enabled:
        return redirect(_with_next("/mfa", next_url) if who.needs_mfa else "/profile")
    return _enrol_page(request, session, who, next_url)


@router.post("/mfa/enrol")
def mfa_enrol_submit(
    request: Request,
    code: str = Form(""),
    next: str = Form("/"),
    who: Authenticated = Depends(half_logged_in),
    session: Session = Depends(db_session),
) -> Response:
    next_url = safe_next(next)
    if who.user.mfa_enabled:
        return redirect(_with_next("/mfa", next_url) if who.needs_mfa else "/profile")
    try:
        codes = mfa.confirm_enrolment(session, who.user, code, who.web_session)
    except ValidationFailed as exc:
        return _enrol_page(request, session, who, next_url, exc.errors, status_code=422)
    actor_for(request, who, via="web")
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": next_url, "just_enrolled": True})


# ---------------------------------------------------------------- password reset


@router.get("/password/forgot")
def forgot_form(request: Request) -> Response:
    return render(request, "auth/forgot.html", {"email": ""})


@router.post("/password/forgot")
def forgot_submit(request: Request, email: str = Form(""), session: Session = Depends(db_session)) -> Response:
    if not email.strip():
        return render(
            request,
            "auth/forgot.html",
            {"email": "", "errors": {"email": "Enter your e-mail address."}},
            status_code=422,
        )
    service.request_password_reset(session, _settings(request), email)
    return render(request, "auth/forgot_sent.html", {"email": email.strip()})


@router.get("/password/reset/{token}")
def reset_form(request: Request, token: str, session: Session = Depends(db_session)) -> Response:
    try:
        user = service.check_reset_token(session, token)
    except ValidationFailed as exc:
        return render(request, "auth/link_invalid.html", {"problem": exc.errors["token"]}, status_code=400)
    return render(request, "auth/reset.html", {"token": token, "email": user.email, "rule": PASSWORD_RULE})


@router.post("/password/reset/{token}")
def reset_submit(
    request: Request,
    token: str,
    password: str = Form(""),
    password_confirm: str = Form(""),
    session: Session = Depends(db_session),
) -> Response:
    try:
        service.reset_password(session, token, password, password_confirm)
    except ValidationFailed as exc:
        if "token" in exc.errors:
            return render(request, "auth/link_invalid.html", {"problem": exc.errors["token"]}, status_code=400)
        user = service.check_reset_token(session, token)
        return render(
            request,
            "auth/reset.html",
            {"token": token, "email": user.email, "rule": PASSWORD_RULE, "errors": exc.errors},
            status_code=422,
        )
    return _log_out_response("/login", "Your password is set. Log in with your new password.")


# ---------------------------------------------------------------- e-mail verification


@router.get("/verify-email/{token}")
def verify_email(request: Request, token: str, session: Session = Depends(db_session)) -> Response:
    try:
        user = service.verify_email(session, token)
    except ValidationFailed as exc:
        return render(request, "auth/email_verified.html", {"problem": exc.errors["token"]}, status_code=400)
    return render(request, "auth/email_verified.html", {"email": user.email})


@router.get(CONFIRM_PAGE)
def confirm_email_page(request: Request, who: Authenticated = Depends(half_logged_in)) -> Response:
    """The one page a self-registered account sees until its address is confirmed."""
    if not awaiting_confirmation(who.principal.roles, who.user.email_verified_at):
        return redirect("/")
    return render(request, "auth/confirm_email.html", {"email": who.user.email})


@router.post(CONFIRM_PAGE)
def resend_confirmation(
    request: Request, who: Authenticated = Depends(half_logged_in), session: Session = Depends(db_session)
) -> Response:
    if not awaiting_confirmation(who.principal.roles, who.user.email_verified_at):
        return redirect("/")
    if not service.resend_email_verification(session, who.user, _settings(request)):
        return redirect(
            CONFIRM_PAGE, flash="We have sent several links in the last hour: use the newest one, or try again later."
        )
    return redirect(CONFIRM_PAGE, flash=f"We have sent a new confirmation link to {who.user.email}.")


# ---------------------------------------------------------------- profile


def _profile(
    request: Request, session: Session, who: Authenticated, status_code: int = 200, **extra: object
) -> Response:
    user = who.user
    context = {
        "profile_user": user,
        "roles": sorted(r.label for r in user.roles),
        "unit_label": UNITS.get(user.unit or "", user.unit),
        "recovery_left": mfa.unused_recovery_codes(session, user) if user.mfa_enabled else 0,
        "tokens": service.list_api_tokens(session, user),
        "rule": PASSWORD_RULE,
        "password_errors": {},
        "token_errors": {},
        "recovery_errors": {},
    }
    context.update(extra)
    return render(request, "profile/profile.html", context, status_code=status_code)


@router.get("/profile")
def profile(
    request: Request, who: Authenticated = Depends(logged_in), session: Session = Depends(db_session)
) -> Response:
    return _profile(request, session, who)


@router.post("/profile/password")
def change_password(
    request: Request,
    current_password: str = Form(""),
    password: str = Form(""),
    password_confirm: str = Form(""),
    who: Authenticated = Depends(logged_in),
    session: Session = Depends(db_session),
) -> Response:
    try:
        service.change_password(session, who.user, current_password, password, password_confirm, keep=who.web_session)
    except ValidationFailed as exc:
        return _profile(request, session, who, 422, password_errors=exc.errors)
    return redirect("/profile", flash="Your password has been changed. Your other sessions have been logged out.")


@router.post("/profile/verify-email")
def resend_verification(
    request: Request, who: Authenticated = Depends(logged_in), session: Session = Depends(db_session)
) -> Response:
    if who.user.email_verified_at is not None:
        return redirect("/profile", flash="Your e-mail address is already confirmed.")
    service.send_email_verification(session, who.user, _settings(request))
    return redirect("/profile", flash=f"We have sent a confirmation link to {who.user.email}.")


@router.post("/profile/recovery-codes")
def new_recovery_codes(
    request: Request,
    recovery_password: str = Form(""),
    who: Authenticated = Depends(logged_in),
    session: Session = Depends(db_session),
) -> Response:
    try:
        service.confirm_password(who.user, recovery_password)
    except ValidationFailed as exc:
        return _profile(
            request, session, who, 422, recovery_errors={"recovery_password": exc.errors["current_password"]}
        )
    codes = mfa.regenerate_recovery_codes(session, who.user)
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/profile", "just_enrolled": False})


@router.post("/profile/tokens")
def create_token(
    request: Request,
    name: str = Form(""),
    expires_days: str = Form(""),
    who: Authenticated = Depends(logged_in),
    session: Session = Depends(db_session),
) -> Response:
    try:
        days = service.parse_days(expires_days)
        raw, token = service.create_api_token(session, who.user, name, days, via="web")
    except ValidationFailed as exc:
        return _profile(request, session, who, 422, token_errors=exc.errors, token_name=name, token_days=expires_days)
    return _profile(request, session, who, new_token=raw, new_token_name=token.name)


@router.post("/profile/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    token_id: uuid.UUID,
    who: Authenticated = Depends(logged_in),
    session: Session = Depends(db_session),
) -> Response:
    token = service.revoke_api_token(session, who.user, token_id)
    return redirect("/profile", flash=f"The API token “{token.name}” has been revoked; it no longer works.")
