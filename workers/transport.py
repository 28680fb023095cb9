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
The Sentinel and RabbitMQ transports are left as they are.
"""

from __future__ import annotations

import logging
import time

from kombu.transport import redis as kombu_redis

log = logging.getLogger("faasm.worker")

#: How long a worker keeps trying to record a message it took (seconds).
RECORD_RETRY_SECONDS = 120.0


class QoS(kombu_redis.QoS):
    def append(self, message, delivery_tag) -> None:
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        while True:
            try:
                return super().append(message, delivery_tag)
            except self.channel.connection_errors as exc:
                if time.monotonic() > deadline:
                    log.error("call %s lost: Redis did not come back within %g s to record "
                              "it as taken (%s)", _task_id(message), RECORD_RETRY_SECONDS, exc)
                    raise
                time.sleep(0.5)


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


class Transport(kombu_redis.Transport):
    Channel = Channel
