"""Domain errors of the ordering context."""

from uuid import UUID

from commands.errors import DomainError


class OrderNotCancellable(DomainError):
    status = 409
    type = "order-not-cancellable"

    def __init__(self, order_id: UUID, status: str) -> None:
        super().__init__(f"Order {order_id} is {status}: only an order that has not shipped "
                         "and has not ended can be cancelled")


class UnorderableProducts(DomainError):
    """Lines name products that cannot be ordered (unknown, deleted or inactive)."""

    status = 422
    type = "unorderable-products"

    def __init__(self, reasons: dict[UUID, str]) -> None:
        listed = "; ".join(f"{product_id}: {reason}" for product_id, reason in reasons.items())
        super().__init__(f"These products cannot be ordered: {listed}")
        self.reasons = reasons


class OrderNotPayable(DomainError):
    status = 409
    type = "order-not-payable"

    def __init__(self, order_id: UUID, status: str) -> None:
        super().__init__(f"Order {order_id} is {status}: only an order awaiting payment "
                         "can be paid")


class OrdererErased(DomainError):
    """The customer's personal data was erased (their token still runs): nothing personal,
    an address included, can be recorded for them again."""

    status = 403
    type = "customer-erased"

    def __init__(self) -> None:
        super().__init__("This customer's data has been erased: they can place no order")


class NoShippingAddress(DomainError):
    status = 422
    type = "no-shipping-address"

    def __init__(self) -> None:
        super().__init__("Send a shipping_address, or save one on your account first "
                         "(PATCH /api/v1/me)")
