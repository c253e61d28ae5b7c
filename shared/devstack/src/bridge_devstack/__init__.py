"""Local and CI infrastructure without Docker: embedded PostgreSQL, Apache Kafka (KRaft) from pinned
jars, an SMTP sink, the chaos suite."""
