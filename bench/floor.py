"""The architecture's floor: a Falcon endpoint that awaits a no-op Celery task.

Built the way the platform is run (the Procfile), with nothing of faasm-py's
own: one Falcon resource under the invoke API's gunicorn settings
(``deploy/gunicorn/invoke.py``), a plain Celery app with Celery's defaults
(Redis broker and result backend, JSON, task events on and the sent event,
as the platform's), a worker started with the platform's flags and pool, and
Flower consuming its events. ``invoke / floor`` is then what faasm-py adds.

- API: ``gunicorn -c deploy/gunicorn/invoke.py 'bench.floor:get_app()'``
- worker: ``celery -A bench.floor worker -E --without-mingle --without-gossip``
- Flower: ``celery -A bench.floor flower``

The broker is ``FAASM_REDIS_URL``, read when this module is imported.

``bare`` (``start(bare=True)``) is issue 17's held-out floor instead: gunicorn
gthread 2 x 8, a solo worker, no task events, no Flower.
"""

from __future__ import annotations

import os
import time

import celery
import falcon

NOOP_TASK = "floor.noop"


#: Set (to anything) in a bare floor's processes: no task events.
BARE = "FAASM_BENCH_BARE_FLOOR"


def create_celery(redis_url: str, events: bool = True) -> celery.Celery:
    app = celery.Celery("floor", broker=redis_url, backend=redis_url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                    worker_send_task_events=events, task_send_sent_event=events,
                    broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)
    app.task(name=NOOP_TASK)(_noop)
    return app


def _noop() -> str:
    return "pong"


app = create_celery(os.environ.get("FAASM_REDIS_URL", "redis://127.0.0.1:6379/0"),
                    events=not os.environ.get(BARE))


class Floor:
    """``POST /``: reads the body, sends the no-op task, awaits its result."""

    def on_post(self, req, resp):
        req.bounded_stream.read()
        resp.text = app.send_task(NOOP_TASK).get(timeout=30)
        resp.content_type = falcon.MEDIA_TEXT


def get_app() -> falcon.App:
    api = falcon.App()
    api.add_route("/", Floor())
    return api


def start(processes, port: int, flower_port: int, concurrency: int, bare: bool = False) -> None:
    """Start the floor's API, worker and Flower as ``processes`` (a
    deploy.processes.Platform over the floor's own Redis) would the platform's;
    ``bare``: the held-out floor (2 x 8 threads, a solo worker, no events, no Flower)."""
    from deploy.processes import BIN

    if bare:
        processes.env.update({BARE: "1", "GUNICORN_CMD_ARGS": "--threads 8"})
    processes.gunicorn("api", "bench.floor:get_app()", port)
    pool = ["-P", "solo"] if bare else ["-E", f"--concurrency={concurrency}"]
    processes.spawn("worker", [str(BIN / "celery"), "-A", "bench.floor", "worker", *pool,
                               "-n", "floor@%h", "--without-mingle", "--without-gossip",
                               "--loglevel=INFO"])
    if not bare:
        processes.start_flower(flower_port, "bench.floor")


def wait_ready(url: str, seconds: float = 60) -> None:
    """Until the floor's worker answers a call through the API."""
    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.post(url, data=b"{}", timeout=5).text == "pong":
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the floor did not answer within {seconds:g} s")
        time.sleep(0.2)

