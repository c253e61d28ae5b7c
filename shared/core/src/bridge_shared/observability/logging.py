"""Structured JSON logs that carry the current trace and span ids.

At INFO a service says one line per meaningful event, never its frameworks' chatter: the outbox relay
logs "published <type> key=<id>" per event it hands to Kafka (in the trace of the request that wrote
it) and a consumer "handled <type> <event id>" per event it applies. FastStream's per-message
"Received"/"Processed" lines are DEBUG (`bridge_shared.messaging.broker`); FastStream's start-up lines,
uvicorn (server and access), aiokafka, httpx/httpcore and asyncio log at WARNING and above unless the
service runs at DEBUG (`BRIDGE_<SVC>_LOG_LEVEL=DEBUG`), when everything is shown.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

# Libraries whose INFO lines are chatter (per request, per connection, start-up banners).
FRAMEWORK_LOGGERS = (
    "aiokafka",
    "kafka",
    "faststream",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx",
    "httpcore",
    "asyncio",
)


class _TraceContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.service = self.service
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        return True


def configure_logging(service: str, *, level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceContextFilter(service))
    if json_output:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(trace_id)s %(span_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(service)s %(trace_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = "DEBUG" if level.upper() == "DEBUG" else "WARNING"
    for noisy in (*FRAMEWORK_LOGGERS, f"bridge.{service}.broker"):
        logging.getLogger(noisy).setLevel(quiet)
