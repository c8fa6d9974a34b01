"""make bench-catalog: the catalogue's read routes over HTTP, as in production.

In a scratch database (``<name>_benchcatalog`` on the configured server, dropped first and
after), it migrates, loads the goodbooks-10k catalogue (``--goodbooks DIR`` or
``COKO_GOODBOOKS_DIR``; without it the starter catalogue plus synthetic books up to 10,000),
then serves ``config.wsgi`` with gunicorn as production does (``infra/gunicorn.conf.py``:
gthread workers, access log; worker recycling off so it does not land inside a measurement)
and drives it over loopback with keep-alive HTTP/1.1 clients: ``--concurrency`` connections
shared by ``--processes`` load-generator processes (a lean raw-socket loop; it runs on the
same cores as the server, PostgreSQL and Redis, and its CPU time is printed).

Two servers run side by side: one with the catalog's Redis cache on (the default 300 s) and
one with it off (``COKO_CATALOG_CACHE_S=0``). So every route is measured twice:

* ``hit``:  the URLs were requested once beforehand, every measured request is a cache hit
  (Redis GET of the generation and of the page, then gzip);
* ``miss``: every request builds its page from PostgreSQL (the cache is bypassed).

Routes: the bare Django view (``/bench/bare``, every middleware, a tiny JSON body: the
baseline, measured first and last; the ratios use the mean), ``GET /api/v1/books`` (four
sorts × filters: none, top-level and child categories, language, access model, price
ceiling, author, sparse fields; first pages and cursor pages 2–3), ``GET /api/v1/books/{id}``
(random published books) and ``GET /api/v1/books/search?q=`` (a list of real queries with
accents, typos and prefixes, some with filters; the per-address search rate limit is lifted,
every client being 127.0.0.1). Half the requests ask for French, half for English; all
accept gzip. The srv/gen CPU columns are the cores used by the web server and by the load
generator.

The OPDS feeds are measured the same way: the newest feed at 20 entries (a cached page size)
and at 60 (Calibre-Web's page; not a cached page size, so its ``hit`` line is the page rebuilt
from one SQL statement and its books' cached entry fragments), and OPDS search. A
micro-benchmark line times rendering the 60-entry OPDS 1.2 feed in Python (every entry
rendered, and from the entries' cached fragments).

It prints requests/s and p50/p95/p99 latency of each, CPU milliseconds per request of the web
server (``web ms``) and of PostgreSQL (``pg ms``: the backends of the scratch database, whose
connections the servers keep for the whole run — ``DB_CONN_MAX_AGE`` — so none exits inside a
line; ``exited`` counts any that did, whose last CPU would be missing), the bytes per answer of
each route uncompressed, in gzip and in Brotli, then does it all again after
``catalog_synthesize`` has brought the catalogue to ``--large`` books (100,000).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import resource
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"

SEARCHES = [
    "harry potter", "hary poter", "harr", "hunger games", "the hunger", "tolkien", "tolkein", "lord of the rings",
    "agatha christie", "christie", "stephen king", "murakami", "garcía márquez", "garcia marquez",
    "one hundred years", "pride and prejudice", "pride prejudice", "jane austen", "1984", "orwell",
    "game of thrones", "percy jackson", "twilig", "dune", "sherlock holmes", "chimamanda", "adichie", "achebe",
    "things fall apart", "une si longue lettre", "mariama ba", "mariama bâ", "senghor", "léopold sédar senghor",
    "l'aventure ambigue", "kourouma", "mahfouz", "ngugi", "ngũgĩ", "coelho alchemist", "alchimiste", "romance",
    "vampire", "dragons", "histoire", "dakar", "zanzibar", "hadithi", "mémoire", "gatsby",
]
SEARCH_FILTERS = ["", "language=fr", "language=en", "access_model=free", "category=fiction"]


# --- environment ----------------------------------------------------------------------------------
def _bench_url(url: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=parsed.path.rstrip("/") + "_benchcatalog"))


def _admin_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/postgres")), parsed.path.lstrip("/")


def _prepare_environment() -> str:
    from coko.devtools import services

    base = os.environ.get("DATABASE_URL") or services.embedded_database_url()
    url = _bench_url(base)
    os.environ.update({
        "DATABASE_URL": url,
        "COKO_SPLIT_DATABASES": "0",
        "COKO_REDIS_NAMESPACE": "cokobenchcat",
        "COKO_BENCH_VIEWS": "1",
        # every client of the benchmark is 127.0.0.1: lift the per-address search limit (the
        # check itself still runs on every search, a Redis round trip)
        "COKO_CATALOG_SEARCH_PER_MIN": "1000000000",
        "COKO_LOG_CONSOLE": "1",
        "COKO_ENV": "development",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    })
    _drop_database(url, create=True)
    return url


def _drop_database(url: str, *, create: bool = False) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def _flush_redis() -> None:
    import redis

    for url in {os.environ.get("REDIS_URL") or "", os.environ.get("COKO_CACHE_REDIS_URL") or ""} - {""}:
        client = redis.Redis.from_url(url)  # the broker's and the cache's (the same when unset)
        for key in client.scan_iter("cokobenchcat:*", count=1000):
            client.delete(key)


def _sql(url: str, query: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def _manage(*args: str, log: Path) -> float:
    began = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ manage.py {' '.join(args)}\n")
        out.flush()
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=os.environ.copy(),
                                stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"FAILED: manage.py {' '.join(args)} (see {log})")
    return time.perf_counter() - began


#: a file record for every edition without one, as the files domain writes after an upload
_EPUB_RECORDS = """
WITH added AS (
    INSERT INTO catalog.catalog_format (id, edition_id, kind, file_id, media_type, size, sha256, created_at)
    SELECT gen_random_uuid(), e.id, 'epub', gen_random_uuid(), 'application/epub+zip',
           250000 + (hashtext(e.id::text) & 65535),
           md5(e.id::text) || md5(e.id::text || 'epub'), now()
    FROM catalog.catalog_edition e
    WHERE NOT EXISTS (SELECT 1 FROM catalog.catalog_format f WHERE f.edition_id = e.id)
    RETURNING 1)
