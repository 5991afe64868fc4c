"""Builds the ASGI app: every router, middleware, error handlers, and (embedded) the worker."""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from careplane import __version__
from careplane.kernel import units
from careplane.kernel.admission import Admission
from careplane.kernel.api_docs import API_DESCRIPTION, declare_bearer_tokens
from careplane.kernel.db import Database
from careplane.kernel.errors import CareplaneError
from careplane.kernel.guarded_route import Refused, assert_guarded
from careplane.kernel.identity.confirmation import CONFIRM_PAGE, EmailUnconfirmed
from careplane.kernel.observability import RequestContextMiddleware
from careplane.kernel.problem_docs import problem_answers_everywhere
from careplane.kernel.security_headers import SecurityHeaders
from careplane.kernel.web import (
    PACKAGE_DIR,
    LoginRequired,
    MfaRequired,
    actor_for,
    authenticate,
    problem,
    render,
    wants_json,
)
from careplane.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: Kernel modules that expose a ``router``. Routes are matched in order, one by one, so the JSON
#: API (integrations call it at high rates) comes first, the patient read at its head; the
#: installed units' routers (:mod:`careplane.kernel.units`) come after the kernel's API and
#: before its pages.
KERNEL_API_MODULES = [
    "careplane.kernel.patients.api",
    "careplane.kernel.patients.allergies.api",
    "careplane.kernel.identity.api",
    "careplane.kernel.org.offboarding.api",
    "careplane.kernel.org.structure.api",
    "careplane.kernel.org.staff.api",
    "careplane.kernel.work.api",
    "careplane.kernel.observability",
    "careplane.kernel.api_docs",
]
KERNEL_PAGE_MODULES = [
    "careplane.kernel.home",
    "careplane.kernel.identity.pages",
    "careplane.kernel.identity.admin_pages",
    "careplane.kernel.patients.pages",
    "careplane.kernel.patients.portal_pages",
    "careplane.kernel.patients.allergies.pages",
    "careplane.kernel.audit.pages",
    "careplane.kernel.operations_pages",
    "careplane.kernel.mail_pages",
    "careplane.kernel.org.offboarding.pages",
    "careplane.kernel.org.structure.pages",
    "careplane.kernel.org.staff.pages",
    "careplane.kernel.work.pages",
]


def router_modules() -> list[str]:
    """Every module whose ``router`` the app serves, in the order routes are matched."""
    return KERNEL_API_MODULES + units.modules("routers") + KERNEL_PAGE_MODULES


