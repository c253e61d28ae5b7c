"""Scheduled work: loops that find what is due and call a use case (`app/`)."""
