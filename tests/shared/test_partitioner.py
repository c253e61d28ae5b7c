"""Bridge's partitioner puts every key where Kafka's default partitioner does (aiokafka's, which
follows the Java client's), so records keep their partitions, and per-key order, across the change."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from bridge_shared.messaging.partitioner import default_partitioner, murmur2


def test_the_hash_is_kafkas_for_every_length_and_byte() -> None:
    rng = random.Random(11)
    for length in range(300):
        for _ in range(20):
            key = bytes(rng.randrange(256) for _ in range(length))
            assert murmur2(key) == aiokafka_murmur2(key), key
    for key in (b"", b"\x00", b"\xff" * 7, "relationship/é-ü".encode(), b"cohort/" + b"9" * 64):
        assert murmur2(key) == aiokafka_murmur2(key)


def test_keys_go_to_the_partitions_aiokafka_and_the_java_client_choose() -> None:
    reference = DefaultPartitioner()
    for n in (1, 3, 6, 12, 50):
        partitions = list(range(n))
        for i in range(2000):
            key = f"pair/{i:06d}-{n}".encode()
            assert default_partitioner(key, partitions, partitions) == reference(key, partitions, partitions)


def test_the_java_clients_own_cases() -> None:
    """org.apache.kafka.common.utils.UtilsTest.testMurmur2 (the Java int, signed)."""
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for key, java in cases.items():
        h = murmur2(key)
        assert (h - (1 << 32) if h >= 1 << 31 else h) == java, key


def test_unkeyed_records_go_to_an_available_partition() -> None:
    for _ in range(50):
        assert default_partitioner(None, [0, 1, 2], [2]) == 2
        assert default_partitioner(None, [0, 1, 2], []) in (0, 1, 2)
