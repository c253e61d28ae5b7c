"""Kafka consumers: register use cases (`consumer.handle(PayloadV1, use_case)`); nothing else."""
