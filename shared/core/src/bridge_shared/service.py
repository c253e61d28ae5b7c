"""Builds a Bridge service: FastAPI + FastStream + asyncpg + OpenTelemetry, wired the same way everywhere.

A service declares its settings, migrations, routers, consumers, produced topics and background
tasks; this module owns start-up and shut-down order:
pool -> migrations -> topics -> broker (consumers) -> outbox relay + pruner + pipeline probe ->
background tasks.
On shut-down the relay finishes its batch and hands its lease back before anything else stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.specification import AsyncAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.roles import refuse_reader_writes
from bridge_shared.auth.tokens import TokenValidator
from bridge_shared.db.connection import as_connection
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.events.asyncapi import asyncapi_html, service_document
from bridge_shared.events.registry import EventPayload
from bridge_shared.events.schema_routes import schema_base_url, schema_router
from bridge_shared.events.topics import dead_letter_topic, prefixed
from bridge_shared.gc_tuning import tune_gc
from bridge_shared.http.docs import install_docs
from bridge_shared.http.guard import GuardLimits, RequestGuard
from bridge_shared.http.metrics_server import MetricsServer
from bridge_shared.http.openapi import install_problem_openapi
from bridge_shared.http.problem_pages import install_problem_pages
from bridge_shared.http.problems import install_problem_handlers
from bridge_shared.messaging.broker import create_broker, ensure_topics
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.topic_check import TopicCheck
from bridge_shared.observability import health, probe
from bridge_shared.observability.logging import configure_logging
from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.observability.probe import Prober
from bridge_shared.observability.tracing import configure_tracing
from bridge_shared.outbox.monitor import pool_outbox_status
from bridge_shared.outbox.pruning import run_pruner
from bridge_shared.outbox.relay import OutboxRelay
from bridge_shared.outbox.sender import outbox_sender, send_now
from bridge_shared.outbox.writer import Outbox
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)
BackgroundTask = Callable[[Runtime[S]], Coroutine[Any, Any, None]]
SHUTDOWN_RELAY_GRACE_SECONDS = 8.0


@dataclass
class ServiceDefinition(Generic[S]):
    settings: S
    title: str
    description: str
    migrations_package: str
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[Callable[[Runtime[S]], EventConsumer]] = ()
    publishes: Sequence[type[EventPayload]] = ()
    background: Sequence[BackgroundTask[S]] = ()
    public_routers: Sequence[APIRouter] = ()
    on_startup: Sequence[Callable[[Runtime[S]], Awaitable[None]]] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    clock: Clock = field(default_factory=SystemClock)
    # Routes (path templates as declared) whose request bodies have a limit other than
    # settings.http_max_body_bytes, e.g. {"/cohorts/{cohort_id}/imports": settings.import_max_bytes}.
    body_limits: Mapping[str, int] = field(default_factory=dict)


def _document_publications(runtime: Runtime[Any], publishes: Sequence[type[EventPayload]]) -> None:
    """Registers publishers only so AsyncAPI documents what the outbox relay sends."""
    by_topic: dict[str, list[type[EventPayload]]] = {}
    for model in publishes:
        by_topic.setdefault(model.topic, []).append(model)
    for topic, models in sorted(by_topic.items()):
        for model in models:
            runtime.broker.publisher(
                topic,
                title=f"{topic}:{model.event_type}",
                description=f"CloudEvents type {model.event_type}, keyed by {model.key_field}",
                schema=model,
                include_in_schema=True,
            )


def build_app(definition: ServiceDefinition[S]) -> FastAPI:
    settings = definition.settings
    configure_logging(settings.service_name, level=settings.log_level, json_output=settings.log_json)
    configure_tracing(
        settings.service_name,
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        environment=settings.environment,
    )

    metrics = ServiceMetrics(settings.service_name)
    broker = create_broker(
        settings.kafka_bootstrap_servers,
        service=settings.service_name,
        middlewares=[metrics.broker_middleware(settings.service_name)],
        security=settings,
    )
    runtime: Runtime[S] = Runtime(
        settings=settings,
        broker=broker,
        outbox=Outbox(
            schema=settings.db_schema,
            source=f"/bridge/{settings.service_name}",
            max_event_bytes=settings.outbox_max_event_bytes,
            schema_base_url=schema_base_url(settings),
        ),
        extras=dict(definition.extras),
        metrics=metrics,
        clock=definition.clock,
    )
    consumers = [factory(runtime) for factory in definition.consumers]
    publishes = list(definition.publishes)
    # The end-to-end probe (bridge_shared.observability.probe): sent by every instance, consumed by
    # the service's probe group wherever the service takes events in.
    prober = Prober(runtime) if probe.enabled(settings) else None
    if prober is not None:
        publishes.append(prober.model)
        if consumers:
            consumers.append(prober.consumer())
    for consumer in consumers:
        consumer.attach(broker)
    _document_publications(runtime, publishes)
    runtime.extras["consumers"] = consumers

    async def refresh_outbox_metrics() -> None:
        # From the table at scrape time, so a stuck relay cannot freeze the numbers.
        gauges = (
            metrics.outbox_pending,
            metrics.outbox_oldest_seconds,
            metrics.outbox_parked,
            metrics.outbox_held,
        )
        metrics.outbox_relay_leader.set(1 if runtime.relay is not None and runtime.relay.is_leader else 0)
        try:
            status = await pool_outbox_status(runtime.pool)
        except Exception:
            for gauge in gauges:
                gauge.set(float("nan"))  # unknown, rather than a stale number
            raise
        metrics.outbox_pending.set(status["pending"])
        metrics.outbox_oldest_seconds.set(status["oldest_pending_seconds"] or 0)
        metrics.outbox_parked.set(status["parked"])
        metrics.outbox_held.set(status["held"])

    metrics.add_refresher(refresh_outbox_metrics)

    async def refresh_consumer_metrics() -> None:
        # Lag from the broker at scrape time: per partition this instance consumes.
        metrics.consumer_lag.clear()
        for consumer in consumers:
            lags = await consumer.lag()
            metrics.consumer_assigned.labels(consumer.group_id).set(len(lags))
            for tp, lag in lags.items():
                metrics.consumer_lag.labels(consumer.group_id, tp.topic, str(tp.partition)).set(lag)

    async def refresh_readiness_metrics() -> None:
        readiness = await health.assess(runtime)
        metrics.ready.set(1 if readiness.ready else 0)
        metrics.degraded.set(1 if readiness.ready and readiness.degraded else 0)

    metrics.add_refresher(refresh_consumer_metrics)
    metrics.add_refresher(refresh_readiness_metrics)

    send = outbox_sender(broker, settings.kafka_topic_prefix)
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    async def render_metrics() -> tuple[bytes, str]:
        await metrics.refresh()
        return generate_latest(metrics.registry), CONTENT_TYPE_LATEST

    metrics_server = (
        MetricsServer(
            render_metrics, host=settings.http_host, port=settings.metrics_port, token=metrics_token
        )
        if settings.metrics_port is not None
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime._pool = await create_pool(
            settings.database_url,
            schema=settings.db_schema,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
        )
        tasks: list[asyncio.Task[None]] = []
        relay_task: asyncio.Task[None] | None = None
        try:
            async with runtime.pool.acquire() as conn:
                applied = await migrate(
                    as_connection(conn), settings.db_schema, definition.migrations_package
                )
            if applied:
                log.info("applied migrations %s", applied)
            prefix = settings.kafka_topic_prefix
            topics = {prefixed(m.topic, prefix) for m in publishes}
            topics.update(t for c in consumers for t in c.topics)  # consumers' are prefixed already
            topics.add(dead_letter_topic(settings.service_name, prefix))
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                topics,
                partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_topic_replication_factor,
                security=settings,
                client_id=f"bridge-{settings.service_name}-admin",
            )
            runtime.topic_check = TopicCheck(
                settings.kafka_bootstrap_servers,
                topics,
                client_id=f"bridge-{settings.service_name}-readiness",
                cache_seconds=settings.readiness_cache_seconds,
                security=settings,
            )
            for hook in definition.on_startup:
                await hook(runtime)
            if metrics_server is not None:
                await metrics_server.start()
            await broker.start()
            runtime.relay = OutboxRelay(
                dsn=settings.database_url,
                pool=runtime.pool,
                schema=settings.db_schema,
                send=send,
                send_now=send_now(broker),
                batch_size=settings.outbox_batch_size,
                idle_poll_seconds=settings.outbox_idle_poll_seconds,
                send_timeout_seconds=settings.outbox_send_timeout_seconds,
                lease_seconds=settings.outbox_lease_seconds,
                max_attempts=settings.outbox_max_attempts,
                max_event_bytes=settings.outbox_max_event_bytes,
                metrics=metrics,
            )
            relay_task = asyncio.create_task(runtime.relay.run(), name="outbox-relay")
            tasks.append(relay_task)
            tasks.append(
                asyncio.create_task(
                    run_pruner(
                        runtime.pool,
                        settings.db_schema,
                        interval_seconds=settings.prune_interval_seconds,
                        outbox_retention_hours=settings.outbox_retention_hours,
                        inbox_retention_days=settings.inbox_retention_days,
                    ),
                    name="outbox-pruner",
                )
            )
            if prober is not None:
                tasks.append(asyncio.create_task(prober.run(), name="pipeline-probe"))
            for bg in definition.background:
                tasks.append(asyncio.create_task(bg(runtime), name=getattr(bg, "__name__", "background")))
            tune_gc(settings.gc_young_threshold)
            log.info("%s ready on %s", settings.service_name, settings.base_url)
            yield
        finally:
            if metrics_server is not None:
                await metrics_server.stop()
            if runtime.relay is not None:
                await runtime.relay.stop()
            if relay_task is not None:
                # Let it finish its batch and hand the lease back, so the next leader need not
                # wait for the lease to expire.
                await asyncio.wait({relay_task}, timeout=SHUTDOWN_RELAY_GRACE_SECONDS)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if runtime.topic_check is not None:
                await runtime.topic_check.close()
            await broker.stop()
            await runtime.pool.close()

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs from local assets (no CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.token_validator = TokenValidator.from_settings(settings)
    # Problem `type` URIs are made absolute against this, else against the request (its Host).
    app.state.public_base_url = settings.public_base_url
    install_problem_handlers(app)
    metrics.install(app)
    # Outermost of the service's middleware: limits are applied before anything reads the request.
    app.add_middleware(
        RequestGuard,
        limits=GuardLimits(
            max_body_bytes=settings.http_max_body_bytes,
            max_header_bytes=settings.http_max_header_bytes,
            max_authorization_bytes=settings.http_max_authorization_bytes,
            body_limits=dict(definition.body_limits),
            metrics_token=metrics_token,
            metrics_on_api_port=settings.metrics_port is None,
        ),
    )
    app.state.metrics_server = metrics_server
    app.include_router(health.router)
    # Public: the schemas of this service's events, where their ce_dataschema points.
    app.include_router(schema_router(publishes, schema_base_url(settings)))
    for router in definition.public_routers:
        app.include_router(router)
    for router in definition.routers:
        # Rule 7 of docs/access.md, in one place: service tokens only read (unless a route says otherwise).
        app.include_router(router, dependencies=[Depends(authenticate), Depends(refuse_reader_writes)])
    install_problem_openapi(app, publishes_events=bool(publishes))
    install_docs(app, title=definition.title)
    install_problem_pages(app, service=settings.service_name)

    spec = AsyncAPI(
        broker,
        title=f"{definition.title} events",
        version="1.0.0",
        description=definition.description,
    )

    event_document: dict[str, Any] = {}

    def asyncapi_document() -> dict[str, Any]:
        # FastStream's info and servers; channels, operations and messages from what the service
        # publishes and what its consumers handle (bridge_shared.events.asyncapi). Built once.
        if not event_document:
            event_document.update(
                service_document(
                    spec.to_specification().to_jsonable(),
                    service=settings.service_name,
                    publishes=publishes,
                    consumers=consumers,
                    schema_base_url=schema_base_url(settings),
                )
            )
        return event_document

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(asyncapi_document())

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(asyncapi_html(asyncapi_document()))

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
    return app


def run(app_factory: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    import uvicorn

    uvicorn.run(
        app_factory(),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
