"""Operator and author commands: ``faasm doctor``, ``faasm logs``, ``faasm config``,
``faasm new``, ``faasm deploy``, ``faasm completion`` (``parser.py`` parses them)."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

from faasm.errors import BadRequest
from faasm.names import check_name
from faasm_client import toolchain
from faasm_client.cli.commands import (
    CXX_OR_C,
    FAILED,
    OK,
    UNREACHABLE,
    UsageError,
    client_for,
    emit_json,
)
from faasm_client.errors import ClientError, Unreachable

CHECK, CROSS = "ok ", "!! "


def cmd_doctor(args) -> int:
    """Each thing the platform needs, checked from here, with what to do about each."""
    client = client_for(args)
    checks: list[dict] = []

    def add(name: str, ok: bool, detail: str, hint: str = "") -> None:
        checks.append({"check": name, "ok": ok, "detail": detail, "hint": hint})

    reachable = True
    for name, base in (("upload API", client.upload_url), ("invoke API", client.invoke_url)):
        try:
            client._request("GET", f"{base}/ping", timeout=5.0)
            add(name, True, f"{base} answers")
        except Unreachable as exc:
            reachable = False
            add(name, False, exc.reason, "start the platform: `make run` (or `faasm up`)")
    health = None
    if reachable:
        try:
            health = client.health("invoke")
        except ClientError as exc:
            add("health", False, exc.reason, "is the invoke API a faasm-py of this version?")
    if health is not None:
        for part, what in (("redis", "Redis"), ("broker", "broker")):
            check = health.get(part) or {}
            add(what, bool(check.get("ok")),
                f"answers in {check.get('ms')} ms" if check.get("ok") else check.get("error", ""),
                "" if check.get("ok") else "is the `redis` process up, and FAASM_REDIS_URL "
                                           "(or FAASM_BROKER_URL) right?")
        workers = health.get("workers") or []
        add("workers", bool(workers),
            ", ".join(f"{w['name']} (x{w.get('concurrency')})" for w in workers) or "none alive",
            "" if workers else "start one: `make run` does, or `celery -A workers.tasks worker`")
        for queue, q in (health.get("queues") or {}).items():
            add(f"queue {queue}", bool(q.get("consumers")),
                f"{q.get('depth')} waiting, {q.get('consumers')} consuming worker(s)",
                "" if q.get("consumers") else f"no worker consumes {queue}: calls sent there "
                                               "wait")
    ok = all(c["ok"] for c in checks)
    if args.json:
        emit_json({"ok": ok, "checks": checks, "health": health})
    else:
        width = max(len(c["check"]) for c in checks)
        for c in checks:
            print(f"{CHECK if c['ok'] else CROSS}{c['check']:<{width}}  {c['detail']}")
            if c["hint"]:
                print(f"{'':3}{'':<{width}}  hint: {c['hint']}")
    if not reachable:
        return UNREACHABLE
    return OK if ok else FAILED


def _decoded(entry: dict, name: str) -> bytes:
    text = entry.get(name) or ""
    if entry.get(f"{name}_encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8", "surrogatepass")


def _print_logs(entry: dict, header: bool) -> None:
    if header:
        took = f", {entry['seconds']:.3f} s" if entry.get("seconds") is not None else ""
        print(f"--- call {entry['id']} {entry['user']}/{entry['function']}: "
              f"{entry['status']}{took} ---", flush=True)
    sys.stdout.buffer.write(_decoded(entry, "stdout"))
    sys.stdout.flush()
    stderr = _decoded(entry, "stderr")
    if stderr:
        sys.stderr.buffer.write(stderr if stderr.endswith(b"\n") else stderr + b"\n")
    if entry.get("error"):
        print(f"FAILED: {entry['error']}", file=sys.stderr)
    sys.stderr.flush()


def cmd_logs(args) -> int:
    client = client_for(args)
    if not args.follow:
        if len(args.target) != 1 or not args.target[0].isdigit() or int(args.target[0]) < 1:
            raise UsageError("give a call ID (or USER FUNCTION with --follow)")
        entry = client.logs(int(args.target[0]))
        if args.json:
            emit_json(entry)
        else:
            _print_logs(entry, header=False)
            if entry["status"] in ("QUEUED", "RUNNING"):
                print(f"call {entry['id']} is {entry['status']}: no logs until it ends",
                      file=sys.stderr)
        return FAILED if entry["status"] == "FAILED" else OK
    if len(args.target) != 2:
        raise UsageError("--follow takes USER FUNCTION")
    user, function = args.target
    position = "0-0" if args.all else client.function_logs(user, function, "$")["next"]
    shown = 0
    if not args.quiet:
        print(f"following {user}/{function} (Ctrl-C stops)", file=sys.stderr, flush=True)
    while args.count is None or shown < args.count:
        answer = client.function_logs(user, function, position)
        position = answer["next"]
        for entry in answer["calls"]:
            if args.json:
                print(json.dumps(entry), flush=True)
            else:
                _print_logs(entry, header=True)
            shown += 1
            if args.count is not None and shown >= args.count:
                break
        if not answer["calls"]:
            time.sleep(0.5)
    return OK


def cmd_config(args) -> int:
    """The settings this machine's processes would run with, and where the CLI points."""
    from faasm.settings import in_force

    client = client_for(args)
    rows = in_force()
    cli = {"upload_url": client.upload_url, "invoke_url": client.invoke_url,
           "token": "<set>" if client.token else ""}
    if args.json:
        emit_json({"cli": cli, "settings": rows})
        return OK
    print(f"faasm CLI  upload {cli['upload_url']}  invoke {cli['invoke_url']}  token "
          f"{cli['token'] or '(none)'}\n")
    width = max(len(row["variable"]) for row in rows)
    for row in rows:
        mark = "" if row["source"] == "default" else "  (from the environment)"
        print(f"{row['variable']:<{width}}  {row['value']}{mark}")
    return OK


