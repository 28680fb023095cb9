"""gunicorn settings shared by both APIs (imported by upload.py / invoke.py).

Worker class gthread, 2 processes x 8 threads: a sync invoke blocks one
thread on its call's result, and gthread behaved best here under blocking
calls (docs/DESIGN.md, "Blocked waits"; gevent gave long tails). The timeout is
above the longest a sync call may wait, so gunicorn never kills a worker
that is legitimately waiting.
"""

from faasm.settings import get_settings

settings = get_settings()

worker_class = "gthread"
workers = 2
threads = 8
timeout = int(settings.max_call_timeout + settings.queue_grace + 30)
graceful_timeout = 10
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = "debug" if settings.debug else "info"
