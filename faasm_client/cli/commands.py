"""What each ``faasm`` subcommand does (``parser.py`` parses the command line).

Each ``cmd_*`` takes the parsed arguments and returns the exit code; errors
of the client propagate to :func:`faasm_client.cli.main`, which maps them to
exit codes in one place. Commands that act on the platform itself, not
through its APIs (``token``: Redis; ``up``: the process supervisor), import
what they need when they run, so the rest of the CLI loads HTTP only.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from faasm.progress import BytesProgress, StatusLine, human_bytes
from faasm_client.errors import CallFailed, WaitTimeout
from faasm_client.http import Client
from faasm_client.reports import CallReport

OK, FAILED, USAGE, UNREACHABLE = 0, 1, 2, 3
HINT = "is the platform running? Start it with `make run` (or `faasm up`), or point " \
       "--upload-url/--invoke-url at it"
CXX_OR_C = {".c", ".cc", ".cpp", ".cxx", ".c++", ".C"}


class UsageError(Exception):
    """A mistake in the command line the parser could not see (a missing file ...)."""


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _write(data: bytes, path: str | None = None) -> None:
    """``data`` to ``path``, or to stdout (a newline added only on a terminal)."""
    if path and path != "-":
        Path(path).write_bytes(data)
        return
    out = sys.stdout.buffer
    out.write(data)
    if sys.stdout.isatty() and data and not data.endswith(b"\n"):
        out.write(b"\n")
    out.flush()


def emit_json(data) -> None:
    """``--json``: one JSON document on stdout."""
    print(json.dumps(data, indent=2), flush=True)


def _data_json(data: bytes) -> dict:
    """Bytes for ``--json``: text when UTF-8, else base64 (``encoding`` says which)."""
    try:
        return {"data": data.decode("utf-8"), "encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"data": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def _out(args, data: bytes, to: str | None = None, **fields) -> None:
    """Bytes a command prints (or writes to file ``to``); with --json and no file, as JSON."""
    if getattr(args, "json", False) and not (to and to != "-"):
        emit_json({**fields, **_data_json(data)})
    else:
        _write(data, to)


def _source(path: str, what: str = "file") -> Path | bytes:
    """A local file to send (``-`` is stdin); UsageError if it does not exist."""
    if path == "-":
        return sys.stdin.buffer.read()
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such {what}: {path}")
    return file


def _data(args) -> Path | bytes:
    """The data of a ``put``: the literal argument, ``--file``, or stdin."""
    if args.data is not None and args.file is not None:
        raise UsageError("give the data as an argument or with --file, not both")
    if args.data is not None:
        return args.data.encode("utf-8")
    return _source(args.file or "-")


def _send(args, what: str, name: str, send) -> None:
    """Run ``send(progress)``, showing bytes sent on a terminal; print the answer."""
    line = StatusLine(f"uploading {name}", enabled=not args.quiet, delay=0.3)
    if not line.live:
        line.enabled = False  # off a terminal each chunk would print a line
    with line:
        answer = send(BytesProgress(line, "uploading", name,
                                    then=f"waiting for the platform to store the {what}"))
    if getattr(args, "json", False):
        emit_json({"name": name, "stored": what, "answer": answer.strip()})
    else:
        print(answer.strip())


def client_for(args) -> Client:
    """The client the command line's --upload-url/--invoke-url/--token describe."""
    return Client(args.upload_url, args.invoke_url, token=args.token)


def cmd_upload(args) -> int:
    wasm = _source(args.file, "wasm file")
    if isinstance(wasm, Path) and wasm.suffix in CXX_OR_C:
        raise UsageError(f"{args.file} is source code: build it first with "
                         f"`faasm build {args.file} -o {wasm.with_suffix('.wasm').name}`")
    _send(args, "function", f"{args.user}/{args.function}",
          lambda progress: client_for(args).upload(args.user, args.function, wasm, progress))
    return OK


