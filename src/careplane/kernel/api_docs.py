"""``/api/docs``: Swagger UI for the JSON API, served from this app alone (no CDN, works offline).

The Swagger UI files come from the ``fastapi-offline`` wheel (Swagger UI 5, Apache-2.0, its
licence travels in that package). The page starts Swagger UI with one inline script, which the
Content-Security-Policy allows by its hash and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from careplane.kernel.errors import NotFound
from careplane.kernel.guarded_route import BEARER_SCHEME, GuardedRoute
from careplane.kernel.security_headers import content_security_policy

ASSETS = files("fastapi_offline") / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
TOKEN_HOWTO = (
    "Every operation that needs a caller takes `Authorization: Bearer <api token>`. Make a token while "
    "logged in to the web app with your password and second factor: on your profile page (`/profile`, "
    '"API tokens") or with `POST /api/v1/me/tokens` from that session. The token is shown once; it acts '
    "as you, within your role and unit, and every use is audited."
)
API_DESCRIPTION = (
    "careplane's JSON API. Errors are RFC 9457 problem+json (`type`, `title`, `status`, `detail`, and "
    "`errors` naming each bad field). A request that changes data may carry an `Idempotency-Key` "
    "header; sending it again with the same key answers as the first time and acts once.\n\n"
    "**Authentication.** " + TOKEN_HOWTO
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

router = APIRouter(route_class=GuardedRoute, include_in_schema=False)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def declare_bearer_tokens(spec: dict[str, Any]) -> dict[str, Any]:
    """Name the bearer-token scheme in the OpenAPI document (Swagger UI's Authorize button); each
    operation that refuses an anonymous caller says it needs one (:class:`GuardedRoute`)."""
    spec.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cpt_...",
        "description": TOKEN_HOWTO,
    }
    return spec


@router.get("/api/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}/api/docs/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/api/docs/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/api/docs/assets/favicon.png",
        swagger_ui_parameters={"persistAuthorization": False},
    )
    hashes = [_sha256(script) for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())]
    page.headers["Content-Security-Policy"] = content_security_policy(script=hashes, style=["'unsafe-inline'"])
    return page


@router.get("/api/docs/assets/{name}")
def swagger_asset(name: str) -> FileResponse:
    if name not in ASSET_TYPES:
        raise NotFound(f"No documentation asset named {name!r}.")
    return FileResponse(
        str(ASSETS / name), media_type=ASSET_TYPES[name], headers={"Cache-Control": "public, max-age=86400"}
    )