def create_app(settings: Settings | None = None, db: Database | None = None, *, run_worker: bool = False) -> FastAPI:
    settings = settings or get_settings()
    settings.resolved_secret_key()
    settings.resolved_audit_key()  # made in development, required in production: the worker seals with it
    db = db or Database.configured(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        if run_worker:
            from careplane.kernel.worker import Worker

            worker = Worker(db, settings, name="embedded")
            worker.start_in_thread()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            await db.close_loop()

    app = FastAPI(
        title="careplane API",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,  # careplane.kernel.api_docs serves /api/docs, with its own Content-Security-Policy
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    # FastAPI's documented way to customise the schema is to replace this method.
    app.openapi = lambda: app.openapi_schema or _documented(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.db = db
    app.state.admission = Admission(settings.admission_wait_seconds)
    app.state.loop_writes = Admission(settings.admission_wait_seconds, slots=db.loop_write_connections)
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)
    app.add_middleware(RequestContextMiddleware)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    for module_name in router_modules():
        router = importlib.import_module(module_name).router
        assert_guarded(router.routes, module_name)
        app.include_router(router)
    _install_error_handlers(app)
    return app


def _documented(app: FastAPI) -> dict[str, Any]:
    app.openapi_schema = declare_bearer_tokens(problem_answers_everywhere(FastAPI.openapi(app)))
    return app.openapi_schema


def create_served_app(
    settings: Settings | None = None, db: Database | None = None, *, run_worker: bool = False
) -> FastAPI:
    """The app as ``careplane serve`` runs it: built, then everything built so far (modules,
    routes, table metadata) moved out of the cyclic garbage collector's sight. Otherwise every
    full collection walks all of it, a pause of tens of milliseconds that showed as the p99 of
    bench/patient_read.py."""
    app = create_app(settings, db, run_worker=run_worker)
    gc.collect()
    gc.freeze()
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if wants_json(request):
            return problem(401, exc.title, exc.detail, type_slug=exc.type_slug)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(MfaRequired)
    async def _mfa(request: Request, exc: MfaRequired) -> Response:
        if wants_json(request):
            return problem(401, exc.title, exc.detail, type_slug=exc.type_slug)
        return RedirectResponse("/mfa", status_code=303)

    @app.exception_handler(EmailUnconfirmed)
    async def _unconfirmed(request: Request, exc: EmailUnconfirmed) -> Response:
        if wants_json(request):
            return problem(exc.status, exc.title, exc.detail, type_slug=exc.type_slug, instance=request.url.path)
        return RedirectResponse(CONFIRM_PAGE, status_code=303)

    @app.exception_handler(CareplaneError)
    async def _domain(request: Request, exc: CareplaneError) -> Response:
        extensions: dict[str, Any] = dict(exc.extensions)
        errors = getattr(exc, "errors", None)
        if errors:
            extensions["errors"] = [{"field": k, "message": v} for k, v in errors.items()]
        response: Response
        if wants_json(request):
            response = problem(
                exc.status, exc.title, exc.detail, type_slug=exc.type_slug, instance=request.url.path, **extensions
            )
        else:
            response = await _error_page(request, exc.status, exc.title, exc.detail)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        if wants_json(request):
            errors = [{"field": k, "message": v} for k, v in exc.errors.items()]
            return problem(
                exc.status_code,
                exc.title,
                exc.detail,
                type_slug=exc.type_slug,
                instance=request.url.path,
                **({"errors": errors} if errors else {}),
                **exc.extensions,
            )
        return await _error_page(request, exc.status_code, exc.title, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if (malformed := _malformed_json(exc)) is not None:
            return problem(400, "Malformed JSON", malformed, type_slug="malformed-json", instance=request.url.path)
        errors = [
            {"field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path")), "message": err["msg"]}
            for err in exc.errors()
        ]
        if wants_json(request):
            return problem(
                422,
                "Validation failed",
                "The request has invalid fields.",
                type_slug="validation-failed",
                errors=errors,
            )
        return await _error_page(request, *_page_refusal(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_json(request):
            answer: Response = problem(exc.status_code, str(exc.detail), str(exc.detail))
        else:
            answer = await _error_page(request, exc.status_code, str(exc.detail), "")
        answer.headers.update(exc.headers or {})
        if exc.status_code == 405 and (allowed := _allowed_methods(request)):
            answer.headers["Allow"] = ", ".join(allowed)  # a mounted app (static files) says its own
        elif exc.status_code == 405 and isinstance(request.scope.get("endpoint"), StaticFiles):
            answer.headers.setdefault("Allow", "GET, HEAD")  # Starlette's static files say so only from 1.8
        return answer


def _malformed_json(exc: RequestValidationError) -> str | None:
    """Where a body that is not JSON stops being JSON, as a person reads it (line and column)."""
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") != "json_invalid":
        return None
    text = exc.body if isinstance(exc.body, str) else bytes(exc.body or b"").decode("utf-8", "replace")
    position = int(first["loc"][-1])
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = str(first.get("ctx", {}).get("error", "not JSON"))
    return f"The body is not valid JSON: {reason} at line {line}, column {column} (character {position + 1})."


def _page_refusal(exc: RequestValidationError) -> tuple[int, str, str]:
    """A page address whose path or query does not parse: a malformed id names no record (404);
    a bad query value is the visitor's to correct (400)."""
    first = exc.errors()[0]
    where, name = first["loc"][0], str(first["loc"][-1])
    if where == "path":
        return 404, "Page not found", f"{str(first.get('input'))[:80]!r} is not a valid {name.replace('_', ' ')}."
    return 400, "This address cannot be read", f"{name}: {first['msg']}."


async def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """The styled error page, with the person's navigation and log-out button. When no route ran
    (an unknown address, a malformed id), nobody has looked up who is asking yet: that is done
    here, on a thread, so a database wait never holds up the event loop."""
    if getattr(request.state, "actor", None) is not None:
        return render(request, "error.html", {"title": title, "detail": detail}, status_code=status)
    async with request.app.state.admission.admitted():
        return await run_in_threadpool(_error_page_for_whoever_asks, request, status, title, detail)


def _error_page_for_whoever_asks(request: Request, status: int, title: str, detail: str) -> Response:
    with request.app.state.db.unit_of_work() as session:
        who = authenticate(request, session)
        if who is not None and not who.needs_mfa:
            actor_for(request, who, via="web")
        return render(request, "error.html", {"title": title, "detail": detail}, status_code=status)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this address (Starlette's 405 names only the first
    route that matched the path, e.g. GET but not the POST beside it)."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed
