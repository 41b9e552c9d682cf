"""The products projector as a pure fold: idempotent, order-aware, strict about gaps."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from commands.publishing import event_id_for
from projections import folding
from projections.catalog.products import APPLIERS, fold_products
from schemas.catalog import CreateProduct, ProductCreated, ProductDocument
from schemas.envelope import Actor, EventEnvelope
from tests.unit.strategies import create_products

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def project(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument | None:
    return folding.project(current, event, APPLIERS)


def fold(current: dict[UUID, ProductDocument], events: list[EventEnvelope]) -> Any:
    return fold_products(current, events)


def created(command: CreateProduct, aggregate_id: UUID | None = None, position: int = 1,
            version: int = 1, event_type: str = "ProductCreated") -> EventEnvelope:
    aggregate_id = aggregate_id or uuid4()
    return EventEnvelope(
        event_id=event_id_for(aggregate_id, version), event_type=event_type, schema_version=1,
        context="catalog", aggregate_type="Product", aggregate_id=aggregate_id,
        aggregate_version=version, position=position, occurred_at=AT, correlation_id="c",
        causation_id="c", actor=Actor(subject="s"),
        payload=ProductCreated(**command.model_dump()).model_dump(mode="json"),
    )


@given(create_products())
def test_created_builds_the_document(command: CreateProduct) -> None:
    event = created(command)
    document = project(None, event)
    assert document is not None
    assert document.id == event.aggregate_id
    assert (document.version, document.position) == (1, 1)
    assert document.created_at == document.updated_at == AT
    assert document.model_dump(include=set(CreateProduct.model_fields)) == command.model_dump()
    view = document.view()
    assert (view.average_rating, view.review_count) == (0.0, 0)


@given(create_products())
def test_applying_an_event_twice_is_a_no_op(command: CreateProduct) -> None:
    event = created(command)
    document = project(None, event)
    assert project(document, event) is None


@given(create_products())
def test_an_event_older_than_the_document_is_a_no_op(command: CreateProduct) -> None:
    event = created(command)
    newer = project(None, event)
    assert newer is not None
    ahead = newer.model_copy(update={"version": 3})
    assert project(ahead, event) is None


@given(create_products(), st.integers(min_value=2, max_value=50))
def test_a_gap_in_versions_is_rejected_not_applied(command: CreateProduct, version: int) -> None:
    event = created(command, version=version)
    changed, rejected = fold({}, [event])
    assert changed == {}
    assert [e for e, _ in rejected] == [event]
    assert "gap" in rejected[0][1]


@given(create_products())
def test_an_unknown_event_type_is_rejected(command: CreateProduct) -> None:
    event = created(command, event_type="ProductTeleported")
    changed, rejected = fold({}, [event])
    assert changed == {} and "unknown event" in rejected[0][1]


@given(st.lists(create_products(), min_size=1, max_size=5), st.data())
def test_redelivery_in_any_amount_changes_nothing(commands: list[CreateProduct],
                                                  data: st.DataObject) -> None:
    events = [created(c, position=i + 1) for i, c in enumerate(commands)]
    first, rejected = fold({}, events)
    assert not rejected
    documents = {key: doc for key, (doc, replaced) in first.items()}
    assert all(replaced == 0 for _, replaced in first.values())
    redelivered = data.draw(st.lists(st.sampled_from(events), max_size=10))
    again, rejected_again = fold(documents, redelivered)
    assert again == {} and rejected_again == []