SELECT count(*) FROM added
"""


def _last_line(log: Path, prefix: str) -> str:
    lines = [line for line in log.read_text().splitlines() if line.startswith(prefix)]
    return lines[-1] if lines else ""


# --- the servers -----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, *, name: str, cache_s: int, workers: int, threads: int) -> None:
        self.name, self.port = name, _free_port()
        self.log = ROOT / "var" / f"bench-catalog-{name}.log"
        env = {**os.environ, "GUNICORN_BIND": f"{HOST}:{self.port}", "WEB_CONCURRENCY": str(workers),
               "GUNICORN_THREADS": str(threads), "GUNICORN_MAX_REQUESTS": "0",
               "COKO_CATALOG_CACHE_S": str(cache_s), "DB_CONN_MAX_AGE": "86400"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "infra/gunicorn.conf.py"],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.get("/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"FAILED: gunicorn ({name}) did not start; see {self.log}")
            time.sleep(0.2)

    def get(self, path: str, lang: str = "en", encoding: str = "identity") -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            conn.request("GET", path, headers={"Accept-Language": lang, "Accept-Encoding": encoding})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            total = 0.0
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
            return total
        except psutil.Error:
            return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database`` (``/proc``: user + system)."""
    import psutil

    found = {}
    for proc in psutil.process_iter(["cmdline"]):
        try:
            line = " ".join(proc.info["cmdline"] or [])
            if line.startswith("postgres: ") and f" {database} " in f"{line} ":
                times = proc.cpu_times()
                found[proc.pid] = times.user + times.system
        except psutil.Error:
            continue
    return found


# --- the load generator ----------------------------------------------------------------------------
def _request(path: str, lang: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\n"
            f"Accept-Language: {lang}\r\nUser-Agent: coko-bench\r\n\r\n").encode()


