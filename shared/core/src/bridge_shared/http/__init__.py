"""HTTP conventions shared by every service."""
