"""Idempotent consumption: an inbox row per (consumer, event id), written with the handler's effects."""