def _complete(buffer: bytearray) -> tuple[int, int] | None:
    """(status, length of the whole response) once ``buffer`` holds one, else ``None``."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    if "content-length" in headers:
        total = end + 4 + int(headers["content-length"])
        return (status, total) if len(buffer) >= total else None
    if headers.get("transfer-encoding", "").lower() == "chunked":
        position = end + 4
        while True:
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
            position = line_end + 2 + size + 2
            if len(buffer) < position:
                return None
            if size == 0:
                return status, position
    return status, end + 4


def _generate(port: int, requests: list[bytes], connections: int, offset: int, start_at: float, warmup: float,
              duration: float, out) -> None:
    """One load-generator process: ``connections`` keep-alive connections, each sending its next
    request as soon as the previous answer is complete; latencies recorded in the window."""
    selector = selectors.DefaultSelector()
    rng = random.Random(offset)
    order = list(range(len(requests)))
    record_from, record_to = start_at + warmup, start_at + warmup + duration
    latencies: list[int] = []
    errors = 0
    statuses: dict[int, int] = {}

    def connect(index: int):
        sock = socket.create_connection((HOST, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        state = {"sock": sock, "buffer": bytearray(), "sent": 0, "next": rng.randrange(len(order)),
                 "index": index}
        selector.register(sock, selectors.EVENT_READ, state)
        return state

    def send(state) -> bool:
        now = time.perf_counter()
        if now >= record_to:
            return False
        state["next"] = (state["next"] + 1) % len(order)
        state["sent"] = time.perf_counter_ns()
        state["sock"].sendall(requests[order[state["next"]]])
        return True

    while time.perf_counter() < start_at:
        time.sleep(0.001)
    active = 0
    for index in range(connections):
        state = connect(index)
        if send(state):
            active += 1
    while active:
        for key, _ in selector.select(timeout=1.0):
            state = key.data
            try:
                chunk = state["sock"].recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:  # the server closed the connection: count it, open another
                errors += 1
                selector.unregister(state["sock"])
                state["sock"].close()
                active -= 1
                state = connect(state["index"])
                if send(state):
                    active += 1
                continue
            state["buffer"] += chunk
            done = _complete(state["buffer"])
            if done is None:
                continue
            status, length = done
            finished = time.perf_counter_ns()
            del state["buffer"][:length]
            if record_from <= time.perf_counter() <= record_to:
                latencies.append(finished - state["sent"])
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    errors += 1
            if not send(state):
                selector.unregister(state["sock"])
                state["sock"].close()
                active -= 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.send((latencies, errors, statuses, usage.ru_utime + usage.ru_stime))
    out.close()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(server: Server, requests: list[bytes], *, concurrency: int, processes: int, duration: float,
            warmup: float, database: str | None = None) -> dict:
    context = multiprocessing.get_context("fork")
    processes = max(1, min(processes, concurrency))
    start_at = time.perf_counter() + 0.3
    pipes, workers = [], []
    cpu_before = server.cpu_seconds()
    pg_before = postgres_cpu(database) if database else {}
    for number in range(processes):
        share = concurrency // processes + (1 if number < concurrency % processes else 0)
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(target=_generate, args=(server.port, requests, share, number * 7919, start_at,
                                                         warmup, duration, send))
        worker.start()
        pipes.append(receive)
        workers.append(worker)
    latencies: list[int] = []
    errors, client_cpu, statuses = 0, 0.0, {}
    for receive in pipes:
        lat, err, stat, cpu = receive.recv()
        latencies += lat
        errors += err
        client_cpu += cpu
        for code, count in stat.items():
            statuses[code] = statuses.get(code, 0) + count
    for worker in workers:
        worker.join()
    ms = [v / 1e6 for v in latencies]
    pg_after = postgres_cpu(database) if database else {}
    pg_seconds = sum(pg_after.values()) - sum(v for pid, v in pg_before.items() if pid in pg_after)
    served = max(1, len(latencies)) * (duration + warmup) / duration  # requests in the CPU window, warm-up included
    return {"rps": len(latencies) / duration,
            "web_ms": (server.cpu_seconds() - cpu_before) * 1000 / served, "pg_ms": pg_seconds * 1000 / served,
            "pg_exited": len(set(pg_before) - set(pg_after)), "p50": _percentile(ms, 50), "p95": _percentile(ms, 95),
            "p99": _percentile(ms, 99), "errors": errors, "statuses": statuses, "count": len(latencies),
            "client_cpu": client_cpu / duration,
            "server_cpu": (server.cpu_seconds() - cpu_before) / (duration + warmup)}


# --- what is requested ------------------------------------------------------------------------------
def _langs(concurrency: int) -> list[str]:
    return ["fr-SN,fr;q=0.9,en;q=0.5" if i % 2 == 0 else "en-GB,en;q=0.9" for i in range(max(2, concurrency))]


def list_paths(server: Server, *, url: str, rng: random.Random) -> list[str]:
    """List URLs: sorts × filters, first pages and the cursor pages that follow them."""
    tree = json.loads(server.get("/api/v1/categories")[1])
    tops = [node["slug"] for node in tree if node["book_count"]]
    children = [c["slug"] for node in tree for c in node["children"] if c["book_count"] >= 20]
    authors = [str(r[0]) for r in _sql(url, "SELECT id FROM catalog.catalog_author WHERE book_count >= 3 "
                                             "ORDER BY book_count DESC, id LIMIT 50")]
    filters = ["", "language=fr", "language=en", "access_model=free", "access_model=sale",
               "access_model=subscription", "price_max=3000", "fields=id,title,cover,authors", "limit=50"]
    filters += [f"category={slug}" for slug in rng.sample(tops, min(5, len(tops)))]
    filters += [f"category={slug}" for slug in rng.sample(children, min(5, len(children)))]
    filters += [f"author={a}" for a in rng.sample(authors, min(3, len(authors)))]
    filters += ["category=fiction&language=en", "access_model=sale&price_max=2500"]
    paths = []
    for sort in ("popularity", "newest", "rating", "title"):
        for extra in filters:
            path = f"/api/v1/books?sort={sort}" + (f"&{extra}" if extra else "")
            paths.append(path)
            for _ in range(2):  # cursor pages 2 and 3
                status, body = server.get(path)
                if status != 200:
                    raise SystemExit(f"FAILED: GET {path} answered {status}: {body[:300]!r}")
                cursor = json.loads(body).get("next_cursor")
                if not cursor:
                    break
                base = path.split("&cursor=")[0]
                path = f"{base}&cursor={quote(cursor)}"
                paths.append(path)
    return paths


def search_paths() -> list[str]:
    paths = []
    for number, query in enumerate(SEARCHES):
        extra = SEARCH_FILTERS[number % len(SEARCH_FILTERS)]
        paths.append("/api/v1/books/search?" + urlencode({"q": query}) + (f"&{extra}" if extra else ""))
        paths.append("/api/v1/books/search?" + urlencode({"q": query}))
    return list(dict.fromkeys(paths))


def detail_paths(url: str, count: int) -> list[str]:
    rows = _sql(url, "SELECT id FROM catalog.catalog_book WHERE status = 'published' ORDER BY random() LIMIT %s",
                [count])
    return [f"/api/v1/books/{r[0]}" for r in rows]


def _requests(paths: list[str], langs: list[str], rng: random.Random) -> list[bytes]:
    built = [_request(p, lang) for p in paths for lang in langs[:2]]
    rng.shuffle(built)
    return built


def _warm(server: Server, requests: list[bytes]) -> None:
    """Request every URL once (both languages), so that the measured requests are cache hits."""
    for raw in requests:
        head = raw.decode().split("\r\n")
        path = head[0].split(" ")[1]
        lang = next(h.split(": ", 1)[1] for h in head if h.startswith("Accept-Language"))
        status, body = server.get(path, lang)
        if status != 200:
            raise SystemExit(f"FAILED: GET {path} answered {status}: {body[:300]!r}")


# --- the run ------------------------------------------------------------------------------------------
def _row(name: str, cache: str, r: dict) -> str:
    return (f"  {name:<34} {cache:<5} {r['rps']:>8,.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f}"
            f" {r['errors']:>6} {r['server_cpu']:>7.2f} {r['client_cpu']:>7.2f} {r['web_ms']:>7.2f}"
            f" {r['pg_ms']:>7.2f} {r['pg_exited']:>6}")


_RENDER_BENCH = """
import statistics, time
from django.conf import settings
from django.test import override_settings
from coko.domains.catalog.opds import atom, feeds
urls = feeds.Urls(base="http://127.0.0.1/", version=1)
feed = feeds.new(params=feeds.Params(limit=60), lang="en")
def timed(runs=30):
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        body = atom.feed_render(feed, urls=urls, lang="en")
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), len(body)
with override_settings(COKO_CATALOG={**settings.COKO_CATALOG, "CACHE_S": 0}):
    cold, size = timed()
