"""The backing services as the fault tests see them: killed without warning, started again."""

import os
import signal
import subprocess
from pathlib import Path

from tests.support.waiting import wait_until

SERVICES = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"


def _services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SERVICES), *args], capture_output=True, text=True,
                          timeout=240, check=False)


def kill(service: str) -> None:
    """SIGKILL the service's main process and wait until it is reaped: as a zombie, its
    other threads may still hold its ports for a moment."""
    found = _services("pid", service)
    assert found.returncode == 0, found.stderr
    pid = int(found.stdout.strip())
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), 30, f"{service} (pid {pid}) to die")


def start(service: str) -> None:
    """Starts the service and returns once it is ready (the script waits with a deadline)."""
    started = _services("up", service)
    assert started.returncode == 0, started.stderr
