"""Public event contracts. Importing this package registers every event type."""

from bridge_shared.contracts import matching, notifications, sessions

__all__ = ["matching", "notifications", "sessions"]
