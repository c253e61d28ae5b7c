"""Database access: one asyncpg pool per service, versioned migrations per schema, role provisioning."""
