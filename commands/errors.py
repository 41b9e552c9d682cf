"""Domain errors the command side raises; the HTTP layer maps them to problems."""


class DomainError(Exception):
    """A command was refused by a rule of the domain."""

    status = 400
    type = "domain-error"


class DuplicateSku(DomainError):
    status = 409
    type = "duplicate-sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU {sku!r} already exists")
        self.sku = sku
