"""Security headers on every response: a Content-Security-Policy, and the headers browsers need
to keep careplane's pages out of frames, off content sniffing, and (behind TLS) on HTTPS.

The pages load script and style only from ``/static`` (no inline ``<script>``, ``on...=``
handler or ``style=``: behaviours live in ``static/page-helpers.js``). A route that needs another
policy sets its own ``Content-Security-Policy`` header (``/api/docs``, :mod:`careplane.kernel.api_docs`),
built with :func:`content_security_policy`; this middleware leaves a header a route set alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: HSTS for a year, subdomains included, when cookies are secure (the site is served over TLS).
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(*, script: Iterable[str] = (), style: Iterable[str] = (), img: Iterable[str] = ()) -> str:
    """careplane's policy: everything from this origin only, never framed; ``script``, ``style``
    and ``img`` add sources to those kinds."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script],
        "style-src": ["'self'", *style],
        "img-src": ["'self'", "data:", *img],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        if https:
            self.headers["Strict-Transport-Security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
