"""The customers context's command handlers over the in-memory event store and real keys,
credentials and hashing: the rules the HTTP layer relies on."""

from pathlib import Path
from uuid import UUID

import pytest

from commands.customers.application import CustomersApplication
from commands.customers.errors import (
    CustomerErased,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    WeakPassword,
)
from runtime.personal_data import PersonalData
from runtime.settings import Settings
from schemas.customers import ChangeProfile, Register
from tests.support.accounts import META, memory_customers

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path: Path) -> tuple[CustomersApplication, PersonalData]:
    return memory_customers(tmp_path, Settings())


def register(customers: CustomersApplication, email: str = "ada@example.com") -> str:
    result = customers.register(Register(email=email, password=PASSWORD, name="Ada"), META)
    return str(result.aggregate_id)


def test_an_email_has_one_account_whatever_its_letter_case(
    accounts: tuple[CustomersApplication, PersonalData],
) -> None:
    customers, _ = accounts
    register(customers)
    with pytest.raises(EmailTaken):
        register(customers, "ADA@Example.COM")


def test_a_weak_password_records_nothing(
    accounts: tuple[CustomersApplication, PersonalData],
) -> None:
    customers, _ = accounts
    with pytest.raises(WeakPassword, match="at least 12"):
        customers.register(Register(email="ada@example.com", password="short", name="A"), META)
    register(customers)  # the address was never taken


def test_an_unknown_email_and_a_wrong_password_fail_alike(
    accounts: tuple[CustomersApplication, PersonalData],
) -> None:
    customers, _ = accounts
    register(customers)
    for email, password in (("nobody@example.com", PASSWORD), ("ada@example.com", "wrong!")):
        with pytest.raises(InvalidCredentials):
            customers.sign_in(email, password)


def test_events_hold_personal_values_only_sealed(
    accounts: tuple[CustomersApplication, PersonalData],
) -> None:
    customers, personal = accounts
    customer_id = UUID(register(customers))
    customers.change_profile(customer_id, ChangeProfile(phone="+49 30 1234567"), META)
    stored = [n.state for n in customers.notifications(0, 100)]
    assert not any(b"ada@example.com" in s or b"1234567" in s or b"Ada" in s for s in stored)
    customer = customers.customer(customer_id)
    assert personal.unseal(customer.id, "email", customer.email) == "ada@example.com"


def test_erasure_frees_the_email_ends_sessions_and_refuses_changes(
    accounts: tuple[CustomersApplication, PersonalData],
) -> None:
    customers, personal = accounts
    register(customers)
    signed_in = customers.sign_in("ada@example.com", PASSWORD)
    sealed_email = customers.customer(signed_in.customer_id).email
    customers.erase(signed_in.customer_id, META)
    customers.erase(signed_in.customer_id, META)  # again: nothing more happens
    customer = customers.customer(signed_in.customer_id)
    assert customer.erased and personal.unseal(customer.id, "email", sealed_email) is None
    with pytest.raises(InvalidRefreshToken):
        customers.refresh(signed_in.refresh_token)
    with pytest.raises(InvalidCredentials):
        customers.sign_in("ada@example.com", PASSWORD)
    with pytest.raises(CustomerErased):
        customers.change_profile(customer.id, ChangeProfile(name="Eve"), META)
    assert register(customers) != str(customer.id)  # the address is free again


def test_a_role_change_ends_the_sessions_so_new_tokens_carry_it(
    accounts: tuple[CustomersApplication, PersonalData],
) -> None:
    customers, _ = accounts
    register(customers)
    before = customers.sign_in("ada@example.com", PASSWORD)
    customers.change_roles(before.customer_id, ("admin", "customer"), META)
    with pytest.raises(InvalidRefreshToken):
        customers.refresh(before.refresh_token)
    assert customers.sign_in("ada@example.com", PASSWORD).roles == ("admin", "customer")
