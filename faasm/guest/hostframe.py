"""The frame both ends of the Python sandbox's host door use: the guest
(``pyfaasm.core``, which imports this as ``hostframe``) and the host
(``faasm/runtime/python/door.py``, as ``faasm.guest.hostframe``)::

    frame = u32 little-endian header length | header (UTF-8 JSON object) | payload bytes
"""

import json

#: Bytes of the header-length prefix.
PREFIX = 4


def encode(header, payload=b""):
    raw = json.dumps(header, separators=(",", ":")).encode()
    return len(raw).to_bytes(PREFIX, "little") + raw + payload


def decode(frame):
    """(header dict, payload bytes); ValueError saying what is wrong if malformed."""
    frame = bytes(frame)
    size = int.from_bytes(frame[:PREFIX], "little")
    if len(frame) < PREFIX or PREFIX + size > len(frame):
        raise ValueError("bad header length")
    try:
        header = json.loads(frame[PREFIX:PREFIX + size])
    except ValueError:
        raise ValueError("header is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header, frame[PREFIX + size:]
