"""Public event contracts. Importing this package registers every event type."""

from bridge_shared.contracts import circles, matching, notifications, privacy, probe, sessions

__all__ = ["circles", "matching", "notifications", "privacy", "probe", "sessions"]
