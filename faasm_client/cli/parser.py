"""The ``faasm`` command line's parser: every subcommand, its arguments and its help.

The subcommands come in groups, one function each (functions, calls, state
and shared files, authoring, the platform); what each does is in
``commands.py``, ``inventory.py`` and ``ops.py``.
"""

from __future__ import annotations

import argparse
import textwrap

from faasm_client.cli import commands, inventory, ops

EPILOG = """\
exit codes: 0 success, 1 the function failed, 2 usage error (bad arguments, or a
request the platform refused), 3 platform unreachable.

examples:
  faasm up                                   # start the platform (as `make run`)
  faasm build examples/hello.c -o hello.wasm
  faasm upload demo hello hello.wasm
  faasm invoke demo hello --input hi
  faasm invoke demo hello --async --poll     # live status, then the output
  faasm invoke demo hello --batch 100        # 100 calls in one request
  faasm status 7 --json
  faasm graph 7                              # the calls call 7 chained, as a tree
"""


def _connection_options(defaults: bool) -> argparse.ArgumentParser:
    """--upload-url/--invoke-url/-q, accepted before and after the subcommand.

    The copy on subcommands has no defaults, so it never hides the main one's.
    """
    parser = argparse.ArgumentParser(add_help=False)
    keep = {} if defaults else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("platform")
    group.add_argument("--upload-url", metavar="URL", **keep,
                       help="upload API (default: http://127.0.0.1:$FAASM_UPLOAD_PORT, 8002)")
    group.add_argument("--invoke-url", metavar="URL", **keep,
                       help="invoke API (default: http://127.0.0.1:$FAASM_INVOKE_PORT, 8080)")
    group.add_argument("--token", metavar="TOKEN", **keep,
                       help="bearer token to send, for a platform with FAASM_AUTH on "
                            "(default: $FAASM_TOKEN)")
    group.add_argument("-q", "--quiet", action="store_true", **keep,
                       help="no progress on stderr")
    group.add_argument("--json", action="store_true", **keep,
                       help="print the answer as JSON on stdout (for scripts)")
    return parser


def _add(subparsers, name: str, func, help: str, description: str | None = None,
         epilog: str | None = None, connects: bool = True, **kwargs) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name, help=help, description=textwrap.fill(description or help, 79), epilog=epilog,
        parents=[_connection_options(defaults=False)] if connects else [],
        formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    parser.set_defaults(func=func)
    return parser


def _names(parser: argparse.ArgumentParser, second: str = "function") -> None:
    parser.add_argument("user", help=f"the user the {second} belongs to")
    parser.add_argument(second, help=f"the {second} name ([A-Za-z0-9_.-], 1-128 chars)")


