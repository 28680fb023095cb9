"""What a guest sees around it, wasm or Python: argv, environment variables, /etc basics.

The same for every call of every user, so a function written for Faasm finds
what Faasm gives it (docs/MOVING_FROM_FAASM.md, "Runtime environment and
Python"): ``argv`` is ``function.wasm`` followed by the call's ``cmdline``
split at spaces; the environment is Faasm's own set plus the paths this
platform gives (``HOME``, ``TMPDIR``, ``PWD``); ``/etc`` holds a minimal,
read-only ``hosts``, ``passwd`` and ``resolv.conf`` that name no host
machine: the three files of Faasm's runtime root.
"""

from __future__ import annotations

from faasm.calls import Call

#: argv[0] of every wasm call, as Faasm gives it.
ARGV0 = "function.wasm"

#: Faasm's environment (its WasmEnvironment), given to wasm and Python calls alike.
FAASM_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONNOUSERSITE": "on",
    "LC_CTYPE": "en_GB.UTF-8",
    "LANG": "en_GB.UTF-8",
    "PYTHONWASM": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
#: Faasm's Python home variables: meaningful to a CPython built as a wasm
#: function (Faasm's), given to wasm calls only; this platform's Python
#: sandbox keeps its own home (its stdlib is a zip under /usr/local/lib).
WASM_ONLY_ENV = {"PYTHONHOME": "/", "PYTHON_PATH": "/"}
#: Where the writable places are, for every guest.
PATHS_ENV = {"HOME": "/", "TMPDIR": "/tmp", "PWD": "/"}

#: /etc: the files of Faasm's runtime root (``hosts``, ``resolv.conf``, ``passwd``) and
#: no others, as faasm/faasm's getdents test requires; nothing in them describes the
#: worker. ``hosts`` is Faasm's own, byte for byte (functions check its length);
#: ``passwd`` names the users the SDK's getpwuid knows (sdk/lib/posix.c).
ETC_FILES: dict[str, bytes] = {
    "hosts": b"127.0.0.1\tlocalhost\n",
    "passwd": b"root:x:0:0:root:/:/bin/false\nfaasm:x:1000:1000:faasm:/:/bin/false\n"
              b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "resolv.conf": b"# no network inside a function\n",
}


def guest_argv(call: Call) -> list[str]:
    """``function.wasm`` and the call's cmdline split at single spaces (as Faasm does)."""
    return [ARGV0] + (call.cmdline.split(" ") if call.cmdline else [])


def guest_env(python: bool = False) -> dict[str, str]:
    """The environment variables a guest sees."""
    env = dict(FAASM_ENV)
    if not python:
        env.update(WASM_ONLY_ENV)
    env.update(PATHS_ENV)
    return env
