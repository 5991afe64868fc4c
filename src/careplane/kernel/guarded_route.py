"""The edge rules every route gets, decided before FastAPI reads a byte of the request's body.

Every router is an ``APIRouter(route_class=GuardedRoute)``; ``create_app`` refuses to start with
a route that is not (:func:`assert_guarded`), so no route can forget these:

1. **Anonymous bodies are not read.** A request that carries a body but neither a session cookie
   nor an ``Authorization`` header, to a route that needs a login (one that depends, however
   deeply, on ``page_actor``, ``api_actor`` or another dependency marked :func:`needs_login`), is
   refused as that route would refuse it (401 problem+json, or to the login page), before its
   body is read. The public forms (log in, sign up, password
   reset) have no such dependency and keep working, within the small limit.
2. **Bodies are bounded.** ``settings.max_body_bytes`` for JSON and forms, or
   ``settings.max_upload_bytes`` for a route marked :func:`accepts_upload`. A ``Content-Length``
   over the limit is refused before anything is read; a body without one (chunked) is counted
   as it streams and refused at the first byte over. 413, problem+json (an error page for pages).
3. **No control characters in text** (:mod:`careplane.kernel.control_characters`): the path, the
   query string, and the body as the route parses it, JSON of any ``+json`` type and forms
   (urlencoded or multipart, field names, values and file names), because the check sits in the
   request's own ``json()`` and ``form()``. 400 problem+json naming the field.

The refusals raised while FastAPI reads the body are ``HTTPException``s (:class:`Refused`), the one
kind its body reader lets through unchanged; ``app.py`` renders them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import Message, Receive

from careplane.kernel import control_characters
from careplane.kernel.errors import NotAuthenticated
from careplane.kernel.problem_docs import problem_answer
from careplane.kernel.web import SESSION_COOKIE, LoginRequired, api_actor, api_caller, page_actor
from careplane.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
_UPLOAD_MARK = "_careplane_accepts_upload"
_LOGIN_MARK = "_careplane_refuses_anonymous"


def accepts_upload(endpoint: F) -> F:
    """Mark a route that takes files: its body may reach ``settings.max_upload_bytes`` instead of
    ``settings.max_body_bytes``. Put it under the ``@router.post(...)`` line."""
    setattr(endpoint, _UPLOAD_MARK, True)
    return endpoint


def needs_login(refusal: type[Exception] = LoginRequired) -> Callable[[F], F]:
    """Mark a dependency that refuses anyone not logged in (raising ``refusal``): a route that
    depends on it refuses an anonymous request the same way before reading its body. Mark an
    endpoint that checks its caller itself (``web.api_read``) the same way, under its route line."""

    def mark(dependency: F) -> F:
        setattr(dependency, _LOGIN_MARK, refusal)
        return dependency

    return mark


needs_login(LoginRequired)(page_actor)
needs_login(NotAuthenticated)(api_actor)
needs_login(NotAuthenticated)(api_caller)


# ---------------------------------------------------------------- refusals


class Refused(HTTPException):
    """A request the edge refuses; rendered as problem+json (or an error page) by ``app.py``."""

    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self, status_code: int, detail: str, *, errors: dict[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(status_code, detail)
        self.errors = errors or {}
        self.extensions = extensions


class BodyTooLarge(Refused):
    title = "Request too large"
    type_slug = "body-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body is larger than this address accepts ({_size(limit)}).", max_bytes=limit
        )


class InvalidCharacters(Refused):
    title = "Invalid characters"
    type_slug = "invalid-characters"

    def __init__(self, field: str, char: str) -> None:
        what = control_characters.describe(char)
        super().__init__(
            400,
            f"'{field}' contains {what}, which no field accepts. Remove it and try again.",
            errors={field: f"contains {what}"},
        )


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0 else f"{limit} bytes"


def refuse_control_characters(value: Any, field: str = "") -> None:
    found = control_characters.first_in(value, field)
    if found is not None:
        raise InvalidCharacters(*found)


# ---------------------------------------------------------------- the request as routes see it


class CheckedRequest(Request):
    """A request whose parsed text is checked the moment it is parsed: FastAPI, dependencies
    (the CSRF check) and handlers all read the body through these two methods."""

    async def json(self) -> Any:
        if hasattr(self, "_json"):
            return self._json
        value = await super().json()
        try:
            refuse_control_characters(value)
        except InvalidCharacters:
            del self._json  # never hand the refused value out later
            raise
        return value

    async def _get_form(self, **limits: Any) -> FormData:
        if self._form is not None:
            return self._form
        form = await super()._get_form(**limits)
        for name, value in form.multi_items():
            text = value.filename or "" if isinstance(value, UploadFile) else value
            try:
                refuse_control_characters(name, "form field name")
                refuse_control_characters(text, name)
            except InvalidCharacters:
                self._form = None
                await form.close()
                raise
        return form


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that counts the body as it streams and refuses it at the first byte over ``limit``."""
    seen = 0

    async def receive_within_limit() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_within_limit


