"""Kafka security against a real secured broker (docs/security-kafka.md): one Apache Kafka (KRaft) of
this module's own, with a SASL_SSL (SCRAM-SHA-512) listener, a mutual-TLS listener, no PLAINTEXT
listener, `StandardAuthorizer` with `allow.everyone.if.no.acl.found=false`, a SCRAM user per service
principal, and the ACLs `bridge-kafka-acls` derives from the code, applied the way `--apply` does.

Real sockets throughout: who is refused, what each principal may write and read, and that the
service clients (FastStream broker, outbox sender, EventConsumer) work with the settings.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from bridge_devstack.kafka import KafkaCluster, KafkaUnavailable, secured_config
from bridge_shared.contracts.matching import PairFormedV1
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.events.envelope import InboundEvent, build_event
from bridge_shared.events.topics import (
    ALL_EVENT_TOPICS,
    MATCHING_PAIR,
    MATCHING_PROPOSAL,
    SESSIONS_RELATIONSHIP,
    dead_letter_topic,
)
from bridge_shared.messaging.acls import Acl, acls_for, apply_acls, service_access
from bridge_shared.messaging.broker import create_broker, ensure_topics
from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.dead_letter_tool import read_letters
from bridge_shared.messaging.security import KafkaClientSettings
from bridge_shared.messaging.topic_check import TopicCheck
from bridge_shared.outbox.relay import PendingRow
from bridge_shared.outbox.sender import outbox_sender
from tests.shared.events_for_tests import pair_formed

pytestmark = pytest.mark.integration

SERVICES = ("matching", "sessions", "notifications", "reporting")
CERT_READER = "bridge-mtls-reader"  # a client that authenticates by certificate only
TIMEOUT_MS = 8000


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    work: Path = tmp_path_factory.mktemp("secured-kafka")
    security = secured_config(
        work / "pki", users=[f"bridge-{s}" for s in (*SERVICES, "dlq")], client_cns=[CERT_READER]
    )
    cluster = KafkaCluster(work / "kafka", fast=True, heap_mb=384, security=security)
    try:
        cluster.start()
    except KafkaUnavailable as exc:
        pytest.skip(str(exc))
    try:
        asyncio.run(_bootstrap(cluster))
        yield cluster
    finally:
        cluster.stop()


async def _bootstrap(cluster: KafkaCluster) -> None:
    """As an operator would: the topics, then the ACLs from the code's own table (as the admin)."""
    admin_security = cluster.client_security()
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, **client_kwargs(admin_security))
    await admin.start()
    try:
        topics = [*ALL_EVENT_TOPICS, *(dead_letter_topic(s) for s in SERVICES)]
        await admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])
    finally:
        await admin.close()
    acls = acls_for(service_access())
    # The certificate client may read matching's pair topic in groups of its own, nothing else.
    acls += [Acl(f"User:{CERT_READER}", "TOPIC", "LITERAL", MATCHING_PAIR, op) for op in ("READ", "DESCRIBE")]
    acls.append(Acl(f"User:{CERT_READER}", "GROUP", "PREFIXED", f"{CERT_READER}.", "READ"))
    await apply_acls(acls, cluster.bootstrap_servers, security=admin_security)


def _as(cluster: KafkaCluster, service: str) -> KafkaClientSettings:
    return cluster.client_security(f"bridge-{service}")


