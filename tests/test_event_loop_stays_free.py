"""Blocking database work never runs on the event loop, where it would hold up every request.

A route that is a coroutine runs on the event loop; one that takes a unit of work (``db_session``)
does synchronous database work, and on SQLite may wait for the writer. Such routes must be plain
functions (FastAPI runs them on a thread); forms are read for them by ``posted_form``.
"""

from __future__ import annotations

import importlib
import inspect

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from careplane.app import router_modules
from careplane.kernel.web import db_session


def _calls(dependant: Dependant) -> set[object]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _routes() -> list[APIRoute]:
    return [
        route
        for name in router_modules()
        for route in importlib.import_module(name).router.routes
        if isinstance(route, APIRoute)
    ]


def test_no_coroutine_route_works_on_a_unit_of_work():
    offenders = [
        f"{sorted(route.methods)} {route.path}"
        for route in _routes()
        if inspect.iscoroutinefunction(route.endpoint) and db_session in _calls(route.dependant)
    ]
    assert offenders == []


def test_form_routes_are_plain_functions():
    posts = [route for route in _routes() if "POST" in route.methods and not route.path.startswith("/api/")]
    assert len(posts) > 10, "the form routes were not found"
    assert [route.path for route in posts if inspect.iscoroutinefunction(route.endpoint)] == []