# ---------------------------------------------------------------- the route


def _calls(dependant: Dependant) -> list[Callable[..., Any]]:
    """Every dependency the route has, however deep."""
    found: list[Callable[..., Any]] = []
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.append(sub.call)
        found += _calls(sub)
    return found


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length.strip() != "0") or "transfer-encoding" in request.headers


def _content_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


#: The OpenAPI security scheme of API tokens (``Authorization: Bearer cpt_...``).
BEARER_SCHEME = "bearerToken"


class GuardedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.accepts_upload = bool(getattr(endpoint, _UPLOAD_MARK, False))
        #: What the route raises for someone who is not logged in; None for a public route.
        self.anonymous_refusal: type[Exception] | None = next(
            (getattr(call, _LOGIN_MARK) for call in [endpoint, *_calls(self.dependant)] if hasattr(call, _LOGIN_MARK)),
            None,
        )
        self.responses = {**documented_refusals(self), **self.responses}
        if self.anonymous_refusal is not None:
            self.openapi_extra = {"security": [{BEARER_SCHEME: []}], **(self.openapi_extra or {})}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            settings: Settings = request.app.state.settings
            if (
                self.anonymous_refusal is not None
                and _has_body(request)
                and not ("authorization" in request.headers or SESSION_COOKIE in request.cookies)
            ):
                raise self.anonymous_refusal("Log in, or send 'Authorization: Bearer <api token>', to continue.")
            limit = settings.max_upload_bytes if self.accepts_upload else settings.max_body_bytes
            length = _content_length(request)
            if length is not None and length > limit:
                raise BodyTooLarge(limit)
            checked = CheckedRequest(request.scope, _limited(request.receive, limit))
            for name, value in checked.path_params.items():
                refuse_control_characters(value, name)
            refuse_control_characters(request.scope["path"], "path")
            for name, value in checked.query_params.multi_items():
                refuse_control_characters(name, "query parameter name")
                refuse_control_characters(value, name)
            return await handle(checked)

        return guarded


def documented_refusals(route: GuardedRoute) -> dict[int | str, dict[str, Any]]:
    """The answers of this module that the route really gives, for its OpenAPI operation."""
    answers: dict[int | str, dict[str, Any]] = {
        400: problem_answer(
            "A field, the path or the query holds a control character (`errors` names the "
            "field), or the body cannot be parsed."
        ),
    }
    changes = bool((route.methods or set()) - {"GET", "HEAD", "OPTIONS"})
    if changes:
        answers[413] = problem_answer("The body is larger than the route accepts (`max_bytes`).")
    if route.anonymous_refusal is not None:
        answers[401] = problem_answer("Not logged in, or an Authorization header that is not a valid bearer token.")
        if changes:
            answers[403] = problem_answer(
                "Sent with a web session's cookie but without its CSRF token "
                "(`X-CSRF-Token`); a bearer token needs none."
            )
    return answers


def assert_guarded(routes: list[BaseRoute], where: str) -> None:
    """Refuse to build an app with a route that skipped these rules."""
    for route in routes:
        if isinstance(route, APIRoute) and not isinstance(route, GuardedRoute):
            raise TypeError(
                f"{where}: route {route.path} is not a GuardedRoute; "
                "make its router with APIRouter(route_class=GuardedRoute)"
            )
