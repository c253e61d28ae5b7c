"""A minimal OTLP/HTTP trace receiver for tests: decodes export requests and keeps the spans."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class CapturedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, str]
    linked_trace_ids: tuple[str, ...] = ()


class OtlpCapture:
    def __init__(self) -> None:
        self.spans: list[CapturedSpan] = []
        self._lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                found = []
                for rs in req.resource_spans:
                    service = next(
                        (a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), ""
                    )
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            attrs = {
                                a.key: str(a.value.string_value or a.value.int_value) for a in s.attributes
                            }
                            found.append(
                                CapturedSpan(
                                    service,
                                    s.name,
                                    s.kind,
                                    s.trace_id.hex(),
                                    s.span_id.hex(),
                                    s.parent_span_id.hex(),
                                    attrs,
                                    tuple(link.trace_id.hex() for link in s.links),
                                )
                            )
                with capture._lock:
                    capture.spans.extend(found)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> OtlpCapture:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def snapshot(self) -> list[CapturedSpan]:
        with self._lock:
            return list(self.spans)
