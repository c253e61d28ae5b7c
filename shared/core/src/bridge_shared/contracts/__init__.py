"""Public event contracts. Importing this package registers every event type."""

from bridge_shared.contracts import matching, notifications, privacy, probe, sessions

__all__ = ["matching", "notifications", "privacy", "probe", "sessions"]
