"""How busy the machine was during a benchmark, so a reader can tell a noisy run from a slow one.

Every ``make bench-*`` wraps its run in ``machine_load(...)``: it prints the load average
before and after, and the CPU the *other* processes of the machine used meanwhile — the
busy time of every CPU (``/proc/stat``) minus the time of this benchmark's own processes
(this process, its descendants, and the servers it names with ``include``, e.g. the
embedded PostgreSQL and Redis). Linux only; elsewhere the lines say so.

Process CPU is read from ``/proc/<pid>/stat`` (user + system, plus the children a process
has waited for, so backends and workers that exited during the run are counted by their
parent).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_stat(pid: int) -> tuple[int, int, float] | None:
    """``(parent pid, start tick, CPU seconds incl. waited-for children)`` of ``pid``, or None."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), int(fields[19]), (utime + stime + cutime + cstime) / TICK


def _all_processes() -> dict[int, tuple[int, int, float]]:
    table = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None:
                table[int(entry.name)] = stat
    return table


def tree(roots: Iterable[int], table: dict[int, tuple[int, int, float]] | None = None) -> set[int]:
    """``roots`` and every descendant of them that is alive now."""
    table = _all_processes() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [pid for pid in roots if pid in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def tree_cpu(roots: Iterable[int]) -> dict[tuple[int, int], float]:
    """CPU seconds so far of each process of the trees of ``roots``, keyed by (pid, start)."""
    table = _all_processes()
    return {(pid, table[pid][1]): table[pid][2] for pid in tree(roots, table)}


def cpu_used(before: dict[tuple[int, int], float], after: dict[tuple[int, int], float]) -> float:
    """CPU seconds spent between two ``tree_cpu`` snapshots (a new process: all of its time)."""
    return sum(seconds - before.get(key, 0.0) for key, seconds in after.items())


def busy_seconds() -> float:
    """CPU seconds every CPU of the machine spent busy since boot (``/proc/stat``)."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


@dataclass
class MachineLoad:
    """The machine during one run; ``include(pid)`` counts a server's process tree as ours."""

    name: str
    roots: set[int] = field(default_factory=lambda: {os.getpid()})
    began: float = 0.0
    busy: float = 0.0
    ours: dict[tuple[int, int], float] = field(default_factory=dict)

    def include(self, *pids: int | None) -> None:
        new = {pid for pid in pids if pid}
        if new - self.roots:
            self.roots |= new
            self.ours.update({k: v for k, v in tree_cpu(new).items() if k not in self.ours})

    def start(self) -> str:
        self.began, self.busy, self.ours = time.monotonic(), busy_seconds(), tree_cpu(self.roots)
        return f"{self.name}: machine before the run: {_load()}"

    def finish(self) -> str:
        wall = time.monotonic() - self.began
        busy = busy_seconds() - self.busy
        ours = cpu_used(self.ours, tree_cpu(self.roots))
        others = max(0.0, busy - ours)
        return (f"{self.name}: machine after the run: {_load()}; over {wall:.0f} s the other "
                f"processes of the machine used {others / wall:.2f} CPU ({others:.1f} CPU-s), "
                f"this benchmark's {ours / wall:.2f} CPU ({ours:.1f} CPU-s)")


def embedded_server_pids() -> list[int]:
    """The embedded PostgreSQL's postmaster and Redis servers, when this run uses them
    (``coko.devtools.services``); a server of the machine is shared, not counted as ours."""
    from coko.devtools import services

    pids = []
    run_dir = str(services.RUN_DIR)
    if run_dir in os.environ.get("DATABASE_URL", ""):
        pids.append(services.PG_DATA / "postmaster.pid")
    if run_dir in os.environ.get("REDIS_URL", ""):
        pids += [services.RUN_DIR / "redis.pid", services.RUN_DIR / "redis-cache.pid"]
    found = []
    for path in pids:
        try:
            found.append(int(path.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
    return found


@contextmanager
def machine_load(name: str, *, say=lambda line: print(line, flush=True)) -> Iterator[MachineLoad]:
    """Print the machine's load before and after the block, and the other processes' CPU
    (this process's tree and the embedded servers it uses count as the benchmark's)."""
    if not (PROC / "stat").exists():
        say(f"{name}: no /proc here: the machine's load and other processes' CPU are not reported")
        yield MachineLoad(name)
        return
    load = MachineLoad(name, roots={os.getpid(), *embedded_server_pids()})
    say(load.start())
    try:
        yield load
    finally:
        say(load.finish())
