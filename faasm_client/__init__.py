"""The client side of faasm-py: the platform's HTTP API from Python, and the ``faasm`` CLI.

    from faasm_client import CallFailed, Client

    client = Client()                         # 127.0.0.1 and the configured ports
    client.invoke("demo", "hello", "hi")      # -> b"..." (output, then stdout)

A user's tool: it talks to the platform over HTTP only and loads none of
Redis, Celery, Falcon or wasmtime (tests/unit/test_import_graph.py checks).
From the core it takes only what needs nothing beyond the standard library:
the error classes (``faasm.errors``, whose HTTP statuses the client's errors
inherit), the settings (where the platform listens), the name rules and the
progress line. The few CLI commands that act on the platform itself rather
than through its APIs (``faasm token``, ``faasm up``, ``faasm bench``) import
what they need when they run, and say so in their help.

Modules: ``http`` (:class:`Client`), ``errors`` (:class:`ClientError` and its
tree), ``reports`` (:class:`CallReport`), ``toolchain`` (C/C++ to wasm),
``cli`` (the ``faasm`` command).
"""

from faasm_client.errors import (
                                 BadRequest,
                                 CallFailed,
                                 ClientError,
                                 Expired,
                                 Forbidden,
                                 NotFound,
                                 ServerError,
                                 TooLarge,
                                 Unauthorized,
                                 Unavailable,
                                 Unreachable,
                                 WaitTimeout,
                                 error_for,
)
from faasm_client.http import Client, default_urls
from faasm_client.reports import CallReport

__all__ = [
    "BadRequest", "CallFailed", "CallReport", "Client", "ClientError", "Expired", "Forbidden",
    "NotFound", "ServerError", "TooLarge", "Unauthorized", "Unavailable", "Unreachable",
    "WaitTimeout", "default_urls", "error_for",
]
