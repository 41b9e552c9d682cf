"""`tanqory rebuild analytics_facts` and `tanqory replay analytics_facts` against a running
platform (ADR 0014): readers of the analyst API see no error and no empty answer while the
facts are rebuilt in a database of their own, the old build is dropped on request, an
unfinished one abandoned, and a replay writes back the facts that were lost, once."""

import signal
import sqlite3
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_driver import Client

from projections.facts.tables import ROLLUPS, SALE_LINES, ddl
from projections.stores.chdb import DATABASE as EMBEDDED_DATABASE
from projections.stores.facts_sql import build_database
from runtime.settings import Mode
from tests.e2e.test_analytics_http import analytics, ok, paid_order, product_row, stocked
from tests.e2e.test_replay_rebuild_cli import READ_MODELS, verified
from tests.support import read_store
from tests.support.platform import Platform
from tests.support.processes import TANQORY
from tests.support.waiting import wait_until

FACTS = "analytics_facts"
LOST_ROLLUPS = ("sales_hourly", "orders_hourly", "order_cohorts")  # fed by an order's facts


def pointer(platform: Platform) -> dict[str, Any]:
    """The facts' pointer record (live build, build in progress), as saved."""
    if platform.mode is Mode.SERVER:
        return read_store.pointer(platform.settings, FACTS)
    with sqlite3.connect(platform.settings.data_dir / READ_MODELS, timeout=30) as conn:
        row = conn.execute("SELECT live, building FROM read_model_builds WHERE model = ?",
                           (FACTS,)).fetchone()
    return {"live": row[0], "building": row[1]} if row else {"live": 1, "building": None}


def clickhouse(platform: Platform) -> Client:
    return Client(host=platform.settings.clickhouse_host,
                  port=platform.settings.clickhouse_port)


def build_exists(platform: Platform, build: int) -> bool:
    """Whether the facts' tables of `build` exist (embedded: chDB's metadata files)."""
    if platform.mode is Mode.SERVER:
        database = build_database(platform.settings.clickhouse_db, build)
        [(found,)] = clickhouse(platform).execute(f"EXISTS TABLE {database}.order_facts")
        return bool(found)
    metadata = Path(platform.settings.data_dir) / "analytics.chdb" / "metadata"
    return (metadata / build_database(EMBEDDED_DATABASE, build) / "order_facts.sql").exists()


