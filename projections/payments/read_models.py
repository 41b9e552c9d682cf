"""The payments context's read model: what the read API and the projector ask of it, and
how each backend makes it."""

from typing import Protocol
from uuid import UUID

from projections.payments.mongo_stores import MongoPaymentStore
from projections.payments.sql_stores import SqlPaymentStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.order_views import PaymentDocument


class PaymentStore(DocumentStore[PaymentDocument], Protocol):
    async def get(self, payment_id: UUID) -> PaymentDocument | None:
        """An order's payment, by schemas.payments.payment_id of the order's id."""


PAYMENTS: ReadModel[PaymentStore] = ReadModel(
    "payments", tracks="Payment", sql=SqlPaymentStore,
    mongo=lambda db: MongoPaymentStore(db["payments"]),
)
