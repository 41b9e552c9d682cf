"""Every email renders from its documented context; customers' values are escaped in HTML;
a missing value fails instead of leaving a hole."""

from typing import Any

import pytest
from jinja2 import UndefinedError

from streams.notifications.templates import MESSAGES, render

LINES: list[dict[str, Any]] = [
    {"name": "Milk jug", "quantity": 2, "unit_price": "18.00", "line_total": "36.00"},
    {"name": "Espresso beans", "quantity": 1, "unit_price": "12.50", "line_total": "12.50"},
]
ORDER = {"name": "Ann", "order_id": "9b2e4f7a", "lines": LINES, "total": "48.50",
         "currency": "USD"}
LINK = {"name": "Ann", "link": "https://shop.example/verify?token=abc&x=1",
        "expires_in_minutes": 30}
CONTEXTS: dict[str, dict[str, Any]] = {
    "verify_email": LINK,
    "password_reset": LINK,
    "order_placed": ORDER,
    "order_paid": ORDER,
    "order_shipped": {**ORDER, "carrier": "DHL", "tracking_number": "JD0146000012345"},
    "order_cancelled": {**ORDER, "reason": "Payment was not received in time"},
}


def test_every_message_has_a_sample_context() -> None:
    assert set(CONTEXTS) == set(MESSAGES)


@pytest.mark.parametrize("name", MESSAGES)
def test_every_message_renders(name: str) -> None:
    context = CONTEXTS[name]
    rendered = render(name, context)
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.subject == rendered.subject.strip()
    for body in (rendered.text, rendered.html):
        assert "Ann" in body and "Tanqory" in body
    assert rendered.html.startswith("<!DOCTYPE html>")  # the shared layout
    if "order_id" in context:
        assert context["order_id"] in rendered.subject
        for line in LINES:
            assert line["name"] in rendered.text and line["name"] in rendered.html
            assert line["line_total"] in rendered.text
        assert "48.50 USD" in rendered.text and "48.50 USD" in rendered.html
    else:
        assert str(context["link"]) in rendered.text
        assert "30 minutes" in rendered.text and "30 minutes" in rendered.html


def test_the_links_are_escaped_in_html_only() -> None:
    rendered = render("verify_email", LINK)
    assert 'href="https://shop.example/verify?token=abc&amp;x=1"' in rendered.html
    assert "https://shop.example/verify?token=abc&x=1" in rendered.text


def test_shipping_details_are_shown() -> None:
    rendered = render("order_shipped", CONTEXTS["order_shipped"])
    for body in (rendered.text, rendered.html):
        assert "DHL" in body and "JD0146000012345" in body


@pytest.mark.parametrize("reason", ["Payment was not received in time", None])
def test_a_cancellation_shows_its_reason_if_any(reason: str | None) -> None:
    rendered = render("order_cancelled", {**ORDER, "reason": reason})
    assert ("Reason:" in rendered.text) is (reason is not None)
    assert ("Reason:" in rendered.html) is (reason is not None)
    assert "None" not in rendered.text


@pytest.mark.parametrize("name", MESSAGES)
def test_customer_values_are_escaped_in_html(name: str) -> None:
    hostile = "<script>alert('x')</script>"
    lines = [{**LINES[0], "name": hostile}]
    context = {**CONTEXTS[name], "name": hostile}
    if "lines" in context:
        context["lines"] = lines
    rendered = render(name, context)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert hostile in rendered.text  # plain text is not HTML: shown as written


def test_a_line_break_in_a_value_stays_out_of_the_subject() -> None:
    rendered = render("order_placed", {**ORDER, "order_id": "9b2e\r\nBcc: x@example.com"})
    assert rendered.subject == "We have received your order 9b2e Bcc: x@example.com"


@pytest.mark.parametrize("name", MESSAGES)
def test_a_missing_value_fails(name: str) -> None:
    context = dict(CONTEXTS[name])
    del context["name"]
    with pytest.raises(UndefinedError):
        render(name, context)


def test_a_missing_value_of_a_line_fails() -> None:
    lines = [{"name": "Milk jug", "quantity": 2, "unit_price": "18.00"}]
    with pytest.raises(UndefinedError):
        render("order_paid", {**ORDER, "lines": lines})


def test_an_unknown_message_is_refused() -> None:
    with pytest.raises(ValueError, match="no such message"):
        render("_base", LINK)
