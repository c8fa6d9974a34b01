"""A revocation reaches every process's copy of the deny-list within a second.

Each process answers from its own copy (``coko.platform.auth.revocations``), told of new
revocations by Redis pub/sub. Here the copy is another, real process: it is asked again
and again (as requests would) whether a token is revoked; this test revokes it and the
other process must refuse it within ``BOUND_S`` of the revocation being acknowledged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from coko.platform.auth import denylist

ROOT = Path(__file__).resolve().parents[3]
BOUND_S = 1.0

# The other process: "ready" once its copy is confirmed, then one answer per line asked.
CHILD = """
import sys, django
django.setup()
from coko.platform.auth import denylist
import time
copy = denylist.mirror()
while not copy.trusted():
    time.sleep(0.005)
print("ready", flush=True)
for line in sys.stdin:
    jti, session_id, user_id, roles_version = (line.split() + ["", ""])[:4]
    trusted = copy.trusted()
    status = denylist.revocation_status(jti, session_id, user_id or None, roles_version)
    print(f"{status} {'copy' if trusted else 'redis'}", flush=True)
"""


@pytest.fixture
def other_process():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": settings.REDIS_URL,
           "COKO_REDIS_NAMESPACE": settings.REDIS_NAMESPACE, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = child.stdout.readline()
        assert line.strip() == "ready", f"the other process did not start: {line!r}"

        def ask(*ids: str) -> tuple[str, str]:
            child.stdin.write(" ".join(ids) + "\n")
            child.stdin.flush()
            status, source = child.stdout.readline().split()
            return status, source

        yield ask
    finally:
        child.stdin.close()
        child.wait(10)


def _refused_within(ask, ids: tuple[str, ...], expected: str, revoked_at: float) -> str:
    """Ask until the other process answers ``expected``; fail if that takes over ``BOUND_S``."""
    while True:
        status, source = ask(*ids)
        if status == expected:
            return source
        assert time.monotonic() - revoked_at <= BOUND_S, (
            f"the other process still accepted it {time.monotonic() - revoked_at:.2f} s after the revocation")


def test_a_token_revoked_here_is_refused_by_another_process_within_a_second(other_process):
    assert other_process("jti-p1", "session-p1") == ("None", "copy")  # answered from its own copy

    denylist.token_revoke("jti-p1", time.time() + 300)
    revoked_at = time.monotonic()

    _refused_within(other_process, ("jti-p1", "session-p1"), "token", revoked_at)
    assert other_process("jti-p2", "session-p1")[0] == "None"  # another token of the session stands


def test_a_session_and_a_role_change_reach_another_process_within_a_second(other_process):
    assert other_process("jti-s1", "session-s1", "user-s1", "")[0] == "None"

    denylist.session_revoke("session-s1")
    _refused_within(other_process, ("jti-s1", "session-s1"), "session", time.monotonic())
    denylist.roles_changed(["user-s1"])
    _refused_within(other_process, ("jti-s2", "session-s2", "user-s1", ""), "roles", time.monotonic())


def test_a_copy_started_after_a_revocation_refuses_the_token_from_its_first_answer():
    """A new process (or one whose subscription was lost) starts from the index of live
    revocations, read after subscribing: nothing revoked before it is missed."""
    denylist.token_revoke("jti-early", time.time() + 300)
    denylist.reset_redis_client()  # this process's copy is dropped; the next one starts afresh
    copy = denylist.mirror()
    deadline = time.monotonic() + 5
    while not copy.trusted():
        assert time.monotonic() < deadline, "the new copy never confirmed itself"
        time.sleep(0.005)
    assert copy.status("jti-early", "session-x", None, "") == "token"
    assert copy.status("jti-other", "session-x", None, "") is None
