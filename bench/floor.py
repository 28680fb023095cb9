"""The architecture's floor: a minimal Falcon endpoint that awaits a no-op Celery task.

Served by the same gunicorn settings as the invoke API, over the same broker
and result backend, so ``invoke / floor`` isolates what faasm-py adds.
Run with ``gunicorn -c deploy/gunicorn/invoke.py 'bench.floor:get_app()'``.
"""

import falcon

from workers.app import PING_TASK, SYNC_QUEUE
from workers.app import app as celery_app


class Floor:
    def on_post(self, req, resp):
        req.bounded_stream.read()
        result = celery_app.send_task(PING_TASK, queue=SYNC_QUEUE)
        resp.text = result.get(timeout=30)
        resp.content_type = falcon.MEDIA_TEXT


def get_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/", Floor())
    return app
