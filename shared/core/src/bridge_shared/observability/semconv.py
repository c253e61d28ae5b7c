"""Aligns FastStream's Kafka spans with the current OpenTelemetry messaging conventions.

FastStream names spans "{destination} {operation}"; the conventions say "{operation} {destination}".
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

_OPERATIONS = ("create", "publish", "process", "receive", "send", "settle")


class MessagingSpanNames(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attrs = span.attributes or {}
        if attrs.get("messaging.system") != "kafka":
            return
        destination, _, operation = span.name.rpartition(" ")
        if destination and operation in _OPERATIONS:
            span.update_name(f"{operation} {destination}")
            span.set_attribute("messaging.operation.name", operation)

    def on_end(self, span: ReadableSpan) -> None:
        pass
