"""Server mode: relays woken by PostgreSQL when their event store records something.

eventsourcing's PostgreSQL recorder sends `NOTIFY <its events table>` in every transaction
that inserts events, delivered once it commits, whichever process wrote (the command
API, the sagas, the CLI). Listening on those channels, a relay reads its store only when
there is something to read: polling every context's store 50 times a second cost the idle
relay process a fifth of a core, and PostgreSQL as much again. The relays' own polls stay
as the fallback, at a slower pace, for a notification lost with a broken connection.

A notification wakes its relay a moment later (`WAKE_DELAY_SECONDS`), once for every
commit in between, as embedded mode's in-process wake-ups do: under load a relay then
reads and publishes the commits of those milliseconds in one batch, instead of a batch of
one or two events for each (a read of the store, a send, a saved position, a progress
report). ADR 0032.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0
WAKE_DELAY_SECONDS = 0.01


class Wakeable(Protocol):
    """What a wake-up sets: a relay's `wakeup` event."""

    wakeup: asyncio.Event


async def wake_on_notify(dsn: str, channels: Mapping[str, Wakeable],
                         delay_seconds: float = WAKE_DELAY_SECONDS) -> None:
    """Until cancelled: sets the `wakeup` of `channels[c]` `delay_seconds` after a
    notification on channel `c`, once for every notification meanwhile. After a
    (re)connection every one is woken at once, for what committed meanwhile."""
    loop = asyncio.get_running_loop()
    pending: dict[str, asyncio.TimerHandle] = {}

    def wake(channel: str) -> None:
        del pending[channel]
        channels[channel].wakeup.set()

    try:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    for channel in channels:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    for woken in channels.values():
                        woken.wakeup.set()
                    async for notify in conn.notifies():
                        if notify.channel in channels and notify.channel not in pending:
                            pending[notify.channel] = loop.call_later(
                                delay_seconds, wake, notify.channel)
            except psycopg.Error as error:
                log.warning("listening for new events failed (%s); the relays poll until it "
                            "is back, in %ss", error, RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)
    finally:
        for handle in pending.values():
            handle.cancel()
