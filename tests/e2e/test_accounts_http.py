"""Accounts over HTTP, in both modes: registration with its emailed verification link,
sign-in in the OAuth token response shape, refresh-token rotation, sign-out, password
reset, the customer's own profile, staff's customer and notification queries, role
changes and erasure.

Each test uses addresses of its own (the platforms are shared by the session), and sends
its sign-ins from a client address of its own (`X-Forwarded-For`, which uvicorn takes
from a local peer), so that the failed sign-ins one test makes never use up the
per-client budget of another.
"""

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from runtime.auth import Role
from tests.e2e.test_inventory_http import stocked_product
from tests.e2e.test_products_http import assert_problem
from tests.support.mailbox import link_token, messages, sent_many, sent_to
from tests.support.ordering import ADDRESS
from tests.support.platform import Platform
from tests.support.waiting import wait_until

AUTH = "/api/v1/auth"
ME = "/api/v1/me"
CUSTOMERS = "/api/v1/customers"
NOTIFICATIONS = "/api/v1/notifications"
VERIFY_SUBJECT = "Confirm your email address for Tanqory"
RESET_SUBJECT = "Reset your Tanqory password"
ACCESS_TTL = 900


def new_email(tag: str = "ada") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def new_password() -> str:
    return f"Horse-{uuid.uuid4().hex[:16]}-battery"


def new_name() -> str:
    return f"Ada Quixote {uuid.uuid4().hex[:8]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(access_token: str) -> dict[str, Any]:
    return jwt.decode(access_token, options={"verify_signature": False})  # type: ignore[no-any-return]


