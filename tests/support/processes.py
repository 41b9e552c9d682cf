"""Platform processes started for real, as a user would: `tanqory <command>`."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

# Prefixed to every process a test or benchmark starts: util-linux's setpriv sets the
# parent-death signal (prctl PR_SET_PDEATHSIG) and execs the command, so the process gets
# SIGTERM when the thread that started it ends. A run that is interrupted or killed before
# its teardown leaves no server behind (unless killed in the instant between the start and
# setpriv's prctl).
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"]
TANQORY = [*DIE_WITH_PARENT, sys.executable, "-m", "tanqory.cli"]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs `tanqory *args` with only `env` for settings (none inherited from the caller)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TANQORY_")}
    return subprocess.run([*TANQORY, *args], env={**inherited, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PlatformProcess:
    """One `tanqory` process with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        # Unbuffered: what a process logged is in its file even when it is SIGKILLed.
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "PlatformProcess":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*TANQORY, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to flush, commit or say goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_healthy(self, base_url: str, timeout: float = 60) -> None:
        def healthy() -> bool:
            if not self.alive:
                raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
            return httpx.get(f"{base_url}/health", timeout=2).status_code == 200

        try:
            wait_until(healthy, timeout, f"{self.name} to answer /health")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {self.name} log ---\n{self.log_tail()}") from None
