"""Structured logs: one JSON object per request, carrying the id the response echoes; metrics by route."""

from __future__ import annotations

import json
import logging
import sys

from careplane.kernel.observability import JsonFormatter, PlainFormatter


def test_each_request_logs_one_json_line_with_its_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="careplane.http"):
        response = client.get("/healthz")
    request_id = response.headers["x-request-id"]
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "careplane.http"]
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert len(mine) == 1
    assert mine[0]["msg"].startswith("GET /healthz 200 ") and mine[0]["level"] == "info"
    assert (mine[0]["method"], mine[0]["path"], mine[0]["status"]) == ("GET", "/healthz", 200)
    assert isinstance(mine[0]["ms"], float) and mine[0]["ts"]


def test_a_failure_logs_its_traceback_inside_the_json():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("careplane.test").makeRecord(
            "careplane.test", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and "ValueError: boom" in line["exc"]


def test_metrics_count_requests_by_route_template_not_by_id(client):
    client.get("/api/v1/patients/00000000-0000-0000-0000-000000000000")
    text = client.get("/metrics").text
    assert 'route="/api/v1/patients/{patient_id}"' in text
    assert "00000000-0000-0000-0000-000000000000" not in text


def test_the_plain_log_says_each_request_in_one_readable_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="careplane.http"):
        first = client.get("/healthz").headers["x-request-id"]
        client.get("/nowhere")
    lines = [PlainFormatter().format(r) for r in caplog.records if r.name == "careplane.http"]
    assert len(lines) == 2 and lines[0] != lines[1]
    assert " INFO careplane.http GET /healthz 200 " in lines[0] and lines[0].endswith(f" ms request_id={first}")
    assert "GET /nowhere 404 " in lines[1] and "method=" not in lines[1]
