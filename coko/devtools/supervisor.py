"""A small process manager for ``make run``: a child that dies is started again.

Before, ``make run`` stopped everything, databases included, when any one of its
processes exited (a worker killed by the OOM killer, a relay that lost a fight
with a bug): one crash took the whole platform down. Now each supervised child is
restarted after a back-off that doubles on every quick death, up to a cap, and
goes back to the base delay once the child has stayed up a while; every death and
restart is a line in the console. Ctrl-C still stops everything (``stop_all``).

Time is read from ``coko.platform.clock`` (the tests move it with the ``clock``
fixture); the children are real processes. ``poll()`` does one pass and never
waits: the caller loops.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coko.platform import clock


@dataclass
class Child:
    name: str
    command: Sequence[str] | None  # None: watched only (told when it dies, not restarted)
    env: Mapping[str, str] | None = None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float = 0.0  # the back-off before the next restart (0: not yet failed)
    restart_at: float | None = None  # when a dead child is due to start again
    restarts: int = 0
    gone: bool = False  # a watched-only child that exited
    history: list[float] = field(default_factory=list)  # the back-offs applied, in order

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Start children, restart the ones that die with a capped exponential back-off."""

    def __init__(self, *, cwd: Path | str | None = None, say: Callable[[str], None] = print,
                 base_delay: float = 1.0, max_delay: float = 30.0, healthy_after: float = 60.0) -> None:
        self.cwd = cwd
        self.say = say
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.healthy_after = healthy_after  # up this long: its next death starts the back-off again
        self.children: dict[str, Child] = {}
        self.stopped = False

    # --- starting -------------------------------------------------------------------------------
    def start(self, name: str, command: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
        child = self.children[name] = Child(name, list(command), dict(env) if env is not None else None)
        self._spawn(child)
        return child

    def watch(self, name: str, process: subprocess.Popen) -> Child:
        """A child started elsewhere: reported when it exits, never restarted."""
        child = self.children[name] = Child(name, None, process=process, started_at=clock.monotonic())
        return child

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, cwd=self.cwd, env=child.env, start_new_session=True)
        child.started_at = clock.monotonic()
        child.restart_at = None

    # --- one pass ---------------------------------------------------------------------------------
    def poll(self) -> None:
        """Notice the children that died, restart those whose back-off is over."""
        if self.stopped:
            return
        now = clock.monotonic()
        for child in self.children.values():
            if child.gone:
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._spawn(child)
                    child.restarts += 1
                    self.say(f"restarted {child.name} (pid {child.process.pid}, restart {child.restarts})")
                continue
            if child.process is None or child.process.poll() is None:
                continue
            status = _status(child.process.returncode)
            if child.command is None:
                child.gone = True
                self.say(f"{child.name} exited ({status}); it is not restarted, the rest goes on")
                continue
            if now - child.started_at >= self.healthy_after or not child.delay:
                child.delay = self.base_delay
            else:
                child.delay = min(child.delay * 2, self.max_delay)
            child.history.append(child.delay)
            child.restart_at = now + child.delay
            self.say(f"{child.name} exited ({status}); restarting in {child.delay:g}s")

    # --- stopping -----------------------------------------------------------------------------------
    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every running child's process group, then SIGKILL what is left after ``timeout``."""
        self.stopped = True
        live = [child.process for child in self.children.values() if child.running]
        for process in live:
            _signal_group(process, signal.SIGTERM)
        for process in live:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for child in self.children.values():
            child.restart_at = None

    def all_running(self) -> bool:
        return all(child.running for child in self.children.values())


def _status(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"status {returncode}"


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
