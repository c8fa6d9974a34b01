"""``make run``'s process manager (coko.devtools.supervisor) with real child processes.

The fault it stops: one process of ``make run`` dying (a worker killed with
``kill -9``, a relay crashing) stopped the whole platform, databases included.
Now the child is restarted after a back-off, with a line in the console, and a
child that keeps dying backs off up to a cap. Time is the ``clock`` fixture's;
the children are real processes that really exit.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from coko.devtools.supervisor import Supervisor

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
STAYS_UP = [sys.executable, "-c", "import time\nwhile True: time.sleep(60)"]


@pytest.fixture
def supervisor():
    lines: list[str] = []
    sup = Supervisor(say=lines.append, base_delay=1.0, max_delay=8.0, healthy_after=60.0)
    sup.lines = lines
    yield sup
    sup.stop_all(timeout=5)


def died(child) -> None:
    """Wait (bounded) for the real child process to be gone."""
    child.process.wait(timeout=30)


def test_a_child_that_exits_is_restarted_after_a_back_off_with_a_line_in_the_console(supervisor, clock):
    child = supervisor.start("worker", EXITS)
    first = child.process.pid
    died(child)

    supervisor.poll()
    assert supervisor.lines == ["worker exited (status 3); restarting in 1s"]
    assert child.process.pid == first  # not yet: it waits for its back-off

    clock.advance(0.9)
    supervisor.poll()
    assert child.process.pid == first

    clock.advance(0.2)
    supervisor.poll()
    assert child.process.pid != first  # a new process
    assert supervisor.lines[-1] == f"restarted worker (pid {child.process.pid}, restart 1)"


def test_a_child_that_keeps_dying_backs_off_up_to_a_cap(supervisor, clock):
    child = supervisor.start("relay", EXITS)
    for _ in range(6):
        died(child)
        supervisor.poll()  # noticed: the back-off starts
        clock.advance(child.delay)
        supervisor.poll()  # due: started again
    assert child.history == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert child.restarts == 6
    assert supervisor.lines[-2] == "relay exited (status 3); restarting in 8s"


def test_a_child_that_stayed_up_a_while_starts_again_from_the_base_delay(supervisor, clock):
    child = supervisor.start("web", EXITS)
    for _ in range(3):  # dying quickly: 1, 2, 4 s
        died(child)
        supervisor.poll()
        clock.advance(child.delay)
        supervisor.poll()
    child.command = STAYS_UP
    died(child)
    supervisor.poll()
    clock.advance(child.delay)
    supervisor.poll()  # restarted with a command that stays up
    assert child.running

    clock.advance(120)  # up for two minutes, then killed as the OOM killer would
    child.process.send_signal(signal.SIGKILL)
    died(child)
    supervisor.poll()
    assert child.history == [1.0, 2.0, 4.0, 8.0, 1.0]
    assert supervisor.lines[-1] == "web exited (killed by SIGKILL); restarting in 1s"


def test_the_others_keep_running_when_one_dies_and_stop_all_stops_every_one(supervisor, clock):
    steady = supervisor.start("web", STAYS_UP)
    flaky = supervisor.start("worker", EXITS)
    watched = supervisor.watch("simulators", subprocess.Popen(EXITS, start_new_session=True))
    died(flaky)
    watched.process.wait(timeout=30)
    supervisor.poll()
    assert steady.running
    assert "simulators exited (status 3); it is not restarted, the rest goes on" in supervisor.lines

    supervisor.stop_all(timeout=5)  # Ctrl-C
    assert steady.process.poll() == -signal.SIGTERM
    clock.advance(60)
    supervisor.poll()  # nothing restarts after a stop
    assert not flaky.running and not steady.running
