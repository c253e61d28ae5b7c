"""Public event contracts. Importing this package registers every event type."""

from bridge_shared.contracts import matching, notifications, privacy, sessions

__all__ = ["matching", "notifications", "privacy", "sessions"]
