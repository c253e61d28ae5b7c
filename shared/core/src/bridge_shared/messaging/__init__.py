"""Kafka plumbing: the broker, topics, the event consumer with retries and dead letters."""