def cmd_upload_py(args) -> int:
    source = _source(args.file, "Python file")
    _send(args, "Python function", f"{args.user}/{args.function}",
          lambda progress: client_for(args).upload_python(args.user, args.function, source,
                                                       progress))
    return OK


def cmd_download(args) -> int:
    client = client_for(args)
    if args.python:
        data = client.download_python(args.user, args.function)
    else:
        data = client.download(args.user, args.function)
    _out(args, data, args.output, user=args.user, function=args.function)
    return OK


def _poll(args, client: Client, call_id: int) -> int:
    """Wait for the call with a live status line; its output (or reason) at the end."""
    with StatusLine(f"call {call_id}: RUNNING", enabled=not args.quiet) as line:
        def on_poll(report: CallReport, elapsed: float) -> None:
            if not report.done:  # the end gets its own line below
                line.update(f"call {call_id}: {report.status}")

        try:
            report = client.wait(call_id, timeout=args.wait_timeout, on_poll=on_poll)
        except CallFailed as exc:
            line.finish(f"call {call_id}: FAILED after {line.elapsed:.1f} s")
            _stderr(f"FAILED: {exc.reason}")
            return FAILED
        except (WaitTimeout, KeyboardInterrupt) as exc:
            line.stop()
            _stderr(f"faasm: call {call_id} still RUNNING after {line.elapsed:.1f} s; "
                    f"see `faasm status {call_id}`")
            return 130 if isinstance(exc, KeyboardInterrupt) else FAILED
        where = f" on {report.worker}" if report.worker else ""
        line.finish(f"call {call_id}: SUCCESS after {line.elapsed:.1f} s{where}")
    if getattr(args, "json", False) and not args.output:
        emit_json(client.status_json(call_id))
        return OK
    _write(report.output + report.stdout, args.output)
    return OK


def _batch(args, client: Client, data: bytes) -> int:
    """``invoke --batch N`` / ``--inputs FILE``: one request, then each output in order."""
    if args.inputs is not None:
        source = _source(args.inputs, "inputs file")
        text = source.read_bytes() if isinstance(source, Path) else source
        inputs = text.splitlines()
        if not inputs:
            raise UsageError(f"{args.inputs} has no lines: nothing to call")
    else:
        inputs = [data] * args.batch
    app_id = client.invoke_batch(args.user, args.function, inputs, python=args.python)
    if args.is_async and not args.poll:
        print(app_id)
        return OK
    total = len(inputs)
    with StatusLine(f"batch {app_id}: 0/{total} calls ended", enabled=not args.quiet) as line:
        reports = client.wait_batch(app_id, timeout=args.wait_timeout, on_poll=lambda ended,
                                    _: line.update(f"batch {app_id}: {ended}/{total} calls "
                                                   "ended"))
        failed = [r for r in reports if not r.ok]
        line.finish(f"batch {app_id}: {total - len(failed)} of {total} calls succeeded "
                    f"in {line.elapsed:.1f} s")
    if getattr(args, "json", False):
        print(json.dumps({"app": app_id, "calls": [
            {"id": r.id, "status": r.status, "output": r.output.decode("utf-8", "replace"),
             "error": r.error, "worker": r.worker} for r in reports]}, indent=2))
        return FAILED if failed else OK
    _write(b"".join(r.output + b"\n" for r in reports), args.output)
    for report in failed:
        _stderr(f"call {report.id}: FAILED: {report.error}")
    return FAILED if failed else OK


def cmd_invoke(args) -> int:
    client = client_for(args)
    if args.inputs is not None and args.input_file is not None:
        raise UsageError("--inputs is the batch's inputs: give --input-file or --inputs, "
                         "not both")
    if args.input_file is not None:
        source = _source(args.input_file, "input file")
        data = source.read_bytes() if isinstance(source, Path) else source
    else:
        data = (args.input or "").encode("utf-8")
    if args.batch or args.inputs is not None:
        return _batch(args, client, data)
    call = {"python": args.python, "timeout": args.timeout}
    if args.is_async or args.poll:
        call_id = client.invoke_async(args.user, args.function, data, **call)
        if not args.poll:
            emit_json({"id": call_id}) if args.json else print(call_id)
            return OK
        return _poll(args, client, call_id)
    _out(args, client.invoke(args.user, args.function, data, **call), args.output,
         user=args.user, function=args.function)
    return OK


