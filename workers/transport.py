"""kombu's Redis broker transport, with the window where a call could be lost closed.

The Redis transport takes a call's message off its queue (BRPOP) and only
then records it as unacknowledged (a second round trip). If Redis goes away
between the two, by a crash or a restart, the message exists only in the
worker's memory: it is neither queued nor unacknowledged, and was lost.
Here that record is retried until Redis answers again (for up to
``RECORD_RETRY_SECONDS``), so the call is then run and acknowledged as
usual, or given back after the visibility timeout if the worker dies too.
Likewise, the calls a worker gives back when its connection drops are given
back once Redis answers, rather than left for the visibility timeout.
The record of a call's message taken also marks the call RUNNING, in the
same round trip (``QoS._record_taken``), and a channel reuses one Redis
client rather than building one per operation (``Channel._create_client``).
The Sentinel and RabbitMQ transports are left as they are (there the pool
process marks a call RUNNING when it starts it, workers/observe.py).
"""

from __future__ import annotations

import logging
import time

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual as kombu_virtual
from kombu.utils.json import dumps

from faasm.records import started_key
from faasm.settings import get_settings
from workers.app import CALL_TASK

log = logging.getLogger("faasm.worker")

#: How long a worker keeps trying to record a message it took (seconds).
RECORD_RETRY_SECONDS = 120.0


class QoS(kombu_redis.QoS):
    def append(self, message, delivery_tag) -> None:
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        while True:
            try:
                return self._record_taken(message, delivery_tag)
            except self.channel.connection_errors as exc:
                if time.monotonic() > deadline:
                    log.error("call %s lost: Redis did not come back within %g s to record "
                              "it as taken (%s)", _task_id(message), RECORD_RETRY_SECONDS, exc)
                    raise
                time.sleep(0.5)


    def _record_taken(self, message, delivery_tag) -> None:
        """kombu's record of a message taken (``QoS.append``), and for a call, in the same
        round trip, the mark that a worker took it (faasm.records.started_key): its
        status is then RUNNING. With one call per pool process prefetched
        (``worker_prefetch_multiplier=1``), a call taken is a call that runs."""
        delivery = message.delivery_info
        with self.pipe_or_acquire() as pipe:
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()})
            pipe.hset(self.unacked_key, delivery_tag,
                      dumps([message._raw, delivery["exchange"], delivery["routing_key"]]))
            headers = getattr(message, "headers", None) or {}
            if headers.get("task") == CALL_TASK and headers.get("id"):
                settings = get_settings()
                pipe.set(started_key(settings.key_prefix, headers["id"]), b"1",
                         ex=settings.result_retention)
            pipe.execute()
        kombu_virtual.QoS.append(self, message, delivery_tag)

    def restore_unacked(self, client=None) -> None:
        """Give back the calls this channel took and did not acknowledge.

        kombu does it when the channel closes, which is also when the worker
        lost its connection to Redis: then it failed, and those calls waited
        for the visibility timeout (minutes) before anyone ran them. Here it
        is retried until Redis answers (each give-back is one transaction, so
        a retry never queues a call twice). A call that was still running is
        run again: acknowledged late, a call may run more than once.
        """
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        for tag in list(self._delivered):
            while True:
                try:
                    self.restore_by_tag(tag)
                    break
                except self.channel.connection_errors as exc:
                    if time.monotonic() > deadline:
                        log.error("could not give back a taken call: Redis did not come "
                                  "back within %g s (%s); the visibility timeout will",
                                  RECORD_RETRY_SECONDS, exc)
                        raise
                    time.sleep(0.5)
        self._delivered.clear()


def _task_id(message) -> str:
    return str((getattr(message, "headers", None) or {}).get("id", "?"))


class Channel(kombu_redis.Channel):
    QoS = QoS
    _shared_client = None

    def _create_client(self, asynchronous=False):
        """kombu builds a new ``redis.Redis`` for every message sent, acknowledged or
        taken (~80 µs of CPU each, several per call); one per connection pool does
        (a ``redis.Redis`` is thread-safe: each command takes a pool connection)."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool, client = self.pool, self._shared_client
        if client is None or client.connection_pool is not pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
