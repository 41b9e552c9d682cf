"""Server relays are woken by PostgreSQL's notifications of new events, a burst of
commits once, also after the listening connection was cut."""

import asyncio
from uuid import uuid4

import psycopg
import pytest

from commands.inventory.application import InventoryApplication
from runtime.settings import Settings
from streams.store_wakeups import wake_on_notify
from tests.integration.reserve_worker import META
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
DEADLINE = 10.0  # seconds; a wake-up takes milliseconds


class Counted(asyncio.Event):
    """An event that counts how often it was set."""

    def __init__(self) -> None:
        super().__init__()
        self.times = 0

    def set(self) -> None:
        self.times += 1
        super().set()


class Woken:
    def __init__(self) -> None:
        self.wakeup = Counted()


async def _woken(relay: Woken) -> None:
    await asyncio.wait_for(relay.wakeup.wait(), DEADLINE)
    relay.wakeup.clear()


async def _not_woken(relay: Woken, seconds: float) -> bool:
    try:
        await asyncio.wait_for(relay.wakeup.wait(), seconds)
    except TimeoutError:
        return True
    return False


def _listener(dsn: str, other_than: int) -> int | None:
    """The backend pid of a connection that listens in this database (its last statement
    a LISTEN), other than `other_than`; None while there is none."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %%' "
                           "AND datname = current_database() AND pid <> pg_backend_pid() "
                           "AND pid <> %s", (other_than,)).fetchone()
    return None if row is None else int(row[0])


async def _listening(dsn: str, other_than: int = 0) -> int:
    """`_listener`, once there is one."""
    return await asyncio.to_thread(wait_until, lambda: _listener(dsn, other_than), DEADLINE,
                                   "a connection listening for new events")


async def test_a_commit_wakes_only_its_own_stores_relay(
        inventory: InventoryApplication, postgres_settings: Settings) -> None:
    channel = inventory.change_channel()
    assert channel is not None
    mine, other = Woken(), Woken()
    listener = asyncio.create_task(wake_on_notify(postgres_settings.postgres_dsn,
                                                  {channel: mine, "another_store": other}))
    try:
        await _woken(mine)  # every relay once, on (re)connecting
        await _woken(other)
        await _listening(postgres_settings.postgres_dsn)
        assert await _not_woken(mine, 0.2)

        await asyncio.to_thread(inventory.create_stock_item, uuid4(), 3, META)
        await _woken(mine)
        assert await _not_woken(other, 0.2)
    finally:
        listener.cancel()


async def test_a_burst_of_commits_wakes_the_relay_once_after_the_delay(
        inventory: InventoryApplication, postgres_settings: Settings) -> None:
    channel = inventory.change_channel()
    assert channel is not None
    relay = Woken()
    listener = asyncio.create_task(wake_on_notify(postgres_settings.postgres_dsn,
                                                  {channel: relay}, delay_seconds=2.0))
    try:
        await _woken(relay)
        await _listening(postgres_settings.postgres_dsn)
        before = relay.wakeup.times

        def burst() -> None:  # three transactions, each notifying
            for _ in range(3):
                inventory.create_stock_item(uuid4(), 3, META)

        await asyncio.to_thread(burst)
        assert not relay.wakeup.is_set()  # not before the delay
        await _woken(relay)
        assert await _not_woken(relay, 0.5)
        assert relay.wakeup.times == before + 1
    finally:
        listener.cancel()


async def test_after_its_connection_is_cut_it_listens_again_and_wakes_every_relay(
        inventory: InventoryApplication, postgres_settings: Settings) -> None:
    channel = inventory.change_channel()
    assert channel is not None
    relay = Woken()
    dsn = postgres_settings.postgres_dsn
    listener = asyncio.create_task(wake_on_notify(dsn, {channel: relay}))
    try:
        await _woken(relay)
        pid = await _listening(dsn)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await _woken(relay)  # reconnected: whatever committed meanwhile is looked for
        await _listening(dsn, other_than=pid)

        await asyncio.to_thread(inventory.create_stock_item, uuid4(), 3, META)
        await _woken(relay)
        assert not listener.done()
    finally:
        listener.cancel()
