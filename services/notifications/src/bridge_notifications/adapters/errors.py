"""How a channel reports failure: transient failures are retried, permanent ones are recorded."""


class DeliveryError(Exception):
    pass


class TransientDeliveryError(DeliveryError):
    pass


class PermanentDeliveryError(DeliveryError):
    pass
