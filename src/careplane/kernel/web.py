"""The web edge's shared pieces: templates, per-role navigation, CSRF, who-is-asking, errors.

Pages and API routers in every unit use these; they hold no business rules.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import BaseLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection

from careplane.kernel import clock, idempotency, units
from careplane.kernel.access import Actor
from careplane.kernel.db import Database, Reader, SessionOrReader, apply_writes
from careplane.kernel.errors import CareplaneError, NotAuthenticated, ValidationFailed
from careplane.kernel.form_dates import DATE_HINT
from careplane.kernel.identity import authn
from careplane.kernel.identity.roles import Role
from careplane.kernel.money import Money
from careplane.settings import Settings

PACKAGE_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")
SESSION_COOKIE = "cp_session"
CSRF_COOKIE = "cp_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# ---------------------------------------------------------------- templates


class _TemplateFolders(BaseLoader):
    """The kernel's templates, then each installed unit's (looked up afresh when the units change)."""

    def __init__(self) -> None:
        self._for: tuple[object, ...] | None = None
        self._loader = FileSystemLoader([])

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        current = units.installed()
        if self._for is not current:
            folders = [PACKAGE_DIR / "templates", *units.template_folders()]
            self._loader, self._for = FileSystemLoader([str(f) for f in folders]), current
        return self._loader.get_source(environment, template)


templates = Environment(
    loader=_TemplateFolders(),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The viewer's time zone (an IANA name), stored from the browser by the layout's script.
ZONE_COOKIE = "cp_tz"


def viewer_zone(request: Request) -> tzinfo:
    """Where the viewer is, for showing times: their browser's zone, or UTC until it is known."""
    return clock.zone_named(unquote(request.cookies.get(ZONE_COOKIE, ""))) or UTC


@pass_context
def _when(context: Any, moment: datetime | None, seconds: bool = False) -> Markup | str:
    """A moment in the viewer's zone, named, e.g. ``2026-12-02 09:14 EST`` (machine-readable in UTC)."""
    if moment is None:
        return ""
    local = moment.astimezone(context.get("zone") or UTC)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return Markup('<time datetime="{}">{} {}</time>').format(moment.isoformat(), shown, local.tzname())


templates.filters["when"] = _when


