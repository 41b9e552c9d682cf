"""The customers context's read model: what the read API and the projector ask of it, and
how each backend makes it."""

from typing import Protocol
from uuid import UUID

from projections.customers.mongo_stores import MongoCustomerStore
from projections.customers.sql_stores import SqlCustomerStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.customers import CustomerDocument, CustomerListQuery


class CustomerStore(DocumentStore[CustomerDocument], Protocol):
    async def get(self, customer_id: UUID) -> CustomerDocument | None: ...

    async def page(self, query: CustomerListQuery, email_key: str | None
                   ) -> tuple[list[CustomerDocument], int]:
        """A page of customers, newest first; only the one with `email_key` if given."""


CUSTOMERS: ReadModel[CustomerStore] = ReadModel(
    "customers", tracks="Customer", sql=SqlCustomerStore,
    mongo=lambda db: MongoCustomerStore(db["customers"]),
)
