"""Outbound I/O that is not the database: SMTP email, chat webhooks, and the per-channel send rate.
Each channel raises TransientDeliveryError or PermanentDeliveryError on failure."""
