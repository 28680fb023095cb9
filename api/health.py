"""``GET /health`` on both APIs: what ``/ping`` does not check (Redis, the broker,
workers consuming each queue, queue depths). 200 when all is well, else 503 with
the same JSON, whose ``problems`` say what is wrong in words."""

from __future__ import annotations

import falcon

from api.auth import PUBLIC


class Health:
    auth = PUBLIC  # load balancers and operators ask without a token

    def __init__(self, queue_of):
        self.queue_of = queue_of

    def on_get(self, req, resp) -> None:
        from workers.health import platform_health

        report = platform_health(self.queue_of())
        resp.media = report
        resp.status = falcon.HTTP_200 if report["ok"] else falcon.HTTP_503


def add_health_routes(app: falcon.App, queue_of) -> None:
    """``queue_of()``: the :class:`workers.app.CallQueue` to report on."""
    app.add_route("/health", Health(queue_of))


def default_queue():
    """The process's CallQueue (the Celery app configured from the environment)."""
    from faasm.settings import get_settings
    from workers.app import CallQueue
    from workers.app import app as celery_app

    global _queue
    if _queue is None:
        _queue = CallQueue(celery_app, get_settings())
    return _queue


_queue = None