def cmd_status(args) -> int:
    client = client_for(args)
    if args.wait:
        return _poll(args, client, args.call_id)
    if args.json:
        report = client.status_json(args.call_id)
        emit_json(report)
        return FAILED if report.get("status") == "FAILED" else OK
    text = client.status(args.call_id)
    _write(text, None)
    return FAILED if text.startswith(b"FAILED") else OK


def cmd_graph(args) -> int:
    answer = client_for(args).graph(args.call_id)
    if args.json:
        print(json.dumps(answer, indent=2))
        return OK
    for line in draw_graph(answer["root"]):
        print(line)
    return OK


def draw_graph(node: dict, prefix: str = "", last: bool = True, top: bool = True) -> list[str]:
    """The tree of calls as text lines, one call per line, children indented."""
    took = f"{node['duration'] * 1000:.1f} ms" if node.get("duration") is not None else "-"
    kind = " (python)" if node.get("python") else ""
    where = f" on {node['worker']}" if node.get("worker") else ""
    text = (f"call {node['id']} {node['user']}/{node['function']}{kind} {node['status']} "
            f"{took}{where}, {human_bytes(node.get('output_bytes') or 0)} out")
    if node.get("error"):
        text += f": {node['error']}"
    lines = [text if top else f"{prefix}{'└─ ' if last else '├─ '}{text}"]
    below = prefix if top else prefix + ("   " if last else "│  ")
    children = node.get("children") or []
    for i, child in enumerate(children):
        lines += draw_graph(child, below, i == len(children) - 1, top=False)
    return lines


def cmd_cancel(args) -> int:
    answer = client_for(args).cancel(args.call_id)
    if args.json:
        emit_json(answer)
        return OK
    print(f"request {answer['root']}: {answer['cancelled']} of {answer['calls']} calls "
          "stopped (the others had ended)")
    return OK


def cmd_state(args) -> int:
    client = client_for(args)
    if args.action == "get":
        _out(args, client.get_state(args.user, args.key), args.output, user=args.user,
             key=args.key)
    else:
        value = _data(args)
        _send(args, "state value", f"{args.user}/{args.key}",
              lambda progress: client.put_state(args.user, args.key, value, progress))
    return OK


def cmd_file(args) -> int:
    client = client_for(args)
    if args.action == "get":
        _out(args, client.get_file(args.path), args.output, path=args.path)
    else:
        data = _data(args)
        _send(args, "shared file", args.path,
              lambda progress: client.put_file(args.path, data, progress))
    return OK


def cmd_flush(args) -> int:
    flushed = client_for(args).flush()
    emit_json({"flushed": flushed}) if args.json else print(f"Flushed {flushed} workers")
    return OK


def _revoked(args, info) -> None:
    if args.json:  # one JSON object a line: several tokens may be revoked
        print(json.dumps({"revoked": info.id, "user": info.user}))
    else:
        print(f"revoked {info.id} (user {info.user})")


