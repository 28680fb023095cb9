"""gunicorn config of the invoke API: ``gunicorn -c deploy/gunicorn/invoke.py 'api.invoke:get_app()'``."""

from deploy.gunicorn.base import *  # noqa: F401,F403
from deploy.gunicorn.base import settings

bind = [f"{settings.bind_host}:{settings.invoke_port}"]
proc_name = "faasm-invoke"
