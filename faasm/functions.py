"""Functions in shared storage: where each kind lives, and upload validation.

Layout of storage keys::

    functions/<user>/<function>/function.wasm   the wasm as uploaded
    functions/<user>/<function>/function.py     a Python function's source
    artifacts/<sha256>-<engine key>.cwasm       precompiled machine code
    shared/<path>                               shared files (faasm://<path>)
"""

from __future__ import annotations

import ast
import hashlib
import warnings

from faasm.errors import BadRequest, NotFound
from faasm.names import check_name
from faasm.storage import Storage

WASM_MAGIC = b"\x00asm"


def _function_dir(user: str, function: str) -> str:
    return f"functions/{check_name(user, 'user')}/{check_name(function, 'function')}"


def wasm_key(user: str, function: str) -> str:
    return f"{_function_dir(user, function)}/function.wasm"


def python_key(user: str, function: str) -> str:
    return f"{_function_dir(user, function)}/function.py"


def artifact_key(wasm_hash: str, engine_key: str) -> str:
    return f"artifacts/{wasm_hash}-{engine_key}.cwasm"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_wasm_header(data: bytes) -> None:
    if len(data) < 8 or not data.startswith(WASM_MAGIC):
        raise BadRequest("Invalid wasm: missing the \\0asm magic number")


def check_python_source(source: bytes, name: str) -> str:
    """The source as text, if it is UTF-8 and parses; else BadRequest."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"Invalid Python: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise BadRequest(f"Invalid Python: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise BadRequest(f"Invalid Python: {type(exc).__name__}") from None
    return text


class Functions:
    """Reads and writes functions in shared storage."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def put_python(self, user: str, function: str, source: bytes) -> None:
        key = python_key(user, function)
        check_python_source(source, f"{user}/{function}")
        self.storage.write(key, source)

    def get_wasm(self, user: str, function: str) -> bytes:
        return self._get(wasm_key(user, function), f"Function {user}/{function}")

    def get_python(self, user: str, function: str) -> bytes:
        return self._get(python_key(user, function), f"Python function {user}/{function}")

    def _get(self, key: str, what: str) -> bytes:
        try:
            return self.storage.read(key)
        except NotFound:
            raise NotFound(f"{what} not found") from None

    def resolve(self, user: str, function: str, python: bool | None) -> bool:
        """Whether the call runs a Python function; NotFound if nothing is uploaded.

        ``python`` None means "whatever is uploaded", wasm first.
        """
        if python is not True and self.storage.exists(wasm_key(user, function)):
            return False
        if python is not False and self.storage.exists(python_key(user, function)):
            return True
        kind = "Python function" if python else "Function"
        raise NotFound(f"{kind} {user}/{function} not found")
