"""Migrations every service schema gets: the outbox and the inbox."""
