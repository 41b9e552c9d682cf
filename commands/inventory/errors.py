"""Domain errors of the inventory context."""

from commands.errors import DomainError


class StockBelowReserved(DomainError):
    """An adjustment would leave fewer units on hand than open reservations hold."""

    status = 409
    type = "stock-below-reserved"

    def __init__(self, on_hand: int, reserved: int) -> None:
        super().__init__(
            f"On hand would be {on_hand} with {reserved} reserved: "
            "release or commit reservations first, or adjust by less"
        )
        self.on_hand = on_hand
        self.reserved = reserved
