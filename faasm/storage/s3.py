"""The S3 storage backend: ``s3://bucket/prefix`` through fsspec/s3fs.

Works with AWS S3 and S3-compatible services (MinIO, Ceph RGW, moto...):
the endpoint comes from ``FAASM_S3_ENDPOINT_URL`` (empty = AWS), the
credentials and region from the standard AWS variables or files
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
``AWS_PROFILE``...). The bucket must exist.

- An object PUT is atomic: readers see the old bytes or the new ones.
- :meth:`version` is the object's ETag (one HEAD request): it changes
  whenever the bytes change.
- S3 has no directories; :meth:`write` refuses, as a filesystem would, a key
  whose parent is a blob or which is itself a "directory" of other keys
  (a HEAD per parent and one LIST: writes are uploads, so this is cheap).
"""

from __future__ import annotations

import os
from pathlib import Path

from faasm.errors import BadRequest, NotFound, Unavailable
from faasm.storage import check_key, check_prefix
from faasm.storage.remote import RemoteStorage


class S3Storage(RemoteStorage):
    def __init__(self, url: str, cache_dir: Path, endpoint_url: str | None = None):
        super().__init__(url if not endpoint_url else f"{url}@{endpoint_url}", cache_dir)
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self._fs = None
        self._fs_pid = 0

    @property
    def fs(self):
        """The s3fs filesystem of this process (s3fs runs an event loop thread:
        never use one across a fork)."""
        if self._fs is None or self._fs_pid != os.getpid():
            import s3fs

            self._fs = s3fs.S3FileSystem(
                endpoint_url=self.endpoint_url, skip_instance_cache=True,
                use_listings_cache=False,
                config_kwargs={"connect_timeout": 5, "read_timeout": 60,
                               "retries": {"max_attempts": 2}})
            self._fs_pid = os.getpid()
        return self._fs

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, method: str, **kwargs):
        """One S3 request (``method`` of botocore's client)."""
        return self._io(self.fs.call_s3, method, Bucket=self.bucket, **kwargs)

    @staticmethod
    def _io(function, *args, **kwargs):
        """Run an s3fs operation: a missing object stays FileNotFoundError, an
        unreachable or refusing service becomes Unavailable."""
        try:
            return function(*args, **kwargs)
        except FileNotFoundError:
            raise
        except OSError as exc:  # s3fs's translation of S3 errors (PermissionError...)
            raise Unavailable(f"S3 storage unavailable: {exc}") from None
        except Exception as exc:  # botocore's own (endpoint unreachable, credentials)
            if type(exc).__module__.startswith(("botocore", "aiobotocore", "aiohttp")):
                raise Unavailable(f"S3 storage unavailable: {exc}") from None
            raise

    def _get(self, key: str) -> bytes:
        try:
            return self._io(self.fs.cat_file, f"{self.bucket}/{self._key(key)}")
        except FileNotFoundError:
            raise NotFound(f"{key} not found") from None

    def _put(self, key: str, data: bytes) -> None:
        full = self._key(key)
        parts = full[len(self.prefix):].split("/")
        for depth in range(1, len(parts)):
            if self._head_full(self.prefix + "/".join(parts[:depth])) is not None:
                raise BadRequest(f"Cannot write {key}: a parent is a file")
        below = self._call("list_objects_v2", Prefix=full + "/", MaxKeys=1)
        if below.get("KeyCount", 0):
            raise BadRequest(f"Cannot write {key}: it is a directory of other files")
        self._call("put_object", Key=full, Body=data)

    def _head_full(self, full: str) -> str | None:
        try:
            return self._call("head_object", Key=full)["ETag"].strip('"')
        except FileNotFoundError:
            return None

    def _head(self, key: str) -> str | None:
        return self._head_full(self._key(key))

    def _remove(self, key: str) -> None:
        self._call("delete_object", Key=self._key(key))

    def _list(self, prefix: str) -> dict[str, str]:
        return {key: etag for key, (etag, _) in self._objects(prefix).items()}

    def size(self, key: str) -> int | None:
        try:
            return self._call("head_object", Key=self._key(key))["ContentLength"]
        except FileNotFoundError:
            return None

    def modified(self, key: str) -> float | None:
        try:
            return self._call("head_object", Key=self._key(key))["LastModified"].timestamp()
        except FileNotFoundError:
            return None

    def usage(self, prefix: str, recursive: bool = True) -> int:
        return sum(size for key, (_, size) in self._objects(check_prefix(prefix)).items()
                   if recursive or "/" not in key[len(prefix):])

    def _objects(self, prefix: str) -> dict[str, tuple[str, int]]:
        """Every object under ``prefix``: key -> (ETag, size)."""
        full = self.prefix + prefix
        found, token = {}, None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("list_objects_v2", Prefix=full, **extra)
            for obj in page.get("Contents", []):
                found[obj["Key"][len(self.prefix):]] = (obj["ETag"].strip('"'), obj["Size"])
            if not page.get("IsTruncated"):
                return found
            token = page["NextContinuationToken"]

