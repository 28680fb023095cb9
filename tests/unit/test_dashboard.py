"""The Grafana dashboard in deploy/grafana only asks for metrics GET /metrics serves."""

from __future__ import annotations

import json
import re

from celery import Celery
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import PlatformCollector
from faasm.metrics import Snapshot
from faasm.settings import PROJECT_ROOT

DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "faasm-dashboard.json"


class _Stub:
    """What the collector reads: a snapshot, the fleet, and a broker (kombu's in-memory
    one: no Redis here)."""

    def __init__(self):
        self.app = Celery(broker="memory://")
        self.registry = self

    def snapshot(self):
        return Snapshot(calls={("demo/hello", "success"): 2},
                        buckets={"demo/hello": [1, 1] + [0] * 14},
                        seconds={"demo/hello": 0.01})

    def live(self):
        return [{"name": "w@h", "queues": ["faasm-async", "faasm-sync"]}]


def served_names() -> set[str]:
    stub = _Stub()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(stub, stub))
    text = generate_latest(registry).decode()
    return {sample.name for family in text_string_to_metric_families(text)
            for sample in family.samples}


def test_every_panel_queries_served_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    served = served_names()
    assert {"faasm_calls_total", "faasm_call_duration_seconds_bucket", "faasm_workers",
            "faasm_workers_live", "faasm_queue_depth"} <= served
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 7
    for expr in exprs:
        names = set(re.findall(r"\bfaasm_\w+", expr))
        assert names and names <= served, expr
