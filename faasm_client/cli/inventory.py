"""``faasm ls``/``faasm rm`` and the ``ls``/``rm`` actions of ``state`` and ``file``:
what a user keeps on the platform, and removing it (``parser.py`` parses them)."""

from __future__ import annotations

import sys

from faasm_client.cli.commands import OK, USAGE, client_for, emit_json
from faasm_client.errors import NotFound


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _table(rows: list[list[str]], header: list[str]) -> None:
    if not rows:
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _functions_table(functions: list[dict]) -> None:
    _table([[f["function"], f["kind"], _size(f["size"]), f.get("uploaded") or "-",
             f["sha256"][:12]] for f in functions],
           ["FUNCTION", "KIND", "SIZE", "UPLOADED", "SHA256"])


def _files_table(files: list[dict]) -> None:
    _table([[f["path"], _size(f["size"]), f.get("modified") or "-"] for f in files],
           ["SHARED FILE", "SIZE", "MODIFIED"])


def cmd_ls(args) -> int:
    client = client_for(args)
    if args.function:
        kinds = client.describe_function(args.user, args.function)
        if args.json:
            emit_json({"user": args.user, "function": args.function, "kinds": kinds})
            return OK
        for entry in kinds:
            print(f"{args.user}/{args.function} ({entry['kind']})\n"
                  f"  size      {entry['size']} bytes\n"
                  f"  uploaded  {entry.get('uploaded') or '-'}\n"
                  f"  sha256    {entry['sha256']}")
        return OK
    functions = client.list_functions(args.user)
    keys = client.list_state(args.user)
    files = client.list_files(args.user)
    if args.json:
        emit_json({"user": args.user, "functions": functions, "state": keys,
                   "files": files["files"]})
        return OK
    _functions_table(functions)
    if keys:
        print() if functions else None
        _table([[k["key"], _size(k["size"])] for k in keys], ["STATE KEY", "SIZE"])
    if files["files"]:
        print() if functions or keys else None
        _files_table(files["files"])
    if not (functions or keys or files["files"]):
        print(f"user {args.user} has no functions, state keys or shared files under "
              f"{args.user}/", file=sys.stderr)
    return OK


def cmd_rm(args) -> int:
    client = client_for(args)
    kinds = ["python"] if args.python else ["wasm"] if args.wasm else ["wasm", "python"]
    removed = []
    for kind in kinds:
        try:
            client.delete_function(args.user, args.function, python=kind == "python")
            removed.append(kind)
        except NotFound:
            if len(kinds) == 1:
                raise
    if not removed:
        raise NotFound(f"Function {args.user}/{args.function} not found", 404)
    if args.json:
        emit_json({"user": args.user, "function": args.function, "removed": removed})
    else:
        print(f"removed {args.user}/{args.function} ({', '.join(removed)})")
    return OK


def cmd_state_ls(args) -> int:
    keys = client_for(args).list_state(args.user)
    if args.json:
        emit_json({"user": args.user, "keys": keys})
    else:
        _table([[k["key"], _size(k["size"])] for k in keys], ["STATE KEY", "SIZE"])
    return OK


def cmd_state_rm(args) -> int:
    answer = client_for(args).delete_state(args.user, args.key)
    if args.json:
        emit_json({"user": args.user, "key": args.key, "removed": True})
    else:
        print(answer.strip())
    return OK


def cmd_file_ls(args) -> int:
    listing = client_for(args).list_files(args.prefix or "")
    if args.json:
        emit_json(listing)
        return OK
    _files_table(listing["files"])
    if listing.get("truncated"):
        print("(more files not shown: list a deeper prefix)", file=sys.stderr)
    return OK


def cmd_file_rm(args) -> int:
    code = OK
    for path in args.paths:
        try:
            answer = client_for(args).delete_file(path)
        except NotFound as exc:
            print(f"faasm: {exc.reason}", file=sys.stderr)
            code = USAGE
            continue
        print(answer.strip() + f": {path}") if not args.json else None
    if args.json:
        emit_json({"paths": args.paths, "ok": code == OK})
    return code