#: The skeletons `faasm new` writes: a function that greets its input.
C_SKELETON = """\
/* {name}: a faasm function. Build and upload it with `faasm deploy USER {dir}`. */
#include <faasm/faasm.h>
#include <stdio.h>
#include <string.h>

FAASM_MAIN_FUNC()
{{
    char input[256] = {{0}};
    long n = faasmGetInputSize();
    if (n > (long)sizeof(input) - 1) n = sizeof(input) - 1;
    faasmGetInput(BYTES(input), n);
    const char* who = n > 0 ? input : "faasm";

    char message[300];
    int len = snprintf(message, sizeof(message), "Hello %s!", who);
    printf("{name} greeted %s\\n", who);           /* captured: `faasm logs ID` */
    faasmSetOutput(BYTES(message), len);
    return 0;
}}
"""

PY_SKELETON = """\
\"\"\"{name}: a faasm Python function. Upload it with `faasm deploy USER {dir}`.\"\"\"
from pyfaasm.core import get_input, set_output


def faasm_main():
    who = get_input().decode() or "faasm"
    print(f"{name} greeted {{who}}")               # captured: `faasm logs ID`
    set_output(f"Hello {{who}}!".encode())
"""

MANIFEST = "faasm.json"


def cmd_new(args) -> int:
    try:
        check_name(args.name, "function")
    except BadRequest as exc:
        raise UsageError(exc.reason) from None
    target = Path(args.dir or args.name)
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    source = target / f"{args.name}.{'c' if args.lang == 'c' else 'py'}"
    skeleton = C_SKELETON if args.lang == "c" else PY_SKELETON
    source.write_text(skeleton.format(name=args.name, dir=target))
    (target / MANIFEST).write_text(json.dumps(
        {"function": args.name, "lang": args.lang, "source": source.name}, indent=2) + "\n")
    if args.json:
        emit_json({"dir": str(target), "source": str(source), "lang": args.lang})
    else:
        print(f"created {source} and {target / MANIFEST}\n"
              f"next: faasm deploy USER {target}  (then: faasm invoke USER {args.name} "
              "--input you)")
    return OK


def _deploy_plan(path: str, function: str | None):
    """(function name, language, source file) of what ``faasm deploy`` was given: a
    directory `faasm new` made, or a .c/.cc/.cpp/.py/.wasm file."""
    given = Path(path)
    if given.is_dir():
        manifest = given / MANIFEST
        if not manifest.is_file():
            raise UsageError(f"{given} has no {MANIFEST} (make one with `faasm new`), or "
                             "name a source file")
        data = json.loads(manifest.read_text())
        return (function or data["function"], data["lang"], given / data["source"])
    if not given.is_file():
        raise UsageError(f"no such file or directory: {path}")
    kinds = {**{suffix: "c" for suffix in CXX_OR_C}, ".py": "python", ".wasm": "wasm"}
    lang = kinds.get(given.suffix)
    if lang is None:
        raise UsageError(f"{path}: deploy takes C/C++ (.c, .cpp), Python (.py) or .wasm")
    return function or given.stem, lang, given


def cmd_deploy(args) -> int:
    """Build (C/C++) and upload in one step."""
    function, lang, source = _deploy_plan(args.path, args.function)
    client = client_for(args)
    if lang == "python":
        answer = client.upload_python(args.user, function, source)
    else:
        wasm = source
        if lang == "c":
            wasm = source.with_suffix(".wasm")
            if not args.quiet:
                print(f"building {source} -> {wasm}", file=sys.stderr, flush=True)
            try:
                toolchain.build([source], wasm)
            except toolchain.BuildError as exc:
                print(f"faasm deploy: {exc}", file=sys.stderr)  # with the compiler's messages
                return FAILED
        answer = client.upload(args.user, function, wasm)
    if args.json:
        emit_json({"user": args.user, "function": function, "lang": lang,
                   "source": str(source), "answer": answer.strip()})
    else:
        print(f"deployed {args.user}/{function} ({lang}): {answer.strip()}")
    return OK


def cmd_completion(args) -> int:
    """A bash (or zsh) completion script for the commands and options of this parser."""
    from faasm_client.cli.parser import build_parser  # the parser imports this module

    print(completion_script(build_parser(), args.shell))
    return OK


def completion_script(parser, shell: str) -> str:
    def options(p) -> list[str]:
        return sorted(o for a in p._actions for o in a.option_strings if o.startswith("--"))

    def children(p) -> dict:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    cases = []
    top = children(parser)
    for name, sub in top.items():
        words = list(children(sub)) + options(sub)
        cases.append(f'        {name}) words="{" ".join(words)}" ;;')
        for action, child in children(sub).items():
            cases.append(f'        "{name} {action}") words="{" ".join(options(child))}" ;;')
    script = f"""# faasm shell completion: eval "$(faasm completion {shell})"
_faasm_complete() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} key="" words=""
    local i n=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
            -*) ;;
            *) if ((n < 2)); then key="$key ${{COMP_WORDS[i]}}"; n=$((n + 1)); fi ;;
        esac
    done
    key=${{key# }}
    case $key in
        "") words="{" ".join(list(top) + options(parser))}" ;;
{chr(10).join(cases)}
        *) key=${{key% *}}; case $key in
{chr(10).join("    " + c for c in cases if '"' not in c.split(")")[0])}
           esac ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    [[ -z $words ]] && COMPREPLY=($(compgen -f -- "$cur"))
    return 0
}}
complete -o default -F _faasm_complete faasm"""
    if shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script
