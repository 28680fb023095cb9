"""``GET /metrics`` on both APIs: Prometheus metrics of the whole platform.

Call counters and durations come from Redis (every worker adds to them,
faasm/metrics.py), so each API process answers the same numbers; queue
depths and live workers are read at scrape time. Off with FAASM_METRICS=off.

| metric | type | labels |
|---|---|---|
| ``faasm_calls_total`` | counter | ``function`` (user/function), ``outcome`` |
| ``faasm_call_duration_seconds`` | histogram | ``function`` |
| ``faasm_queue_depth`` | gauge | ``queue`` |
| ``faasm_workers`` | gauge | ``queue``: live workers consuming it |
| ``faasm_workers_live`` | gauge | live workers |

A call's ``outcome`` is success, failed or timeout.
"""

from __future__ import annotations

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from api.auth import PUBLIC
from faasm.metrics import DURATION_BUCKETS, CallMetrics


class PlatformCollector:
    def __init__(self, metrics: CallMetrics, queue):
        self.metrics = metrics
        self.queue = queue

    def collect(self):
        snap = self.metrics.snapshot()
        calls = CounterMetricFamily("faasm_calls", "Calls finished, by function and outcome",
                                    labels=["function", "outcome"])
        for (function, outcome), count in sorted(snap.calls.items()):
            calls.add_metric([function, outcome], count)
        yield calls
        durations = HistogramMetricFamily("faasm_call_duration_seconds",
                                          "How long calls ran, seconds", labels=["function"])
        for function, counts in sorted(snap.buckets.items()):
            cumulative, running = [], 0
            for bound, count in zip([*map(str, DURATION_BUCKETS), "+Inf"], counts, strict=True):
                running += count
                cumulative.append((bound, running))
            durations.add_metric([function], cumulative, snap.seconds.get(function, 0.0))
        yield durations
        yield from self._fleet()

    def _fleet(self):
        from kombu.exceptions import OperationalError

        from workers.health import QUEUES, queue_depths

        depth = GaugeMetricFamily("faasm_queue_depth", "Calls waiting in each queue",
                                  labels=["queue"])
        app = self.queue.app
        with app.connection_for_read() as conn:  # not connected: only its transport's errors
            broker_away = (OperationalError, *conn.connection_errors)
        try:
            for name, value in queue_depths(app).items():
                depth.add_metric([name], value)
        except broker_away:  # no sample rather than no metrics at all
            pass
        yield depth
        live = self.queue.registry.live()
        consumers = GaugeMetricFamily("faasm_workers", "Live workers consuming each queue",
                                      labels=["queue"])
        for name in QUEUES:
            consumers.add_metric([name], sum(name in w.get("queues", ()) for w in live))
        yield consumers
        yield GaugeMetricFamily("faasm_workers_live", "Live workers", value=len(live))


class Metrics:
    auth = PUBLIC  # scraped by Prometheus (keep the port private, as /health)

    def __init__(self, queue_of):
        self.queue_of = queue_of
        self.registry = None

    def on_get(self, req, resp) -> None:
        queue = self.queue_of()
        if not queue.settings.metrics:
            raise falcon.HTTPNotFound(description="metrics are off (FAASM_METRICS)")
        if self.registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(PlatformCollector(
                CallMetrics(queue.registry.client, queue.settings.key_prefix), queue))
            self.registry = registry
        resp.data = generate_latest(self.registry)
        resp.content_type = CONTENT_TYPE_LATEST


def add_metrics_routes(app: falcon.App, queue_of) -> None:
    """``queue_of()``: the :class:`workers.app.CallQueue` whose platform to report."""
    app.add_route("/metrics", Metrics(queue_of))
