"""A comma-separated bootstrap list (KAFKA_BOOTSTRAP_SERVERS=kafka-1:9092,kafka-2:9092) reaches the
Kafka clients as separate hosts; as one string FastStream made it a single bogus host."""

from __future__ import annotations

from bridge_shared.messaging.broker import bootstrap_list, create_broker


def test_a_comma_separated_bootstrap_is_split_into_hosts() -> None:
    assert bootstrap_list("127.0.0.1:9092, 127.0.0.1:9093,127.0.0.1:9094,") == [
        "127.0.0.1:9092",
        "127.0.0.1:9093",
        "127.0.0.1:9094",
    ]
    assert bootstrap_list("kafka:9092") == ["kafka:9092"]


def test_the_service_broker_gets_every_host() -> None:
    broker = create_broker("127.0.0.1:9092,127.0.0.1:9093", service="test")
    assert broker._connection_kwargs["bootstrap_servers"] == ["127.0.0.1:9092", "127.0.0.1:9093"]
