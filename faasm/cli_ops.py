"""Operator and author commands: ``faasm doctor``, ``faasm logs``, ``faasm config``,
``faasm new``, ``faasm deploy`` (faasm/cli.py parses them)."""

from __future__ import annotations

import sys

from faasm import client as api
from faasm.cli_commands import FAILED, OK, UNREACHABLE, _client
from faasm.cli_inventory import emit_json

CHECK, CROSS = "ok ", "!! "


def cmd_doctor(args) -> int:
    """Each thing the platform needs, checked from here, with what to do about each."""
    client = _client(args)
    checks: list[dict] = []

    def add(name: str, ok: bool, detail: str, hint: str = "") -> None:
        checks.append({"check": name, "ok": ok, "detail": detail, "hint": hint})

    reachable = True
    for name, base in (("upload API", client.upload_url), ("invoke API", client.invoke_url)):
        try:
            client._request("GET", f"{base}/ping", timeout=5.0)
            add(name, True, f"{base} answers")
        except api.Unreachable as exc:
            reachable = False
            add(name, False, exc.reason, "start the platform: `make run` (or `faasm up`)")
    health = None
    if reachable:
        try:
            health = client.health("invoke")
        except api.ClientError as exc:
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
    import base64

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
    import time

    client = _client(args)
    if not args.follow:
        if len(args.target) != 1 or not args.target[0].isdigit() or int(args.target[0]) < 1:
            from faasm.cli_commands import UsageError

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
        from faasm.cli_commands import UsageError

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
                print(__import__("json").dumps(entry), flush=True)
            else:
                _print_logs(entry, header=True)
            shown += 1
            if args.count is not None and shown >= args.count:
                break
        if not answer["calls"]:
            time.sleep(0.5)
    return OK
