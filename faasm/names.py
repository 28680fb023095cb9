"""Validation of the names clients choose: users, functions, state keys, file paths."""

from __future__ import annotations

import posixpath
import re

from faasm.errors import BadRequest

#: A user, function or key name: 1-128 characters of [A-Za-z0-9_.-], not . or ..
#: (the OpenAPI documents state it with this pattern too).
NAME_PATTERN = r"^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,128}$"
_NAME = re.compile(NAME_PATTERN)

#: The URL scheme under which functions see shared files.
SHARED_SCHEME = "faasm://"

MAX_PATH_LENGTH = 1024
#: Longest component of a shared file path, in UTF-8 bytes (a filesystem's limit).
MAX_PART_BYTES = 255
#: Most components of a shared file path (storage lists no deeper).
MAX_PARTS = 256


def check_name(value: object, what: str) -> str:
    """Return ``value`` if it is a valid user/function/key name, else raise BadRequest.

    A name is 1–128 characters of ``[A-Za-z0-9_.-]`` and neither ``.`` nor ``..``.
    """
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Empty {what}")
    if not _NAME.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadRequest(
            f"Invalid {what} {shown!r}: use 1-128 characters of A-Z a-z 0-9 _ . -")
    return value


def shared_path(value: str | None) -> str:
    """Normalise a shared file path (``FilePath`` header or ``faasm://`` URL).

    Returns a relative POSIX path inside the shared root, or raises
    BadRequest for anything that could name a file outside it.
    """
    if value is None or value.strip() == "":
        raise BadRequest("Missing FilePath header")
    path = value.strip()
    if path.startswith(SHARED_SCHEME):
        path = path[len(SHARED_SCHEME):]
    if "\x00" in path or "\\" in path:
        raise BadRequest("Invalid FilePath: NUL and backslash are not allowed")
    if len(path) > MAX_PATH_LENGTH:
        raise BadRequest(f"Invalid FilePath: longer than {MAX_PATH_LENGTH} characters")
    if path.startswith("/"):
        raise BadRequest("Invalid FilePath: must be relative to the shared root")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        raise BadRequest("Invalid FilePath: names no file")
    if ".." in parts:
        raise BadRequest("Invalid FilePath: '..' would leave the shared root")
    try:
        too_long = any(len(p.encode("utf-8")) > MAX_PART_BYTES for p in parts)
    except UnicodeEncodeError:
        raise BadRequest("Invalid FilePath: not valid Unicode") from None
    if too_long:
        raise BadRequest(f"Invalid FilePath: a component is over {MAX_PART_BYTES} bytes")
    if len(parts) > MAX_PARTS:
        raise BadRequest(f"Invalid FilePath: more than {MAX_PARTS} components")
    return posixpath.join(*parts)
