"""``/api/docs``: Swagger UI for the JSON API, with a Content-Security-Policy that lets it run.

Swagger UI loads its script and style from a CDN and starts with one inline script; the policy
allows that CDN and that script by its hash (nothing else inline), and this origin for the rest.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.security_headers import content_security_policy

CDN = "https://cdn.jsdelivr.net"
FAVICON = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

router = APIRouter(route_class=GuardedRoute, include_in_schema=False)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@router.get("/api/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    page = get_swagger_ui_html(openapi_url=root + request.app.openapi_url, title=f"{request.app.title} - Swagger UI")
    hashes = [_sha256(script) for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())]
    page.headers["Content-Security-Policy"] = content_security_policy(
        script=[CDN, *hashes], style=[CDN, "'unsafe-inline'"], img=[FAVICON])
    return page
