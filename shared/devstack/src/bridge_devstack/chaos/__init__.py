"""`make chaos`: the real platform (services as processes, embedded PostgreSQL, Apache Kafka, an SMTP
sink) driven through a known workload while faults are injected, with every effect counted against
what was expected: lost, duplicated and time to converge, per fault. See docs/CHAOS.md."""
