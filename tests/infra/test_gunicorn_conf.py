"""Each request is logged once: by the application, not a second time by gunicorn."""

from __future__ import annotations

import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "infra" / "gunicorn.conf.py"


def test_gunicorn_s_access_line_is_off_unless_asked(monkeypatch):
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    assert runpy.run_path(str(CONF))["accesslog"] is None
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    assert runpy.run_path(str(CONF))["accesslog"] == "-"