def _span(length: timedelta | None) -> str:
    """A length of time as people say it on a work list: ``45 min``, ``3 h 05 min``, ``2 d 4 h``."""
    if length is None:
        return ""
    minutes = int(abs(length.total_seconds()) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


templates.filters["span"] = _span
templates.globals["date_hint"] = DATE_HINT


def _money(amount: Money | None) -> str:
    """``{{ charge.amount|money }}``: ``$1,234.50``, ``-$5.00``; nothing for None. Only a
    :class:`~careplane.kernel.money.Money` is shown: a bare number could be dollars or cents."""
    if amount is None:
        return ""
    if not isinstance(amount, Money):
        raise TypeError(f"the money filter shows a Money, not {type(amount).__name__} {amount!r}")
    return amount.format()


templates.filters["money"] = _money


#: The navigation's groups, in the order they stand: the care of patients, the work of a team,
#: the organisation, and running the platform.
NAV_AREAS = ("Care", "Work", "Organisation", "Operations")


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    visible: Callable[[Actor], bool]
    order: int = 50
    area: str = "Care"


NAV: list[NavItem] = []


def _nav(label: str, href: str, permission: str | None, role: Role | None, order: int, area: str) -> NavItem:
    if area not in NAV_AREAS:
        raise ValueError(f"navigation entry {label!r}: area {area!r} is not one of {', '.join(NAV_AREAS)}")

    def visible(actor: Actor) -> bool:
        if permission is not None and not actor.can(permission):
            return False
        return role is None or role in actor.roles

    return NavItem(label, href, visible, order, area)


def nav_item(
    label: str,
    href: str,
    *,
    permission: str | None = None,
    role: Role | None = None,
    order: int = 50,
    area: str = "Care",
) -> None:
    """Add a kernel page to the layout's navigation, in one of the ``NAV_AREAS``, shown to actors
    with the permission and role (units declare theirs: ``Unit.nav``)."""
    NAV.append(_nav(label, href, permission, role, order, area))


def navigation_for(actor: Actor) -> list[NavItem]:
    """The kernel's entries and the installed units', those ``actor`` may see, by area, then in order."""
    unit_entries = [
        _nav(e.label, e.href, e.permission, e.role, e.order, e.area) for unit in units.installed() for e in unit.nav
    ]
    return sorted(
        (n for n in [*NAV, *unit_entries] if n.visible(actor)),
        key=lambda n: (NAV_AREAS.index(n.area), n.order, n.label),
    )


def nav_groups(nav: list[NavItem]) -> list[tuple[str, list[NavItem]]]:
    """The entries by area (only areas with an entry), for the layout's grouped navigation."""
    return [(area, [n for n in nav if n.area == area]) for area in NAV_AREAS if any(n.area == area for n in nav)]


def _current_user(request: Request) -> Any:
    """The logged-in user for templates. When the request's unit of work rolled back (an error
    page), its copy is expired and detached, so a fresh copy is read for the layout."""
    user = getattr(request.state, "user", None)
    if user is not None:
        state = sa_inspect(user)
        if state.detached and state.expired_attributes:
            with request.app.state.db.session_factory() as session:
                user = request.state.user = session.get(type(user), state.identity)
    return user


def _current_href(path: str, nav: list[NavItem]) -> str | None:
    """The navigation entry this page belongs to: the longest one that is the path or a folder of it."""
    matches = [n.href for n in nav if path == n.href or (n.href != "/" and path.startswith(n.href.rstrip("/") + "/"))]
    return max(matches, key=len, default=None)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    actor: Actor | None = getattr(request.state, "actor", None)
    settings: Settings = request.app.state.settings
    nav = navigation_for(actor) if actor else []
    ctx = {
        "request": request,
        "actor": actor,
        "user": _current_user(request),
        "nav": nav,
        "nav_groups": nav_groups(nav),
        "current_href": _current_href(request.url.path, nav),
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "settings": settings,
        "flash": unquote(request.cookies.get("cp_flash", "")) or None,
        "zone": viewer_zone(request),
    }
    ctx.update(context or {})
    html = templates.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    if ctx["flash"]:
        response.delete_cookie("cp_flash")
    _set_csrf_cookie(request, response)
    return response


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        # Percent-encoded: a cookie header carries only ASCII (names in flashes need not be).
        response.set_cookie("cp_flash", quote(flash[:300]), max_age=60, httponly=True, samesite="lax")
    return response


# ---------------------------------------------------------------- CSRF (signed double-submit)


def csrf_token(request: Request) -> str:
    token = getattr(request.state, "csrf_token", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def _set_csrf_cookie(request: Request, response: Response) -> None:
    token = csrf_token(request)
    if request.cookies.get(CSRF_COOKIE) != token:
        settings: Settings = request.app.state.settings
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
        )


class CsrfFailed(CareplaneError):
    status = 403
    title = "Form expired"
    type_slug = "csrf-failed"


async def csrf_protect(request: Request) -> None:
    """Unsafe requests must echo the CSRF cookie (form field or header), unless they carry a bearer
    token: then only that token can authenticate them (:func:`authenticate`), never the session
    cookie a browser sends by itself. Any other ``Authorization`` header is refused (401)."""
    if request.method not in UNSAFE_METHODS or bearer_token(request) is not None:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not cookie or not sent or not secrets.compare_digest(cookie, str(sent)):
        raise CsrfFailed("This form has expired or did not come from careplane. Reload the page and try again.")


async def posted_form(request: Request) -> FormData:
    """The submitted form, read on the event loop, so that the handler itself can be a plain
    function: its database and CPU work (a password hash, a CSV import) runs on a thread, never
    on the event loop where it would hold up every other request."""
    return await request.form()


# ---------------------------------------------------------------- database and actor


def database(request: Request) -> Database:
    return request.app.state.db


async def _admitted(request: Request) -> AsyncIterator[None]:
    """A turn among the requests inside a unit of work (:mod:`careplane.kernel.admission`)."""
    async with request.app.state.admission.admitted():
        yield


def _request_unit_of_work(request: Request, _turn: None = Depends(_admitted, scope="function")) -> Iterator[Session]:
    with request.app.state.db.unit_of_work() as session:
        yield session


async def db_session(session: Session = Depends(_request_unit_of_work, scope="function")) -> Session:
    """One unit of work per request: committed when the handler returns, rolled back if it raises.

    The "function" scope commits *before* the response is sent. FastAPI's default would send
    the response first, so a client could follow a redirect (or act on a 201) before the
    change it reports is committed, or be told of a success whose commit then fails.
    """
    return session


class LoginRequired(CareplaneError):
    status = 401
    title = "Please log in"
    type_slug = "login-required"


class MfaRequired(CareplaneError):
    status = 401
    title = "Second factor required"
    type_slug = "mfa-required"


def client_ip(request: HTTPConnection) -> str | None:
    return request.client.host if request.client else None


def actor_for(request: HTTPConnection, who: authn.Authenticated, via: str) -> Actor:
    principal = who.principal
    actor = Actor(
        user_id=principal.user_id,
        label=principal.email,
        roles=principal.roles,
        unit=principal.unit,
        unit_function=principal.unit_function,
        patient_id=principal.patient_id,
        ip=client_ip(request),
        via=via,
        request_id=getattr(request.state, "request_id", None),
    )
    request.state.actor = actor
    if who.web_session is not None:
        request.state.user = who.user  # the layout shows it
    return actor


def bearer_token(request: HTTPConnection) -> str | None:
    """The API token of an ``Authorization: Bearer <token>`` header, or None without the header.
    Any other ``Authorization`` (``Basic``, an empty ``Bearer``) is refused with 401."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(
            "The Authorization header is not 'Bearer <api token>'. Send an API token, "
            "or no Authorization header and log in."
        )
    return token.strip()


def authenticate(request: HTTPConnection, session: SessionOrReader) -> authn.Authenticated | None:
    """Who is asking: the bearer token when the request has an ``Authorization`` header (nobody,
    when that is not a valid bearer token: never its session cookie), else the session cookie.
    A WebSocket (also an ``HTTPConnection``) is asked the same way."""
    settings: Settings = request.app.state.settings
    if "authorization" in request.headers:
        try:
            token = bearer_token(request)
        except NotAuthenticated:
            return None
        return authn.from_bearer_token(session, token) if token else None
    raw = request.cookies.get(SESSION_COOKIE)
    return authn.from_session_cookie(session, raw, settings) if raw else None


def page_actor(request: Request, session: Session = Depends(db_session)) -> Actor:
    """The logged-in person for an HTML page; sends others to log in (or to finish MFA)."""
    who = authenticate(request, session)
    if who is None:
        raise LoginRequired("Please log in to continue.")
    if who.needs_mfa:
        raise MfaRequired("Enter the code from your authenticator app.")
    who.refuse_unconfirmed()
    return actor_for(request, who, via="web")


def optional_page_actor(request: Request, session: Session = Depends(db_session)) -> Actor | None:
    who = authenticate(request, session)
    if who is None or who.needs_mfa:
        return None
    who.refuse_unconfirmed()
    return actor_for(request, who, via="web")


def api_actor(request: Request, session: SessionOrReader = Depends(db_session)) -> Actor:
    """The caller of a JSON endpoint: a bearer API token, or a fully logged-in web session."""
    who = authenticate(request, session)
    if who is None or who.needs_mfa:
        raise NotAuthenticated("Send 'Authorization: Bearer <api token>' or log in.")
    who.refuse_unconfirmed()
    return actor_for(request, who, via="api" if who.api_token_id else "web")


async def api_read(request: Request, work: Callable[[Reader, Actor], T]) -> T:
    """``work(reader, actor)`` for the caller of a JSON endpoint that only reads (``Database.read``).

    The same rules as ``Depends(api_actor)`` with ``Depends(db_session)``, for reads called at
    high rates: no worker-thread trips for the dependencies, no write lock, and the audit rows of
    concurrent reads committed together before each answer. Measured in bench/patient_read.py.
    """
    db: Database = request.app.state.db
    return await db.read(lambda reader: work(reader, api_actor(request, reader)))


async def api_caller(request: Request) -> Actor:
    """``Depends(api_actor)`` for a JSON endpoint that writes through :func:`api_write`: the same
    credential check, on a read connection from the event loop (``Database.read``: a prepared
    lookup, no unit of work, no trip to a request thread). Refuses before the body is looked at,
    as ``api_actor`` does."""
    db: Database = request.app.state.db
    return await db.read(lambda reader: api_actor(request, reader))


async def api_write(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` in a unit of work, committed before the answer (as ``Depends(db_session)``
    does), for a JSON endpoint that writes at high rates (bench/mixed_load.py).

    The same admission turn and unit of work, in one trip to a request thread instead of one per
    dependency, the handler and the commit: with four threads sharing the GIL, each trip costs
    about as much as a small query."""
    db: Database = request.app.state.db
    # On PostgreSQL the write waits for the server on the event loop, holding no request thread:
    # as many may be in flight as the loop has write connections.
    gate = request.app.state.loop_writes if db.is_postgres else request.app.state.admission
    async with gate.admitted():
        return await db.write(work)


def respond_once(
    request: Request, session: Session, actor: Actor, key: str | None, payload: Any, act: Callable[[], tuple[int, Any]]
) -> JSONResponse:
    """An API POST that acts at most once per ``Idempotency-Key`` (:mod:`careplane.kernel.idempotency`):
    ``act()``'s status and body, or the first answer replayed, marked ``Idempotent-Replayed: true``."""
    outcome = idempotency.run_once(
        session, actor, key, method=request.method, path=request.url.path, payload=payload, action=act
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


# ---------------------------------------------------------------- forms


def attempt(
    session: Session, action: Callable[[], T], catch: tuple[type[CareplaneError], ...] = (ValidationFailed,)
) -> tuple[T | None, CareplaneError | None]:
    """Run a page's service call in a savepoint: ``(result, None)``, or ``(None, problem)`` when it
    raises one of ``catch`` (a broken rule, by default), for the page to show on its form.

    A problem leaves nothing of the call behind but the writes it carries in
    ``keep_after_rollback`` (e.g. the audit rows of the candidates a possible duplicate showed),
    applied once the savepoint is undone; any other error propagates to the unit of work."""
    try:
        with session.begin_nested():
            return action(), None
    except catch as exc:
        keep = getattr(exc, "keep_after_rollback", None)
        if keep:
            apply_writes(session, keep)
        return None, exc


def form_errors(problem: CareplaneError | None) -> dict[str, str]:
    """The field messages (name -> message) of a problem :func:`attempt` returned: a
    :class:`ValidationFailed`'s ``errors``, empty for any other problem or none."""
    return problem.errors if isinstance(problem, ValidationFailed) else {}


# ---------------------------------------------------------------- errors


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_slug: str = "about:blank",
    instance: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {
        "type": f"https://careplane.dev/problems/{type_slug}" if type_slug != "about:blank" else type_slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def new_request_id() -> str:
    return uuid.uuid4().hex
