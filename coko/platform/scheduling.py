"""Scheduled jobs: work that must happen every so often (expire unpaid orders, lapse passes,
poll payments whose webhook never came), run by the workers, timed by one clock for the
whole deployment.

A domain declares a job in its ``tasks.py``::

    from coko.platform.scheduling import scheduled

    @scheduled("payments.orders_expire", every_s=60)
    def orders_expire() -> None:
        services.orders_expire()

The clock is a thread of every relay process (``manage.py relay_outbox``): one of them at a
time holds a Redis lease (``SET NX PX``, renewed while it lives) and, when a job is due,
enqueues it as a dramatiq message to the ``scheduled`` queue; any worker runs it. When a job
last ran is kept in Redis, so a new leader (the old one died, a deploy) neither skips a job
nor runs it twice in a row. A job must be safe to run twice anyway: a message may be
delivered again after a worker dies, and two leaders may overlap for up to one tick if a
lease expires while its holder is paused. Nothing is lost while no relay runs: due jobs run
when one comes back.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq

from coko.platform import clock
from coko.platform.observability import get_logger

QUEUE = "scheduled"
ACTOR = "platform.scheduled_job"
TICK_S = 5.0
LEASE_MS = 15_000

log = get_logger("coko.scheduling")


@dataclass(frozen=True)
class Job:
    name: str
    every_s: int
    func: Callable[[], object]


_jobs: dict[str, Job] = {}


def scheduled(name: str, *, every_s: int) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Run the decorated function (no arguments) every ``every_s`` seconds, in a worker."""
    if every_s < TICK_S:
        raise ValueError(f"{name}: a job runs at most every {TICK_S:g} s")

    def register(func: Callable[[], object]) -> Callable[[], object]:
        if name in _jobs and _jobs[name].func is not func:
            raise ValueError(f"scheduled job {name!r} is declared twice")
        _jobs[name] = Job(name=name, every_s=every_s, func=func)
        return func

    return register


def jobs() -> list[Job]:
    """Every declared job (the domains' ``tasks`` modules are imported at start-up)."""
    return sorted(_jobs.values(), key=lambda job: job.name)


def job_run(name: str) -> None:
    """The body of the ``platform.scheduled_job`` actor: run one job now."""
    job = _jobs.get(name)
    if job is None:  # declared by a newer release than this worker's: its own workers will run it
        log.warning("scheduled job unknown to this worker", job=name)
        raise LookupError(name)
    job.func()


def declare_actor() -> dramatiq.Actor:
    """The actor every worker runs scheduled jobs with (bound to the current global broker)."""
    return dramatiq.actor(job_run, actor_name=ACTOR, queue_name=QUEUE, max_retries=3,
                          min_backoff=5_000, time_limit=10 * 60 * 1000)


class Clock:
    """The leader's loop: hold the lease, enqueue the jobs that are due. ``tick()`` is one pass
    (tests call it); ``run_in_thread()`` loops until ``stop()``."""

    def __init__(self, *, redis, namespace: str, broker=None) -> None:
        self.redis, self.broker = redis, broker
        self.lease_key, self.last_key = f"{namespace}:scheduler:leader", f"{namespace}:scheduler:last"
        self.me = uuid.uuid4().hex
        self._stop = threading.Event()

    def _lead(self) -> bool:
        if self.redis.set(self.lease_key, self.me, nx=True, px=LEASE_MS):
            return True
        # ours: renew it (compare and extend, atomically)
        return bool(self.redis.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
            1, self.lease_key, self.me, LEASE_MS))

    def tick(self) -> list[str]:
        """Enqueue every due job if this process leads; the names enqueued."""
        if not self._lead():
            return []
        now = clock.time()
        last = {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in self.redis.hgetall(self.last_key).items()}
        due = [job for job in jobs() if now - last.get(job.name, 0.0) >= job.every_s]
        broker = self.broker or dramatiq.get_broker()
        for job in due:
            self.redis.hset(self.last_key, job.name, now)
            broker.enqueue(dramatiq.Message(queue_name=QUEUE, actor_name=ACTOR, args=(job.name,), kwargs={},
                                            options={}))
        return [job.name for job in due]

    def run_in_thread(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception as exc:  # Redis away: try again next tick, the jobs wait
                    log.warning("scheduler tick failed", error=str(exc))
                self._stop.wait(TICK_S)
            if self.redis.get(self.lease_key) in (self.me, self.me.encode()):
                self.redis.delete(self.lease_key)  # hand over at once

        thread = threading.Thread(target=loop, name="coko-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


__all__ = ["ACTOR", "QUEUE", "Clock", "Job", "declare_actor", "job_run", "jobs", "scheduled"]
