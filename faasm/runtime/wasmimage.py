"""Memory images: a module's linear memory and globals written back into wasm, as Wizer does.

A pre-initialised instance (CPython started and a function's imports done, or a
wasm function's zygote run) is captured as its linear memory and its globals'
values, and written as the *data segments* and *global initialisers* of a
module. wasmtime maps such a module's memory from a copy-on-write image when
it instantiates it (docs/SNAPSHOTS.md), so a call starts from the captured
state in microseconds and touches only the pages it writes.

Two shapes:

- :func:`preinitialised`: the whole module rewritten (memory size, globals,
  data). Compiling it again costs what the original cost, which is fine for a
  wasm function (milliseconds) and too much for CPython (75 s).
- :func:`split_code` and :func:`image_module`: the code once, with its memory
  and globals imported from ``faasm:image``, and a code-less image module per
  snapshot that defines them. The code is compiled once per machine; an image
  compiles in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from faasm.runtime.wasmbin import _leb, _sections, _uleb

#: Module name of the imports a split code module takes from its image.
IMAGE_MODULE = "faasm:image"
PAGE = 65536
#: Granularity of the data segments written for an image: runs of zero bytes of at
#: least this size are left out (the memory is zero there already).
SEGMENT_GAP = 4096

_IMPORT, _MEMORY, _GLOBAL, _EXPORT, _START, _DATA, _DATACOUNT = 2, 5, 6, 7, 8, 11, 12
_KIND_MEMORY, _KIND_GLOBAL = 0x02, 0x03
_I32, _I64, _F32, _F64 = 0x7F, 0x7E, 0x7D, 0x7C
_CONST = {_I32: 0x41, _I64: 0x42, _F32: 0x43, _F64: 0x44}
#: Section order (by id) in a module; 12 (data count) sits before code, 13 (tags) before globals.
_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]


class NotImageable(ValueError):
    """The module's shape is one this rewriter does not handle (the reason says which)."""


@dataclass(frozen=True)
class GlobalDef:
    valtype: int
    mutable: bool
    init: bytes  # the constant expression, ``end`` included


@dataclass(frozen=True)
class Layout:
    """What a rewrite needs to know of a module."""

    sections: list[tuple[int, int, int]]  # (id, start, end)
    memory_limits: tuple[int, int | None]  # the defined memory's (min, max) pages
    memory_flags: int
    globals: list[GlobalDef]  # the defined globals, in index order
    imported_globals: int
    imported_memories: int