def queries() -> list[tuple[str, dict[str, Any]]]:
    """The analysts' questions the readers ask, over a range fixed now (the default range
    ends at the next hour)."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    span = {"from": (hour - timedelta(days=1)).isoformat(),
            "to": (hour + timedelta(hours=2)).isoformat()}
    return [("/sales", {**span, "group_by": "product"}), ("/top-products", {**span, "limit": 100})]


def figures(platform: Platform, asked: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [ok(analytics(platform, path, **params)) for path, params in asked]


def test_rebuild_cuts_the_analysts_over_with_no_gap_and_drops_the_old_build(
        platform: Platform) -> None:
    kettle, beans = stocked(platform, "20.00", 10), stocked(platform, "4.50", 50)
    paid_order(platform, "ada", [(kettle, 2), (beans, 3)])
    wait_until(lambda: product_row(platform, beans), 30, "the beans' sales")
    asked = queries()
    answers = figures(platform, asked)
    assert answers[0]["series"] and answers[1]["data"]
    first = pointer(platform)["live"]
    stop, failures, reads = threading.Event(), [], [0]

    def reader() -> None:
        while not stop.is_set():
            for (path, params), expected in zip(asked, answers, strict=True):
                got = analytics(platform, path, **params)
                if got.status_code != 200 or got.json() != expected:
                    failures.append(f"{path}: {got.status_code} {got.text[:300]}")
            reads[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        result = platform.cli("rebuild", FACTS)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert result.returncode == 0, result.stderr
    assert f"build {first + 1} is live" in result.stdout
    assert failures == [] and reads[0] > 0
    assert pointer(platform) == {"live": first + 1, "building": None}
    assert figures(platform, asked) == answers
    assert build_exists(platform, first) and build_exists(platform, first + 1)
    paid_order(platform, "bo", [(kettle, 1)])  # the projector writes the new build
    wait_until(lambda: (row := product_row(platform, kettle)) and row["units"] == 3, 30,
               "the new order's sales in the new build")
    verified(platform)

    dropped = platform.cli("rebuild", FACTS, "--drop-old")
    assert dropped.returncode == 0, dropped.stderr
    assert f"dropped build(s) {first} of {FACTS}" in dropped.stdout
    assert not build_exists(platform, first) and build_exists(platform, first + 1)
    assert product_row(platform, kettle)["units"] == 3  # type: ignore[index]
    again = platform.cli("replay", FACTS)
    assert again.returncode == 0, again.stderr
    assert "nothing was missing" in again.stdout
    verified(platform)


def test_abandon_ends_a_rebuild_that_died(server: Platform) -> None:
    platform = server
    env = {**platform.env, "TANQORY_READ_MODEL_SWITCH_SECONDS": "60"}  # it waits to settle
    dying = subprocess.Popen([*TANQORY, "rebuild", FACTS], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        building = wait_until(lambda: pointer(platform)["building"], 60, "a build to begin")
        wait_until(lambda: build_exists(platform, building), 30, "its database")
    finally:
        dying.send_signal(signal.SIGKILL)
        dying.wait(30)
    assert pointer(platform)["building"] == building

    result = platform.cli("rebuild", FACTS, "--abandon")
    assert result.returncode == 0, result.stderr
    assert f"abandoned build {building} of {FACTS}" in result.stdout
    assert pointer(platform)["building"] is None
    assert not build_exists(platform, building)
    verified(platform)


def lose_order_facts(platform: Platform, order_id: str) -> None:
    """Takes back what the order's own events made in the live facts, as if their inserts
    had never happened: the rollups' sums they fed (negated, through a scratch database
    fed the same rows) and the fact rows themselves."""
    settings, client = platform.settings, clickhouse(platform)
    database = build_database(settings.clickhouse_db, int(pointer(platform)["live"]))
    scratch = f"{settings.clickhouse_db}_lost_{uuid.uuid4().hex[:8]}"
    client.execute(f"CREATE DATABASE {scratch}")
    try:
        for statement in ddl(scratch):
            client.execute(statement)
        for table in ("order_facts", SALE_LINES.name):
            client.execute(f"INSERT INTO {scratch}.{table} SELECT * FROM {database}.{table} "
                           f"WHERE order_id = '{order_id}'")
        for rollup in (r for r in ROLLUPS if r.name in LOST_ROLLUPS):
            columns = [*rollup.key, *rollup.sums]
            negated = [*rollup.key, *(f"-{s}" for s in rollup.sums)]
            client.execute(f"INSERT INTO {database}.{rollup.name} ({', '.join(columns)}) "
                           f"SELECT {', '.join(negated)} FROM {scratch}.{rollup.name}")
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {scratch}")
    for table in ("order_facts", SALE_LINES.name):
        client.execute(f"ALTER TABLE {database}.{table} DELETE WHERE order_id = '{order_id}'")

    def gone() -> bool:
        return all(client.execute(f"SELECT count() FROM {database}.{table} "
                                  f"WHERE order_id = '{order_id}'") == [(0,)]
                   for table in ("order_facts", SALE_LINES.name))

    wait_until(gone, 60, "the order's fact rows to be deleted")


def units_stored(platform: Platform, product_id: str) -> int:
    """The product's units in the live sales rollup (under any cache)."""
    database = build_database(platform.settings.clickhouse_db, int(pointer(platform)["live"]))
    [(units,)] = clickhouse(platform).execute(
        f"SELECT sum(units) FROM {database}.sales_hourly WHERE product_id = '{product_id}'")
    return int(units)


def test_replay_of_one_order_writes_back_its_lost_facts_once(server: Platform) -> None:
    platform = server
    lamp = stocked(platform, "12.00", 10)
    order_id = paid_order(platform, "cy", [(lamp, 2)])
    row = wait_until(lambda: product_row(platform, lamp), 30, "the lamp's sales")
    lose_order_facts(platform, order_id)
    assert units_stored(platform, lamp) == 0

    result = platform.cli("replay", FACTS, "--aggregate", order_id)
    assert result.returncode == 0, result.stderr
    assert "wrote the missing facts" in result.stdout
    assert units_stored(platform, lamp) == 2
    assert product_row(platform, lamp) == row  # the cached answer moved with it
    again = platform.cli("replay", FACTS, "--aggregate", order_id)
    assert again.returncode == 0, again.stderr
    assert "nothing was missing" in again.stdout
    assert units_stored(platform, lamp) == 2
    verified(platform)


def test_replay_of_the_event_history_appends_only_what_it_lacks(platform: Platform) -> None:
    lamp = stocked(platform, "9.00", 3)
    whole = platform.cli("replay", "analytics")
    assert whole.returncode == 0, whole.stderr
    assert "appended 0 missing event(s)" in whole.stdout
    refused = platform.cli("rebuild", "analytics")
    assert refused.returncode == 1 and "has no builds" in refused.stderr
    if platform.mode is Mode.SERVER:
        history = platform.settings.clickhouse_db
        client = clickhouse(platform)
        [(held,)] = client.execute(
            f"SELECT count() FROM {history}.events WHERE aggregate_id = '{lamp}'")
        client.execute(f"ALTER TABLE {history}.events DELETE WHERE aggregate_id = '{lamp}'")
        wait_until(lambda: client.execute(f"SELECT count() FROM {history}.events WHERE "
                                          f"aggregate_id = '{lamp}'") == [(0,)],
                   60, "the product's events to be deleted from the history")
        one = platform.cli("replay", "analytics", "--aggregate", lamp)
        assert one.returncode == 0, one.stderr
        assert f"appended {held} missing event(s) of {held}" in one.stdout
    verified(platform)
