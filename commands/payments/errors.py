"""Domain errors of the payments context."""

from uuid import UUID

from commands.errors import DomainError


class PaymentNotReady(DomainError):
    """The order awaits payment but its intent is not there yet (the saga is creating it)."""

    status = 409
    type = "payment-not-ready"

    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"The payment of order {order_id} is being prepared; "
                         "try again in a moment")


class PaymentNotDue(DomainError):
    status = 409
    type = "payment-not-due"

    def __init__(self, order_id: UUID, status: str) -> None:
        super().__init__(f"The payment of order {order_id} is {status}: nothing to pay")


class PaymentMethodRejected(DomainError):
    status = 422
    type = "payment-method-refused"


class ProviderDown(DomainError):
    """The payment provider cannot be reached now; nothing was recorded."""

    status = 503
    type = "payment-provider-unavailable"