async def _produce(bootstrap: str, security: KafkaClientSettings, topic: str, value: bytes = b"{}") -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        request_timeout_ms=TIMEOUT_MS,
        acks="all",
        enable_idempotence=True,
        **client_kwargs(security),
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def _read_one(bootstrap: str, security: KafkaClientSettings, topic: str, group_prefix: str) -> Any:
    """As a service consumer reads: in a consumer group of its own (`group_prefix` + a fresh name)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{group_prefix}probe-{uuid.uuid4().hex[:6]}",
        request_timeout_ms=TIMEOUT_MS,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **client_kwargs(security),
    )
    try:
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            await consumer.start()
            return await consumer.getone()
    finally:
        await consumer.stop()


# -- who gets in ---------------------------------------------------------------------------------


async def _connect(bootstrap: str, security: KafkaClientSettings) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_MS, **client_kwargs(security)
    )
    try:
        await admin.start()
        await admin.list_topics()
    finally:
        await admin.close()


async def test_a_service_principal_with_its_password_gets_in(secured: KafkaCluster) -> None:
    await _connect(secured.bootstrap_servers, _as(secured, "sessions"))  # the control for the next ones


async def test_an_anonymous_plaintext_client_is_refused(secured: KafkaCluster) -> None:
    plaintext = KafkaClientSettings(kafka_security_protocol="PLAINTEXT")
    for bootstrap in (secured.bootstrap_servers, secured.tls_bootstrap_servers):
        with pytest.raises((KafkaConnectionError, KafkaError, OSError)):
            await _connect(bootstrap, plaintext)


async def test_tls_without_credentials_or_certificate_is_refused(secured: KafkaCluster) -> None:
    """An anonymous TLS client: the SASL_SSL listener wants SCRAM, the TLS listener a certificate."""
    anonymous_tls = KafkaClientSettings(
        kafka_security_protocol="SSL", kafka_ssl_cafile=str(secured.security.pki.ca)
    )  # type: ignore[union-attr]
    for bootstrap in (secured.bootstrap_servers, secured.tls_bootstrap_servers):
        with pytest.raises((KafkaConnectionError, KafkaError, OSError)):
            await _connect(bootstrap, anonymous_tls)


async def test_a_wrong_password_is_refused(secured: KafkaCluster) -> None:
    wrong = _as(secured, "sessions").model_copy(update={"kafka_sasl_password": SecretStr("not-the-password")})
    with pytest.raises((KafkaConnectionError, KafkaError)):
        await _connect(secured.bootstrap_servers, wrong)


# -- what each principal may do --------------------------------------------------------------------


async def test_sessions_cannot_write_a_matching_topic(secured: KafkaCluster) -> None:
    """The issue's forgery: a pair.formed written by anyone but matching is refused by the broker."""
    forged = build_event(pair_formed("forged"), source="/bridge/matching")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(secured.bootstrap_servers, _as(secured, "sessions"), MATCHING_PAIR, forged.value)


async def test_sessions_can_write_its_own_topic(secured: KafkaCluster) -> None:
    await _produce(secured.bootstrap_servers, _as(secured, "sessions"), SESSIONS_RELATIONSHIP)


async def test_sessions_cannot_read_a_topic_it_does_not_consume(secured: KafkaCluster) -> None:
    await _produce(secured.bootstrap_servers, _as(secured, "matching"), MATCHING_PROPOSAL)
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(
            secured.bootstrap_servers, _as(secured, "sessions"), MATCHING_PROPOSAL, "bridge-sessions."
        )
    # ... while notifications, which consumes proposals, reads it.
    record = await _read_one(
        secured.bootstrap_servers, _as(secured, "notifications"), MATCHING_PROPOSAL, "bridge-notifications."
    )
    assert record.topic == MATCHING_PROPOSAL


async def test_a_service_cannot_join_another_services_consumer_group(secured: KafkaCluster) -> None:
    consumer = AIOKafkaConsumer(
        MATCHING_PAIR,
        bootstrap_servers=secured.bootstrap_servers,
        group_id="bridge-sessions.pairs",  # sessions' group, joined as reporting
        request_timeout_ms=TIMEOUT_MS,
        **client_kwargs(_as(secured, "reporting")),
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            async with asyncio.timeout(TIMEOUT_MS / 1000):
                await consumer.start()
                await consumer.getone()
    finally:
        await consumer.stop()


async def test_the_relay_publishes_through_sasl_ssl_as_matching(secured: KafkaCluster) -> None:
    """The outbox sender on the service's broker (create_broker with the service's settings): the
    producer it builds, and the fresh one it swaps in after a fatal error, carry the security."""
    broker = create_broker(secured.bootstrap_servers, service="matching", security=_as(secured, "matching"))
    await broker.connect()
    try:
        send = outbox_sender(broker)
        pair_id = f"relay-{uuid.uuid4().hex[:6]}"
        evt = build_event(pair_formed(pair_id), source="/bridge/matching")
        row = PendingRow(1, evt.id, evt.topic, evt.key, evt.headers, evt.value)
        await asyncio.wait_for(await send(row), TIMEOUT_MS / 1000)
        from bridge_shared.outbox.sender import replace_producer

        await replace_producer(broker)  # the relay's recovery path builds its producer the same way
        await asyncio.wait_for(await send(row), TIMEOUT_MS / 1000)
    finally:
        await broker.stop()
    keys = set()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=secured.bootstrap_servers,
        group_id=None,
        **client_kwargs(_as(secured, "sessions")),
    )
    await consumer.start()
    try:
        tp = TopicPartition(MATCHING_PAIR, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        async with asyncio.timeout(TIMEOUT_MS / 1000):
            while pair_id.encode() not in keys:
                keys.update(r.key for r in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []))
    finally:
        await consumer.stop()


