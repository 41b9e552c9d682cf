"""Personal values of exported events in clear, for operators (`tanqory history --unseal`).

A payload holds a customer's values sealed with their key (runtime/personal_data.py): a
customer's own events with the customer's (the aggregate), any other event with the key
of the `customer_id` it names (schemas/personal.py). An erased customer's open as None.
"""

import json
from typing import Any
from uuid import UUID

from runtime.personal_data import PersonalData, SealedField, SealedValueError
from schemas.personal import personal_subject

# Sealed payload fields whose clear value is JSON (addresses), and the field a payload key
# was sealed as when the two differ (a notification's recipient is the customer's email).
JSON_FIELDS = frozenset({"addresses", "shipping_address"})
SEALED_AS = {"recipient": "email"}


class Unsealer:
    """Opens the sealed values of events' payloads with the mode's key store."""

    def __init__(self, personal: PersonalData) -> None:
        self._personal = personal

    async def open(self, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`page` with every sealed payload value in clear, or None where erased."""
        found = [(event, key, self._sealed(event, key, value))
                 for event in page for key, value in event["payload"].items()
                 if isinstance(value, str) and PersonalData.is_sealed(value)]
        if not found:
            return page
        try:
            opened = await self._personal.unseal_many([sealed for *_, sealed in found])
        except SealedValueError as error:
            raise SealedValueError(f"a sealed value of this page does not open: {error}"
                                   ) from None
        for (event, key, _), clear in zip(found, opened, strict=True):
            event["payload"][key] = (json.loads(clear) if clear is not None
                                     and key in JSON_FIELDS else clear)
        return page

    @staticmethod
    def _sealed(event: dict[str, Any], key: str, value: str) -> SealedField:
        """Whose key sealed it: a customer's own events, the customer's; any other, the
        subject of the `customer_id` it names (schemas/personal.py)."""
        payload = event["payload"]
        if event["context"] == "customers":
            subject = UUID(event["aggregate_id"])
        elif "customer_id" in payload:
            subject = personal_subject(str(payload["customer_id"]))
        else:
            raise SealedValueError(f"{event['event_type']} {event['event_id']}: no customer "
                                   f"names the key of its sealed {key!r}")
        return SealedField(subject, SEALED_AS.get(key, key), value)