def _sleb_skip(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _const_end(data: bytes, pos: int) -> int:
    """End (after ``end``) of the constant expression at ``pos``."""
    while True:
        op = data[pos]
        pos += 1
        if op == 0x0B:
            return pos
        if op in (0x41, 0x42):
            pos = _sleb_skip(data, pos)
        elif op == 0x43:
            pos += 4
        elif op == 0x44:
            pos += 8
        elif op in (0x23, 0xD2):  # global.get, ref.func
            pos = _uleb(data, pos)[1]
        elif op == 0xD0:  # ref.null
            pos += 1
        else:
            raise NotImageable(f"constant expression opcode {op:#x}")


def layout(data: bytes) -> Layout:
    sections = _sections(data)
    limits, flags, globals_, imported_globals, imported_memories = None, 0, [], 0, 0
    for section_id, start, _end in sections:
        if section_id == _IMPORT:
            pos, count = _payload(data, start)
            for _ in range(count):
                for _name in range(2):
                    length, pos = _uleb(data, pos)
                    pos += length
                kind = data[pos]
                pos += 1
                if kind == _KIND_GLOBAL:
                    imported_globals += 1
                if kind == _KIND_MEMORY:
                    imported_memories += 1
                pos = _skip_import(data, pos, kind)
        elif section_id == _MEMORY:
            pos, count = _payload(data, start)
            if count != 1:
                raise NotImageable(f"{count} memories")
            flags, pos = _uleb(data, pos)
            if flags & ~1:
                raise NotImageable("a shared or 64-bit memory")
            minimum, pos = _uleb(data, pos)
            maximum = _uleb(data, pos)[0] if flags & 1 else None
            limits = (minimum, maximum)
        elif section_id == _GLOBAL:
            pos, count = _payload(data, start)
            for _ in range(count):
                valtype, mutable = data[pos], data[pos + 1]
                init_end = _const_end(data, pos + 2)
                globals_.append(GlobalDef(valtype, bool(mutable), data[pos + 2:init_end]))
                pos = init_end
    if limits is None:
        raise NotImageable("no memory of its own" if imported_memories else "no memory")
    return Layout(sections, limits, flags, globals_, imported_globals, imported_memories)


def _payload(data: bytes, start: int) -> tuple[int, int]:
    """(position after the vector count, count) of the section whose header is at ``start``."""
    _, pos = _uleb(data, start + 1)
    count, pos = _uleb(data, pos)
    return pos, count


def _skip_import(data: bytes, pos: int, kind: int) -> int:
    if kind == 0x00:
        return _uleb(data, pos)[1]
    if kind == 0x01:  # table: reftype, limits
        pos += 1
        flags, pos = _uleb(data, pos)
        pos = _uleb(data, pos)[1]
        return _uleb(data, pos)[1] if flags & 1 else pos
    if kind == _KIND_MEMORY:
        flags, pos = _uleb(data, pos)
        pos = _uleb(data, pos)[1]
        return _uleb(data, pos)[1] if flags & 1 else pos
    if kind == _KIND_GLOBAL:
        return pos + 2
    if kind == 0x04:
        return _uleb(data, pos + 1)[1]
    raise NotImageable(f"import kind {kind}")


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + _leb(len(payload)) + payload


def _vector(items: list[bytes]) -> bytes:
    return _leb(len(items)) + b"".join(items)


def _name(text: str) -> bytes:
    raw = text.encode()
    return _leb(len(raw)) + raw


def _limits(flags: int, minimum: int, maximum: int | None) -> bytes:
    return bytes([flags & 1]) + _leb(minimum) + (_leb(maximum) if flags & 1 else b"")


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def const_expr(valtype: int, value) -> bytes:
    """``<type>.const value; end``. Floats are given as their raw bits (an int)."""
    if valtype == _I32:
        value = value - (1 << 32) if value >= 1 << 31 else value
        return b"\x41" + _sleb(value) + b"\x0b"
    if valtype == _I64:
        value = value - (1 << 64) if value >= 1 << 63 else value
        return b"\x42" + _sleb(value) + b"\x0b"
    if valtype == _F32:
        return b"\x43" + (value & 0xFFFFFFFF).to_bytes(4, "little") + b"\x0b"
    if valtype == _F64:
        return b"\x44" + (value & (1 << 64) - 1).to_bytes(8, "little") + b"\x0b"
    raise NotImageable(f"a global of type {valtype:#x}")


def data_segments(memory: bytes | memoryview) -> list[tuple[int, bytes]]:
    """The non-zero parts of ``memory`` as (offset, bytes) runs: zero runs of SEGMENT_GAP or
    more are left out."""
    view = memoryview(memory)
    zero = bytes(SEGMENT_GAP)
    runs: list[tuple[int, int]] = []
    start = None
    for offset in range(0, len(view), SEGMENT_GAP):
        empty = view[offset:offset + SEGMENT_GAP] == zero[:len(view) - offset]
        if not empty and start is None:
            start = offset
        elif empty and start is not None:
            runs.append((start, offset))
            start = None
    if start is not None:
        runs.append((start, len(view)))
    return [(a, bytes(view[a:b])) for a, b in runs]


def _active(offset: int, data: bytes) -> bytes:
    return b"\x00\x41" + _sleb(offset - (1 << 32) if offset >= 1 << 31 else offset) + b"\x0b" \
        + _leb(len(data)) + data


def _data_section(memory: bytes | memoryview) -> bytes:
    return _section(_DATA, _vector([_active(o, d) for o, d in data_segments(memory)]))


def _assemble(data: bytes, sections, replaced: dict[int, bytes | None],
              added: dict[int, bytes]) -> bytes:
    """The module with sections replaced (None: dropped) and added, in the spec's order."""
    present = {section_id: (start, end) for section_id, start, end in sections if section_id}
    out = [data[:8]]
    customs_before: dict[int, list[bytes]] = {}
    last = None
    for section_id, start, end in sections:  # custom sections stay after their predecessor
        if section_id == 0:
            customs_before.setdefault(last, []).append(data[start:end])
        else:
            last = section_id
    out += customs_before.get(None, [])
    for section_id in _ORDER:
        if section_id in replaced:
            if replaced[section_id] is not None:
                out.append(replaced[section_id])
        elif section_id in added:
            out.append(added[section_id])
        elif section_id in present:
            start, end = present[section_id]
            out.append(data[start:end])
        out += customs_before.get(section_id, [])
    return b"".join(out)


def _empty_passive(data: bytes, start: int) -> list[bytes]:
    """The segments of the data section at ``start``, each active one made an empty passive
    one, so the indices memory.init and data.drop name still exist and mean the same (an
    instantiated active segment is dropped: empty, as these are)."""
    pos, count = _payload(data, start)
    kept = []
    for _ in range(count):
        begin = pos
        flags, pos = _uleb(data, pos)
        if flags == 2:
            pos = _uleb(data, pos)[1]
        if flags in (0, 2):
            pos = _const_end(data, pos)
        elif flags != 1:
            raise NotImageable(f"data segment kind {flags}")
        length, pos = _uleb(data, pos)
        pos += length
        kept.append(data[begin:pos] if flags == 1 else b"\x01\x00")
    return kept


def preinitialised(data: bytes, memory: bytes | memoryview,
                   global_values: list | None = None) -> bytes:
    """``data`` rewritten to start where a captured instance was: its memory's minimum the
    captured size, its data the captured memory, its mutable globals the captured values
    (None: left as they are), and no start function (its effects are in the memory)."""
    shape = layout(data)
    present = {section_id: (start, end) for section_id, start, end in shape.sections}
    pages = len(memory) // PAGE
    minimum, maximum = shape.memory_limits
    memory_section = _section(_MEMORY, _vector([_limits(shape.memory_flags, pages, maximum)]))
    keep = _empty_passive(data, present[_DATA][0]) if _DATA in present else []
    segments = data_segments(memory)
    replaced = {_MEMORY: memory_section, _START: None,
                _DATA: _section(_DATA, _vector(keep + [_active(o, d) for o, d in segments]))}
    if global_values is not None:
        if len(global_values) != len(shape.globals):
            raise NotImageable("global count differs from the module's")
        replaced[_GLOBAL] = _section(_GLOBAL, _vector([
            bytes([g.valtype, 1]) + const_expr(g.valtype, v) if g.mutable
            else bytes([g.valtype, 0]) + g.init
            for g, v in zip(shape.globals, global_values, strict=True)]))
    if _DATACOUNT in present:
        replaced[_DATACOUNT] = _section(_DATACOUNT, _leb(len(keep) + len(segments)))
    return _assemble(data, shape.sections, replaced, {})


def split_code(data: bytes) -> bytes:
    """The code of ``data`` with its memory and every global imported from IMAGE_MODULE
    (``memory``, ``g0``, ``g1``...) in place of its own, and no data of its own.

    Globals and memory keep their indices: the module must import none of either, so its
    code is unchanged. Its data segments go (active ones are the image's business; without
    a data count section the code cannot name a segment)."""
    shape = layout(data)
    if shape.imported_globals or shape.imported_memories:
        raise NotImageable("it imports globals or memory")
    present = {section_id: (start, end) for section_id, start, end in shape.sections}
    if _DATACOUNT in present:
        raise NotImageable("its code may name data segments (a data count section)")
    if _START in present:
        raise NotImageable("it has a start function")
    minimum, maximum = shape.memory_limits
    imports = [_name(IMAGE_MODULE) + _name("memory") + bytes([_KIND_MEMORY])
               + _limits(shape.memory_flags, minimum, maximum)]
    imports += [_name(IMAGE_MODULE) + _name(f"g{i}") + bytes([_KIND_GLOBAL, g.valtype, g.mutable])
                for i, g in enumerate(shape.globals)]
    if _IMPORT in present:
        start, end = present[_IMPORT]
        pos, count = _payload(data, start)
        payload = _leb(count + len(imports)) + data[pos:end] + b"".join(imports)
    else:
        payload = _vector(imports)
    replaced = {_IMPORT: _section(_IMPORT, payload), _MEMORY: None, _GLOBAL: None, _DATA: None}
    return _assemble(data, shape.sections, replaced, {})


def image_module(memory: bytes | memoryview, globals_: list[tuple[int, bool, int]],
                 maximum: int | None = None) -> bytes:
    """A code-less module defining the memory (``memory``, holding ``memory``'s bytes, its
    size the minimum) and globals (``g0``...: (valtype, mutable, value)) a split code
    module imports."""
    pages = len(memory) // PAGE
    flags = 0 if maximum is None else 1
    memory_section = _section(_MEMORY, _vector([_limits(flags, pages, maximum)]))
    global_section = _section(_GLOBAL, _vector(
        [bytes([t, int(m)]) + const_expr(t, v) for t, m, v in globals_]))
    exports = [_name("memory") + bytes([_KIND_MEMORY]) + _leb(0)]
    exports += [_name(f"g{i}") + bytes([_KIND_GLOBAL]) + _leb(i) for i in range(len(globals_))]
    return (b"\x00asm\x01\x00\x00\x00" + memory_section + global_section
            + _section(_EXPORT, _vector(exports)) + _data_section(memory))


def initial_memory(data: bytes) -> tuple[bytearray, list[tuple[int, bool, int]]]:
    """The memory (its minimum size) and globals a fresh instance of ``data`` starts with,
    from its active data segments and constant global initialisers: the image a split code
    module needs to run as the original did."""
    shape = layout(data)
    memory = bytearray(shape.memory_limits[0] * PAGE)
    present = {section_id: (start, end) for section_id, start, end in shape.sections}
    if _DATA in present:
        pos, count = _payload(data, present[_DATA][0])
        for _ in range(count):
            flags, pos = _uleb(data, pos)
            if flags == 1:
                length, pos = _uleb(data, pos)
                pos += length
                continue
            if flags == 2:
                pos = _uleb(data, pos)[1]
            elif flags != 0:
                raise NotImageable(f"data segment kind {flags}")
            if data[pos] != 0x41:
                raise NotImageable("a data segment at a computed offset")
            offset, pos = _read_sleb(data, pos + 1)
            pos += 1  # end
            length, pos = _uleb(data, pos)
            memory[offset:offset + length] = data[pos:pos + length]
            pos += length
    values = []
    for g in shape.globals:
        if g.init[0] != _CONST.get(g.valtype):
            raise NotImageable("a global initialised by an expression")
        if g.valtype in (_I32, _I64):
            value, _ = _read_sleb(g.init, 1)
            value &= (1 << (32 if g.valtype == _I32 else 64)) - 1
        else:
            value = int.from_bytes(g.init[1:-1], "little")
        values.append((g.valtype, g.mutable, value))
    return memory, values


def _read_sleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos
