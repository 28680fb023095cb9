"""Compiling C/C++ functions to ``wasm32-wasi`` against the Faasm SDK.

One command builds an uploadable function::

    python -m faasm_client.toolchain hello.c -o hello.wasm

It runs the C/C++ compiler of the PyPI ``ziglang`` package (clang with
wasi-libc), so nothing beyond the project's requirements is needed. The SDK
headers (``sdk/include``, ``#include <faasm/faasm.h>``) are on the include
path; they declare every host call with its wasm import module and name, so
no linker flag for undefined symbols is needed.

Zig keeps its cache (wasi-libc, libc++ and earlier compilations) under the
data directory, so only the first C build (~30 s) and the first C++ build
are slow.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from faasm.errors import FaasmError
from faasm.settings import PROJECT_ROOT, get_settings

#: The SDK's include directory, added to every build.
SDK_INCLUDE = PROJECT_ROOT / "sdk" / "include"
#: Headers of wasm builds only, searched before wasi-libc's: the POSIX
#: declarations Faasm's wasi-libc fork has and wasi-libc lacks (getuid...,
#: a <sys/wait.h> that compiles for WASI). Not for native builds.
SDK_POSIX_INCLUDE = PROJECT_ROOT / "sdk" / "posix"
#: C sources of the SDK compiled into every build: mmap/munmap/mprotect/msync
#: as permissive as Faasm's (sdk/lib/mman.c), in place of wasi-libc's emulation;
#: users, isatty and waitpid as Faasm answers them (sdk/lib/posix.c); dlmalloc,
#: the allocator Faasm's toolchain links, in place of zig's (sdk/lib/malloc.c).
SDK_SOURCES = tuple(PROJECT_ROOT / "sdk" / "lib" / name
                    for name in ("mman.c", "posix.c", "malloc.c"))

#: What sdk/lib/malloc.c defines; a function defining one of them itself builds
#: with -DFAASM_LIBC_MALLOC.
SDK_ALLOCATOR_SYMBOLS = frozenset({
    "malloc", "free", "calloc", "realloc", "reallocarray", "aligned_alloc",
    "posix_memalign", "memalign", "valloc", "malloc_usable_size"})

#: The compilation target: wasm32 with wasi-libc, a WASI command (``_start``).
TARGET = "wasm32-wasi"

#: Stack size of a built function, bytes. Faasm's toolchain uses 4 MiB;
#: zig's default (16 MiB) would make every instance's memory start at 16 MiB.
STACK_SIZE = 4 * 1024 * 1024

#: Suffixes that make a build C++ when ``cxx`` is not given.
CXX_SUFFIXES = frozenset({".cc", ".cp", ".cpp", ".cxx", ".c++", ".C"})

#: Flags of every build: strip debug info; export the function table, which
#: ``faasmChain(funcPtr, ...)`` (host call ``__faasm_chain_ptr``) enters by index.
#: -msimd128: wasm SIMD, which wasmtime runs natively; clang then vectorizes loops
#: as it does for x86-64 (bench/host.py: matmul 3.4x faster than without).
#: -fno-builtin-malloc/-free: clang would otherwise drop a malloc/free pair whose
#: block is only compared, and fold the comparison; Faasm's functions compare the
#: addresses of freed and new blocks to check reuse (docs/MOVING_FROM_FAASM.md,
#: "The allocator").
COMMON_FLAGS = ("-s", "-msimd128", f"-Wl,-z,stack-size={STACK_SIZE}", "-Wl,--export-table",
                "-fno-builtin-malloc", "-fno-builtin-free")

#: wasi-libc's emulations that Faasm's toolchain turns on, so POSIX code
#: (mmap/munmap, signal, clock(), getpid) compiles as it does for Faasm: each
#: define unlocks a header and its library supplies the code, except mman's,
#: which the SDK supplies (SDK_SOURCES).
WASI_EMULATIONS = ("mman", "signal", "process-clocks", "getpid")
EMULATION_FLAGS = (
    *(f"-D_WASI_EMULATED_{name.upper().replace('-', '_')}" for name in WASI_EMULATIONS),
    *(f"-lwasi-emulated-{name}" for name in WASI_EMULATIONS if name != "mman"),
)

#: Exports as Faasm's toolchain makes them: the allocator, with which the
#: host places the data it returns in guest memory. (FAASM_ZYGOTE exports
#: the zygote itself.)
EXPORT_FLAGS = ("-Wl,--export=malloc", "-Wl,--export=free")

#: Extra flags of C++ builds: C++ exceptions do not exist on wasm32-wasi.
CXX_FLAGS = ("-fno-exceptions",)

#: Optimisation levels :func:`build` accepts.
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os", "-Oz")


class BuildError(FaasmError):
    """Compiling a function failed; ``stderr`` holds the compiler's messages.

    ``reason`` is one line; ``str()`` adds the compiler's messages so that
    whoever prints the error shows what to fix.
    """

    def __init__(self, reason: str, stderr: str = ""):
        super().__init__(reason)
        self.stderr = stderr

    def __str__(self) -> str:
        if not self.stderr:
            return self.reason
        return f"{self.reason}\n{self.stderr.rstrip()}"


def cache_dir() -> Path:
    """Where zig keeps built libraries and compilations (under the data dir)."""
    return get_settings().data_dir / "zig-cache"


#: What else may be given to the compiler: objects, archives, assembly, headers.
OTHER_INPUTS = frozenset({".o", ".a", ".s", ".S", ".h", ".hpp", ".ll", ".bc"})


def _check_source(source: Path) -> None:
    """BadRequest-like BuildError for a file that is not C/C++: a one-line answer
    rather than the compiler's or linker's confusion."""
    suffix = source.suffix
    if suffix == ".c" or suffix in CXX_SUFFIXES or suffix in OTHER_INPUTS:
        return
    hint = {".py": f"a Python function is uploaded as it is: `faasm upload-py USER NAME "
                   f"{source}` (or `faasm deploy USER {source}`)",
            ".wasm": f"it is wasm already: `faasm upload USER NAME {source}`",
            ".wat": "convert WAT with wasmtime.wat2wasm, then `faasm upload`"}.get(
        suffix, "faasm build compiles C (.c) and C++ (.cpp, .cc, .cxx) sources")
    raise BuildError(f"{source} is not a C or C++ source: {hint}")


def is_cxx(sources: Sequence[Path]) -> bool:
    """Whether these sources need the C++ compiler (by file suffix)."""
    return any(Path(s).suffix in CXX_SUFFIXES for s in sources)


def compiler_command(sources: Sequence[Path], output: Path, *, cxx: bool,
                     opt: str = "-O2", extra: Sequence[str] = ()) -> list[str]:
    """The compiler command line :func:`build` runs."""
    driver = "c++" if cxx else "cc"
    return [
        sys.executable, "-m", "ziglang", driver, f"--target={TARGET}", opt,
        *COMMON_FLAGS, *EMULATION_FLAGS, *EXPORT_FLAGS, *(CXX_FLAGS if cxx else ()),
        "-I", str(SDK_INCLUDE), "-I", str(SDK_POSIX_INCLUDE), *extra,
        # The SDK's C sources stay C in a C++ build; "-x none" restores detection
        # by suffix for the user's sources.
        "-x", "c", *(str(s) for s in SDK_SOURCES), "-x", "none",
        *(str(s) for s in sources), "-o", str(output),
    ]


def build(sources: list[Path], output: Path, *, cxx: bool | None = None,
          opt: str = "-O2", extra: Sequence[str] = ()) -> Path:
    """Compile C or C++ ``sources`` into the wasm module ``output``.

    ``cxx`` picks the C++ compiler; by default any C++ source does. ``opt`` is
    the optimisation level; ``extra`` are further compiler arguments (``-D``,
    ``-I``, ``-l`` ...). Returns ``output``. Raises :class:`BuildError` with
    the compiler's messages when compilation fails.
    """
    sources = [Path(s) for s in sources]
    output = Path(output)
    if not sources:
        raise BuildError("nothing to build: no source files given")
    missing = [str(s) for s in sources if not s.is_file()]
    if missing:
        raise BuildError(f"no such source file: {', '.join(missing)}")
    for source in sources:
        _check_source(source)
    if opt not in OPT_LEVELS:
        raise BuildError(f"unknown optimisation level {opt!r}: use one of "
                         f"{', '.join(OPT_LEVELS)}")
    if cxx is None:
        cxx = is_cxx(sources)

    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    # zig builds wasi-libc (and libc++ for C++) on first use, once per language
    # and optimisation mode: warn then, as that build takes 20-40 s.
    language = "C++" if cxx else "C"
    warm_marker = cache / f".warm-{language.lower()}{opt}"
    if not warm_marker.exists():
        print(f"faasm build: the first {language} {opt} build compiles the wasi runtime "
              f"libraries into {cache}; it may take a minute", file=sys.stderr)

    output.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(cache), ZIG_LOCAL_CACHE_DIR=str(cache))
    command = compiler_command(sources, output, cxx=cxx, opt=opt, extra=extra)
    try:
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
    except OSError as exc:  # pragma: no cover - the interpreter itself is missing
        raise BuildError(f"cannot run the compiler: {exc}") from None
    if done.returncode != 0:
        names = ", ".join(s.name for s in sources)
        if "No module named ziglang" in done.stderr:
            raise BuildError("the ziglang package is not installed: "
                             "pip install -r requirements.txt", done.stderr)
        duplicate = sorted(set(re.findall(r"duplicate symbol: (\S+)", done.stderr)))
        if duplicate and set(duplicate) <= SDK_ALLOCATOR_SYMBOLS:
            raise BuildError(f"linking {names} failed: {', '.join(duplicate)} defined twice: the "
                             f"SDK's allocator is part of every build; build with "
                             f"-DFAASM_LIBC_MALLOC to use your own", done.stderr)
        undefined = sorted(set(re.findall(r"undefined symbol: (\S+)", done.stderr)))
        if undefined:
            raise BuildError(f"linking {names} failed: undefined {', '.join(undefined)} "
                             f"(Faasm host calls come from <faasm/faasm.h>)", done.stderr)
        raise BuildError(f"compiling {names} failed", done.stderr)
    if done.stderr:  # warnings: show them as a compiler would
        sys.stderr.write(done.stderr)
    warm_marker.touch()
    return output


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m faasm_client.toolchain SOURCE... [-o OUT] [-O2] [compiler args]``."""
    parser = argparse.ArgumentParser(
        prog="faasm build",
        description="Compile C/C++ Faasm functions to wasm32-wasi. Arguments it does "
                    "not know go to the compiler; give their values joined "
                    "(-DNAME=1, -Idir, -lm).")
    parser.add_argument("sources", nargs="+", type=Path, help="C or C++ source files")
    parser.add_argument("-o", "--output", type=Path,
                        help="output module (default: first source with .wasm)")
    parser.add_argument("-O", dest="opt", default="2", choices=["0", "1", "2", "3", "s", "z"],
                        help="optimisation level (default: 2)")
    parser.add_argument("--cxx", action=argparse.BooleanOptionalAction, default=None,
                        help="compile as C++, or not (default: if any source is C++)")
    args, extra = parser.parse_known_args(argv)

    output = args.output or args.sources[0].with_suffix(".wasm")
    try:
        build(args.sources, output, cxx=args.cxx, opt=f"-O{args.opt}", extra=extra)
    except BuildError as exc:
        print(f"faasm build: {exc}", file=sys.stderr)
        return 1
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
