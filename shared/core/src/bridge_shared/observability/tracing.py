"""OpenTelemetry setup: one tracer provider per process, OTLP export only when configured."""

from __future__ import annotations

import os

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bridge_shared.observability.semconv import MessagingSpanNames

_provider: TracerProvider | None = None


def configure_tracing(
    service_name: str,
    *,
    otlp_endpoint: str | None = None,
    environment: str = "development",
    extra_exporter: SpanExporter | None = None,
) -> TracerProvider:
    """Idempotent per process. `extra_exporter` lets tests collect spans in memory."""
    global _provider
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    if _provider is None:
        resource = Resource.create(
            {
                "service.name": f"bridge-{service_name}",
                "service.namespace": "bridge",
                "deployment.environment.name": environment,
            }
        )
        _provider = TracerProvider(resource=resource)
        _provider.add_span_processor(MessagingSpanNames())
        trace.set_tracer_provider(_provider)
        endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
            )
    if extra_exporter is not None:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        _provider.add_span_processor(SimpleSpanProcessor(extra_exporter))
    return _provider


def tracer_provider() -> TracerProvider | None:
    return _provider
