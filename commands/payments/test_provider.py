"""Embedded mode's payment provider: Stripe's test payment methods without Stripe.

It answers as Stripe does in test mode and tells each payment's outcome the same way, as a
signed `payment_intent.*` webhook, so the payments context runs one code path with either
provider. Its intents and refunds live in a small SQLite file, so they survive a restart.
"""

import hashlib
import hmac
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from commands.payments.provider import Intent, PaymentMethodRefused, ProviderRefused
from commands.payments.webhooks import intent_event, sign
from schemas.payments import Outcome

# Stripe's test payment methods (docs: "Testing", cards by brand and declined payments).
SUCCEEDING = frozenset({
    "pm_card_visa", "pm_card_visa_debit", "pm_card_mastercard", "pm_card_mastercard_debit",
    "pm_card_mastercard_prepaid", "pm_card_amex", "pm_card_discover", "pm_card_diners",
    "pm_card_jcb", "pm_card_unionpay",
})
_DECLINED = "Your card was declined."
DECLINES = {
    "pm_card_chargeDeclined": _DECLINED,
    "pm_card_visa_chargeDeclined": _DECLINED,
    "pm_card_chargeDeclinedInsufficientFunds": "Your card has insufficient funds.",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "Your card has insufficient funds.",
    "pm_card_chargeDeclinedLostCard": _DECLINED,
    "pm_card_visa_chargeDeclinedLostCard": _DECLINED,
    "pm_card_chargeDeclinedStolenCard": _DECLINED,
    "pm_card_visa_chargeDeclinedStolenCard": _DECLINED,
    "pm_card_chargeDeclinedFraudulent": _DECLINED,
    "pm_card_visa_chargeDeclinedFraudulent": _DECLINED,
    "pm_card_chargeDeclinedExpiredCard": "Your card has expired.",
    "pm_card_chargeDeclinedIncorrectCvc": "Your card's security code is incorrect.",
    "pm_card_chargeDeclinedProcessingError":
        "An error occurred while processing your card. Try again in a little bit.",
    "pm_card_visa_chargeDeclinedVelocityLimitExceeded":
        "Your card was declined for making repeated attempts too frequently or exceeding its "
        "amount limit.",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, client_secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS confirmations (
    idempotency_key TEXT PRIMARY KEY, intent_id TEXT NOT NULL, payment_method TEXT NOT NULL,
    event BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY, intent_id TEXT NOT NULL, amount INTEGER NOT NULL);
"""


class TestProvider:
    """Stripe's semantics, kept to what the payments context uses:

    - an intent waits in `requires_payment_method` until a confirmation succeeds; a declined
      one leaves it there (another method may be tried), a successful one makes it
      `succeeded`; only a waiting intent can be confirmed or cancelled;
    - cancelling a cancelled intent does nothing (Stripe refuses it; the Stripe provider
      accepts it too, so that a retry after a crash is safe);
    - refunds, partial or whole, only of a `succeeded` intent and up to what is left of it;
    - an idempotency key replays its first answer (the same intent, the same refund; the
      same confirmation's event delivered again, as Stripe retries a webhook) and is refused
      with other parameters.
    """

    __test__ = False  # not a pytest test class, whatever its name
    name = "test"

    def __init__(self, state_path: Path, webhook_secret: str,
                 deliver: Callable[[bytes, str], None]):
        """`deliver(payload, signature_header)` hands a webhook to the platform's endpoint;
        it must only schedule the delivery (it is called while the caller waits)."""
        self._path = state_path
        self._secret = webhook_secret
        self._deliver = deliver
        state_path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    def create_intent(self, order_id: UUID, amount_minor: int, currency: str,
                      idempotency_key: str) -> Intent:
        intent_id = "pi_" + _derived("intent", idempotency_key)
        secret = f"{intent_id}_secret_{self._keyed('client_secret', idempotency_key)}"
        with self._transaction() as db:
            row = db.execute("SELECT order_id, amount, currency, client_secret FROM intents"
                             " WHERE id = ?", (intent_id,)).fetchone()
            if row is None:
                db.execute("INSERT INTO intents VALUES (?, ?, ?, ?, 'requires_payment_method', ?)",
                           (intent_id, str(order_id), amount_minor, currency, secret))
                return Intent(intent_id, secret)
        if row[:3] != (str(order_id), amount_minor, currency):
            raise _key_reused(idempotency_key)
        return Intent(intent_id, row[3])

    def confirm(self, intent_id: str, payment_method: str, idempotency_key: str) -> None:
        """Answers at once, as Stripe does, and delivers the outcome's signed event."""
        with self._transaction() as db:
            replay = db.execute("SELECT intent_id, payment_method, event FROM confirmations"
                                " WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            if replay is None:
                event = self._confirm(db, intent_id, payment_method, idempotency_key)
            elif replay[:2] != (intent_id, payment_method):
                raise _key_reused(idempotency_key)
            else:
                event = replay[2]
        self._deliver(event, sign(event, self._secret))

    def cancel(self, intent_id: str) -> None:
        with self._transaction() as db:
            status = _status(db, intent_id)
            if status == "canceled":
                return
            if status != "requires_payment_method":
                raise _unexpected_state("cancel", status)
            db.execute("UPDATE intents SET status = 'canceled' WHERE id = ?", (intent_id,))

    def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> str:
        refund_id = "re_" + _derived("refund", idempotency_key)
        with self._transaction() as db:
            replay = db.execute("SELECT intent_id, amount FROM refunds WHERE id = ?",
                                (refund_id,)).fetchone()
            if replay is not None:
                if replay != (intent_id, amount_minor):
                    raise _key_reused(idempotency_key)
                return refund_id
            if _status(db, intent_id) != "succeeded":
                raise ProviderRefused("charge_not_refundable", f"This PaymentIntent ({intent_id})"
                                      " does not have a successful charge to refund.")
            amount, refunded = db.execute(
                "SELECT amount, (SELECT coalesce(sum(amount), 0) FROM refunds WHERE intent_id = ?)"
                " FROM intents WHERE id = ?", (intent_id, intent_id)).fetchone()
            if not 0 < amount_minor <= amount - refunded:
                raise ProviderRefused("amount_too_large", f"Refund amount ({amount_minor}) is"
                                      f" greater than unrefunded amount ({amount - refunded}).")
            db.execute("INSERT INTO refunds VALUES (?, ?, ?)", (refund_id, intent_id, amount_minor))
        return refund_id

    def _confirm(self, db: sqlite3.Connection, intent_id: str, payment_method: str,
                 idempotency_key: str) -> bytes:
        """Decides a first confirmation and records it; returns its event."""
        status = _status(db, intent_id)
        if status != "requires_payment_method":
            raise _unexpected_state("confirm", status)
        if payment_method in SUCCEEDING:
            outcome, reason = Outcome.SUCCEEDED, None
        elif payment_method in DECLINES:
            outcome, reason = Outcome.FAILED, DECLINES[payment_method]
        else:
            raise PaymentMethodRefused(f"No such PaymentMethod: '{payment_method}'")
        order_id, amount, currency = db.execute(
            "SELECT order_id, amount, currency FROM intents WHERE id = ?", (intent_id,)).fetchone()
        event = intent_event(outcome, intent_id, UUID(order_id), amount, currency, reason,
                             event_id="evt_" + _derived("event", idempotency_key))
        if outcome is Outcome.SUCCEEDED:
            db.execute("UPDATE intents SET status = 'succeeded' WHERE id = ?", (intent_id,))
        db.execute("INSERT INTO confirmations VALUES (?, ?, ?, ?)",
                   (idempotency_key, intent_id, payment_method, event))
        return event

    def _keyed(self, label: str, key: str) -> str:
        """Derived from the key but not guessable from it (a client secret)."""
        return hmac.new(self._secret.encode(), f"{label}:{key}".encode(),
                        hashlib.sha256).hexdigest()[:24]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction on a connection of its own: calls from several
        threads (or processes) take turns, none sees another's half-done change."""
        db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()


def _derived(label: str, key: str) -> str:
    """An id part derived from the idempotency key: the same key, the same object."""
    return hashlib.sha256(f"{label}:{key}".encode()).hexdigest()[:24]


def _status(db: sqlite3.Connection, intent_id: str) -> str:
    row = db.execute("SELECT status FROM intents WHERE id = ?", (intent_id,)).fetchone()
    if row is None:
        raise ProviderRefused("resource_missing", f"No such payment_intent: '{intent_id}'")
    return str(row[0])


def _unexpected_state(action: str, status: str) -> ProviderRefused:
    return ProviderRefused("payment_intent_unexpected_state", f"You cannot {action} this"
                           f" PaymentIntent because it has a status of {status}.")


def _key_reused(key: str) -> ProviderRefused:
    return ProviderRefused("idempotency_error", "Keys for idempotent requests can only be used"
                           f" with the same parameters they were first used with: '{key}'.")
