"""No process a test starts outlives the test run, even one killed before its teardown."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.processes import DIE_WITH_PARENT
from tests.support.waiting import wait_until

# A stand-in for a test run: starts a long-lived child as the test helpers do, says its
# pid, and waits to be killed.
RUN = f"""
import subprocess, sys, time
child = subprocess.Popen({DIE_WITH_PARENT!r} + [sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_started_process_ends_when_the_run_that_started_it_is_killed() -> None:
    run = subprocess.Popen([sys.executable, "-c", RUN], stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout is not None
        child = int(run.stdout.readline())
        assert _running(child)
        os.kill(run.pid, signal.SIGKILL)  # no teardown, no atexit
        run.wait(timeout=10)
        wait_until(lambda: not _running(child), 10, "the child to end with its parent")
    finally:
        if run.poll() is None:
            run.kill()