async def test_the_services_admin_clients_work_as_its_principal(secured: KafkaCluster) -> None:
    """Start-up's topic creation and /readyz's topic check, as service.py builds them for sessions:
    its own and consumed topics are seen; a topic it may not describe is reported missing."""
    sessions = _as(secured, "sessions")
    needed = [SESSIONS_RELATIONSHIP, MATCHING_PAIR, dead_letter_topic("sessions")]
    await ensure_topics(secured.bootstrap_servers, needed, partitions=1, security=sessions)
    check = TopicCheck(secured.bootstrap_servers, needed, security=sessions, timeout=TIMEOUT_MS / 1000)
    try:
        assert await check.missing() == []
    finally:
        await check.close()
    hidden = TopicCheck(
        secured.bootstrap_servers, [MATCHING_PROPOSAL], security=sessions, timeout=TIMEOUT_MS / 1000
    )
    try:
        assert await hidden.missing() == [MATCHING_PROPOSAL]
    finally:
        await hidden.close()


async def test_mutual_tls_authenticates_by_certificate(secured: KafkaCluster) -> None:
    """The principal is the certificate's CN: its ACL lets it read matching's pairs and nothing else."""
    by_cert = secured.client_security(cert=CERT_READER)
    await _produce(secured.bootstrap_servers, _as(secured, "matching"), MATCHING_PAIR)
    record = await _read_one(secured.tls_bootstrap_servers, by_cert, MATCHING_PAIR, f"{CERT_READER}.")
    assert record.topic == MATCHING_PAIR
    # It may write no topic at all, so its idempotent producer is refused a producer id already.
    with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
        await _produce(secured.tls_bootstrap_servers, by_cert, MATCHING_PAIR)
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(secured.tls_bootstrap_servers, by_cert, SESSIONS_RELATIONSHIP, f"{CERT_READER}.")


# -- the service consumer and the operator tool -------------------------------------------------------


@pytest.fixture
async def pool(scratch_service: tuple[str, str]) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    schema, dsn = scratch_service
    pool = await create_pool(dsn, schema=schema)
    async with pool.acquire() as conn:
        await migrate(conn, schema, None)
    yield schema, pool
    await pool.close()


async def test_an_event_consumer_with_scram_settings_consumes(
    secured: KafkaCluster, pool: tuple[str, asyncpg.Pool]
) -> None:
    """sessions' EventConsumer (group bridge-sessions.*), on a broker built with sessions' settings:
    a genuine pair.formed is handled; one claiming another source goes to sessions' DLQ, which the
    operator tool reads as bridge-dlq."""
    schema, db = pool
    handled: list[str] = []
    consumer = EventConsumer(
        service="sessions",
        name=f"pairs-{uuid.uuid4().hex[:6]}",
        topics=[MATCHING_PAIR],
        pool=lambda: db,
        backoff_initial=0.01,
        backoff_max=0.05,
    )
    consumer.inbox_name = f"{schema}.pairs"

    async def on_pair(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        handled.append(event.key or "")

    consumer.on(PairFormedV1)(on_pair)
    broker = create_broker(secured.bootstrap_servers, service="sessions", security=_as(secured, "sessions"))
    consumer.attach(broker)
    pair_id = f"scram-{uuid.uuid4().hex[:6]}"
    forged = build_event(pair_formed(pair_id), source="/bridge/notifications")
    genuine = build_event(pair_formed(pair_id), source="/bridge/matching")
    producer = AIOKafkaProducer(
        bootstrap_servers=secured.bootstrap_servers, **client_kwargs(_as(secured, "matching"))
    )
    await producer.start()
    try:
        for evt in (forged, genuine):
            headers = [(k, v.encode()) for k, v in evt.headers.items()]
            await producer.send_and_wait(MATCHING_PAIR, evt.value, key=evt.key.encode(), headers=headers)
    finally:
        await producer.stop()
    await broker.start()
    try:
        async with asyncio.timeout(30):
            while pair_id not in handled:
                await asyncio.sleep(0.05)
    finally:
        await broker.stop()
    assert handled.count(pair_id) == 1

    letters = await read_letters(secured.bootstrap_servers, "sessions", security=_as(secured, "dlq"))
    mine = [lt for lt in letters if lt.event_id == forged.id]
    assert len(mine) == 1
    assert mine[0].headers["dlq_error_class"] == "UnexpectedSource"
