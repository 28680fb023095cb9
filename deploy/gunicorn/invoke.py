"""gunicorn config of the invoke API.

Run: ``gunicorn -c deploy/gunicorn/invoke.py 'api.invoke:get_app()'``.

A sync call holds one thread while it waits for its result, so the invoke
API runs 2 processes x 16 threads: 32 sync calls may wait at once per API
instance (the upload API keeps 2 x 8). Measured (docs/SCALING.md, 2 CPUs,
48 clients of a 300 ms call, 24 worker processes): gthread 2x8 45 req/s,
2x16 72 req/s, gevent 68 req/s with longer tails on fast calls. Override
per deployment with ``GUNICORN_CMD_ARGS="--workers 4 --threads 32"``.
"""

from deploy.gunicorn.base import *  # noqa: F401,F403
from deploy.gunicorn.base import settings

bind = [f"{settings.bind_host}:{settings.invoke_port}"]
proc_name = "faasm-invoke"
threads = 16
