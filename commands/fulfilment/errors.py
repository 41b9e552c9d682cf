"""Domain errors of the fulfilment context."""

from uuid import UUID

from commands.errors import DomainError


class ShipmentTransitionRefused(DomainError):
    status = 409
    type = "shipment-transition-refused"

    def __init__(self, shipment_id: UUID, status: str, action: str, needs: str) -> None:
        super().__init__(f"Shipment {shipment_id} is {status}: it can be {action} only "
                         f"when {needs}")
