"""Tracing of calls with OpenTelemetry, from the HTTP request to the worker that ran
it (FAASM_TRACING, off by default; docs/OPERATING.md).

The APIs instrument Falcon (a span per request) and Celery's sending side
(the call's message carries the trace context); workers instrument Celery's
running side, so a call's span is a child of the request that sent it.
Spans go to an OTLP collector when ``opentelemetry-exporter-otlp`` is
installed and ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else to stderr as JSON
(the process's log).
"""

from __future__ import annotations

import os
import sys

_started = False


def _exporter():
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            pass
        else:
            return OTLPSpanExporter()
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(out=sys.stderr)


def start_tracing(service: str, falcon: bool = False) -> bool:
    """Instrument this process (once) if FAASM_TRACING is on; whether it is traced."""
    global _started
    from faasm.settings import get_settings

    if not get_settings().tracing:
        return False
    if _started:
        return True
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    except ImportError as exc:
        raise RuntimeError(f"FAASM_TRACING is on but OpenTelemetry is not installed ({exc}): "
                           "pip install -r requirements.txt") from None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(_exporter()))
    trace.set_tracer_provider(provider)
    if falcon:
        from opentelemetry.instrumentation.falcon import FalconInstrumentor

        FalconInstrumentor().instrument()  # before the app is made: it patches falcon.App
    CeleryInstrumentor().instrument()
    _started = True
    return True