@dataclass
class Api:
    """HTTP calls of one client (one address), every response kept for later checks."""

    platform: Platform
    ip: str = field(default_factory=lambda: f"10.{random.randint(0, 255)}."
                                            f"{random.randint(0, 255)}.{random.randint(1, 254)}")
    responses: list[httpx.Response] = field(default_factory=list)

    def _call(self, method: str, url: str, token: str | None = None,
              headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        sent = {"X-Forwarded-For": self.ip, **(bearer(token) if token else {}), **(headers or {})}
        response = httpx.request(method, url, headers=sent, timeout=30, **kwargs)
        self.responses.append(response)
        return response

    def command(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        kwargs = {} if body is None else {"json": body}
        return self._call(method, f"{self.platform.command_url}{path}", token, headers, **kwargs)

    def query(self, path: str, token: str | None = None, consistency: str | None = None,
              **params: Any) -> httpx.Response:
        headers = {"X-Consistency-Token": consistency} if consistency else {}
        return self._call("GET", f"{self.platform.read_url}{path}", token, headers,
                          params=params)

    def admin(self) -> str:
        return self.platform.token(Role.ADMIN)

    # accounts

    def register(self, email: str, password: str, name: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/register",
                            {"email": email, "password": password, "name": name})

    def verify(self, token: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/verify", {"token": token})

    def login(self, email: str, password: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/login", {"email": email, "password": password})

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/refresh", {"refresh_token": refresh_token})

    def logout(self, refresh_token: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/logout", {"refresh_token": refresh_token})

    def request_reset(self, email: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/password-reset", {"email": email})

    def confirm_reset(self, token: str, password: str) -> httpx.Response:
        return self.command("POST", f"{AUTH}/password-reset/confirm",
                            {"token": token, "password": password})

    def me(self, token: str, consistency: str | None = None) -> httpx.Response:
        return self.query(ME, token, consistency)

    def patch_me(self, body: Any, token: str | None) -> httpx.Response:
        return self.command("PATCH", ME, body, token)

    def customer(self, customer_id: str, token: str | None = None,
                 consistency: str | None = None) -> httpx.Response:
        return self.query(f"{CUSTOMERS}/{customer_id}", token or self.admin(), consistency)

    def notifications(self, customer_id: str, token: str | None = None) -> httpx.Response:
        return self.query(NOTIFICATIONS, token or self.admin(), customer=customer_id)

    def erase(self, customer_id: str, token: str | None) -> httpx.Response:
        return self.command("DELETE", f"{CUSTOMERS}/{customer_id}", token=token)


@dataclass
class Account:
    id: str
    email: str
    password: str
    name: str
    consistency_token: str  # of the registration


def registered(api: Api, tag: str = "ada") -> Account:
    email, password, name = new_email(tag), new_password(), new_name()
    response = api.register(email, password, name)
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(body["id"], email, password, name, body["consistency_token"])


def signed_in(api: Api, account: Account) -> dict[str, Any]:
    response = api.login(account.email, account.password)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def emailed_token(platform: Platform, email: str, subject: str) -> str:
    [message] = sent_to(platform.mailbox, email, subject)  # type: ignore[arg-type]
    return link_token(message)


def verified(api: Api, account: Account) -> httpx.Response:
    response = api.verify(emailed_token(api.platform, account.email, VERIFY_SUBJECT))
    assert response.status_code == 200, response.text
    return response


def listed_notifications(api: Api, customer_id: str, count: int) -> list[dict[str, Any]]:
    """The customer's notifications once there are `count` of them."""
    def there() -> list[dict[str, Any]]:
        response = api.notifications(customer_id)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data if len(data) >= count else []

    return wait_until(there, 60, f"{count} notifications of {customer_id}")


def without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("instance", "request_id")}


# --- registration and verification -----------------------------------------------------


def test_register_emails_a_link_that_verifies_the_address_once(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)

    [message] = sent_to(platform.mailbox, account.email, VERIFY_SUBJECT)  # type: ignore[arg-type]
    assert message["To"].addresses[0].addr_spec == account.email
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert account.name in text
    base = platform.settings.account_links_url.rstrip("/")
    assert f"{base}/verify-email?token=" in text
    token = link_token(message)

    done = api.verify(token)
    assert done.status_code == 200, done.text
    assert done.json()["id"] == account.id
    consistency = done.headers["X-Consistency-Token"]
    assert done.json()["consistency_token"] == consistency
    assert_problem(api.verify(token), 400, "invalid-token")
    assert_problem(api.verify(f"{token[:-4]}abcd" if not token.endswith("abcd") else "x" + token),
                   400, "invalid-token")
    assert_problem(api.verify("made-up-token"), 400, "invalid-token")

    access = signed_in(api, account)["access_token"]
    me = api.me(access, consistency)
    assert me.status_code == 200, me.text
    assert me.headers["Cache-Control"] == "private, no-store"
    view = me.json()
    assert (view["id"], view["email"], view["name"]) == (account.id, account.email, account.name)
    assert view["verified"] is True and view["erased"] is False
    assert (view["roles"], view["phone"], view["addresses"]) == (["customer"], None, [])


def test_a_registration_is_refused_for_a_weak_password_and_bad_input(platform: Platform
                                                                    ) -> None:
    api = Api(platform)
    email, name = new_email("grace"), new_name()
    local = email.split("@")[0]
    for password, problem in (("Sh0rt-pass", "at least 12 characters"),
                              ("x" * 200, "at most 128 characters"),
                              ("aaaaaaaaaaaaaaaa", "more than three different characters"),
                              ("abababababababab", "more than three different characters"),
                              (f"My-{local.upper()}-pass", "must not contain your email")):
        refused = assert_problem(api.register(email, password, name), 422, "weak-password")
        assert problem in refused["detail"], (password, refused)

    def fields(response: httpx.Response) -> set[str]:
        return {e["field"] for e in assert_problem(response, 422, "validation-error")["errors"]}

    good = new_password()
    assert fields(api.register("not-an-email", good, name)) == {"email"}
    assert fields(api.register("ada@", good, name)) == {"email"}
    assert fields(api.command("POST", f"{AUTH}/register", {})) == {"email", "password", "name"}
    assert fields(api.command("POST", f"{AUTH}/register", {"email": email})) == {"password",
                                                                                "name"}
    assert fields(api.command("POST", f"{AUTH}/register",
                              {"email": email, "password": good, "name": name,
                               "roles": ["admin"]})) == {"roles"}
    assert fields(api.register(email, good, "")) == {"name"}

    # nothing was recorded for the refusals: the address registers now, once
    first = api.register(email, good, name)
    assert first.status_code == 201, first.text
    taken = assert_problem(api.register(email.upper(), new_password(), "Someone Else"), 409,
                           "email-taken")
    assert email not in taken["detail"]
    assert_problem(api.register(f"  {email.capitalize()} ", new_password(), "Another"), 409,
                   "email-taken")
    found = wait_until(lambda: api.query(CUSTOMERS, api.admin(), email=email).json()["data"],
                       30, "the customer in the read model")
    assert [c["id"] for c in found] == [first.json()["id"]]
    assert len(sent_to(platform.mailbox, email, VERIFY_SUBJECT)) == 1  # type: ignore[arg-type]


# --- sign-in --------------------------------------------------------------------------


def test_login_answers_an_oauth_token_response_the_api_accepts(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    response = api.login(account.email.upper(), account.password)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", ACCESS_TTL)
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    token = claims(body["access_token"])
    assert (token["sub"], token["roles"]) == (account.id, ["customer"])
    assert (token["iss"], token["aud"]) == ("tanqory", "tanqory-api")
    assert token["exp"] - token["iat"] == ACCESS_TTL
    assert api.login(account.email, account.password).json()["refresh_token"] != \
        body["refresh_token"], "each sign-in its own session"

    wrong = api.login(account.email, account.password + "x")
    unknown = api.login(new_email("nobody"), account.password)
    assert_problem(wrong, 401, "invalid-credentials")
    assert_problem(unknown, 401, "invalid-credentials")
    assert without_instance(wrong.json()) == without_instance(unknown.json())
    assert wrong.headers.get("WWW-Authenticate") == unknown.headers.get("WWW-Authenticate")

    product, _ = stocked_product(platform, 3)
    placed = api.command("POST", "/api/v1/orders",
                         {"lines": [{"product_id": product, "quantity": 1}],
                          "shipping_address": ADDRESS}, body["access_token"])
    assert placed.status_code == 201, placed.text
    order = api.query(f"/api/v1/orders/{placed.json()['id']}", body["access_token"],
                      placed.headers["X-Consistency-Token"])
    assert order.status_code == 200, order.text
    assert order.json()["customer_id"] == account.id


# --- sessions -------------------------------------------------------------------------


def test_refresh_rotates_and_a_reused_token_ends_the_session(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    first = signed_in(api, account)
    rotated = api.refresh(first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["Cache-Control"] == "no-store"
    second = rotated.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(second["access_token"])["sub"] == account.id
    assert claims(second["access_token"])["roles"] == ["customer"]
    assert api.me(second["access_token"], account.consistency_token).status_code == 200

    assert_problem(api.refresh(first["refresh_token"]), 401, "invalid-refresh-token")
    # the reuse revoked the whole family, the newest token with it
    assert_problem(api.refresh(second["refresh_token"]), 401, "invalid-refresh-token")

    other = signed_in(api, account)  # another session is untouched by that
    again = api.refresh(other["refresh_token"])
    assert again.status_code == 200, again.text
    out = api.logout(again.json()["refresh_token"])
    assert out.status_code == 204 and out.content == b""
    assert_problem(api.refresh(again.json()["refresh_token"]), 401, "invalid-refresh-token")
    assert api.logout("never-issued-token").status_code == 204
    assert api.logout(again.json()["refresh_token"]).status_code == 204
    assert_problem(api.refresh("never-issued-token"), 401, "invalid-refresh-token")


# --- password reset -------------------------------------------------------------------


def test_a_password_reset_sets_a_new_password_and_ends_every_session(platform: Platform
                                                                    ) -> None:
    api = Api(platform)
    account = registered(api)
    before = signed_in(api, account)
    nobody = new_email("nobody")
    unknown = api.request_reset(nobody)
    known = api.request_reset(account.email.upper())
    assert (unknown.status_code, known.status_code) == (202, 202), (unknown.text, known.text)
    assert unknown.content == known.content == b""

    [message] = sent_to(platform.mailbox, account.email, RESET_SUBJECT)  # type: ignore[arg-type]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert account.name in text
    assert f"{platform.settings.account_links_url.rstrip('/')}/reset-password?token=" in text
    token = link_token(message)

    weak = assert_problem(api.confirm_reset(token, "short"), 422, "weak-password")
    assert "at least 12" in weak["detail"]
    assert_problem(api.confirm_reset(token, f"x{account.email.split('@')[0]}x-long-enough"),
                   422, "weak-password")
    new = new_password()
    done = api.confirm_reset(token, new)  # the token survived the refusals
    assert done.status_code == 200, done.text
    assert done.json()["id"] == account.id
    assert_problem(api.confirm_reset(token, new_password()), 400, "invalid-token")
    assert_problem(api.confirm_reset("made-up-token", new_password()), 400, "invalid-token")
    assert_problem(api.verify(token), 400, "invalid-token")  # not a verification token

    assert_problem(api.login(account.email, account.password), 401, "invalid-credentials")
    assert signed_in(api, Account(account.id, account.email, new, account.name, ""))
    assert_problem(api.refresh(before["refresh_token"]), 401, "invalid-refresh-token")
    # no email went to the address without an account (its request recorded nothing)
    assert not [m for m in messages(platform.mailbox) if nobody in str(m["To"])]  # type: ignore[arg-type]


# --- the customer's own profile ---------------------------------------------------------


def test_a_customer_changes_only_the_profile_fields_sent(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    access = signed_in(api, account)["access_token"]
    home = {**ADDRESS, "name": account.name}
    work = {"name": account.name, "line1": "1 Analytical Row", "line2": "Floor 3",
            "city": "Cambridge", "postal_code": "CB2 1TN", "country": "GB"}
    changed = api.patch_me({"name": "Ada King", "phone": "+44 20 7946 0958",
                            "addresses": [home, work]}, access)
    assert changed.status_code == 200, changed.text
    view = api.me(access, changed.headers["X-Consistency-Token"]).json()
    assert (view["name"], view["phone"], view["email"]) == ("Ada King", "+44 20 7946 0958",
                                                            account.email)
    assert view["addresses"] == [{**home, "line2": None}, work]

    cleared = api.patch_me({"phone": None}, access)
    assert cleared.status_code == 200, cleared.text
    view = api.me(access, cleared.headers["X-Consistency-Token"]).json()
    assert (view["name"], view["phone"]) == ("Ada King", None)
    assert view["addresses"] == [{**home, "line2": None}, work]
    renamed = api.patch_me({"addresses": [work]}, access)
    view = api.me(access, renamed.headers["X-Consistency-Token"]).json()
    assert (view["name"], view["addresses"]) == ("Ada King", [work])
    emptied = api.patch_me({"addresses": []}, access)
    assert emptied.status_code == 200, emptied.text
    assert api.me(access, emptied.headers["X-Consistency-Token"]).json()["addresses"] == []

    def fields(body: Any) -> set[str]:
        problem = assert_problem(api.patch_me(body, access), 422, "validation-error")
        return {e["field"] for e in problem["errors"]}

    assert fields({"phone": "call me maybe"}) == {"phone"}
    assert fields({"phone": "12"}) == {"phone"}
    assert fields({"addresses": [work] * 11}) == {"addresses"}
    assert fields({"email": "other@example.com"}) == {"email"}
    assert fields({"roles": ["admin"]}) == {"roles"}
    assert fields({"addresses": [{**work, "city": None}]}) == {"addresses.0.city"}
    assert fields({"addresses": [{**work, "floor": 3}]}) == {"addresses.0.floor"}
    assert fields({"name": ""}) == {"name"}
    assert api.me(access).json()["addresses"] == []  # nothing refused was recorded

    assert_problem(api.patch_me({"name": "Nobody"}, None), 401, "unauthorized")
    assert_problem(api.query(ME), 401, "unauthorized")
    staff = platform.token(Role.ADMIN)
    assert_problem(api.patch_me({"name": "Tester"}, staff), 404, "not-found")
    assert_problem(api.me(staff), 404, "not-found")


# --- staff ----------------------------------------------------------------------------


def test_staff_find_customers_and_change_their_roles(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    session = signed_in(api, account)

    def found() -> list[dict[str, Any]]:
        response = api.query(CUSTOMERS, api.admin(), email=account.email.upper())
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "private, no-store"
        return response.json()["data"]  # type: ignore[no-any-return]

    [view] = wait_until(found, 30, "the customer by email")
    assert (view["id"], view["email"], view["name"]) == (account.id, account.email, account.name)
    nobody = api.query(CUSTOMERS, api.admin(), email=new_email("nobody")).json()
    assert (nobody["data"], nobody["pagination"]["total_items"]) == ([], 0)
    listing = api.query(CUSTOMERS, api.admin(), limit=2)
    assert listing.status_code == 200 and len(listing.json()["data"]) <= 2
    assert_problem(api.query(CUSTOMERS, api.admin(), email="not-an-email"), 422,
                   "validation-error")

    one = api.customer(account.id, consistency=account.consistency_token)
    assert one.status_code == 200, one.text
    assert (one.json()["email"], one.json()["roles"]) == (account.email, ["customer"])
    assert_problem(api.customer(str(uuid.uuid4())), 404, "not-found")
    own = session["access_token"]
    assert_problem(api.query(CUSTOMERS, own, email=account.email), 403, "forbidden")
    assert_problem(api.customer(account.id, own), 403, "forbidden")
    assert_problem(api.query(CUSTOMERS), 401, "unauthorized")

    roles_path = f"{CUSTOMERS}/{account.id}/roles"
    assert_problem(api.command("PUT", roles_path, {"roles": ["customer", "wizard"]},
                               api.admin()), 422, "validation-error")
    assert_problem(api.command("PUT", roles_path, {"roles": ["customer", "admin"]}, own), 403,
                   "forbidden")
    assert_problem(api.command("PUT", f"{CUSTOMERS}/{uuid.uuid4()}/roles",
                               {"roles": ["customer"]}, api.admin()), 404, "not-found")
    changed = api.command("PUT", roles_path, {"roles": ["customer", "order_manager"]},
                          api.admin())
    assert changed.status_code == 200, changed.text
    assert_problem(api.refresh(session["refresh_token"]), 401, "invalid-refresh-token")
    fresh = signed_in(api, account)
    assert sorted(claims(fresh["access_token"])["roles"]) == ["customer", "order_manager"]
    seen = api.customer(account.id, consistency=changed.headers["X-Consistency-Token"])
    assert sorted(seen.json()["roles"]) == ["customer", "order_manager"]
    # the new role works: order managers read notifications
    assert api.notifications(account.id, fresh["access_token"]).status_code == 200


def test_staff_read_the_emails_sent_to_a_customer(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    verified(api, account)
    assert api.request_reset(account.email).status_code == 202
    sent_to(platform.mailbox, account.email, RESET_SUBJECT)  # type: ignore[arg-type]

    listed = listed_notifications(api, account.id, 2)
    assert [n["template"] for n in listed] == ["password_reset", "verify_email"]  # newest first
    assert {n["recipient"] for n in listed} == {account.email}
    assert [n["subject"] for n in listed] == [RESET_SUBJECT, VERIFY_SUBJECT]
    assert [n["source_event_type"] for n in listed] == ["CustomerPasswordResetRequested",
                                                         "CustomerRegistered"]
    assert {n["customer_id"] for n in listed} == {account.id}
    assert all(n["message_id"] for n in listed)
    listing = api.notifications(account.id)
    assert listing.json()["pagination"]["total_items"] == 2
    assert listing.headers["Cache-Control"] == "private, no-store"

    session = signed_in(api, account)
    assert_problem(api.notifications(account.id, session["access_token"]), 403, "forbidden")
    assert_problem(api.query(NOTIFICATIONS), 401, "unauthorized")
    assert api.notifications(account.id, platform.token(Role.ORDER_MANAGER)).status_code == 200


# --- erasure --------------------------------------------------------------------------


def erased_view(api: Api, customer_id: str, consistency: str) -> dict[str, Any]:
    def erased() -> dict[str, Any]:
        response = api.customer(customer_id, consistency=consistency)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view if view["erased"] and view["email"] is None else {}

    return wait_until(erased, 30, f"customer {customer_id} to show erased")


def test_a_customer_erases_themself_and_the_address_is_free_again(platform: Platform
                                                                 ) -> None:
    api = Api(platform)
    ada, bob = registered(api, "ada"), registered(api, "bob")
    verified(api, ada)
    ada_session, bob_session = signed_in(api, ada), signed_in(api, bob)
    listed_notifications(api, ada.id, 1)

    assert_problem(api.erase(ada.id, bob_session["access_token"]), 403, "forbidden")
    assert_problem(api.erase(ada.id, None), 401, "unauthorized")
    erased = api.erase(ada.id, ada_session["access_token"])
    assert erased.status_code == 200, erased.text
    view = erased_view(api, ada.id, erased.headers["X-Consistency-Token"])
    assert (view["email"], view["name"], view["phone"], view["addresses"]) == (None, None, None,
                                                                               [])
    assert view["erased"] is True

    assert_problem(api.login(ada.email, ada.password), 401, "invalid-credentials")
    assert_problem(api.refresh(ada_session["refresh_token"]), 401, "invalid-refresh-token")
    assert_problem(api.patch_me({"name": "Back"}, ada_session["access_token"]), 410,
                   "customer-erased")
    assert api.request_reset(ada.email).status_code == 202

    def hidden() -> list[dict[str, Any]]:
        data = listed_notifications(api, ada.id, 1)
        return data if all(n["recipient"] is None and n["subject"] is None for n in data) \
            else []

    for notification in wait_until(hidden, 30, "the notifications to hide the address"):
        assert notification["template"] == "verify_email"

    again = api.register(ada.email, new_password(), "Ada Again")
    assert again.status_code == 201, again.text
    assert again.json()["id"] != ada.id
    assert len(sent_many(platform.mailbox, ada.email, VERIFY_SUBJECT, 2)) == 2  # type: ignore[arg-type]
    # the reset asked for after the erasure found no account: nothing went out
    assert not [m for m in messages(platform.mailbox)  # type: ignore[arg-type]
                if ada.email in str(m["To"]) and RESET_SUBJECT in str(m["Subject"])]
    # bob was not touched
    assert api.customer(bob.id).json()["email"] == bob.email
    # an erasure repeated by an admin changes nothing
    repeat = api.erase(ada.id, api.admin())
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["version"] == erased.json()["version"]
    # the address finds one account: the new one, not the erased one as well
    def by_address() -> list[dict[str, Any]]:
        if api.customer(again.json()["id"]).status_code != 200:
            return []  # the new account is not in the read model yet
        return api.query(CUSTOMERS, api.admin(), email=ada.email).json()["data"]  # type: ignore[no-any-return]

    found = wait_until(by_address, 30, "the new account in the read model")
    assert [c["id"] for c in found] == [again.json()["id"]]


def test_an_admin_erases_a_customer(platform: Platform) -> None:
    api = Api(platform)
    account = registered(api)
    session = signed_in(api, account)
    assert_problem(api.erase(str(uuid.uuid4()), api.admin()), 404, "not-found")
    assert_problem(api.erase(account.id, platform.token(Role.ORDER_MANAGER)), 403, "forbidden")
    erased = api.erase(account.id, api.admin())
    assert erased.status_code == 200, erased.text
    view = erased_view(api, account.id, erased.headers["X-Consistency-Token"])
    assert (view["email"], view["name"]) == (None, None)
    assert_problem(api.login(account.email, account.password), 401, "invalid-credentials")
    assert_problem(api.refresh(session["refresh_token"]), 401, "invalid-refresh-token")
    # erased: the address no longer leads to the account
    assert api.query(CUSTOMERS, api.admin(), email=account.email).json()["data"] == []
