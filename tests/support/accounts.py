"""The customers context in memory for unit tests: its Application on the in-memory event
store, with real keys, credentials and password hashing in temporary SQLite files."""

from pathlib import Path

from commands.customers.application import AccountParts, CustomersApplication
from commands.customers.credentials import SqliteCredentials
from commands.customers.passwords import Passwords
from runtime.key_store import SqliteKeyStore
from runtime.personal_data import PersonalData
from runtime.settings import Settings
from schemas.envelope import Actor, EventMetadata

META = EventMetadata(correlation_id="c", causation_id="c", actor=Actor(subject="s"))
MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def memory_customers(tmp_path: Path, settings: Settings) -> tuple[CustomersApplication,
                                                                    PersonalData]:
    personal = PersonalData(SqliteKeyStore(tmp_path / "keys.sqlite3"), 0)
    customers = CustomersApplication(env=MEMORY)
    customers.use(AccountParts(personal, SqliteCredentials(tmp_path / "credentials.sqlite3"),
                               Passwords(), settings.account_secret.get_secret_value().encode()))
    return customers, personal
