"""Shared storage: where functions, precompiled artifacts and shared files live.

The upload API writes it and every worker reads it. :class:`Storage` is the
interface; the backends, chosen by ``FAASM_STORAGE`` (:func:`open_storage`):

- :mod:`faasm.storage.local`: a directory (the default), shared by the
  processes of one host, or by many hosts over a network filesystem;
- :mod:`faasm.storage.s3`: ``s3://bucket/prefix`` on S3 or any S3-compatible
  service, through fsspec/s3fs;
- :mod:`faasm.storage.fileserver`: ``http://upload-host:8002``, Faasm's
  "fileserver" mode, where workers read through the upload API.

Keys are relative POSIX paths under three prefixes, defined here once;
the layout below each is owned by :mod:`faasm.functions` (functions,
artifacts) and :mod:`faasm.files` (shared files).
"""

from __future__ import annotations

import functools
import io
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

from faasm.errors import BadRequest, NotFound

#: Functions as uploaded: ``functions/<user>/<function>/function.wasm`` (or ``.py``).
FUNCTIONS_PREFIX = "functions/"
#: Precompiled machine code, signed: ``artifacts/<sha256>-<engine key>.cwasm``.
ARTIFACTS_PREFIX = "artifacts/"
#: Shared files (``faasm://<path>`` in a guest): the only keys clients and guests write,
#: with the buckets below.
SHARED_PREFIX = "shared/"
#: Guests' S3 buckets (``__faasm_s3_*`` calls): ``s3/<user>/<bucket>/<key>`` (faasm.buckets).
BUCKETS_PREFIX = "s3/"

#: Longest component of a key, in UTF-8 bytes (what a filesystem allows).
MAX_PART_BYTES = 255


@functools.lru_cache(maxsize=4096)  # a valid key, checked again: every call reads a few
def check_key(key: str) -> str:
    """``key`` if it is a relative POSIX path with no empty, ``.`` or ``..`` part,
    no NUL or backslash, and no component over :data:`MAX_PART_BYTES` bytes."""
    parts = key.split("/")
    if (not key or "\x00" in key or "\\" in key
            or any(part in ("", ".", "..") for part in parts)):
        raise BadRequest(f"Bad storage key {key[:80]!r}")
    try:
        too_long = any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in parts)
    except UnicodeEncodeError:
        raise BadRequest(f"Bad storage key {key[:80]!r}: not valid Unicode") from None
    if too_long:
        raise BadRequest(f"Bad storage key {key[:80]!r}: a component is over "
                         f"{MAX_PART_BYTES} bytes")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: a key followed by ``/`` (a "directory")."""
    if not prefix.endswith("/"):
        raise BadRequest(f"Bad storage prefix {prefix!r}: it must end with /")
    check_key(prefix[:-1])
    return prefix


class Storage(ABC):
    """A flat store of byte blobs under relative path keys.

    A key is a blob or a "directory" of other keys, never both: writing
    ``a/b`` when ``a`` is a blob (or ``a`` when ``a/b`` exists) is a
    BadRequest, as on a filesystem.
    """

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The blob's bytes; raises :class:`~faasm.errors.NotFound` if absent."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` atomically: readers see the old blob or the new one."""

    @abstractmethod
    def version(self, key: str) -> str | None:
        """A cheap fingerprint of the blob, or None if it is absent.

        It changes whenever the blob's bytes change (a backend may also change
        it when identical bytes are rewritten). Read the version *before* the
        bytes: a cache that stores (version, bytes) then never keeps bytes older
        than their version.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob if present."""

    @abstractmethod
    def list(self, prefix: str) -> dict[str, str]:
        """Every blob under ``prefix`` (which ends with ``/``): key -> :meth:`version`."""

    def exists(self, key: str) -> bool:
        return self.version(key) is not None

    def keep_local(self, key: str, data: bytes) -> None:
        """Store a blob this host derived (machine code it compiled) where this host
        will find it; a remote backend keeps it in its host cache, unshared."""
        self.write(key, data)

    def open(self, key: str) -> BinaryIO:
        """The blob as a readable file; a backend with local files gives a real one
        (with a ``fileno``), so machine code can be mapped rather than copied."""
        return io.BytesIO(self.read(key))

    def size(self, key: str) -> int | None:
        """The blob's size in bytes, or None if it is absent."""
        try:
            return len(self.read(key))
        except NotFound:
            return None

    def modified(self, key: str) -> float | None:
        """When the blob was last written (Unix time), or None if absent or unknown."""
        return None

    def usage(self, prefix: str, recursive: bool = True) -> int:
        """Bytes of every blob under ``prefix`` (only those directly in it, unless
        ``recursive``): what the shared-file quota counts."""
        keys = [key for key in self.list(prefix)
                if recursive or "/" not in key[len(prefix):]]
        return sum(self.size(key) or 0 for key in keys)

    def local_dir(self, prefix: str) -> Path | None:
        """The local directory holding the blobs under ``prefix`` (made if missing),
        when the backend keeps them in one (then calls preopen it); else None."""
        return None

    @property
    def is_remote(self) -> bool:
        """Whether blobs live on another host (then calls see a local mirror of them)."""
        return False


def open_storage(url: str, settings=None) -> Storage:
    """The storage backend named by a ``FAASM_STORAGE`` value.

    A path (or ``file://`` URL) is a local directory; ``s3://bucket/prefix``
    is S3 (endpoint from ``FAASM_S3_ENDPOINT_URL``, credentials from the
    standard AWS variables); ``http(s)://host:port`` is an upload API to read
    from (fileserver mode). Remote backends cache content-addressed blobs
    and the calls' shared-file mirrors under ``<data dir>/cache``.
    """
    url = url.removeprefix("file://")
    if "://" not in url:
        from faasm.storage.local import LocalStorage

        return LocalStorage(Path(url))
    if settings is None:
        from faasm.settings import get_settings

        settings = get_settings()
    cache_dir = settings.data_dir / "cache"
    if url.startswith("s3://"):
        from faasm.storage.s3 import S3Storage

        return S3Storage(url, cache_dir, endpoint_url=settings.s3_endpoint_url or None)
    if url.startswith(("http://", "https://")):
        from faasm.storage.fileserver import FileserverStorage

        # With FAASM_AUTH on, the upload API's /storage routes answer the admin token only.
        return FileserverStorage(url, cache_dir, token=getattr(settings, "admin_token", ""))
    raise ValueError(f"unsupported storage URL {url!r} (a directory, s3://bucket/prefix "
                     "or http://upload-host:port)")