def _put_data(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("data", nargs="?", help=f"the {what} as text (default: --file or stdin)")
    parser.add_argument("-f", "--file", metavar="PATH",
                        help=f"read the {what} from this file ('-' for stdin)")


def _output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-o", "--output", metavar="PATH", help=f"write the {what} to this "
                        "file (default: stdout)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faasm", parents=[_connection_options(defaults=True)], epilog=EPILOG,
        description=textwrap.fill("Drive a faasm-py platform: build, upload and invoke "
                                  "functions; state, shared files, call status; start the "
                                  "platform.", 79),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _function_commands(sub)
    _call_commands(sub)
    _data_commands(sub)
    _author_commands(sub)
    _platform_commands(sub)
    return parser


def _function_commands(sub) -> None:
    """upload, upload-py, download, ls, rm."""
    p = _add(sub, "upload", commands.cmd_upload, "upload a wasm function",
             epilog="example: faasm upload demo hello hello.wasm")
    _names(p)
    p.add_argument("file", help="the wasm module ('-' for stdin)")

    p = _add(sub, "upload-py", commands.cmd_upload_py, "upload a Python function",
             epilog="example: faasm upload-py demo hello hello.py")
    _names(p)
    p.add_argument("file", help="the Python source ('-' for stdin)")

    p = _add(sub, "download", commands.cmd_download, "download a function as uploaded",
             epilog="example: faasm download demo hello -o hello.wasm")
    _names(p)
    p.add_argument("--python", action="store_true", help="the Python function's source")
    _output(p, "function")

    p = _add(sub, "ls", inventory.cmd_ls, "list a user's functions, state keys and files",
             description="List what a user keeps on the platform: functions (wasm and "
                         "Python, with size, upload time and SHA-256), global state keys, "
                         "and shared files under USER/. With FUNCTION, describe that "
                         "function.",
             epilog="examples:\n  faasm ls demo\n  faasm ls demo hello\n"
                    "  faasm ls demo --json")
    p.add_argument("user", help="the user whose things to list")
    p.add_argument("function", nargs="?", help="describe this function")

    p = _add(sub, "rm", inventory.cmd_rm, "remove a function (wasm, Python or both)",
             description="Remove a function: both kinds uploaded under the name unless "
                         "--wasm or --python says which. Calls already running finish.",
             epilog="examples:\n  faasm rm demo hello\n  faasm rm demo shout --python")
    _names(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--wasm", action="store_true", help="only the wasm function")
    which.add_argument("--python", action="store_true", help="only the Python function")


def _call_commands(sub) -> None:
    """invoke, graph, status, logs, cancel."""
    p = _add(sub, "invoke", commands.cmd_invoke, "call a function",
             description="Call a function. Sync by default: prints the output followed "
                         "by the call's captured stdout. --async prints the call ID; with "
                         "--poll it shows the call's status live on stderr until the call "
                         "ends, then prints the output.",
             epilog="examples:\n  faasm invoke demo hello --input hi\n"
                    "  faasm invoke demo echo --input-file data.bin -o out.bin\n"
                    "  faasm invoke demo hello --async --poll")
    _names(p)
    given = p.add_mutually_exclusive_group()
    given.add_argument("-i", "--input", metavar="TEXT", help="input data, as text")
    given.add_argument("--input-file", metavar="PATH",
                       help="input data from a file ('-' for stdin)")
    p.add_argument("--async", dest="is_async", action="store_true",
                   help="start the call and print its ID")
    p.add_argument("--poll", action="store_true",
                   help="(implies --async) show the status until the call ends, "
                        "then print its output")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="the call's wall-clock limit (capped by the platform)")
    p.add_argument("--wait-timeout", type=_seconds, metavar="SECONDS",
                   help="with --poll: give up waiting after this long (the call goes on)")
    p.add_argument("--python", action="store_true",
                   help="call the Python function of this name (Faasm's python form)")
    many = p.add_mutually_exclusive_group()
    many.add_argument("--batch", type=_count, metavar="N",
                      help="N calls with the same input, in one request (a planner "
                           "EXECUTE_BATCH); prints each output on its own line, in order")
    many.add_argument("--inputs", metavar="PATH",
                      help="a batch: one call per line of this file ('-' for stdin), "
                           "in one request")
    _output(p, "output")

    p = _add(sub, "graph", commands.cmd_graph, "draw a call's execution graph",
             description="Draw the tree of calls a call chained: each call's function, "
                         "status, duration, worker and output size (GET /status/{id}/graph).",
             epilog="examples:\n  faasm graph 7\n  faasm graph 7 --json")
    p.add_argument("call_id", type=_call_id, help="the call's ID")

    p = _add(sub, "status", commands.cmd_status, "a call's status by call ID",
             description="Print a call's status: RUNNING, SUCCESS: <output> or FAILED: "
                         "<reason> (exit 1 if it failed).",
             epilog="examples:\n  faasm status 7\n  faasm status 7 --json\n"
                    "  faasm status 7 --wait")
    p.add_argument("call_id", type=_call_id, help="the ID an async call printed")
    p.add_argument("--wait", action="store_true",
                   help="wait for the call to end (live status), then print its output")
    p.add_argument("--wait-timeout", type=_seconds, metavar="SECONDS",
                   help="with --wait: give up after this long")
    _output(p, "output (with --wait)")

    p = _add(sub, "logs", ops.cmd_logs, "what a call printed, or follow a function's calls",
             description="Print a call's captured stdout (on stdout), stderr and failure "
                         "reason (on stderr); exit 1 if it failed. Logs are kept as long as "
                         "results (FAASM_RESULT_RETENTION). With --follow USER FUNCTION, "
                         "print each call of the function as it ends (--json: one JSON "
                         "object a line).",
             epilog="examples:\n  faasm logs 7\n  faasm logs demo hello --follow\n"
                    "  faasm logs demo hello --follow --all --count 10")
    p.add_argument("target", nargs="+", metavar="ID | USER FUNCTION",
                   help="a call ID, or with --follow a function")
    p.add_argument("-f", "--follow", action="store_true",
                   help="follow the function's calls as they end")
    p.add_argument("--all", action="store_true",
                   help="with --follow: first the calls still kept, not only new ones")
    p.add_argument("--count", type=int, metavar="N",
                   help="with --follow: stop after N calls")

    p = _add(sub, "cancel", commands.cmd_cancel, "cancel a call and every call it started",
             description="Cancel the request a call belongs to: its first call and every "
                         "call it chained (queued ones never run, running ones are stopped).",
             epilog="examples:\n  faasm cancel 7")
    p.add_argument("call_id", type=_call_id, help="the ID of any call of the request")


def _action(actions, name: str, help: str, epilog: str, func=None) -> argparse.ArgumentParser:
    """An action of ``state`` or ``file`` (get, put, ls, rm), with the platform options."""
    parser = actions.add_parser(name, help=help, epilog=epilog,
                                parents=[_connection_options(defaults=False)],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def _data_commands(sub) -> None:
    """state get/put/ls/rm, file get/put/ls/rm."""
    p = _add(sub, "state", commands.cmd_state, "read or write a global state value")
    state = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = _action(state, "get", "print a state value", "example: faasm state get demo counter")
    _names(q, "key")
    _output(q, "value")
    q = _action(state, "put", "set a state value", "examples:\n  faasm state put demo greeting "
                "hello\n  faasm state put demo blob -f blob.bin")
    _names(q, "key")
    _put_data(q, "value")
    q = _action(state, "ls", "list a user's state keys and their sizes",
                "example: faasm state ls demo", inventory.cmd_state_ls)
    q.add_argument("user", help="the user whose keys to list")
    q = _action(state, "rm", "remove a state value", "example: faasm state rm demo counter",
                inventory.cmd_state_rm)
    _names(q, "key")

    p = _add(sub, "file", commands.cmd_file, "read or write a shared file (faasm://<path>)")
    files = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = _action(files, "get", "print a shared file",
                "example: faasm file get dir/data.txt -o data.txt")
    q.add_argument("path", help="path under the shared root")
    _output(q, "file")
    q = _action(files, "put", "store a shared file",
                "example: faasm file put dir/data.txt -f data.txt")
    q.add_argument("path", help="path under the shared root")
    _put_data(q, "file's content")
    q = _action(files, "ls", "list shared files under a directory", "example: faasm file ls demo",
                inventory.cmd_file_ls)
    q.add_argument("prefix", nargs="?", help="a directory under the shared root (default: "
                   "every file, or your own with FAASM_AUTH on)")
    q = _action(files, "rm", "remove shared files", "example: faasm file rm demo/data.txt",
                inventory.cmd_file_rm)
    q.add_argument("paths", nargs="+", metavar="path", help="path under the shared root")


def _author_commands(sub) -> None:
    """new, deploy, build: writing a function and getting it onto the platform."""
    p = _add(sub, "new", ops.cmd_new, "make a function skeleton to build and upload",
             description="Write NAME/NAME.c (or NAME.py) greeting its input, and "
                         "NAME/faasm.json, which `faasm deploy` reads.",
             epilog="examples:\n  faasm new greet --lang c\n  faasm deploy demo greet\n"
                    "  faasm invoke demo greet --input you")
    p.add_argument("name", help="the function's name")
    p.add_argument("--lang", choices=["c", "python"], default="c", help="default: c")
    p.add_argument("--dir", help="where to write it (default: ./NAME)")

    p = _add(sub, "deploy", ops.cmd_deploy, "build (C/C++) and upload a function in one step",
             description="Build and upload: PATH is a directory `faasm new` made, or a "
                         ".c/.cpp file (built to .wasm beside it), a .py file or a .wasm "
                         "file. The function is named after the directory's faasm.json or "
                         "the file, unless --function says otherwise.",
             epilog="examples:\n  faasm deploy demo greet\n"
                    "  faasm deploy demo examples/hello.c\n  faasm deploy demo shout.py")
    p.add_argument("user", help="the user to upload for")
    p.add_argument("path", help="a `faasm new` directory, or a source/.wasm file")
    p.add_argument("--function", help="the function name (default: from PATH)")

    p = _add(sub, "build", commands.cmd_build,
             "compile C/C++ functions to wasm (faasm_client.toolchain)",
             connects=False, add_help=False, prefix_chars="\0",
             description="faasm build SOURCE... [-o OUT] [-O LEVEL] [--cxx] [compiler "
                         "args]; `faasm build --help` shows the toolchain's options.")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


#: Said by the commands that run the platform's own code on this machine.
NEEDS_PLATFORM = ("It runs the platform's own code here, so it needs the full install "
                  "(`make setup`: Redis, Celery, wasmtime), which the other commands do not.")


def _platform_commands(sub) -> None:
    """up, ping, doctor, config, flush, token, completion, bench."""
    _add(sub, "up", commands.cmd_up,
         "start the platform: every Procfile process (as `make run`; full install)",
         description="Start the platform: every Procfile process, as `make run` does. "
                     + NEEDS_PLATFORM,
         epilog="Ctrl-C stops every process. Scale workers with FAASM_WORKER_CONCURRENCY, "
                "or run `python -m deploy.run -c worker=N`; see docs/OPERATING.md.")
    _add(sub, "ping", commands.cmd_ping, "check that both APIs answer")
    _add(sub, "doctor", ops.cmd_doctor, "check the platform: APIs, Redis, broker, workers, "
         "queues", description="Check everything a call needs, with a hint for each "
         "problem: both APIs answer, Redis and the broker answer (GET /health), some worker "
         "consumes each queue, and how many calls wait. Exit 0 if all is well, 1 if "
         "something is wrong, 3 if the platform is unreachable.",
         epilog="example: faasm doctor")
    _add(sub, "config", ops.cmd_config, "show the settings in force here, and where the "
         "CLI points", description="Print every FAASM_* setting as this machine's "
         "processes would read it (values in effect, secrets only as <set>), and the URLs "
         "and token the CLI uses.", epilog="examples:\n  faasm config\n  faasm config --json")
    _add(sub, "flush", commands.cmd_flush, "drop every worker's cached modules and files")

    p = _add(sub, "token", commands.cmd_token,
             "manage per-user bearer tokens (an operator's command: talks to Redis)",
             connects=False,
             description="Create, list and revoke the bearer tokens a platform with "
                         "FAASM_AUTH on checks. Talks to the platform's Redis directly "
                         "(FAASM_REDIS_URL, FAASM_KEY_PREFIX), not to its APIs, so it needs "
                         "the full install (`make setup`). See docs/AUTH.md.",
             epilog="examples:\n  TOKEN=$(faasm token create alice)\n"
                    "  faasm token list alice\n  faasm token revoke 3f9c2a7e1b0d4c85\n"
                    "  faasm token revoke --user alice")
    tokens = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = tokens.add_parser("create", help="issue a token for USER and print it (shown once)")
    q.add_argument("user", help="the user the token acts for")
    q = tokens.add_parser("list", help="list tokens (id, user, created), never their secrets")
    q.add_argument("user", nargs="?", help="only this user's tokens")
    q = tokens.add_parser("revoke", help="revoke tokens by id (or whole token), or a user's")
    q.add_argument("ids", nargs="*", metavar="ID", help="token id as `list` shows it, or "
                   "the whole token")
    q.add_argument("--user", help="revoke every token of this user")
    for q in tokens.choices.values():
        q.add_argument("--json", action="store_true", help="print the answer as JSON")

    p = _add(sub, "completion", ops.cmd_completion, "print a shell completion script",
             connects=False, description="Print a completion script for bash or zsh.",
             epilog='examples:\n  eval "$(faasm completion bash)"    # in ~/.bashrc\n'
                    '  eval "$(faasm completion zsh)"     # in ~/.zshrc')
    p.add_argument("shell", choices=["bash", "zsh"], nargs="?", default="bash")

    _add(sub, "bench", commands.cmd_bench, "run the benchmarks (`python -m bench`; full install)",
         description="Run the benchmarks: starts its own private platform and prints "
                     "sync invoke latency against the architecture's floor. Takes a "
                     "few minutes and both CPUs. " + NEEDS_PLATFORM)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number of calls: {text!r}")
    return int(text)


def _call_id(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"not a call ID (a positive integer): {text!r}")
    return int(text)
