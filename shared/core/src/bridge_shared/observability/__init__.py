"""Traces, logs and health checks, configured once per process."""
