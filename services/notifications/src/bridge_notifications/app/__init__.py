"""Use cases: each opens its transaction (or runs in the consumer's), calls db/ and domain/, writes
its outbox event in the same transaction and returns a result."""
