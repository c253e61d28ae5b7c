"""Use cases, one module per aggregate. Each opens its transaction (or runs in the consumer's or the
job's), calls db/ and domain/, and writes its events to the outbox in that transaction."""

from bridge_sessions.db import Conn

__all__ = ["Conn"]