def cmd_token(args) -> int:
    """Tokens straight in Redis: an operator's command, whatever FAASM_AUTH says."""
    import datetime

    from faasm import errors, redisdb
    from faasm.auth import Tokens
    from faasm.settings import get_settings

    settings = get_settings()
    tokens = Tokens(redisdb.connect(settings), settings.key_prefix)
    try:
        if args.action == "create":
            info, token = tokens.issue(args.user)
            _stderr(f"token {info.id} for user {info.user}: shown once, keep it secret")
            emit_json({"id": info.id, "user": info.user, "token": token}) if args.json \
                else print(token)
            return OK
        if args.action == "list":
            found = tokens.list(args.user)
            if args.json:
                emit_json([{"id": i.id, "user": i.user, "created": datetime.datetime.fromtimestamp(
                    i.created, datetime.UTC).isoformat(timespec="seconds")} for i in found])
                return OK
            width = max((len(info.user) for info in found), default=0)
            for info in found:
                created = datetime.datetime.fromtimestamp(info.created, datetime.UTC)
                print(f"{info.id}  {info.user:<{width}}  "
                      f"{created.isoformat(timespec='seconds')}")
            return OK
        if bool(args.ids) == bool(args.user):
            raise UsageError("name token ids to revoke, or --user USER (not both)")
        if args.user:
            revoked = tokens.revoke_user(args.user)
            if not revoked:
                _stderr(f"user {args.user} had no tokens")
            for info in revoked:
                _revoked(args, info)
            return OK
        code = OK
        for token_id in args.ids:
            try:
                info = tokens.revoke(token_id)
            except (errors.BadRequest, errors.NotFound) as exc:
                _stderr(f"faasm: {exc.reason}")
                code = USAGE
            else:
                _revoked(args, info)
        return code
    except errors.BadRequest as exc:
        _stderr(f"faasm: {exc.reason}")
        return USAGE
    except errors.Unavailable as exc:
        _stderr(f"faasm: {exc.reason}\nhint: is FAASM_REDIS_URL the platform's Redis?")
        return UNREACHABLE


def cmd_ping(args) -> int:
    client = client_for(args)
    times = client.ping()
    if args.json:
        emit_json({name: {"url": url, "ms": round(times[name] * 1000, 1)} for name, url in
                   (("upload", client.upload_url), ("invoke", client.invoke_url))})
        return OK
    for name, url in (("upload", client.upload_url), ("invoke", client.invoke_url)):
        print(f"{name} API  {url}  PONG  {times[name] * 1000:.1f} ms")
    return OK


def _platform_env() -> None:
    """Make the Procfile's commands (python, gunicorn, celery) this interpreter's."""
    from faasm.settings import PROJECT_ROOT

    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    paths = [str(PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


#: The set-up step `make run` takes before starting the processes.
PYTHON_RUNTIME_STEP = "faasm.runtime.python"


def cmd_up(args) -> int:
    import importlib.util
    import subprocess

    from deploy import run

    _platform_env()
    if importlib.util.find_spec(f"{PYTHON_RUNTIME_STEP}.__main__") is not None:
        line = StatusLine("faasm up: preparing the Python runtime (the first time on a "
                          "machine takes 1-2 minutes)", enabled=not args.quiet, delay=1.0)
        with line:
            step = subprocess.run([sys.executable, "-m", PYTHON_RUNTIME_STEP], check=False)
        if step.returncode != 0:
            _stderr(f"faasm up: `python -m {PYTHON_RUNTIME_STEP}` failed "
                    f"(exit {step.returncode})")
            return FAILED
    run.main([])  # replaces this process with supervisord
    return OK


def cmd_build(args) -> int:
    import io

    from faasm_client import toolchain

    if "--json" in args.rest:  # the toolchain's own parser does not know it
        rest = [arg for arg in args.rest if arg != "--json"]
        printed = io.StringIO()
        with redirect_stdout(printed):
            code = toolchain.main(rest)
        wasm = Path(printed.getvalue().strip()) if code == OK else None
        emit_json({"ok": code == OK, "wasm": str(wasm) if wasm else None,
                   "size": wasm.stat().st_size if wasm else None})
        return code

    # Only a live spinner (after a second): the toolchain prints its own lines,
    # above the spinner.
    line = StatusLine("faasm build: compiling", enabled=not args.quiet, delay=1.0)
    line.enabled = line.live
    with line, redirect_stdout(line.above(sys.stdout)), \
            redirect_stderr(line.above(sys.stderr)):
        return toolchain.main(args.rest)


def cmd_bench(args) -> int:
    import subprocess

    from faasm.settings import PROJECT_ROOT

    _platform_env()
    return subprocess.call([sys.executable, "-m", "bench"], cwd=PROJECT_ROOT)
