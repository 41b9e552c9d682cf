"""The analytics facts behind a build pointer (ADR 0014): what the facts projector writes
and what `tanqory rebuild analytics_facts` builds beside the live facts.

Build 1 is the facts' tables in the archive's database; build N is a database of its own
(`build_database`). The pointer is kept with the read models' (model `analytics_facts`)
and read with theirs (`ReadModels.follow`). While a build is in progress every write goes
to both databases. Rollups are sums made at insert, so a row must never go in twice: the
writes over one engine take turns, so the projector's and a rebuild's check-then-insert
(ADR 0011) never interleave in one process.
"""

from projections.facts.projector import NAME
from projections.facts.rows import Known, Rows
from projections.stores.builds import Pointer
from projections.stores.facts_sql import Snapshot, SqlFactStore, build_database, drop_build


class SwitchedFacts:
    """The facts of the live build (reads and writes), and of the build in progress
    (writes); a `FactStore`, a `Switchable` and a `Buildable`."""

    name = NAME

    def __init__(self, first: SqlFactStore) -> None:
        self.engine = first.engine
        self.base = first.database  # build 1's database
        self._stores = {1: first}
        self.live = first
        self.building: SqlFactStore | None = None

    def _at(self, build: int) -> SqlFactStore:
        if build not in self._stores:
            self._stores[build] = SqlFactStore(self.engine, build_database(self.base, build))
        return self._stores[build]

    async def switch(self, pointer: Pointer) -> None:
        self.live = self._at(pointer.live)
        self.building = None if pointer.building is None else self._at(pointer.building)

    async def open(self, build: int) -> "SwitchedFacts":
        """Build `build`'s facts, created, alone (a rebuild folds into it): its writes take
        turns with this one's. It borrows this one's store: closing this one closes it."""
        store = self._at(build)
        await store.setup()
        return SwitchedFacts(store)

    async def loaded(self, build: int) -> None:
        """Nothing: ClickHouse needs no statistics, and merges its parts by itself."""

    async def remove(self, build: int) -> None:
        store = self._stores.pop(build, None)
        if store is not None:
            await store.close()
        await drop_build(self.engine, self.base, build)

    async def setup(self) -> None:
        await self.live.setup()

    async def known(self, wanted: dict[str, set[str]]) -> Known:
        return await self.live.known(wanted)

    async def write(self, rows: Rows) -> int:
        """Inserts into the live build (and the one in progress) the rows it lacks;
        returns how many the live build lacked. The builds are those named when it starts
        (see `Switched`)."""
        live, building = self.live, self.building
        async with self.engine.writing:
            inserted = await live.write(rows)
            if building is not None:
                await building.write(rows)
        return inserted

    async def snapshot(self) -> Snapshot:
        return await self.live.snapshot()

    async def ping(self) -> None:
        await self.live.ping()

    async def close(self) -> None:
        for store in self._stores.values():
            await store.close()
        self._stores.clear()
