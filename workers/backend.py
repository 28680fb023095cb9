"""The Redis result backend: subscribing only when a result is awaited, and storing a
call's result in one round trip, with the writes that go with it.

Celery's Redis backend SUBSCRIBEs to every task's result channel as soon as
it is sent. An API process that mostly sends async calls then accumulates
unread notifications on its pub/sub socket, and its next sync call stalls
0.5-1 s draining them (docs/DESIGN.md, "Result subscriptions"). Subscribing in ``get()``
instead is safe: after subscribing, the waiter reads the stored result once,
so a result that landed before the subscription is not missed.

Celery stores a result in two round trips: a GET (a result already SUCCESS
is never overwritten, e.g. by a redelivered call), then SETEX and PUBLISH.
Here one script does all three, and the writes that belong with the result
(the call's logs and metrics, ``ride``) go in the same pipeline, ahead of it:
whoever is woken by the result finds them written (docs/SCALING.md, issue 17).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from celery import states
from celery.backends.redis import RedisBackend
from celery.exceptions import BackendStoreError
from kombu.utils.encoding import bytes_to_str

log = logging.getLogger("faasm.workers")

#: KEYS = the result's key; ARGV = the result, its expiry in seconds (0: none).
#: Stores and publishes the result unless the stored one is already SUCCESS.
_STORE = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then return 0 end
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
"""

#: Adds commands to a pipeline: writes that go with a task's result.
Rider = Callable[[redis.client.Pipeline], None]


class AwaitedRedisBackend(RedisBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._riders: dict[str, Rider] = {}
        self._store_sha: str | None = None

    def on_task_call(self, producer, task_id):
        """Do not subscribe at send time; ``AsyncResult.get`` subscribes."""

    def ride(self, task_id: str, rider: Rider) -> None:
        """Send ``rider``'s writes with the result of ``task_id``, ahead of it, when it
        is stored (in this process); ``flush_riders`` sends them if it never is."""
        self._riders[task_id] = rider

    def flush_riders(self, task_id: str) -> None:
        """Send the writes still waiting for ``task_id``'s result on their own."""
        rider = self._riders.pop(task_id, None)
        if rider is not None:
            pipe = self.client.pipeline(transaction=False)
            rider(pipe)
            self._execute(pipe, len(pipe.command_stack))

    def _store_result(self, task_id, result, state, traceback=None, request=None, **kwargs):
        meta = self._get_result_meta(result=result, state=state, traceback=traceback,
                                     request=request)
        meta["task_id"] = bytes_to_str(task_id)
        value = self.encode(meta)
        if isinstance(value, str) and len(value) > self._MAX_STR_VALUE_SIZE:
            raise BackendStoreError("value too large for Redis backend", state=state,
                                    task_id=task_id)
        expires = self.failure_expires if state == states.FAILURE else self.expires
        # Kept until stored: a store that fails past ensure's retries is tried again by
        # Celery (result_backend_always_retry), and the writes must go with that one.
        rider = self._riders.get(bytes_to_str(task_id))
        self.ensure(self._store, (self.get_key_for_task(task_id), value, expires, rider))
        self._riders.pop(bytes_to_str(task_id), None)
        return result

    def _store(self, key: str, value, expires, rider: Rider | None) -> None:
        """One round trip: the rider's writes, then the result (a script)."""
        if self._store_sha is None:
            self._store_sha = self.client.script_load(_STORE)
        pipe = self.client.pipeline(transaction=False)
        if rider is not None:
            rider(pipe)
        riding = len(pipe.command_stack)
        pipe.evalsha(self._store_sha, 1, key, value, int(expires or 0))
        answer = self._execute(pipe, riding)[-1]
        if isinstance(answer, redis.exceptions.NoScriptError):  # Redis restarted or flushed
            self._store_sha = self.client.script_load(_STORE)
            self.client.evalsha(self._store_sha, 1, key, value, int(expires or 0))
        elif isinstance(answer, Exception):
            raise answer

    @staticmethod
    def _execute(pipe, riding: int) -> list:
        """Run ``pipe``; a failed rider write (its first ``riding`` commands) is logged,
        never raised: logs and metrics must not fail a call."""
        answers = pipe.execute(raise_on_error=False)
        failed = [a for a in answers[:riding] if isinstance(a, Exception)]
        if failed:
            log.warning("could not store the logs and metrics of a call: %s", failed[0])
        return answers


def adopt_unprefixed(backend) -> int:
    """Rename results stored before their keys carried the key prefix and database
    (``celery-task-meta-<id>``, by a platform of before that change) to today's names,
    keeping their expiry, so calls that ended before an upgrade stay pollable.

    Works on any of Celery's Redis backends (Sentinel's too). Returns how many were
    renamed; a result already under today's name is kept. Once a pass has finished, a
    marker key says so and later workers do not scan the database again."""
    prefix, legacy = bytes_to_str(backend.task_keyprefix), "celery-task-meta-"
    if prefix == legacy or not prefix.endswith(legacy):
        return 0
    client = backend.client
    done = f"{prefix[:-len(legacy)]}results-adopted"
    if client.exists(done):
        return 0
    renamed = 0
    for key in client.scan_iter(match=f"{legacy}*", count=1000):
        suffix = bytes_to_str(key)[len(legacy):]
        if not (suffix.isascii() and suffix.isdigit()):  # not a call's result
            continue
        try:
            renamed += bool(client.renamenx(key, f"{prefix}{suffix}"))
        except redis.ResponseError:  # expired, or renamed meanwhile by another worker
            continue
    client.set(done, b"1")
    return renamed
