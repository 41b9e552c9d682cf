"""Running the platform for tests: embedded in one process, or server mode in five."""

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from pydantic import SecretStr
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from runtime.auth import Role, issue_token
from runtime.settings import Environment, Mode, Settings
from schemas.envelope import EventEnvelope
from tests.support.mailbox import FolderMailbox, Mailbox
from tests.support.processes import PlatformProcess, free_port, run_cli
from tests.support.smtp_sink import SmtpSink, smtp_sink
from tests.support.waiting import wait_until

TEST_SECRET = "tanqory-test-secret-0123456789abcdef"
AFTER_COMMAND_API = ("relay", "worker", "sagas", "notifier", "read-api")


@dataclass
class Platform:
    mode: Mode
    command_url: str
    read_url: str
    settings: Settings
    processes: dict[str, PlatformProcess] = field(default_factory=dict)
    mailbox: Mailbox | None = None  # what its notifier sent

    def token(self, *roles: Role, subject: str = "tester") -> str:
        return issue_token(self.settings, subject, list(roles))

    def auth(self, *roles: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles)}"}

    @property
    def env(self) -> dict[str, str]:
        """The TANQORY_* settings the platform's processes run with."""
        first = next(iter(self.processes.values()))
        return {k: v for k, v in first.env.items() if k.startswith("TANQORY_")}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`tanqory *args` with the platform's settings."""
        return run_cli(*args, **self.env)


def settings_for_tests(**overrides: object) -> Settings:
    return Settings(env=Environment.TEST, jwt_secret=SecretStr(TEST_SECRET), **overrides)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "TANQORY_ENV": settings.env.value,
        "TANQORY_JWT_SECRET": TEST_SECRET,
        "TANQORY_LOG_LEVEL": "INFO",
        # The suites send far more than 100 requests a minute from one address.
        "TANQORY_RATE_LIMIT_PER_MINUTE": "100000",
        # Analytics answers cached for long: only the cache generation the facts projector
        # moves can make a new order show at once (tests/e2e/test_analytics_http.py).
        "TANQORY_CACHE_TTL_ANALYTICS_SECONDS": "600",
        **extra,
    }


@contextmanager
def embedded_platform(tmp: Path, **extra_env: str) -> Iterator[Platform]:
    """`tanqory serve` on a free port; `extra_env` (TANQORY_* variables) overrides the rest."""
    port = free_port()
    settings = settings_for_tests(mode=Mode.EMBEDDED, data_dir=tmp / "data", port=port)
    process = PlatformProcess(
        "serve", ["serve", "--port", str(port), "--no-demo"],
        # TANQORY_PORT too: `tanqory history` asks the running platform for the history.
        _env(settings, TANQORY_DATA_DIR=str(settings.data_dir),
             **{"TANQORY_PORT": str(port), **extra_env}), tmp,
    ).start()
    base = f"http://127.0.0.1:{port}"
    try:
        process.wait_healthy(base)
        yield Platform(Mode.EMBEDDED, base, base, settings, {"serve": process},
                       FolderMailbox(settings.data_dir / "mail"))
    finally:
        process.stop()


def server_namespace() -> dict[str, str]:
    """Fresh databases and topics for one test run on the shared services."""
    name = f"t{uuid.uuid4().hex[:12]}"
    return {
        "TANQORY_POSTGRES_DB": name,
        "TANQORY_MONGO_DB": name,
        "TANQORY_CLICKHOUSE_DB": name,
        "TANQORY_KAFKA_TOPIC_PREFIX": name,
        "TANQORY_WORKER_ID": f"{name}-projector",
    }


def read_store() -> dict[str, str]:
    """TANQORY_READ_STORE from the environment when set, so the whole suite runs on either
    store of server mode's read models (their default otherwise)."""
    chosen = os.environ.get("TANQORY_READ_STORE")
    return {"TANQORY_READ_STORE": chosen} if chosen else {}


def create_postgres_database(settings: Settings) -> None:
    admin_dsn = settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{settings.postgres_db}"')


