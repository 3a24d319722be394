"""Database work never runs on the event loop (docs/architecture.md, "Under load"):
every route of the features' routers is a plain function, run in the thread pool. An
``async`` route that reads the database or parses an upload (a 500-entry BibTeX file
is over a second of CPU) would stall every other request of the process meanwhile."""

from __future__ import annotations

import inspect

from opencall import app


def test_no_feature_route_runs_on_the_event_loop() -> None:
    on_loop = [
        f"{route.path} ({route.endpoint.__module__})"
        for router in app.ROUTERS
        for route in router.routes
        if inspect.iscoroutinefunction(getattr(route, "endpoint", None))
    ]
    assert on_loop == []
