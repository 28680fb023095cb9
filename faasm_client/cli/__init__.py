"""The ``faasm`` command line: the platform's HTTP API (and its set-up) from a shell.

``parser.py`` builds the parser; what each subcommand does is in
``commands.py``, ``inventory.py`` and ``ops.py``, and every platform request
goes through :class:`faasm_client.Client`. :func:`main` maps errors to exit
codes, in one place: 0 success, 1 the function (or build) failed, 2 usage
error (bad arguments, or a request the platform refused: bad name, unknown
function, missing key), 3 the platform is unreachable (nothing answers, or
its Redis/broker is down).
"""

from __future__ import annotations

import os
import sys

from faasm_client.cli.commands import FAILED, HINT, OK, UNREACHABLE, USAGE, UsageError
from faasm_client.cli.parser import build_parser
from faasm_client.errors import (
    CallFailed,
    ClientError,
    ServerError,
    Unauthorized,
    Unavailable,
    Unreachable,
)

__all__ = ["build_parser", "main"]

TOKEN_HINT = ("the platform has FAASM_AUTH on: pass --token TOKEN or set FAASM_TOKEN (an "
              "operator issues one with `faasm token create USER`)")
UNAVAILABLE_HINT = ("the API answers but Redis or the broker behind it does not: is the "
                    "`redis` process of `make run` up, and FAASM_REDIS_URL right?")


def main(argv: list[str] | None = None) -> int:
    """Run the ``faasm`` command ``argv`` (default: the process's); its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CallFailed as exc:
        print(f"FAILED: {exc.reason}", file=sys.stderr)
        return FAILED
    except Unreachable as exc:
        print(f"faasm: {exc.reason}\nhint: {HINT}", file=sys.stderr)
        return UNREACHABLE
    except Unavailable as exc:
        print(f"faasm: {exc.reason} (HTTP 503)\nhint: {UNAVAILABLE_HINT}", file=sys.stderr)
        return UNREACHABLE
    except ServerError as exc:
        print(f"faasm: the platform failed: {exc.reason} (HTTP {exc.status})", file=sys.stderr)
        return FAILED
    except ClientError as exc:
        print(f"faasm: {exc.reason} (HTTP {exc.status})", file=sys.stderr)
        if isinstance(exc, Unauthorized):
            print(f"hint: {TOKEN_HINT}", file=sys.stderr)
        return USAGE
    except UsageError as exc:
        parser.exit(USAGE, f"faasm: {exc}\n")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
