"""Test functions written in WAT, compiled with wasmtime.wat2wasm."""

import wasmtime

_IMPORTS = '''
 (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
 (import "env" "__faasm_read_input" (func $read_input (param i32 i32) (result i32)))
 (import "env" "__faasm_write_output" (func $write_output (param i32 i32)))
 (import "env" "__faasm_get_idx" (func $get_idx (result i32)))
 (import "env" "__faasm_conf_flag" (func $conf_flag (param i32) (result i32)))
'''

_COMMON = '''
 (memory (export "memory") 1)
 (func $print (param $ptr i32) (param $len i32)
   (i32.store (i32.const 0) (local.get $ptr)) (i32.store (i32.const 4) (local.get $len))
   (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12))))
'''


#: Importing path_open makes the runtime give a module wasmtime's whole WASI.
PATH_OPEN = '''(import "wasi_snapshot_preview1" "path_open"
   (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))'''


def module(body: str, imports: str = "") -> bytes:
    """A module with the common imports, memory and $print, plus ``body``."""
    return wasmtime.wat2wasm(f"(module {_IMPORTS} {imports} {_COMMON} {body})")


#: Prints "hello from wasm" and sets the output to "out:" + input.
HELLO = module('''
 (data (i32.const 100) "hello from wasm\\n")
 (data (i32.const 200) "out:")
 (func (export "_start") (local $n i32)
   (call $print (i32.const 100) (i32.const 16))
   (local.set $n (call $read_input (i32.const 204) (i32.const 60000)))
   (call $write_output (i32.const 200) (i32.add (local.get $n) (i32.const 4))))
''')

#: Output = input (any size up to memory).
ECHO = module('''
 (func (export "_start") (local $n i32)
   (local.set $n (call $read_input (i32.const 0) (i32.const 0)))
   (if (i32.gt_u (local.get $n) (i32.const 60000))
     (then (drop (memory.grow (i32.add (i32.shr_u (local.get $n) (i32.const 16)) (i32.const 1))))))
   (drop (call $read_input (i32.const 1024) (local.get $n)))
   (call $write_output (i32.const 1024) (local.get $n)))
''')

#: Prints, then exits with code 3.
EXIT_3 = module('''
 (data (i32.const 100) "about to fail\\n")
 (func (export "_start")
   (call $print (i32.const 100) (i32.const 14))
   (call $proc_exit (i32.const 3)))
''')

#: Traps with `unreachable`.
TRAP = module('''(func (export "_start") unreachable)''')

#: Loops forever.
LOOP = module('''(func (export "_start") (loop $l (br $l)))''')

#: Grows memory 1 MiB at a time until refused, then traps like a failed malloc would.
GROW = module('''
 (func (export "_start")
   (loop $l
     (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
   unreachable)
''')

#: Passes an out-of-bounds pointer to __faasm_write_output.
BAD_POINTER = module('''
 (func (export "_start") (call $write_output (i32.const 0x7fff0000) (i32.const 16)))
''')

_FLOOD = '''
 (func (export "_start") (local $i i32)
   (drop (memory.grow (i32.const 2)))
   (loop $l
     (call $print (i32.const 1024) (i32.const 100000))
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br_if $l (i32.lt_u (local.get $i) (i32.const 100)))))
'''
#: Prints 100,000 bytes per iteration, 100 times (10 MB of stdout).
FLOOD = module(_FLOOD)
FLOOD_WITH_FILES = module(_FLOOD, imports=PATH_OPEN)

#: Output is the call's entry index as one byte + '0'; exports _faasm_func_1 too.
IDX = module('''
 (func $report (i32.store8 (i32.const 300) (i32.add (call $get_idx) (i32.const 48)))
   (call $write_output (i32.const 300) (i32.const 1)))
 (func (export "_start") (call $report))
 (func (export "_faasm_func_1") (call $report))
''')

#: Output "1" if the conf flag named by the input is on, else "0".
CONF_FLAG = module('''
 (func (export "_start") (local $n i32)
   (local.set $n (call $read_input (i32.const 400) (i32.const 100)))
   (i32.store8 (i32.add (i32.const 400) (local.get $n)) (i32.const 0))
   (i32.store8 (i32.const 300) (i32.add (call $conf_flag (i32.const 400)) (i32.const 48)))
   (call $write_output (i32.const 300) (i32.const 1)))
''')

#: Imports a host function the platform does not have.
UNKNOWN_IMPORT = wasmtime.wat2wasm('''(module
 (import "env" "no_such_function" (func $f))
 (import "other" "thing" (func $g))
 (func (export "_start") (call $f)))''')

