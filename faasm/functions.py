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
import json
import subprocess
import sys
import warnings
from dataclasses import dataclass

from faasm.errors import BadRequest, NotFound, TooLarge
from faasm.names import check_name
from faasm.settings import MAX_PYTHON_BYTES, PYTHON_PARSE_MEMORY, PYTHON_PARSE_TIMEOUT
from faasm.storage import ARTIFACTS_PREFIX, FUNCTIONS_PREFIX, Storage

WASM_MAGIC = b"\x00asm"


def _function_dir(user: str, function: str) -> str:
    return f"{FUNCTIONS_PREFIX}{check_name(user, 'user')}/{check_name(function, 'function')}"


def wasm_key(user: str, function: str) -> str:
    return f"{_function_dir(user, function)}/function.wasm"


def python_key(user: str, function: str) -> str:
    return f"{_function_dir(user, function)}/function.py"


def artifact_key(wasm_hash: str, engine_key: str) -> str:
    return f"{ARTIFACTS_PREFIX}{wasm_hash}-{engine_key}.cwasm"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_wasm_header(data: bytes) -> None:
    if len(data) < 8 or not data.startswith(WASM_MAGIC):
        raise BadRequest("Invalid wasm: missing the \\0asm magic number")


@dataclass(frozen=True)
class PythonBudget:
    """What checking an uploaded Python source may cost (see docs/SECURITY.md):
    ``ast.parse`` takes about 250 bytes of memory and 4 µs per byte of source."""

    #: Largest source accepted, bytes (413 beyond).
    max_bytes: int = MAX_PYTHON_BYTES
    #: Memory the parse may use, bytes (the source is refused beyond).
    parse_memory: int = PYTHON_PARSE_MEMORY
    #: Time the parse may take, seconds (the source is refused beyond).
    parse_timeout: float = PYTHON_PARSE_TIMEOUT

    #: Sources up to this size are parsed in the API process (at most ~16 MB, ~0.25 s);
    #: bigger ones in a child process held to the memory and time above.
    IN_PROCESS_BYTES = 64 << 10

    @classmethod
    def from_settings(cls, settings) -> PythonBudget:
        return cls(settings.max_python_bytes, settings.python_parse_memory,
                   settings.python_parse_timeout)


def check_python_source(source: bytes, name: str, budget: PythonBudget = PythonBudget()) -> str:
    """The source as text, if it is UTF-8, within the budget, and parses; else BadRequest
    (TooLarge past the size limit)."""
    if len(source) > budget.max_bytes:
        raise TooLarge(f"Python source of {len(source)} bytes is over the "
                       f"{budget.max_bytes} byte limit (FAASM_MAX_PYTHON_BYTES)")
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"Invalid Python: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if len(source) <= budget.IN_PROCESS_BYTES:
        _parse(text, name)
    else:
        _parse_in_child(source, name, budget)
    return text


def _parse(text: str, name: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise BadRequest(f"Invalid Python: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise BadRequest(f"Invalid Python: {type(exc).__name__}") from None


#: The child's program: read stdin, allow itself the budget on top of the memory it
#: already maps, parse, say what went wrong as JSON.
_CHILD = """
import ast, json, resource, sys, warnings
source = sys.stdin.buffer.read()
with open("/proc/self/statm") as f:
    mapped = int(f.read().split()[0]) * resource.getpagesize()
limit = mapped + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(source, filename=sys.argv[2])
except SyntaxError as exc:
    print(json.dumps({"error": f"{exc.msg} (line {exc.lineno})"}))
except MemoryError:
    print(json.dumps({"memory": True}))
except (ValueError, RecursionError) as exc:
    print(json.dumps({"error": type(exc).__name__}))
"""


def _parse_in_child(source: bytes, name: str, budget: PythonBudget) -> None:
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _CHILD,
                               str(budget.parse_memory), name],
                              input=source, capture_output=True, timeout=budget.parse_timeout)
    except subprocess.TimeoutExpired:
        raise BadRequest(f"Invalid Python: parsing it took over {budget.parse_timeout:g} s "
                         "(FAASM_PYTHON_PARSE_TIMEOUT)") from None
    answer = {}
    if done.stdout.strip():
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            answer = {"memory": True}
    elif done.returncode != 0:
        answer = {"memory": True}  # killed while allocating (MemoryError could not print)
    if answer.get("memory"):
        raise BadRequest(f"Invalid Python: parsing it needs over {budget.parse_memory} bytes "
                         "of memory (FAASM_PYTHON_PARSE_MEMORY)")
    if "error" in answer:
        raise BadRequest(f"Invalid Python: {answer['error']}")


class Functions:
    """Reads and writes functions in shared storage."""

    def __init__(self, storage: Storage, python_budget: PythonBudget = PythonBudget()):
        self.storage = storage
        self.python_budget = python_budget

    def put_python(self, user: str, function: str, source: bytes) -> None:
        key = python_key(user, function)
        check_python_source(source, f"{user}/{function}", self.python_budget)
        self.storage.write(key, source)

    def get_wasm(self, user: str, function: str) -> bytes:
        return self._get(wasm_key(user, function), f"Function {user}/{function}")

    def get_python(self, user: str, function: str) -> bytes:
        return self._get(python_key(user, function), f"Python function {user}/{function}")

    def python_version(self, user: str, function: str) -> str | None:
        """The stored Python function's version (each upload changes it); None if none is."""
        return self.storage.version(python_key(user, function))

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
