"""JWT bearer authentication and role checks, enforced on every endpoint but health and docs."""
