"""Prometheus metrics of payments (the process's default registry, exported at /metrics).

- ``coko_payments_started_total{provider}``: checkouts opened at a provider;
- ``coko_payments_succeeded_total{provider}`` / ``coko_payments_failed_total{provider}``:
  payments settled (granted) / closed as failed, cancelled or expired after the provider said so;
- ``coko_payment_webhooks_rejected_total{provider, reason}``: notifications that could not be
  verified (signature_mismatch, signature_too_old, payment_unknown, token_mismatch …);
- ``coko_payment_confirmation_seconds{provider}``: from a payment's start to its confirmation.

Counters and a histogram only (no gauge), so gunicorn's multiprocess mode adds them up without
a ``multiprocess_mode``: the web counts starts and rejected webhooks, the worker (which
confirms) successes, failures and confirmation times; each exports its own at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

STARTED = Counter("coko_payments_started_total", "Payments started at a provider", ["provider"])
SUCCEEDED = Counter("coko_payments_succeeded_total", "Payments confirmed and granted", ["provider"])
FAILED = Counter("coko_payments_failed_total", "Payments the provider said failed, were cancelled or expired",
                 ["provider"])
WEBHOOKS_REJECTED = Counter("coko_payment_webhooks_rejected_total", "Provider notifications that failed verification",
                            ["provider", "reason"])
CONFIRMATION = Histogram("coko_payment_confirmation_seconds", "Time from a payment's start to its confirmation",
                         ["provider"], buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 86400))
