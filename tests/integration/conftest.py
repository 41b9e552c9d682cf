"""A PostgreSQL database of a test's own, for tests of the server-mode event store."""

from collections.abc import Iterator

import psycopg
import pytest

from commands.inventory.application import InventoryApplication
from runtime.settings import Mode, Settings
from tests.support.platform import create_postgres_database, server_namespace, settings_for_tests


@pytest.fixture
def postgres_settings() -> Iterator[Settings]:
    """A fresh PostgreSQL database for this test only, dropped afterwards."""
    settings = settings_for_tests(mode=Mode.SERVER,
                                  postgres_db=server_namespace()["TANQORY_POSTGRES_DB"])
    create_postgres_database(settings)
    try:
        yield settings
    finally:
        drop_postgres_database(settings)


@pytest.fixture
def inventory(postgres_settings: Settings) -> Iterator[InventoryApplication]:
    """The inventory's write side on that database."""
    app = InventoryApplication(env=postgres_settings.event_store_env)
    try:
        yield app
    finally:
        app.close()


def drop_postgres_database(settings: Settings) -> None:
    admin_dsn = settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.postgres_db}" WITH (FORCE)')
