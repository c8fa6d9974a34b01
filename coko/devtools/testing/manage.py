"""Run ``manage.py`` in a child process, the way an operator would, for start-up tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def manage(*args: str, unset: Iterable[str] = (), **env: str) -> subprocess.CompletedProcess:
    """``python manage.py *args`` with ``env`` set and the ``unset`` variables removed."""
    drop = set(unset) | set(env)
    environ = {key: value for key, value in os.environ.items() if key not in drop}
    environ.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)
