"""The customers read model as a pure fold: (document, event) -> new document.

Personal values are copied sealed, as the events carry them; an erasure drops them from
the document (a rebuild after it finds them sealed with a key that no longer exists).
"""

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.customers import (
    CustomerDocument,
    CustomerProfileChanged,
    CustomerRegistered,
    CustomerRolesChanged,
)
from schemas.envelope import EventEnvelope

AGGREGATE_TYPE = "Customer"


def _registered(current: CustomerDocument | None, event: EventEnvelope) -> CustomerDocument:
    new(current, event)
    payload = CustomerRegistered.model_validate(event.payload)
    at = moment(event)
    return CustomerDocument(**payload.model_dump(), id=event.aggregate_id, created_at=at,
                            updated_at=at, version=event.aggregate_version,
                            position=event.position)


def _changed(current: CustomerDocument | None, event: EventEnvelope,
             **fields: Any) -> CustomerDocument:
    merged = {**existing(current, event).model_dump(), **fields, "updated_at": moment(event),
              "version": event.aggregate_version, "position": event.position}
    return CustomerDocument.model_validate(merged)


def _profile_changed(current: CustomerDocument | None,
                     event: EventEnvelope) -> CustomerDocument:
    payload = CustomerProfileChanged.model_validate(event.payload)
    fields: dict[str, Any] = {}
    if payload.name is not None:
        fields["name"] = payload.name
    if payload.phone is not None or payload.phone_cleared:
        fields["phone"] = payload.phone
    if payload.addresses is not None:
        fields["addresses"] = payload.addresses
    return _changed(current, event, **fields)


def _roles_changed(current: CustomerDocument | None,
                   event: EventEnvelope) -> CustomerDocument:
    return _changed(current, event,
                    roles=CustomerRolesChanged.model_validate(event.payload).roles)


APPLIERS: Appliers[CustomerDocument] = {
    ("CustomerRegistered", 1): _registered,
    ("CustomerEmailVerified", 1): lambda doc, e: _changed(doc, e, verified=True),
    ("CustomerProfileChanged", 1): _profile_changed,
    ("CustomerRolesChanged", 1): _roles_changed,
    ("CustomerPasswordResetRequested", 1): _changed,
    ("CustomerPasswordChanged", 1): _changed,
    ("CustomerErased", 1): lambda doc, e: _changed(doc, e, erased=True, email=None,
                                                   email_key=None, name=None, phone=None,
                                                   addresses=None),
}


def fold_customers(
    current: Mapping[UUID, CustomerDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[CustomerDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