atom.feed_render(feed, urls=urls, lang="en")  # the entries' fragments stored
warm, _ = timed()
print(f"RENDER {len(feed.books)} {cold:.2f} {warm:.2f} {size}")
"""


def render_micro(log: Path) -> None:
    """Median milliseconds of Python to render the 60-entry OPDS 1.2 newest feed (its books
    already read): every entry rendered (cache off), and from the entries' cached fragments."""
    began = time.perf_counter()
    with log.open("a") as out:
        result = subprocess.run([sys.executable, "manage.py", "shell", "-c", _RENDER_BENCH], cwd=ROOT,
                                env={**os.environ, "COKO_CATALOG_CACHE_S": "300"}, capture_output=True, text=True)
        out.write(result.stdout + result.stderr)
    line = next((x for x in result.stdout.splitlines() if x.startswith("RENDER ")), None)
    if line is None:
        print(f"  OPDS 1.2 render micro-benchmark FAILED (see {log})")
        return
    _, entries, cold, warm, size = line.split()
    print(f"  render the OPDS 1.2 newest feed in Python ({entries} entries, {int(size):,} bytes, median of 30):"
          f" {float(cold):.2f} ms every entry rendered, {float(warm):.2f} ms from cached entry fragments"
          f" ({time.perf_counter() - began:.0f} s with start-up)", flush=True)


