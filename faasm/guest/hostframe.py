"""The frame both ends of the Python sandbox's host door use: the guest
(``pyfaasm.core``, which imports this as ``hostframe``) and the host
(``faasm/runtime/python/door.py``, as ``faasm.guest.hostframe``)::

    frame = u32 little-endian header length | header (UTF-8 JSON object) | payload bytes

and the turn that starts a call from an image (:func:`encode_call`), which the guest's
runner reads without compiling it::

    turn = "#faasm-call" LF | [argv, entry, idx] (JSON) LF | the input (base64)
"""

import binascii
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


#: How a call's turn starts (:func:`encode_call`); a turn that does not is Python.
CALL_TURN = "#faasm-call\n"


def encode_call(data, argv, entry, idx):
    """The turn of a call from an image: its input and arguments as data, not code."""
    head = json.dumps([list(argv), entry, int(idx)], separators=(",", ":"))
    return f"{CALL_TURN}{head}\n{binascii.b2a_base64(data, newline=False).decode()}"


def decode_call(turn):
    """(input, argv, entry, idx) of a turn :func:`encode_call` made."""
    head, _, data = turn[len(CALL_TURN):].partition("\n")
    argv, entry, idx = json.loads(head)
    return binascii.a2b_base64(data), argv, entry, idx
