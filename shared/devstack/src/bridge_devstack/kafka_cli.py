"""`bridge-kafka`: Apache Kafka's own command-line tools, run from the pinned, verified distribution.

    bridge-kafka topics --bootstrap-server 127.0.0.1:9092 --list
    bridge-kafka consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --all-groups   # lag
    bridge-kafka console-consumer --bootstrap-server 127.0.0.1:9092 --topic bridge.matching.pair \\
        --from-beginning --property print.headers=true
    bridge-kafka get-offsets --bootstrap-server 127.0.0.1:9092 --topic bridge.matching.pair
    bridge-kafka metadata-quorum --bootstrap-server 127.0.0.1:9092 describe --status
    bridge-kafka configs --bootstrap-server 127.0.0.1:9092 --describe --entity-type topics --entity-name T
    bridge-kafka acls --bootstrap-server kafka:9092 --command-config admin.properties --list   # secured
    bridge-kafka fetch      # download and verify the distribution now; prints where it is
    bridge-kafka lock       # maintainers: rewrite kafka_dist/sha256sums.txt after a version change

Each tool takes the same arguments as `kafka-<tool>.sh` of the Apache Kafka release; against a
secured cluster (SASL_SSL/SCRAM or mutual TLS) give it `--command-config` with the client properties.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bridge_devstack.kafka import KAFKA_VERSION, KafkaUnavailable, ensure_distribution, run_tool, write_lock

TOOLS = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "configs": "kafka.admin.ConfigCommand",
    # A secured cluster's ACLs (docs/security-kafka.md); `bridge-kafka-acls` prints Bridge's.
    "acls": "org.apache.kafka.tools.AclCommand",
}


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        print(f"Apache Kafka {KAFKA_VERSION}; tools: {', '.join(sorted(TOOLS))}, fetch, lock")
        sys.exit(0)
    command, rest = args[0], args[1:]
    try:
        if command == "fetch":
            print(ensure_distribution())
            sys.exit(0)
        if command == "lock":
            write_lock()
            sys.exit(0)
        if command not in TOOLS:
            known = ", ".join(sorted(TOOLS))
            print(f"unknown tool {command!r}; one of: {known}, fetch, lock", file=sys.stderr)
            sys.exit(2)
        sys.exit(run_tool(TOOLS[command], rest))
    except KafkaUnavailable as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
