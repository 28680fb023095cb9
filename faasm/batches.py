"""Batches (faabric's "apps"): the calls one EXECUTE_BATCH started, by app id.

An app record holds, for the app id the client gave (or one the platform
chose), the call IDs of its messages and what each message said, so that
EXECUTE_BATCH_STATUS can answer with one read of the record and one read of
all the results. Records expire with the result retention.
"""

from __future__ import annotations

import json
import random

import redis

from faasm.errors import BadRequest
from faasm.redisdb import available

#: faabric's app ids are int32; the ones the platform picks are in faasmctl's range.
APP_ID_RANGE = (100_000, 2**31 - 1)


class Batches:
    def __init__(self, client: redis.Redis, prefix: str, retention: int):
        self.client = client
        self.prefix = f"{prefix}:app:"
        self.retention = retention

    def key(self, app_id: int) -> str:
        return f"{self.prefix}{app_id}"

    def reserve(self, app_id: int) -> int:
        """Reserve ``app_id`` (0: pick a free one); BadRequest if it is in use."""
        with available():
            if app_id:
                if not self.client.set(self.key(app_id), "{}", nx=True, ex=self.retention):
                    raise BadRequest(f"App {app_id} already exists: choose another appId")
                return app_id
            while True:
                app_id = random.randint(*APP_ID_RANGE)
                if self.client.set(self.key(app_id), "{}", nx=True, ex=self.retention):
                    return app_id

    def save(self, app_id: int, user: str, calls: list[dict]) -> None:
        """Record the batch: ``calls`` are the messages' echo fields, call ID in ``id``."""
        with available():
            self.client.set(self.key(app_id), json.dumps({"user": user, "calls": calls}),
                            ex=self.retention)

    def release(self, app_id: int) -> None:
        with available():
            self.client.delete(self.key(app_id))

    def get(self, app_id: int) -> dict | None:
        """The batch's record, or None if no batch has that app id (or it expired)."""
        with available():
            raw = self.client.get(self.key(app_id))
        if not raw:
            return None
        record = json.loads(raw)
        return record if record.get("calls") is not None else {"user": None, "calls": []}
