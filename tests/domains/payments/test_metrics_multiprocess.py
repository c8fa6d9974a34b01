"""Payments' metrics under gunicorn: each worker process counts in its own file
(``PROMETHEUS_MULTIPROC_DIR``, as ``infra/gunicorn.conf.py`` and the web deployment set it) and
the web's ``/metrics`` adds them up, like the project's other metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PRETEND_WORKER = """
from coko.domains.payments import metrics
metrics.STARTED.labels("wave").inc()
metrics.WEBHOOKS_REJECTED.labels("wave", "signature_mismatch").inc()
metrics.CONFIRMATION.labels("wave").observe(12)
"""


@pytest.mark.django_db(databases="__all__")
def test_two_worker_processes_counts_are_added_up_at_metrics(client, monkeypatch, tmp_path):
    for _worker in range(2):  # separate processes, each importing the metrics with the directory set
        subprocess.run([sys.executable, "-c", PRETEND_WORKER], check=True, cwd=ROOT,
                       env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body = client.get("/metrics").content.decode()
    assert 'coko_payments_started_total{provider="wave"} 2.0' in body
    assert 'coko_payment_webhooks_rejected_total{provider="wave",reason="signature_mismatch"} 2.0' in body
    assert 'coko_payment_confirmation_seconds_count{provider="wave"} 2.0' in body
    assert 'coko_payment_confirmation_seconds_sum{provider="wave"} 24.0' in body
