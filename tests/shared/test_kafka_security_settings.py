"""The Kafka security settings (bridge_shared.messaging.security): which combinations are refused,
production's rule, and what aiokafka and FastStream are handed. Pure unit tests; the same settings
against a real secured broker are in test_kafka_security.py."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from pydantic import SecretStr, ValidationError

from bridge_devstack.kafka_tls import make_pki
from bridge_sessions.settings import SessionsSettings
from bridge_shared.messaging.acls import acls_for, load_access, principal
from bridge_shared.messaging.broker import create_broker
from bridge_shared.messaging.client_security import client_kwargs, faststream_security, ssl_context
from bridge_shared.messaging.security import KafkaClientSettings


class _Production(KafkaClientSettings):
    """Tools' settings plus the environment (the tests run with BRIDGE_ENVIRONMENT=test: pass it)."""

    environment: str = "production"


def test_plaintext_is_the_default_and_hands_over_nothing_secret() -> None:
    s = KafkaClientSettings()
    assert s.kafka_security_protocol == "PLAINTEXT"
    assert client_kwargs(s) == {"security_protocol": "PLAINTEXT"}
    assert faststream_security(s) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs kafka_sasl_username and kafka_sasl_password"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"}, "needs kafka_sasl_username"),
        ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "does not use SASL"),
        ({"kafka_ssl_cafile": "/ca.pem"}, "does not use TLS"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": "/k.pem"}, "needs kafka_ssl_certfile"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "PLAIN"}, "kafka_sasl_mechanism"),
    ],
)
def test_inconsistent_combinations_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaClientSettings(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_production_refuses_kafka_without_tls_unless_opted_out(protocol: str) -> None:
    creds = {"kafka_sasl_username": "u", "kafka_sasl_password": "p"} if protocol.startswith("SASL") else {}
    with pytest.raises(ValidationError, match="refused in production"):
        _Production(environment="production", kafka_security_protocol=protocol, **creds)  # type: ignore[arg-type]
    _Production(
        environment="production",
        kafka_security_protocol=protocol,
        kafka_allow_plaintext_in_production=True,
        **creds,
    )  # type: ignore[arg-type]
    _Production(
        environment="production",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )


def test_a_service_reads_them_under_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_SESSIONS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("BRIDGE_SESSIONS_KAFKA_SASL_USERNAME", "bridge-sessions")
    monkeypatch.setenv("BRIDGE_SESSIONS_KAFKA_SASL_PASSWORD", "s3cret")
    s = SessionsSettings(environment="test")
    assert s.kafka_sasl_username == "bridge-sessions"
    assert isinstance(s.kafka_sasl_password, SecretStr)
    assert "s3cret" not in repr(s)
    assert s.kafka_security_summary() == "SASL_SSL as bridge-sessions"
    # Tools read the same names under another prefix, e.g. with the service's credentials.
    assert KafkaClientSettings.from_env("BRIDGE_SESSIONS_").kafka_sasl_username == "bridge-sessions"


def test_sasl_ssl_becomes_aiokafka_and_faststream_arguments(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, client_cns=("bridge-x",))
    s = KafkaClientSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="bridge-x",
        kafka_sasl_password=SecretStr("pw"),
        kafka_ssl_cafile=str(pki.ca),
    )
    kwargs = client_kwargs(s)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("bridge-x", "pw")
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    fs = faststream_security(s)
    assert isinstance(fs, SASLScram256) and fs.use_ssl and fs.username == "bridge-x"
    default_mechanism = faststream_security(s.model_copy(update={"kafka_sasl_mechanism": "SCRAM-SHA-512"}))
    assert isinstance(default_mechanism, SASLScram512)
    # The broker (and so the relay's producer, built from its connection kwargs) carries them.
    broker = create_broker("h1:9093,h2:9093", service="x", security=s)
    carried = broker._connection_kwargs
    assert carried["security_protocol"] == "SASL_SSL"
    assert carried["sasl_mechanism"] == "SCRAM-SHA-256"
    assert carried["sasl_plain_username"] == "bridge-x"
    assert isinstance(carried["ssl_context"], ssl.SSLContext)


def test_mutual_tls_loads_the_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, client_cns=("bridge-x",))
    files = pki.clients["bridge-x"]
    s = KafkaClientSettings(
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=str(pki.ca),
        kafka_ssl_certfile=str(files.cert),
        kafka_ssl_keyfile=str(files.key),
        kafka_ssl_check_hostname=False,
    )
    assert isinstance(client_kwargs(s)["ssl_context"], ssl.SSLContext)
    assert ssl_context(s).check_hostname is False  # type: ignore[union-attr]
    fs = faststream_security(s)
    assert type(fs) is BaseSecurity and fs.use_ssl
    with pytest.raises((ssl.SSLError, OSError)):
        ssl_context(s.model_copy(update={"kafka_ssl_keyfile": str(pki.ca)}))  # not a key


def test_acls_respect_the_topic_prefix_and_give_no_service_another_services_topic() -> None:
    access = load_access(
        '{"matching": {"produces": ["bridge.matching.pair"], "consumes": []},'
        ' "sessions": {"produces": ["bridge.sessions.relationship"], "consumes": ["bridge.matching.pair"]}}'
    )
    acls = acls_for(access, "staging.")
    assert all(a.resource.startswith(("staging.", "bridge-")) for a in acls)
    writes = {(a.principal, a.resource) for a in acls if a.operation == "WRITE"}
    assert (principal("matching"), "staging.bridge.matching.pair") in writes
    assert (principal("sessions"), "staging.bridge.matching.pair") not in writes
    assert (principal("sessions"), "staging.bridge.dlq.sessions") in writes
    reads = {(a.principal, a.resource) for a in acls if a.operation == "READ"}
    assert (principal("sessions"), "staging.bridge.matching.pair") in reads
    assert (principal("matching"), "staging.bridge.sessions.relationship") not in reads
    groups = {(a.principal, a.resource, a.pattern_type) for a in acls if a.resource_type == "GROUP"}
    assert groups == {(principal("sessions"), "bridge-sessions.", "PREFIXED")}  # matching consumes nothing
