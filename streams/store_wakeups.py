"""Server mode: relays woken by PostgreSQL when their event store records something.

eventsourcing's PostgreSQL recorder sends `NOTIFY <its events table>` in every transaction
that inserts events, delivered once it commits, whichever process wrote (the command
API, the sagas, the CLI). Listening on those channels, a relay reads its store only when
there is something to read: polling every context's store 50 times a second cost the idle
relay process a fifth of a core, and PostgreSQL as much again. The relays' own polls stay
as the fallback, at a slower pace, for a notification lost with a broken connection.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0


class Wakeable(Protocol):
    """What a wake-up sets: a relay's `wakeup` event."""

    wakeup: asyncio.Event


async def wake_on_notify(dsn: str, channels: Mapping[str, Wakeable]) -> None:
    """Until cancelled: sets the `wakeup` of `channels[c]` on each notification on channel
    `c`. After a (re)connection every one is woken once, for what committed meanwhile."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                for channel in channels:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                for woken in channels.values():
                    woken.wakeup.set()
                async for notify in conn.notifies():
                    if (relay := channels.get(notify.channel)) is not None:
                        relay.wakeup.set()
        except psycopg.Error as error:
            log.warning("listening for new events failed (%s); the relays poll until it is "
                        "back, in %ss", error, RECONNECT_SECONDS)
            await asyncio.sleep(RECONNECT_SECONDS)