def drop_namespace(settings: Settings) -> None:
    """Best-effort clean-up of one run's databases and topics (the read models too: in
    MongoDB's database or in schemas of PostgreSQL's)."""
    from clickhouse_driver import Client
    from pymongo import MongoClient

    from streams.topics import Topics
    from tanqory.wiring import event_contexts

    _drop_postgres_database(settings)
    with MongoClient(settings.mongo_uri, timeoutMS=60_000) as mongo:  # an error, never a hang
        mongo.drop_database(settings.mongo_db)
    clickhouse = Client(host=settings.clickhouse_host, port=settings.clickhouse_port)
    builds = clickhouse.execute(  # the analytics facts' builds (`tanqory rebuild`)
        f"SELECT name FROM system.databases WHERE startsWith(name, '{settings.clickhouse_db}__')")
    for (database,) in [(settings.clickhouse_db,), *builds]:
        clickhouse.execute(f"DROP DATABASE IF EXISTS {database}")
    topics = Topics(settings.kafka_topic_prefix)
    names = [n for c in event_contexts() for n in (topics.events(c), topics.dead_letters(c))]
    asyncio.run(_delete_topics(settings.kafka_bootstrap, names))


@retry(retry=retry_if_exception_type(psycopg.errors.InsufficientPrivilege),
       stop=stop_after_delay(30), wait=wait_exponential(multiplier=0.1, max=2), reraise=True)
def _drop_postgres_database(settings: Settings) -> None:
    """Drops the run's database with whoever is still connected. `WITH (FORCE)` refuses
    while an autovacuum worker is in it (a process of no role ours may signal), as after
    the load benchmarks' inserts: then it tries again once the worker is done."""
    admin_dsn = settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.postgres_db}" WITH (FORCE)')


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics([n for n in names if n in existing])
    finally:
        await admin.close()


def store_events(platform: Platform) -> list[EventEnvelope]:
    """Every public event in the platform's event stores, each context's in store order."""
    from tanqory.operations import history

    return history(platform.settings)


def wait_for_pipeline(platform: Platform, timeout: float = 120) -> None:
    """Returns once a write flows through relay, Kafka and worker into the read API."""
    created = httpx.post(
        f"{platform.command_url}/api/v1/products",
        json={"name": "Warm-up", "sku": f"WARMUP-{uuid.uuid4().hex[:8]}", "price": "1.00"},
        headers=platform.auth(Role.ADMIN), timeout=30,
    )
    assert created.status_code == 201, created.text
    url = f"{platform.read_url}/api/v1/products/{created.json()['id']}"
    headers = {"X-Consistency-Token": created.headers["X-Consistency-Token"]}

    def visible() -> bool:
        for name, process in platform.processes.items():
            if not process.alive:
                raise AssertionError(f"{name} exited:\n{process.log_tail()}")
        return httpx.get(url, headers=headers, timeout=30).status_code == 200

    wait_until(visible, timeout, "the first event to reach the read model")


@contextmanager
def server_platform(tmp: Path, **extra_env: str) -> Iterator[Platform]:
    """The server processes in a fresh namespace, mailing an SMTP sink; `extra_env`
    (TANQORY_* variables) overrides the rest."""
    with smtp_sink() as sink:
        yield from _server_platform(tmp, sink, extra_env)


def _server_platform(tmp: Path, sink: SmtpSink, extra_env: dict[str, str]
                     ) -> Iterator[Platform]:
    namespace = server_namespace()
    command_port, read_port = free_port(), free_port()
    env = _env(settings_for_tests(), **namespace, TANQORY_MODE="server",
               # stripe-mock of scripts/services.sh: never Stripe's own API from a test
               TANQORY_STRIPE_API_BASE=os.environ.get("TANQORY_STRIPE_API_BASE",
                                                      "http://127.0.0.1:12111"),
               TANQORY_COMMAND_API_PORT=str(command_port), TANQORY_READ_API_PORT=str(read_port),
               TANQORY_SMTP_PORT=str(sink.port), **read_store(), **extra_env)
    settings = Settings(**{k.removeprefix("TANQORY_").lower(): v for k, v in env.items()})
    create_postgres_database(settings)
    processes = {
        name: PlatformProcess(name, [name], env, tmp)
        for name in ("command-api", *AFTER_COMMAND_API)
    }
    platform = Platform(
        Mode.SERVER, f"http://127.0.0.1:{command_port}", f"http://127.0.0.1:{read_port}",
        settings, processes, sink,
    )
    try:
        # The command API first: it creates the event store's tables, which the relay
        # would otherwise race it to create in a fresh database.
        processes["command-api"].start().wait_healthy(platform.command_url)
        for name in AFTER_COMMAND_API:
            processes[name].start()
        processes["read-api"].wait_healthy(platform.read_url)
        wait_for_pipeline(platform)
        yield platform
    finally:
        for process in reversed(processes.values()):
            process.stop()
        drop_namespace(settings)
