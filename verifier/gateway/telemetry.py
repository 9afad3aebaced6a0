"""Prometheus metrics (on an opt-in listener) and OpenTelemetry spans (when an SDK is set up)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0)


class Telemetry:
    """The gateway's metrics and tracer."""

    def __init__(
        self,
        metrics_port: int | None,
        otel: str | None,
        host: str = "127.0.0.1",
        tracer_provider: Any = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "verifier_gateway_decisions",
            "tool calls decided, by verdict and tool",
            ["verdict", "tool"],
            registry=self.registry,
        )
        self.decision_seconds = Histogram(
            "verifier_gateway_decision_seconds",
            "time to bind and decide one call",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "verifier_gateway_upstream_seconds",
            "time the upstream took for an allowed call",
            ["upstream"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        if metrics_port is not None:
            start_http_server(metrics_port, addr=host, registry=self.registry)
        if otel == "console":
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
            trace.set_tracer_provider(provider)
        self.tracer = trace.get_tracer("verifier.gateway", tracer_provider=tracer_provider)

    @contextmanager
    def span(self, tool: str) -> Iterator[Any]:
        """One span per tool call (a no-op unless an OpenTelemetry SDK is configured)."""
        with self.tracer.start_as_current_span("tools/call") as span:
            span.set_attribute("mcp.tool", tool)
            yield span
