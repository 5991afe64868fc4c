"""Structured logs, request ids, Prometheus metrics, and the health endpoints."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import new_request_id

REQUESTS = Counter("careplane_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "careplane_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

log = logging.getLogger("careplane.http")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """One readable line a record: time, level, logger, message, then the record's fields as
    ``key=value`` (those the message does not already say)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        shown = getattr(record, "said", ())
        extra = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items() if k not in shown)
        return f"{line} {extra}" if extra else line


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), logs it, and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], route_path, str(status)).inc()
            LATENCY.labels(scope["method"], route_path).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                ms = round(elapsed * 1000, 2)
                log.info(
                    "%s %s %s %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    ms,
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "ms": ms,
                        },
                        "said": ("method", "path", "status", "ms"),
                    },
                )


router = APIRouter(route_class=GuardedRoute, tags=["operations"])


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers through every engine that serves requests (on PostgreSQL
    psycopg for units of work, asyncpg for reads and group commits; see ``Database.probe``)."""
    engines = await request.app.state.db.probe()
    failed = {name: result for name, result in engines.items() if result != "ok"}
    if failed:
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "; ".join(f"{k}: {v}" for k, v in failed.items()),
                "engines": engines,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "engines": engines})


@router.get("/metrics", include_in_schema=False)
def metrics() -> PlainTextResponse:
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)
