"""The PostgreSQL read models' translation of the SQL stores' dialect, and an unreachable
server reported as the store outage the APIs answer with a 503."""

import time

import psycopg
import pytest

from projections.catalog.sql_stores import PRODUCTS
from projections.stores.postgres import PostgresDatabase, placeholders, schema_name, statements
from runtime.problems import STORE_UNAVAILABLE
from tests.support.processes import free_port


def test_question_marks_become_numbered_parameters() -> None:
    assert placeholders("SELECT doc FROM t WHERE a = ? AND b IN (?,?)") == (
        "SELECT doc FROM t WHERE a = $1 AND b IN ($2,$3)")
    assert placeholders("SELECT 1") == "SELECT 1"


def test_sqlite_tables_become_postgresql_statements() -> None:
    made = statements(PRODUCTS)
    assert all("WITHOUT ROWID" not in s and "REAL" not in s.split() for s in made)
    products = next(s for s in made if s.startswith("CREATE TABLE IF NOT EXISTS products "))
    assert 'id TEXT COLLATE "C" PRIMARY KEY' in products
    assert "version BIGINT NOT NULL" in products
    assert "average_rating DOUBLE PRECISION NOT NULL" in products
    assert any("products_live_created_at ON products (created_at, id) WHERE deleted = 0" in s
               for s in made)  # a partial index stays one


@pytest.mark.parametrize("name", ["read-models", "Read", "x; DROP TABLE t", ""])
def test_a_schema_name_is_a_plain_identifier(name: str) -> None:
    with pytest.raises(ValueError):
        schema_name(name)


async def test_an_unreachable_server_is_a_store_outage_within_seconds() -> None:
    db = PostgresDatabase(f"postgresql://nobody@127.0.0.1:{free_port()}/none", "read_models")
    began = time.monotonic()
    try:
        with pytest.raises(psycopg.OperationalError) as raised:
            await db.ping()
    finally:
        await db.close()
    assert isinstance(raised.value, STORE_UNAVAILABLE)
    assert time.monotonic() - began < 15
