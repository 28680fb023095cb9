"""S3-style buckets of keys, for functions' ``__faasm_s3_*`` host calls.

Faasm gives functions an S3 client onto one object store. Here the same
calls use the platform's configured storage (a directory, S3 or the
fileserver), each user in a namespace of their own: bucket ``b``, key ``k``
of user ``u`` is the blob ``s3/u/b/k``. A bucket exists while it holds a
key (the first write creates it). Bucket names are names (``[A-Za-z0-9_.-]``);
keys are relative paths (no empty, ``.`` or ``..`` component, no NUL or
backslash), so no name a function chooses can reach outside its namespace.
"""

from __future__ import annotations

from faasm.errors import BadRequest, NotFound, TooLarge
from faasm.names import check_name
from faasm.storage import Storage, check_key

PREFIX = "s3/"
#: Longest key, in characters (S3's own limit is 1024 bytes).
MAX_KEY_LENGTH = 1024


def check_bucket_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"Bad S3 key: longer than {MAX_KEY_LENGTH} characters")
    try:
        return check_key(key)
    except BadRequest:
        raise BadRequest(f"Bad S3 key {key[:80]!r}: use a relative path without empty, "
                         "'.' or '..' parts") from None


class Buckets:
    """One user's buckets over ``storage``; ``quota`` caps the bytes a user keeps."""

    def __init__(self, storage: Storage, quota: int | None = None):
        self.storage = storage
        self.quota = quota

    def _root(self, user: str) -> str:
        return f"{PREFIX}{check_name(user, 'user')}/"

    def _bucket(self, user: str, bucket: str) -> str:
        return f"{self._root(user)}{check_name(bucket, 'S3 bucket')}/"

    def buckets(self, user: str) -> list[str]:
        """The user's buckets, sorted."""
        root = self._root(user)
        return sorted({key[len(root):].split("/", 1)[0] for key in self.storage.list(root)})

    def keys(self, user: str, bucket: str, prefix: str = "") -> list[str]:
        """Keys of the bucket starting with ``prefix``, sorted (none if no bucket)."""
        base = self._bucket(user, bucket)
        if "\x00" in prefix or len(prefix) > MAX_KEY_LENGTH:
            raise BadRequest("Bad S3 key prefix")
        return sorted(key[len(base):] for key in self.storage.list(base)
                      if key[len(base):].startswith(prefix))

    def put(self, user: str, bucket: str, key: str, data: bytes,
            overwrite: bool = False) -> bool:
        """Store ``data``; False (and nothing written) if the key exists and not
        ``overwrite``."""
        blob = self._bucket(user, bucket) + check_bucket_key(key)
        old = self.storage.size(blob)
        if old is not None and not overwrite:
            return False
        if self.quota is not None:
            used = self.storage.usage(self._root(user)) - (old or 0) + len(data)
            if used > self.quota:
                raise TooLarge(f"S3 buckets of user {user} would hold {used} bytes, over "
                               f"the {self.quota} byte quota (FAASM_SHARED_FILE_QUOTA)")
        self.storage.write(blob, data)
        return True

    def get(self, user: str, bucket: str, key: str) -> bytes:
        """The key's bytes; NotFound if the key (or bucket) does not exist."""
        blob = self._bucket(user, bucket) + check_bucket_key(key)
        try:
            return self.storage.read(blob)
        except NotFound:
            raise NotFound(f"S3 key {bucket}/{key} not found") from None
