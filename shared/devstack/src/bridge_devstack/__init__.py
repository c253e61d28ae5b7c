"""Local and CI infrastructure without Docker: embedded PostgreSQL, the Tansu broker, an SMTP sink."""
