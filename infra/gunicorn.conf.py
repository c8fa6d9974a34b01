"""Gunicorn settings for the Coko web process.

    gunicorn config.wsgi:application --config infra/gunicorn.conf.py

Every value can be tuned from the environment; defaults suit a container with
a 1-CPU limit behind ingress-nginx.
"""

import ipaddress
import os
import shutil


def _int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Processes x threads. WEB_CONCURRENCY wins; otherwise 2*cores+1, capped at 8
# (a pod should scale out through the HPA, not up).
workers = _int("WEB_CONCURRENCY", min(2 * _cpus() + 1, 8))
# gunicorn's gthread worker, whose own error answers (414 request line too long, 431 headers
# too large, 400 malformed request) are the API's JSON error envelope like every other error.
worker_class = "coko.platform.http.gunicorn_worker.EnvelopeWorker"
threads = _int("GUNICORN_THREADS", 4)

# Timeouts: requests taking longer than `timeout` get the worker recycled.
# graceful_timeout < Kubernetes terminationGracePeriodSeconds (30s).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then to bound memory growth.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Heartbeat files on tmpfs (the root filesystem is read-only in Kubernetes).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# gunicorn >= 25.1 opens a control socket under $HOME; HOME is read-only here.
control_socket_disable = True

# X-Forwarded-Proto (wsgi.url_scheme) and the forwarder headers (SCRIPT_NAME …) are believed
# only from the proxies the app trusts for X-Forwarded-For: COKO_TRUSTED_PROXIES (CIDRs; the
# ingress pods in the manifests; nobody when unset). "*" would let any client that reaches
# the process claim HTTPS (and skip COKO_SECURE_HTTPS's redirect) or move the path prefix.
def _trusted_proxies():
    cidrs = [item.strip() for item in os.environ.get("COKO_TRUSTED_PROXIES", "").split(",") if item.strip()]
    return ",".join(str(ipaddress.ip_network(cidr, strict=False)) for cidr in cidrs)


forwarded_allow_ips = _trusted_proxies()

# Logs: everything to stdout/stderr. Each request is logged once, by the application
# (coko.platform.http.middleware.RequestIdMiddleware: the real client, the request id, the
# status); gunicorn's own access line is off unless GUNICORN_ACCESS_LOG names a file ("-" for
# stdout), e.g. to also see what gunicorn refuses before the application (414, 431).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = (
    # "peer" is the TCP peer (the ingress pod); "forwarded_for" the header as received, which a
    # client can partly write: the app's own access line ("client") is the one to trust.
    '{"log":"access","peer":"%(h)s","forwarded_for":"%({x-forwarded-for}i)s","method":"%(m)s",'
    '"path":"%(U)s","query":"%(q)s","status":%(s)s,"bytes":"%(B)s",'
    '"duration_ms":%(M)s,"request_id":"%({x-request-id}i)s",'
    '"referer":"%(f)s","user_agent":"%(a)s"}'
)

# django-prometheus: with several worker processes each one keeps its own
# counters; when PROMETHEUS_MULTIPROC_DIR is set they are aggregated on disk.
_prom_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    if _prom_dir:
        shutil.rmtree(_prom_dir, ignore_errors=True)
        os.makedirs(_prom_dir, exist_ok=True)


def child_exit(server, worker):
    if _prom_dir:
        try:
            from prometheus_client import multiprocess
        except ImportError:
            return
        multiprocess.mark_process_dead(worker.pid)
