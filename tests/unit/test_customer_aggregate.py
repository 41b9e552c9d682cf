"""The Customer aggregate: what each command records, and that nothing follows an erasure."""

from typing import Any
from uuid import uuid4

from commands.customers.customer import Customer
from schemas.customers import CustomerProfileChanged

META: dict[str, Any] = {"correlation_id": "c", "causation_id": "c", "actor": {"subject": "s"}}
SEALED = "pd1.c2VhbGVk"


def registered() -> Customer:
    customer = Customer(id=uuid4(), email=SEALED, email_key="0" * 64, name=SEALED, roles=("customer",),
                        meta=META)
    customer.collect_events()
    return customer


def recorded(customer: Customer) -> list[str]:
    return [type(e).__name__ for e in customer.collect_events()]


def test_verifying_twice_records_once() -> None:
    customer = registered()
    customer.verify_email(META)
    customer.verify_email(META)
    assert recorded(customer) == ["EmailVerified"] and customer.verified


def test_a_profile_change_records_only_what_is_sent_and_clears_the_phone_on_request() -> None:
    customer = registered()
    customer.change_profile(CustomerProfileChanged(), META)  # nothing sent: nothing recorded
    customer.change_profile(CustomerProfileChanged(phone="pd1.cGhvbmU"), META)
    customer.change_profile(CustomerProfileChanged(name="pd1.bmFtZQ"), META)
    assert (customer.name, customer.phone) == ("pd1.bmFtZQ", "pd1.cGhvbmU")
    customer.change_profile(CustomerProfileChanged(phone_cleared=True), META)
    assert customer.phone is None
    assert recorded(customer) == ["ProfileChanged"] * 3


def test_roles_are_kept_sorted_and_an_unchanged_set_records_nothing() -> None:
    customer = registered()
    customer.change_roles(("customer", "admin"), META)
    customer.change_roles(("admin", "customer"), META)
    assert customer.roles == ("admin", "customer") and recorded(customer) == ["RolesChanged"]


def test_an_erased_customer_holds_no_personal_value_and_records_nothing_more() -> None:
    customer = registered()
    customer.change_profile(CustomerProfileChanged(phone=SEALED, addresses=SEALED), META)
    customer.erase(META)
    customer.erase(META)
    assert (customer.email, customer.name, customer.phone, customer.addresses) == (
        "", "", None, None)
    customer.verify_email(META)
    customer.change_profile(CustomerProfileChanged(name=SEALED), META)
    customer.change_roles(("admin",), META)
    customer.request_password_reset(META)
    customer.password_changed(META)
    assert recorded(customer) == ["ProfileChanged", "Erased"]
