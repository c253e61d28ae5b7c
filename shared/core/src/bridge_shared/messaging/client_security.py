"""The one place Kafka security settings (bridge_shared.messaging.security) become client arguments:
aiokafka's keyword arguments (producer, consumer, admin client) and FastStream's `security=` object.

Kept apart from the settings module so that settings, which every service's pure `domain/` reads,
import no Kafka client library (import-linter's "domain/ is pure" contract)."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from bridge_shared.messaging.security import SASL_PROTOCOLS, TLS_PROTOCOLS, KafkaSecuritySettings


def ssl_context(settings: KafkaSecuritySettings) -> ssl.SSLContext | None:
    """The TLS context for SSL/SASL_SSL (the CA; the client certificate for mutual TLS), else None."""
    if settings.kafka_security_protocol not in TLS_PROTOCOLS:
        return None
    password = settings.kafka_ssl_key_password.get_secret_value() if settings.kafka_ssl_key_password else None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_cafile,
        certfile=settings.kafka_ssl_certfile,
        keyfile=settings.kafka_ssl_keyfile,
        password=password,
    )
    if not settings.kafka_ssl_check_hostname:
        context.check_hostname = False
    return context


def client_kwargs(settings: KafkaSecuritySettings | None) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client; none when `settings` is
    None (PLAINTEXT, aiokafka's default)."""
    if settings is None:
        return {}
    protocol = settings.kafka_security_protocol
    kwargs: dict[str, Any] = {"security_protocol": protocol}
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # checked by the settings' validator
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return kwargs


def faststream_security(settings: KafkaSecuritySettings | None) -> BaseSecurity | None:
    """The same settings as FastStream's `KafkaBroker(security=...)`: None for PLAINTEXT,
    `BaseSecurity` with the TLS context for SSL, `SASLScram512`/`SASLScram256` for SASL_*."""
    if settings is None or settings.kafka_security_protocol == "PLAINTEXT":
        return None
    protocol = settings.kafka_security_protocol
    context = ssl_context(settings)
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    assert settings.kafka_sasl_username is not None
    assert settings.kafka_sasl_password is not None
    scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=protocol == "SASL_SSL",
    )
