"""Refuse text input that contains a NUL character, for every route, before any handler runs.

PostgreSQL cannot store NUL in text and SQLite stores it silently, so the same form would fail
on one engine and keep a poisoned value on the other. No person types one; it is refused with a
clear 400 instead. File uploads (multipart) are left to the importer that reads them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careplane.kernel.web import problem

#: How a NUL character arrives: raw, percent-encoded (forms, query strings), escaped (JSON).
_NUL_FORMS = (b"\x00", b"%00", b"\\u0000")
_CHECKED_BODIES = (b"application/x-www-form-urlencoded", b"application/json", b"application/problem+json")


def _has_nul(data: bytes) -> bool:
    return any(form in data for form in _NUL_FORMS)


class RefuseNulInput:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope.get("query_string", b"")) or _has_nul(scope.get("raw_path", b"") or b""):
            await self._refuse(scope, receive, send)
            return
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type not in _CHECKED_BODIES:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if _has_nul(body):
            await self._refuse(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            400,
            "Invalid characters",
            "The request contains a NUL character (code 0), which no field accepts. Remove it and try again.",
            type_slug="nul-character",
        )
        await response(scope, receive, send)