#: Like HELLO, but imports path_open, so it runs with wasmtime's whole WASI
#: (stdout through a sealed memfd instead of the fd_write host call).
HELLO_WITH_FILES = module('''
 (data (i32.const 100) "hello from wasm\\n")
 (func (export "_start")
   (call $print (i32.const 100) (i32.const 16))
   (call $write_output (i32.const 100) (i32.const 5)))''', imports=PATH_OPEN)

#: Busy for 1.5 s, watching WASI's monotonic clock; then outputs "done".
SPIN = wasmtime.wat2wasm(f'''(module {_IMPORTS}
 (import "wasi_snapshot_preview1" "clock_time_get"
   (func $clock (param i32 i64 i32) (result i32)))
 {_COMMON}
 (data (i32.const 300) "done")
 (func $now (result i64)
   (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 400)))
   (i64.load (i32.const 400)))
 (func (export "_start") (local $end i64)
   (local.set $end (i64.add (call $now) (i64.const 1500000000)))
   (loop $l (br_if $l (i64.lt_u (call $now) (local.get $end))))
   (call $write_output (i32.const 300) (i32.const 4))))''')

#: Sleeps 300 ms (WASI poll_oneoff on the monotonic clock, no CPU); then outputs "slept".
SLEEP = module('''
 (data (i32.const 300) "slept")
 (func (export "_start")
   (i64.store (i32.const 1000) (i64.const 0))          ;; userdata
   (i32.store8 (i32.const 1008) (i32.const 0))         ;; tag: clock
   (i32.store (i32.const 1016) (i32.const 1))          ;; clock id: monotonic
   (i64.store (i32.const 1024) (i64.const 300000000))  ;; timeout: 300 ms
   (i64.store (i32.const 1032) (i64.const 0))          ;; precision
   (i32.store16 (i32.const 1040) (i32.const 0))        ;; flags: relative
   (drop (call $poll (i32.const 1000) (i32.const 2000) (i32.const 1) (i32.const 3000)))
   (call $write_output (i32.const 300) (i32.const 5)))''', imports='''
 (import "wasi_snapshot_preview1" "poll_oneoff"
   (func $poll (param i32 i32 i32 i32) (result i32)))''')

#: A guest that tries to make a link in the shared files (preopen fd 3, ``faasm:``).
#: Input: one byte 0 (symlink) or 1 (hard link), one byte n, n bytes of the target
#: (a symlink's text, or the existing file), then the new link's path. Output: the
#: WASI errno as 4 bytes, little-endian (0: the link was made).
MAKE_LINK = module('''
 (func (export "_start") (local $n i32) (local $t i32) (local $err i32)
   (local.set $n (call $read_input (i32.const 1024) (i32.const 8192)))
   (local.set $t (i32.load8_u (i32.const 1025)))
   (if (i32.eqz (i32.load8_u (i32.const 1024)))
     (then (local.set $err (call $symlink
             (i32.const 1026) (local.get $t) (i32.const 3)
             (i32.add (i32.const 1026) (local.get $t))
             (i32.sub (local.get $n) (i32.add (i32.const 2) (local.get $t))))))
     (else (local.set $err (call $link
             (i32.const 3) (i32.const 0) (i32.const 1026) (local.get $t) (i32.const 3)
             (i32.add (i32.const 1026) (local.get $t))
             (i32.sub (local.get $n) (i32.add (i32.const 2) (local.get $t)))))))
   (i32.store (i32.const 0) (local.get $err))
   (call $write_output (i32.const 0) (i32.const 4)))''', imports=PATH_OPEN + '''
 (import "wasi_snapshot_preview1" "path_symlink"
   (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "path_link"
   (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))''')


def link_input(target: str, link: str, hard: bool = False) -> bytes:
    """The input of :data:`MAKE_LINK`."""
    t = target.encode()
    return bytes([1 if hard else 0, len(t)]) + t + link.encode()


#: Sets state key "k" from the shared file whose path is the input
#: (``__faasm_write_state_from_file``); outputs the byte count, 4 bytes little-endian.
STATE_FROM_FILE = module('''
 (data (i32.const 16) "k\\00")
 (func (export "_start") (local $n i32)
   (local.set $n (call $read_input (i32.const 1024) (i32.const 4096)))
   (i32.store8 (i32.add (i32.const 1024) (local.get $n)) (i32.const 0))
   (i32.store (i32.const 0) (call $from_file (i32.const 16) (i32.const 1024)))
   (call $write_output (i32.const 0) (i32.const 4)))''', imports='''
 (import "env" "__faasm_write_state_from_file"
   (func $from_file (param i32 i32) (result i32)))''')
