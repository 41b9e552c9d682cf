"""The payments read model as a pure fold: (document, event) -> new document.

Each event sets the payment's status and adds one item to its timeline. Amounts are
validated as money (two places, not negative): an event carrying another amount cannot
be applied.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from uuid import UUID

from pydantic import TypeAdapter

from projections.folding import Appliers, Changes, fold, moment, new
from projections.timeline import Change, step
from schemas.envelope import EventEnvelope
from schemas.order_views import Amount, PaymentDocument, TimelineItem
from schemas.payments import (
    PaymentCancelled,
    PaymentFailed,
    PaymentRefunded,
    PaymentRequested,
    PaymentStatus,
    PaymentSubmitted,
    PaymentSucceeded,
)

AGGREGATE_TYPE = "Payment"
_AMOUNT: TypeAdapter[Decimal] = TypeAdapter(Amount)


def _requested(current: PaymentDocument | None, event: EventEnvelope) -> PaymentDocument:
    new(current, event)
    payload = PaymentRequested.model_validate(event.payload)
    at = moment(event)
    return PaymentDocument(
        **payload.model_dump(), id=event.aggregate_id, status=PaymentStatus.REQUESTED,
        timeline=[TimelineItem(at=at, event="payment_requested",
                               detail=f"{payload.amount:.2f} {payload.currency} via "
                                      f"{payload.provider}")],
        created_at=at, updated_at=at, version=event.aggregate_version, position=event.position)


def _submitted(p: PaymentSubmitted, _: PaymentDocument) -> Change:
    return ("payment_submitted", None,
            {"status": PaymentStatus.SUBMITTED, "payment_method": p.payment_method})


def _succeeded(_: PaymentSucceeded, __: PaymentDocument) -> Change:
    return "payment_succeeded", None, {"status": PaymentStatus.SUCCEEDED}


def _failed(p: PaymentFailed, _: PaymentDocument) -> Change:
    return "payment_failed", p.reason, {"status": PaymentStatus.FAILED, "failure_reason": p.reason}


def _cancelled(p: PaymentCancelled, _: PaymentDocument) -> Change:
    return "payment_cancelled", p.reason, {"status": PaymentStatus.CANCELLED}


def _refunded(p: PaymentRefunded, document: PaymentDocument) -> Change:
    """Refunded amounts add up, should the provider refund in parts."""
    amount = _AMOUNT.validate_python(p.amount)
    refunded = _AMOUNT.validate_python((document.refunded_amount or 0) + amount)
    return ("payment_refunded", f"{amount:.2f} {document.currency} ({p.refund_id})",
            {"status": PaymentStatus.REFUNDED, "refund_id": p.refund_id,
             "refunded_amount": refunded})


APPLIERS: Appliers[PaymentDocument] = {
    ("PaymentRequested", 1): _requested,
    ("PaymentSubmitted", 1): step(PaymentSubmitted, _submitted),
    ("PaymentSucceeded", 1): step(PaymentSucceeded, _succeeded),
    ("PaymentFailed", 1): step(PaymentFailed, _failed),
    ("PaymentCancelled", 1): step(PaymentCancelled, _cancelled),
    ("PaymentRefunded", 1): step(PaymentRefunded, _refunded),
}


def fold_payments(
    current: Mapping[UUID, PaymentDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[PaymentDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
