"""Delivery channels. Each raises TransientDeliveryError or PermanentDeliveryError on failure."""
