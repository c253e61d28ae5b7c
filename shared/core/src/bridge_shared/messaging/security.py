"""Kafka client security settings (SASL/SCRAM, TLS, mutual TLS), mixed into every service's settings.

Filled in by the Kafka security work (issue 13, item 6)."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class KafkaSecuritySettings(BaseSettings):
    """Mixin: how every Kafka client of a service authenticates and encrypts."""
