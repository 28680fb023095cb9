"""gunicorn config of the upload API.

Run: ``gunicorn -c deploy/gunicorn/upload.py 'api.upload:get_app()'``.
"""

from deploy.gunicorn.base import *  # noqa: F401,F403
from deploy.gunicorn.base import settings

bind = [f"{settings.bind_host}:{settings.upload_port}"]
proc_name = "faasm-upload"
