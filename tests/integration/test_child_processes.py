"""No process a test starts outlives the test run, even one killed before its teardown."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.processes import DIE_WITH_PARENT
from tests.support.waiting import wait_until

# A stand-in for a test run: starts a child as the test helpers do and says its pid; the
# child says when it runs (past setpriv, so the parent-death signal is set). Both read the
# test's pipe (the child inherits it) until the test closes it, so neither lives past the
# test, whatever happens.
CHILD = "import sys; print('up', flush=True); sys.stdin.read()"
RUN = f"""
import subprocess, sys
child = subprocess.Popen({DIE_WITH_PARENT!r} + [sys.executable, "-c", {CHILD!r}])
print(child.pid, flush=True)
sys.stdin.read()
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_started_process_ends_when_the_run_that_started_it_is_killed() -> None:
    run = subprocess.Popen([sys.executable, "-c", RUN], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    assert run.stdin is not None and run.stdout is not None
    try:
        child = int(run.stdout.readline())
        assert run.stdout.readline() == "up\n" and _running(child)
        os.kill(run.pid, signal.SIGKILL)  # no teardown, no atexit
        run.wait(timeout=10)
        wait_until(lambda: not _running(child), 10, "the child to end with its parent")
    finally:
        run.stdin.close()  # the child's end of the test too
        if run.poll() is None:
            run.kill()
