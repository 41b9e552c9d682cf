"""`tanqory history --unseal`: each sealed payload value opened with the key it was sealed
with, None once its customer is erased, everything else left as it was."""

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from runtime.key_store import SqliteKeyStore
from runtime.personal_data import PersonalData, SealedValueError
from schemas.personal import personal_subject
from tanqory.history_unseal import Unsealer

ADDRESS = {"name": "Ada", "line1": "12 St James's Square", "city": "London"}


@pytest.fixture
def personal(tmp_path: Path) -> PersonalData:
    return PersonalData(SqliteKeyStore(tmp_path / "keys.sqlite3"), cache_seconds=0)


def event(context: str, aggregate_id: str, **payload: Any) -> dict[str, Any]:
    return {"event_id": str(uuid4()), "event_type": "Something", "context": context,
            "aggregate_id": aggregate_id, "payload": payload}


async def test_each_value_opens_with_its_customers_key_or_reads_none_once_erased(
        personal: PersonalData) -> None:
    ada, erased = uuid4(), uuid4()
    registered = event("customers", str(ada), email=personal.seal(ada, "email", "ada@x.org"),
                       roles=["customer"])
    gone = event("customers", str(erased), name=personal.seal(erased, "name", "Bob"))
    placed = event("ordering", str(uuid4()), customer_id="ada-sub", lines=[],
                   shipping_address=personal.seal_json(personal_subject("ada-sub"),
                                                       "shipping_address", ADDRESS))
    sent = event("notifications", str(uuid4()), customer_id=str(ada), message_id="m",
                 recipient=personal.seal(ada, "email", "ada@x.org"),
                 subject=personal.seal(ada, "subject", "Your order"))
    personal.erase(erased)

    opened = await Unsealer(personal).open([registered, gone, placed, sent])

    assert [e["payload"] for e in opened] == [
        {"email": "ada@x.org", "roles": ["customer"]}, {"name": None},
        {"customer_id": "ada-sub", "lines": [], "shipping_address": ADDRESS},
        {"customer_id": str(ada), "message_id": "m", "recipient": "ada@x.org",
         "subject": "Your order"}]


async def test_a_page_with_nothing_sealed_is_left_as_it_is(personal: PersonalData) -> None:
    page = [event("catalog", str(uuid4()), name="pd1 is not sealed", price="1.00")]
    before = json.dumps(page)
    assert await Unsealer(personal).open(page) == json.loads(before)


async def test_a_value_without_its_key_is_an_error_not_a_silent_null(
        personal: PersonalData) -> None:
    someone = uuid4()
    stray = event("fulfilment", str(uuid4()), note=personal.seal(someone, "note", "x"))
    with pytest.raises(SealedValueError, match="no customer names the key"):
        await Unsealer(personal).open([stray])
    other = uuid4()
    personal.seal(other, "email", "y")  # other has a key: someone's value does not open with it
    moved = event("customers", str(other), email=personal.seal(someone, "email", "x"))
    with pytest.raises(SealedValueError, match="does not open"):
        await Unsealer(personal).open([moved])
