"""The emails' words: each message a subject, a plain-text body and an HTML body.

A message `<name>` is three Jinja2 templates in `templates/`: `<name>.subject.txt`,
`<name>.txt` and `<name>.html`. The HTML ones extend `_base.html` and are autoescaped
(names and reasons come from customers); the text ones are not. Every variable is
required (`StrictUndefined`): a context missing one fails when rendered instead of
sending an email with a hole in it.

The contexts, by message (amounts are strings already formatted for the customer,
e.g. "18.00"; `currency` is the ISO code shown beside them, e.g. "USD"):

- `verify_email`, `password_reset`:
    name (str), link (str: the URL to follow), expires_in_minutes (int)
- `order_placed`, `order_paid`, `order_shipped`, `order_cancelled`:
    name (str), order_id (str), total (str), currency (str),
    lines (list of mappings: name (str), quantity (int), unit_price (str), line_total (str))
- `order_shipped` also: carrier (str), tracking_number (str)
- `order_cancelled` also: reason (str | None: None when no reason was given)
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

MESSAGES = (
    "verify_email",
    "password_reset",
    "order_placed",
    "order_paid",
    "order_shipped",
    "order_cancelled",
)

_environment = Environment(
    loader=PackageLoader("streams.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line, without surrounding whitespace
    text: str
    html: str


def render(name: str, context: Mapping[str, Any]) -> Rendered:
    """Renders message `name` (one of MESSAGES) with `context`.

    Raises ValueError for an unknown message, and jinja2's `UndefinedError` for a variable
    missing from `context`.
    """
    if name not in MESSAGES:
        raise ValueError(f"no such message: {name!r} (one of {', '.join(MESSAGES)})")
    return Rendered(
        subject=_one_line(_render(f"{name}.subject.txt", context)),
        text=_render(f"{name}.txt", context),
        html=_render(f"{name}.html", context),
    )


def _render(template: str, context: Mapping[str, Any]) -> str:
    return _environment.get_template(template).render(context)


def _one_line(subject: str) -> str:
    """A header cannot span lines: any line break a value brings in becomes a space."""
    return " ".join(subject.split())
