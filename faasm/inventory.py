"""What a user keeps on the platform, and removing it: functions, state keys, shared files.

The upload API's inventory routes (``GET /functions/{user}``, ``GET /state/{user}``,
``GET /files``, and ``DELETE`` on ``/f``, ``/p``, ``/s``, ``/file``) and
``faasm ls``/``faasm rm`` are built on this. Precompiled machine code
(``artifacts/``) is content-addressed and may serve several functions: it
is never listed nor removed with a function (docs/OPERATING.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

from faasm.errors import NotFound
from faasm.files import shared_key
from faasm.functions import content_hash, python_key, wasm_key
from faasm.names import check_name, shared_path
from faasm.state import GlobalState
from faasm.storage import FUNCTIONS_PREFIX, SHARED_PREFIX, Storage

#: Kinds of function and the file each is stored as.
KINDS = {"wasm": "function.wasm", "python": "function.py"}
#: Most shared files one listing answers (``truncated`` says when there were more).
MAX_LISTED_FILES = 10_000


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


class Inventory:
    """Lists and removes a user's functions, state keys and shared files."""

    def __init__(self, storage: Storage, state: GlobalState):
        self.storage = storage
        self.state = state

    # -- functions --------------------------------------------------------

    def _describe_key(self, key: str, function: str, kind: str) -> dict | None:
        try:
            data = self.storage.read(key)
        except NotFound:
            return None
        return {"function": function, "kind": kind, "size": len(data),
                "uploaded": _iso(self.storage.modified(key)), "sha256": content_hash(data)}

    def functions(self, user: str) -> list[dict]:
        """Every function of ``user``, wasm and Python, sorted by name (wasm first)."""
        prefix = f"{FUNCTIONS_PREFIX}{check_name(user, 'user')}/"
        found = []
        for key in sorted(self.storage.list(prefix)):
            function, _, filename = key[len(prefix):].partition("/")
            for kind, name in KINDS.items():
                if filename == name:
                    entry = self._describe_key(key, function, kind)
                    if entry is not None:
                        found.append(entry)
        return sorted(found, key=lambda f: (f["function"], list(KINDS).index(f["kind"])))

    def function(self, user: str, function: str) -> list[dict]:
        """Each kind uploaded under ``user/function``; NotFound if none is."""
        found = [entry for entry in (
            self._describe_key(wasm_key(user, function), function, "wasm"),
            self._describe_key(python_key(user, function), function, "python")) if entry]
        if not found:
            raise NotFound(f"Function {user}/{function} not found")
        return found

    def delete_function(self, user: str, function: str, kind: str) -> None:
        """Remove the ``kind`` ("wasm" or "python") of ``user/function``; NotFound if absent."""
        key = wasm_key(user, function) if kind == "wasm" else python_key(user, function)
        if not self.storage.exists(key):
            what = "Function" if kind == "wasm" else "Python function"
            raise NotFound(f"{what} {user}/{function} not found")
        self.storage.delete(key)

    # -- state ------------------------------------------------------------

    def state_keys(self, user: str) -> list[dict]:
        """Every global state key of ``user`` with its size in bytes."""
        return [{"key": key, "size": size} for key, size in self.state.keys(user)]

    def delete_state(self, user: str, key: str) -> None:
        if not self.state.delete(user, key):
            raise NotFound(f"State {user}/{key} not found")

    # -- shared files -----------------------------------------------------

    def files(self, prefix: str = "") -> tuple[list[dict], bool]:
        """Shared files under the directory ``prefix`` ("" for all): ([{path, size,
        modified}], whether the listing was cut at :data:`MAX_LISTED_FILES`)."""
        directory = SHARED_PREFIX + (shared_path(prefix) + "/" if prefix.strip("/") else "")
        keys = sorted(self.storage.list(directory))
        truncated = len(keys) > MAX_LISTED_FILES
        found = []
        for key in keys[:MAX_LISTED_FILES]:
            size = self.storage.size(key)
            if size is not None:
                found.append({"path": key[len(SHARED_PREFIX):], "size": size,
                              "modified": _iso(self.storage.modified(key))})
        return found, truncated

    def delete_file(self, path: str | None) -> None:
        key = shared_key(path)
        if not self.storage.exists(key):
            raise NotFound(f"Shared file {key[len(SHARED_PREFIX):]} not found")
        self.storage.delete(key)
