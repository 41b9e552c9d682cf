"""The payments read model in MongoDB (or FerretDB): read by id only."""

from pymongo.asynchronous.collection import AsyncCollection

from projections.stores.mongo import Document, MongoDocuments
from schemas.order_views import PaymentDocument


class MongoPaymentStore(MongoDocuments[PaymentDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, PaymentDocument, ("created_at", "updated_at"))
