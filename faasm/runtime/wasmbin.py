"""Small rewrites of a wasm binary at upload: exporting the function table.

Chaining by function pointer (``faasmChain(func, ...)``, host call
``__faasm_chain_ptr``) enters the new call at an entry of the module's
function table, so the platform needs the table exported. ``faasm build``
exports it; Faasm's own toolchain and other builds usually do not. Such a
module is rewritten once at upload with one more export,
``__indirect_function_table`` for table 0. Nothing else changes: no code,
no data, no other section.
"""

from __future__ import annotations

TABLE_EXPORT = "__indirect_function_table"

_IMPORT, _TABLE, _EXPORT, _START = 2, 4, 7, 8
#: Where a new export section goes: after every section with a lower id that may
#: precede it (type .. global, and the tag section 13, which sits before global).
_BEFORE_EXPORT = {1, 2, 3, 4, 5, 6, 13}
_KIND_TABLE = 0x01


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise ValueError("LEB128 too long")


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sections(data: bytes) -> list[tuple[int, int, int]]:
    """(id, start of the section's header, end of its payload) of each section."""
    sections, pos = [], 8
    while pos < len(data):
        start = pos
        section_id = data[pos]
        size, pos = _uleb(data, pos + 1)
        if pos + size > len(data):
            raise ValueError("section runs past the end of the module")
        sections.append((section_id, start, pos + size))
        pos += size
    return sections


def _payload(data: bytes, start: int) -> tuple[int, int]:
    """(payload start, vector count) of the section whose header is at ``start``."""
    _, pos = _uleb(data, start + 1)
    count, body = _uleb(data, pos)
    return pos, count


def _has_table(data: bytes, sections) -> bool:
    for section_id, start, _end in sections:
        if section_id == _TABLE:
            _, count = _payload(data, start)
            if count:
                return True
        if section_id == _IMPORT:
            pos, count = _payload(data, start)
            _, pos = _uleb(data, pos)  # skip the count
            for _ in range(count):
                for _name in range(2):  # module, field
                    length, pos = _uleb(data, pos)
                    pos += length
                kind = data[pos]
                pos += 1
                if kind == _KIND_TABLE:
                    return True
                pos = _skip_import_desc(data, pos, kind)
    return False


def _skip_import_desc(data: bytes, pos: int, kind: int) -> int:
    if kind == 0x00:  # func: type index
        return _uleb(data, pos)[1]
    if kind == 0x02:  # memory: limits
        flags, pos = _uleb(data, pos)
        pos = _uleb(data, pos)[1]
        return _uleb(data, pos)[1] if flags & 1 else pos
    if kind == 0x03:  # global: valtype, mutability
        return pos + 2
    if kind == 0x04:  # tag: attribute, type index
        return _uleb(data, pos + 1)[1]
    raise ValueError(f"unknown import kind {kind}")


def _exports(data: bytes, start: int) -> tuple[int, list[tuple[str, int]], int]:
    """(count, [(name, kind)], end of entries) of the export section at ``start``."""
    pos, count = _payload(data, start)
    _, pos = _uleb(data, pos)
    found = []
    for _ in range(count):
        length, pos = _uleb(data, pos)
        name = data[pos:pos + length].decode("utf-8", "replace")
        pos += length
        kind = data[pos]
        _, pos = _uleb(data, pos + 1)
        found.append((name, kind))
    return count, found, pos


def export_function_table(data: bytes) -> bytes:
    """``data`` with its function table (table 0) exported as ``__indirect_function_table``,
    or ``data`` unchanged when a table is exported already or the module has none."""
    sections = _sections(data)
    if not _has_table(data, sections):
        return data
    entry = _leb(len(TABLE_EXPORT)) + TABLE_EXPORT.encode() + bytes([_KIND_TABLE]) + _leb(0)
    for section_id, start, end in sections:
        if section_id == _EXPORT:
            count, exports, _ = _exports(data, start)
            if any(kind == _KIND_TABLE for _, kind in exports):
                return data
            payload_start, _ = _payload(data, start)
            _, entries = _uleb(data, payload_start)
            payload = _leb(count + 1) + data[entries:end] + entry
            section = bytes([_EXPORT]) + _leb(len(payload)) + payload
            return data[:start] + section + data[end:]
    # No export section: add one after the sections that must precede it.
    insert_at = 8
    for section_id, _start, end in sections:
        if section_id in _BEFORE_EXPORT:
            insert_at = end
    payload = _leb(1) + entry
    section = bytes([_EXPORT]) + _leb(len(payload)) + payload
    return data[:insert_at] + section + data[insert_at:]