def bytes_per_response(server: Server, paths: dict[str, list[str]]) -> None:
    """Mean bytes on the wire per answer of each route, uncompressed, gzip and Brotli."""
    print(f"  bytes per response (mean over the route's URLs, body only): {'identity':>9} {'gzip':>8} {'br':>8}"
          f" {'br/gzip':>8}")
    for name, urls in paths.items():
        sizes = {}
        for encoding in ("identity", "gzip", "br"):
            bodies = [server.get(url, encoding=encoding) for url in urls]
            if any(status != 200 for status, _ in bodies):
                raise SystemExit(f"FAILED: {name} answered {[status for status, _ in bodies]}")
            sizes[encoding] = sum(len(body) for _, body in bodies) / len(bodies)
        print(f"    {name:<55} {sizes['identity']:>9,.0f} {sizes['gzip']:>8,.0f} {sizes['br']:>8,.0f}"
              f" {sizes['br'] / sizes['gzip']:>8.2f}", flush=True)


def opds_paths() -> dict[str, list[str]]:
    languages = ["", "language=en", "language=fr"]
    return {
        "newest 20": ["/opds/new?limit=20" + (f"&{extra}" if extra else "") for extra in languages],
        "newest 60": ["/opds/new?limit=60" + (f"&{extra}" if extra else "") for extra in languages],
        "search": list(dict.fromkeys("/opds/search?" + urlencode({"q": query}) for query in SEARCHES)),
    }


