"""Structured JSON logs carry the current trace and span ids."""

from __future__ import annotations

import io
import json
import logging

from opentelemetry import trace

from bridge_shared.observability.logging import configure_logging


def test_json_log_lines_carry_trace_ids() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("tests", level="INFO", json_output=True)
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        with trace.get_tracer("tests").start_as_current_span("work") as span:
            logging.getLogger("bridge.test").info("hello", extra={"cohort_id": "c1"})
        line = json.loads(stream.getvalue().strip().splitlines()[-1])
        assert line["message"] == "hello"
        assert line["level"] == "INFO"
        assert line["service"] == "tests"
        assert line["cohort_id"] == "c1"
        assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
        assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
