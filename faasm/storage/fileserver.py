"""The fileserver storage backend: ``http://upload-host:8002``.

Faasm's "fileserver" mode: the upload API keeps the storage on its own disk
(or S3) and workers on other hosts read it over HTTP, through the upload
API's internal ``/storage`` routes (:mod:`api.storage`):

- ``GET /storage/blob?key=K`` the blob, with its version as ``ETag``;
  ``HEAD`` the version alone (one request per call, for the module cache);
- ``GET /storage/list?prefix=shared/`` every key under a prefix with its
  version (the shared-file mirror syncs with one of these per call);
- ``PUT`` / ``DELETE /storage/blob?key=shared/...``: shared files, which
  calls write.

Nothing else is writable over HTTP: functions are uploaded through the
upload API's own routes, which validate and precompile them; machine code
a worker compiles itself (another engine configuration than the upload
API's) is kept in this host's cache only, never sent back, so no HTTP
client can plant machine code that workers would load.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import requests

from faasm.errors import BadRequest, NotFound, Unavailable, error_for_status
from faasm.storage import SHARED_PREFIX
from faasm.storage.remote import RemoteStorage

#: Keys workers may write or delete through the upload API.
#: (connect, read) timeouts of every request, seconds.
TIMEOUTS = (5, 120)


class FileserverStorage(RemoteStorage):
    # Machine code a worker compiles stays in its host cache: nothing but shared
    # files is ever sent to the upload API.
    shares_immutable = False

    def __init__(self, url: str, cache_dir: Path, token: str = ""):
        """``token``: sent as a bearer token (the admin token, when the upload API
        checks tokens: FAASM_AUTH on)."""
        super().__init__(url.rstrip("/"), cache_dir)
        self.token = token
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's keep-alive connections to the upload API (API processes
        serve requests on many threads; a forked child makes its own)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.session = requests.Session()
            if self.token:
                local.session.headers["Authorization"] = f"Bearer {self.token}"
            local.pid = os.getpid()
        return local.session

    def _request(self, method: str, route: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, f"{self.url}/storage/{route}",
                                            timeout=TIMEOUTS, **kwargs)
        except requests.RequestException as exc:
            raise Unavailable(f"Fileserver storage unavailable: {exc}") from None
        if response.status_code in (400, 413):
            reason = response.text.strip() or f"Fileserver storage answered {response.status_code}"
            raise error_for_status(response.status_code)(reason)
        if response.status_code in (401, 403):
            raise Unavailable(f"Fileserver storage refused access ({response.status_code}): "
                              "with FAASM_AUTH on, give this host FAASM_ADMIN_TOKEN")
        if response.status_code not in (200, 404):
            raise Unavailable(f"Fileserver storage answered {response.status_code}: "
                              f"{response.text.strip()[:200]}")
        return response

    def _get(self, key: str) -> bytes:
        response = self._request("GET", "blob", params={"key": key})
        if response.status_code == 404:
            raise NotFound(f"{key} not found")
        return response.content

    def _head(self, key: str) -> str | None:
        response = self._request("HEAD", "blob", params={"key": key})
        if response.status_code == 404:
            return None
        return response.headers["ETag"].strip('"')

    def _put(self, key: str, data: bytes) -> None:
        if not key.startswith(SHARED_PREFIX):
            raise BadRequest(f"Cannot write {key} through the fileserver: only shared "
                             "files are writable there (upload functions to the upload API)")
        self._request("PUT", "blob", params={"key": key}, data=data)

    def _remove(self, key: str) -> None:
        if not key.startswith(SHARED_PREFIX):
            raise BadRequest(f"Cannot delete {key} through the fileserver")
        self._request("DELETE", "blob", params={"key": key})

    def _list(self, prefix: str) -> dict[str, str]:
        return self._request("GET", "list", params={"prefix": prefix}).json()["blobs"]