def run_suite(*, label: str, url: str, cached: Server, uncached: Server, options, rng: random.Random) -> dict:
    langs = _langs(options.concurrency)
    opds = opds_paths()
    lists = list_paths(uncached, url=url, rng=rng)
    searches = search_paths()
    details_miss = detail_paths(url, 3000)
    details_hit = details_miss[:100]
    bare_requests = _requests(["/bench/bare"], langs, rng)
    suites = {
        ("bare Django view (/bench/bare)", "-"): (cached, bare_requests),
        ("GET /api/v1/books", "hit"): (cached, _requests(lists, langs, rng)),
        ("GET /api/v1/books", "miss"): (uncached, _requests(lists, langs, rng)),
        ("GET /api/v1/books/{id}", "hit"): (cached, _requests(details_hit, langs, rng)),
        ("GET /api/v1/books/{id}", "miss"): (uncached, _requests(details_miss, langs, rng)),
        ("GET /api/v1/books/search?q=", "hit"): (cached, _requests(searches, langs, rng)),
        ("GET /api/v1/books/search?q=", "miss"): (uncached, _requests(searches, langs, rng)),
        **{(f"GET /opds {name}", cache): (server, _requests(paths, langs, rng))
           for name, paths in opds.items() for cache, server in (("hit", cached), ("miss", uncached))},
        ("bare Django view, again", "-"): (uncached, bare_requests),
    }
    print(f"\n{label} (load average {os.getloadavg()[0]:.2f}): {len(lists)} list URLs, "
          f"{len(details_miss)} books for detail (100 of them cached), "
          f"{len(searches)} searches; {options.duration:.0f} s per line after {options.warmup:.0f} s warm-up, "
          f"{options.concurrency} keep-alive connections from {options.processes} process(es)", flush=True)
    print(f"  {'route':<34} {'cache':<5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}"
          f" {'srv CPU':>7} {'gen CPU':>7} {'web ms':>7} {'pg ms':>7} {'exited':>6}")
    database = urlparse(url).path.lstrip("/")
    results = {}
    for (name, cache), (server, requests) in suites.items():
        if cache == "hit":
            _warm(server, requests)
        result = measure(server, requests, concurrency=options.concurrency, processes=options.processes,
                         duration=options.duration, warmup=options.warmup, database=database)
        results[(name, cache)] = result
        print(_row(name, cache, result), flush=True)
        if result["errors"]:
            print(f"    ERRORS: answers by status {result['statuses']}", flush=True)
    # the baseline, measured first and last (on each server): the ratios use their mean
    bare = (results[("bare Django view (/bench/bare)", "-")]["rps"]
            + results[("bare Django view, again", "-")]["rps"]) / 2
    ratios = {f"{route} {cache}": results[(f"GET /api/v1/books{suffix}", cache)]["rps"] / bare
              for route, suffix in (("list", ""), ("detail", "/{id}")) for cache in ("hit", "miss")}
    ratios.update({f"opds {name} {cache}": results[(f"GET /opds {name}", cache)]["rps"] / bare
                   for name in opds for cache in ("hit", "miss")})
    print(f"  throughput vs the bare view ({bare:,.0f} req/s, the mean of its two lines): "
          + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items())
          + "  (aims cold: detail >= 0.50, list >= 0.25, 60-entry feed >= 0.10)")
    render_micro(ROOT / "var" / "bench-catalog.log")
    search_p95 = results[("GET /api/v1/books/search?q=", "miss")]["p95"]
    print(f"  search p95 without cache: {search_p95:.1f} ms (aim at 100k books: < 50 ms)")
    bytes_per_response(cached, {
        "GET /api/v1/books (first pages, 20 a page)": lists[:20],
        "GET /api/v1/books?limit=100": ["/api/v1/books?limit=100"],
        "GET /api/v1/books/{id}": details_hit[:20],
        "GET /api/v1/books/search?q=": searches[:20],
        "GET /opds/new (OPDS 1.2 Atom)": ["/opds/new"],
        "GET /opds/v2/new (OPDS 2.0 JSON)": ["/opds/v2/new"],
    })
    return {"results": results, "ratios": ratios}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per line (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each measurement (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes (default 2)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 2),
                        help="gunicorn workers per server (default WEB_CONCURRENCY or 2, as make run)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--goodbooks", default=os.environ.get("COKO_GOODBOOKS_DIR") or None,
                        help="goodbooks-10k directory (default $COKO_GOODBOOKS_DIR)")
    parser.add_argument("--large", type=int, default=100_000, help="books in the second round (default 100000; "
                                                                   "0 skips it)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    options = parser.parse_args()

    url = _prepare_environment()
    _flush_redis()
    log = ROOT / "var" / "bench-catalog.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    print(f"coko bench-catalog: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
          f"scratch database {urlparse(url).path.lstrip('/')}; gunicorn {options.workers} workers x "
          f"{options.threads} threads (gthread) per server; commands logged in {log}", flush=True)
    servers: list[Server] = []
    rng = random.Random(20261128)
    try:
        _manage("migrate", "--verbosity", "0", log=log)
        goodbooks = Path(options.goodbooks) if options.goodbooks else None
        if goodbooks and (goodbooks / "books.csv").is_file():
            seconds = _manage("load_goodbooks", "--source", str(goodbooks), log=log)
            print(f"loaded goodbooks-10k from {goodbooks} in {seconds:.1f} s (manage.py, with book.published "
                  f"events): {_last_line(log, 'goodbooks-10k:')}")
            print("  data: goodbooks-10k, Zygmunt Zając, https://github.com/zygmuntz/goodbooks-10k (CC BY-SA 4.0)")
            label = "goodbooks-10k"
        else:
            _manage("load_demo_data", log=log)
            seconds = _manage("catalog_synthesize", "--total", "10000", log=log)
            print(f"no goodbooks-10k directory (--goodbooks / COKO_GOODBOOKS_DIR): starter catalogue + synthetic "
                  f"books up to 10,000 ({seconds:.1f} s)")
            label = "starter + synthetic"
        books = _sql(url, "SELECT count(*) FROM catalog.catalog_book")[0][0]
        attached = _sql(url, _EPUB_RECORDS)[0][0]
        print(f"  an EPUB record attached to {attached:,} editions without a file (the OPDS feeds list only books "
              f"with a file; the bytes are not stored, nothing downloads them)")
        cached = Server(name="cached", cache_s=300, workers=options.workers, threads=options.threads)
        servers.append(cached)
        uncached = Server(name="uncached", cache_s=0, workers=options.workers, threads=options.threads)
        servers.append(uncached)
        for server in servers:  # first requests of each worker thread: imports, connections
            measure(server, _requests(["/bench/bare", "/api/v1/books", "/api/v1/books/search?q=dakar"],
                                      _langs(2), rng),
                    concurrency=options.concurrency, processes=1, duration=3, warmup=1)
        small = run_suite(label=f"{books:,} books ({label})", url=url, cached=cached, uncached=uncached,
                          options=options, rng=rng)
        large = None
        if options.large and options.large > books:
            seconds = _manage("catalog_synthesize", "--total", str(options.large), log=log)
            books = _sql(url, "SELECT count(*) FROM catalog.catalog_book")[0][0]
            print(f"\ncatalog_synthesize brought the catalogue to {books:,} books in {seconds:.1f} s "
                  f"({_last_line(log, 'synthetic catalogue:')})")
            large = run_suite(label=f"{books:,} books ({label} + synthetic)", url=url, cached=cached,
                              uncached=uncached, options=options, rng=rng)
        print("\naims (issue 5), without the cache:")
        for name, suite in (("10k", small), (f"{options.large // 1000}k", large)):
            if suite is None:
                continue
            r = suite["results"]
            p95 = r[("GET /api/v1/books/search?q=", "miss")]["p95"]
            print(f"  {name}: search p95 {p95:.1f} ms {'<' if p95 < 50 else '>='} 50 ms; list / bare "
                  f"{suite['ratios']['list miss']:.2f}, detail / bare {suite['ratios']['detail miss']:.2f} "
                  f"(aim >= 0.50; with the cache: {suite['ratios']['list hit']:.2f} and "
                  f"{suite['ratios']['detail hit']:.2f})")
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine skews the figures)")
        failures = [s for s in (small, large) if s and any(
            r["errors"] for r in s["results"].values())]
        return 1 if failures else 0
    finally:
        for server in servers:
            server.stop()
        if not options.keep:
            _drop_database(url)


if __name__ == "__main__":
    from coko.devtools.bench.machine import machine_load

    with machine_load("bench-catalog"):
        status = main()
    sys.exit(status)
