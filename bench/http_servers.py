"""Real servers for the HTTP benchmarks: `tanqory` processes and the bare baseline app.

Each context manager starts its processes as a user would, waits until they answer, and
stops them after; the server ones work in a fresh namespace (databases and topics) of
their own and drop it. The platform's per-client rate limit stays on (it is part of every
request's path) but is raised far above what a benchmark sends.
"""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from runtime.auth import Role
from runtime.settings import Mode
from tests.support.platform import (
    TEST_SECRET,
    Platform,
    create_postgres_database,
    drop_namespace,
    embedded_platform,
    server_namespace,
    settings_for_tests,
    wait_for_pipeline,
)
from tests.support.processes import DIE_WITH_PARENT, PlatformProcess, free_port
from tests.support.waiting import wait_until

SERVER_PROCESSES = ("command-api", "relay", "worker", "read-api")
RATE_LIMIT = str(10**9)  # a minute's budget no benchmark reaches
ROOT = Path(__file__).resolve().parents[1]


def platform_env(**extra: str) -> dict[str, str]:
    """What every benchmarked `tanqory` process gets, besides the services' variables."""
    return {
        "TANQORY_ENV": "test",
        "TANQORY_JWT_SECRET": TEST_SECRET,
        "TANQORY_LOG_LEVEL": "WARNING",
        "TANQORY_RATE_LIMIT_PER_MINUTE": RATE_LIMIT,
        # stripe-mock of scripts/services.sh: never Stripe's own API from a benchmark
        "TANQORY_STRIPE_API_BASE": os.environ.get("TANQORY_STRIPE_API_BASE",
                                                  "http://127.0.0.1:12111"),
        **extra,
    }


@contextmanager
def embedded_server() -> Iterator[Platform]:
    """`tanqory serve --no-demo`: the only HTTP path to a SQLite event store (it also
    projects in-process, into SQLite read models and chDB)."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, embedded_platform(
        Path(tmp), TANQORY_LOG_LEVEL="WARNING", TANQORY_RATE_LIMIT_PER_MINUTE=RATE_LIMIT
    ) as platform:
        yield platform


@contextmanager
def server_platform(names: Iterable[str] = SERVER_PROCESSES) -> Iterator[Platform]:
    """The server-mode processes `names` in a fresh namespace; with all four, returns
    once a first write has gone through relay, Kafka and worker into the read API."""
    names = tuple(names)
    command_port, read_port = free_port(), free_port()
    env = platform_env(**server_namespace(), TANQORY_MODE="server",
                       TANQORY_COMMAND_API_PORT=str(command_port),
                       TANQORY_READ_API_PORT=str(read_port))
    settings = settings_for_tests(**{k.removeprefix("TANQORY_").lower(): v
                                     for k, v in env.items() if k not in _TEST_KEYS})
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        env["TANQORY_DATA_DIR"] = str(Path(tmp) / "data")
        processes = {n: PlatformProcess(n, [n], env, Path(tmp)) for n in names}
        platform = Platform(Mode.SERVER, f"http://127.0.0.1:{command_port}",
                            f"http://127.0.0.1:{read_port}", settings, processes)
        create_postgres_database(settings)
        try:
            _start(platform)
            yield platform
        except BaseException:
            _print_logs(platform)
            raise
        finally:
            for process in reversed(processes.values()):
                process.stop()
            drop_namespace(settings)


_TEST_KEYS = frozenset({"TANQORY_ENV", "TANQORY_JWT_SECRET"})  # settings_for_tests sets them


def _start(platform: Platform) -> None:
    """The command API first: it and the relay both create the event store's tables, and
    two processes doing so at once in a fresh database can collide (a duplicate key in
    PostgreSQL's catalog)."""
    first = platform.processes.get("command-api")
    if first is not None:
        first.start().wait_healthy(platform.command_url)
    for process in platform.processes.values():
        if process is not first:
            process.start()
    if "read-api" in platform.processes:
        platform.processes["read-api"].wait_healthy(platform.read_url)
    if set(SERVER_PROCESSES) <= set(platform.processes):
        wait_for_pipeline(platform)


def _print_logs(platform: Platform) -> None:
    for name, process in platform.processes.items():
        print(f"--- {name} (last lines) ---\n{process.log_tail()}", file=sys.stderr)


def editor_headers(platform: Platform) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.token(Role.PRODUCT_MANAGER, subject='bench')}"}


@contextmanager
def bare_server(body: bytes, content_type: str) -> Iterator[str]:
    """The baseline app (bench/bare_app.py) on a free port; yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        body_file = Path(tmp) / "body"
        body_file.write_bytes(body)
        process = subprocess.Popen(
            [*DIE_WITH_PARENT, sys.executable, "-m", "bench.bare_app", str(port),
             str(body_file), content_type],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200,
                       30, "the bare baseline app to answer")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    return _status_mib(pid, "VmHWM")


def resident_memory_mib(pid: int) -> float:
    """The process's resident set size now (VmRSS), in MiB."""
    return _status_mib(pid, "VmRSS")


def _status_mib(pid: int, name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) / 1024  # reported in kB
    raise RuntimeError(f"no {name} for process {pid}")

