"""The worker's consumer: its task events go out in batches.

Celery's worker buffers task events (received, started, succeeded, ...) and
sends what it holds at the next turn of its event loop: with calls arriving
one at a time, that is one Redis PUBLISH per event, three per call, each a
round trip from the worker's main process, and one message for Flower to
read. Here the first buffered event schedules the send ``EVENT_DELAY``
later, so the events of every call in that window go out as one message
(docs/SCALING.md, issue 17). Flower sees a call at most that much later.
"""

from __future__ import annotations

import contextlib

from celery.worker.consumer import Consumer as CeleryConsumer

#: Seconds a task event may wait for others to be sent with it.
EVENT_DELAY = 0.02


class Consumer(CeleryConsumer):
    _events_due = False

    def on_send_event_buffered(self) -> None:
        if self.hub and not self._events_due:
            self._events_due = True
            self.hub.call_later(EVENT_DELAY, self._send_events)

    def _send_events(self) -> None:
        self._events_due = False
        self._flush_events()

    def shutdown(self) -> None:
        """Send the events still held: Celery drops a buffer it has not sent."""
        with contextlib.suppress(Exception):
            self._flush_events()
        super().shutdown()
