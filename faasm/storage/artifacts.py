"""Precompiled machine code in storage, authenticated before it is loaded.

Loading a precompiled module runs whatever machine code the file holds, so
storage alone is never trusted with it: each artifact is stored with an
HMAC-SHA256 tag (``<key>.mac``) over its key and its bytes, made with a
secret that lives outside storage (``FAASM_ARTIFACT_KEY``, or a random key
made once per host in ``<data dir>/keys``). A loader verifies the tag on
the very descriptor it then maps, and an artifact whose tag is missing or
wrong is not loaded: the caller compiles the wasm again. docs/SECURITY.md
explains the choice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from faasm.errors import NotFound
from faasm.storage import Storage

log = logging.getLogger("faasm.storage.artifacts")

#: Suffix of the key holding an artifact's tag.
TAG_SUFFIX = ".mac"
KEY_BYTES = 32


def host_secret(data_dir: Path, configured: str = "") -> bytes:
    """The artifact key: ``configured`` (FAASM_ARTIFACT_KEY) if set, else this
    host's own random key, made on first use in ``<data_dir>/keys`` (mode 0600)."""
    if configured:
        return hashlib.sha256(b"faasm-artifact-key\0" + configured.encode()).digest()
    keys = Path(data_dir) / "keys"
    path = keys / "artifact.key"
    try:
        secret = path.read_bytes()
        if len(secret) == KEY_BYTES:
            return secret
    except FileNotFoundError:
        pass
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = keys / f".artifact.key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(KEY_BYTES))
    try:
        os.link(tmp, path)  # atomic: the first process to get here decides the key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    secret = path.read_bytes()
    if len(secret) != KEY_BYTES:
        raise RuntimeError(f"{path} is not an artifact key ({KEY_BYTES} bytes): remove it")
    return secret


class Artifacts:
    """Signed machine code in ``storage``."""

    def __init__(self, storage: Storage, secret: bytes):
        self.storage = storage
        self._secret = secret

    def _tag(self, key: str, data: bytes | memoryview) -> str:
        mac = hmac.new(self._secret, key.encode() + b"\0", hashlib.sha256)
        mac.update(data)
        return mac.hexdigest()

    def put(self, key: str, data: bytes, local: bool = False) -> None:
        """Store an artifact and its tag; ``local``: on this host only (a worker's
        own compilation), else wherever the storage shares blobs."""
        store = self.storage.keep_local if local else self.storage.write
        store(key, data)
        store(key + TAG_SUFFIX, self._tag(key, data).encode())

    def open(self, key: str) -> BinaryIO | None:
        """The artifact, open and verified, or None if it is absent or its tag does
        not match (then it must not be loaded: compile the wasm again)."""
        try:
            tag = self.storage.read(key + TAG_SUFFIX)
            f = self.storage.open(key)
        except NotFound:
            return None
        try:
            data = f.read()
            if hmac.compare_digest(self._tag(key, data).encode(), tag.strip()):
                f.seek(0)
                return f
        except BaseException:
            f.close()
            raise
        f.close()
        log.warning("Artifact %s failed authentication (tampered, or made with another "
                    "artifact key): not loaded, the function is recompiled from its wasm",
                    key)
        return None
