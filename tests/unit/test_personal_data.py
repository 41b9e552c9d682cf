"""Sealing personal fields with per-customer keys, and crypto-shredding them by erasure."""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.key_store import Erased, KeyStore, SqliteKeyStore
from runtime.personal_data import PersonalData, SealedField, SealedValueError
from tests.support.waiting import wait_until

EMAIL = "alice@example.com"


class CountingStore:
    """A key store that counts the lookups it is asked for."""

    def __init__(self, inner: KeyStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def key_for(self, subject: UUID) -> bytes:
        self.calls["key_for"] += 1
        return self.inner.key_for(subject)

    def find(self, subject: UUID) -> bytes | None:
        self.calls["find"] += 1
        return self.inner.find(subject)

    def is_erased(self, subject: UUID) -> bool:
        self.calls["is_erased"] += 1
        return self.inner.is_erased(subject)

    def destroy(self, subject: UUID) -> bool:
        return self.inner.destroy(subject)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[SqliteKeyStore]:
    store = SqliteKeyStore(tmp_path / "keys.sqlite3")
    yield store
    store.close()


@pytest.fixture
def personal(keys: SqliteKeyStore) -> PersonalData:
    return PersonalData(keys, cache_seconds=5)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> PersonalData:
    """For property tests, which run many examples on one fixture."""
    return PersonalData(SqliteKeyStore(tmp_path_factory.mktemp("keys") / "keys.sqlite3"), 5)


def test_a_value_round_trips(personal: PersonalData) -> None:
    subject = uuid4()
    sealed = personal.seal(subject, "email", EMAIL)
    assert sealed.startswith("pd1.") and sealed.isascii()
    assert PersonalData.is_sealed(sealed)
    assert personal.unseal(subject, "email", sealed) == EMAIL


def test_each_seal_differs_and_hides_the_clear_text(personal: PersonalData) -> None:
    subject = uuid4()
    sealed = {personal.seal(subject, "email", EMAIL) for _ in range(20)}
    assert len(sealed) == 20
    assert not any("alice" in value or "example" in value for value in sealed)


@pytest.mark.parametrize("value", [EMAIL, "", "pd1.", "pd1.AAAA", "pd1.!!!!", "pd2.AAAA",
                                   "pd1." + "A" * 37, " pd1." + "A" * 60])
def test_clear_and_malformed_values_are_not_sealed(value: str) -> None:
    assert not PersonalData.is_sealed(value)


@pytest.mark.parametrize("value", ["", EMAIL, "pd1.AAAA", "pd1." + "A" * 37])
def test_unsealing_a_malformed_value_is_an_error(personal: PersonalData, value: str) -> None:
    with pytest.raises(SealedValueError, match="not a sealed value"):
        personal.unseal(uuid4(), "email", value)


def test_a_tampered_value_is_an_error_not_an_erasure(personal: PersonalData) -> None:
    subject = uuid4()
    sealed = personal.seal(subject, "email", EMAIL)
    middle = len(sealed) // 2
    flipped = sealed[:middle] + ("B" if sealed[middle] == "A" else "A") + sealed[middle + 1:]
    for tampered in (flipped, sealed[:-4], sealed + "AAAA"):
        with pytest.raises(SealedValueError, match="does not open"):
            personal.unseal(subject, "email", tampered)


def test_a_value_does_not_open_for_another_subject_or_field(personal: PersonalData) -> None:
    subject, other = uuid4(), uuid4()
    personal.seal(other, "email", "bob@example.com")  # the other one has a key too
    sealed = personal.seal(subject, "email", EMAIL)
    with pytest.raises(SealedValueError, match="does not open"):
        personal.unseal(other, "email", sealed)
    with pytest.raises(SealedValueError, match="does not open"):
        personal.unseal(subject, "phone", sealed)


async def test_after_erasure_nothing_reads_and_no_key_is_made(
        personal: PersonalData, keys: SqliteKeyStore) -> None:
    subject, kept = uuid4(), uuid4()
    email = personal.seal(subject, "email", EMAIL)
    address = personal.seal_json(subject, "address", {"city": "Bangkok"})
    other = personal.seal(kept, "email", "bob@example.com")
    assert personal.erase(subject) is True
    assert personal.erase(subject) is False
    assert personal.unseal(subject, "email", email) is None
    assert personal.unseal_json(subject, "address", address) is None
    assert await personal.unseal_many([SealedField(subject, "email", email),
                                       SealedField(kept, "email", other)]) == [
        None, "bob@example.com"]
    with pytest.raises(Erased):
        personal.seal(subject, "email", EMAIL)
    with pytest.raises(Erased):
        keys.key_for(subject)
    assert keys.find(subject) is None
    with pytest.raises(SealedValueError):  # a malformed value is still a bug, erased or not
        personal.unseal(subject, "email", "pd1.AAAA")


def test_a_subject_without_a_key_reads_as_erased_and_is_not_remembered(
        tmp_path: Path, personal: PersonalData) -> None:
    """A value sealed in another key store: nothing to open it with here, and no key made;
    the subject may still get one later, so the miss is not cached."""
    subject = uuid4()
    foreign = PersonalData(SqliteKeyStore(tmp_path / "other.sqlite3"), 5)
    sealed = foreign.seal(subject, "email", EMAIL)
    assert personal.unseal(subject, "email", sealed) is None
    assert personal.unseal(subject, "email", personal.seal(subject, "email", EMAIL)) == EMAIL


def test_an_erasure_elsewhere_shows_at_once_without_a_cache(keys: SqliteKeyStore) -> None:
    reader, eraser = PersonalData(keys, cache_seconds=0), PersonalData(keys, cache_seconds=0)
    subject = uuid4()
    sealed = reader.seal(subject, "email", EMAIL)
    assert reader.unseal(subject, "email", sealed) == EMAIL
    assert eraser.erase(subject) is True
    assert reader.unseal(subject, "email", sealed) is None


def test_a_cached_key_outlives_an_erasure_elsewhere_for_the_cache_time(
        keys: SqliteKeyStore) -> None:
    """The documented bound: until its cache expires, another process still reads."""
    reader, eraser = PersonalData(keys, cache_seconds=300), PersonalData(keys, cache_seconds=0)
    subject = uuid4()
    sealed = reader.seal(subject, "email", EMAIL)
    eraser.erase(subject)
    assert reader.unseal(subject, "email", sealed) == EMAIL


def test_an_erasure_elsewhere_shows_within_the_cache_time(keys: SqliteKeyStore) -> None:
    cache_seconds = 0.3
    reader = PersonalData(keys, cache_seconds=cache_seconds)
    subject = uuid4()
    sealed = reader.seal(subject, "email", EMAIL)
    assert reader.unseal(subject, "email", sealed) == EMAIL
    PersonalData(keys, cache_seconds=0).erase(subject)
    wait_until(lambda: reader.unseal(subject, "email", sealed) is None,
               timeout=cache_seconds + 5, what="the erasure to reach the other cache")


async def test_a_batch_looks_up_each_subject_once(keys: SqliteKeyStore) -> None:
    counting = CountingStore(keys)
    writer = PersonalData(keys, cache_seconds=0)
    first, second = uuid4(), uuid4()
    items = [SealedField(subject, field, writer.seal(subject, field, f"{field} of {subject}"))
             for subject in (first, second) for field in ("email", "name", "phone")]
    reader = PersonalData(counting, cache_seconds=0)
    assert await reader.unseal_many(items) == [f"{item.field} of {item.subject}"
                                               for item in items]
    assert counting.calls == {"find": 2}


async def test_an_erasure_is_remembered_for_good(keys: SqliteKeyStore) -> None:
    """Tombstones are final: once seen, an erased subject costs no more lookups."""
    counting = CountingStore(keys)
    reader = PersonalData(counting, cache_seconds=0)
    subject = uuid4()
    sealed = reader.seal(subject, "email", EMAIL)
    PersonalData(keys, cache_seconds=0).erase(subject)
    assert reader.unseal(subject, "email", sealed) is None
    looked_up = counting.calls.copy()
    assert reader.unseal(subject, "email", sealed) is None
    assert await reader.unseal_many([SealedField(subject, "email", sealed)]) == [None]
    with pytest.raises(Erased):
        reader.seal(subject, "email", EMAIL)
    assert counting.calls == looked_up


async def test_a_batch_with_a_malformed_value_is_an_error(personal: PersonalData) -> None:
    subject = uuid4()
    good = SealedField(subject, "email", personal.seal(subject, "email", EMAIL))
    with pytest.raises(SealedValueError):
        await personal.unseal_many([good, SealedField(subject, "name", "Alice")])


def test_a_json_object_round_trips_as_one_value(personal: PersonalData) -> None:
    subject = uuid4()
    address = {"line1": "1 Sukhumvit Rd", "city": "กรุงเทพ", "postcode": "10110",
               "extra": {"floor": 3, "door": None}}
    sealed = personal.seal_json(subject, "shipping_address", address)
    assert "Sukhumvit" not in sealed
    assert personal.unseal_json(subject, "shipping_address", sealed) == address


def test_a_sealed_text_that_is_not_a_json_object_is_an_error(personal: PersonalData) -> None:
    subject = uuid4()
    sealed = personal.seal(subject, "address", "[1, 2]")
    with pytest.raises(SealedValueError, match="not a JSON object"):
        personal.unseal_json(subject, "address", sealed)


@settings(deadline=None)
@given(subject=st.uuids(), field=st.text(max_size=30), value=st.text())
def test_any_text_round_trips(shared: PersonalData, subject: UUID, field: str,
                              value: str) -> None:
    sealed = shared.seal(subject, field, value)
    assert PersonalData.is_sealed(sealed)
    assert shared.unseal(subject, field, sealed) == value
