"""Nobody fills the catalogue cache, and the cache never touches the broker's Redis (issue 10).

The attack: vary an anonymous list query (junk parameters, forged cursors, prices, page
sizes, unknown categories, authors and languages) so that every request stores a new
entry, until the cache's memory crowds out the broker's queues, the token deny-list and
the rate limits. What stops it: a key derives only from the route's normalised
parameters, only bounded shapes are stored (``catalog.cache.storable``, nothing empty,
nothing over the entry budget), and the cache lives on its own Redis
(``COKO_CACHE_REDIS_URL``). Here the broker's role is a private Redis server, so its whole
keyspace and command counts can be compared, excluding nothing.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import dramatiq
import pytest
import redis
from django.conf import settings

from coko.devtools.services import redis_server_path
from coko.domains.catalog import cache, selectors
from coko.platform.auth import denylist
from coko.platform.events.broker import build_broker
from coko.platform.ratelimit import rate_limit_hit

from .conftest import published

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

SORTS = ("popularity", "newest", "rating", "title")
#: what the probes below send the broker's server themselves
PROBES = {"cmdstat_scan", "cmdstat_dump", "cmdstat_dbsize", "cmdstat_info"}


@pytest.fixture
def broker_redis(settings, monkeypatch):
    """A Redis server of its own in the broker's role: ``REDIS_URL``, the dramatiq broker's
    client (queues, rate limits) and the deny-list all point at it, as in production."""
    directory = Path(tempfile.mkdtemp(prefix="coko-broker-"))
    sock = directory / "redis.sock"
    server = subprocess.Popen([redis_server_path(), "--port", "0", "--unixsocket", str(sock), "--save", "",
                               "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", str(directory)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=5)
    try:
        for _ in range(200):  # until it answers (at most 10 s)
            try:
                client.ping()
                break
            except redis.ConnectionError:
                with pytest.raises(subprocess.TimeoutExpired):
                    server.wait(timeout=0.05)
        url = f"unix://{sock}"
        settings.REDIS_URL = url  # the deny-list's client follows (setting_changed)
        monkeypatch.setattr(dramatiq.get_broker(), "client",
                            build_broker(url=url, namespace=settings.REDIS_NAMESPACE).client)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def shelf(author, staff):
    staff.post("/categories", {"name": "Fiction", "slug": "fiction"})
    books = [published(author, title=f"Livre {n}", categories=["fiction"], access_model="sale",
                       price_amount=1000 * (n + 1), price_currency="XOF") for n in range(3)]
    books.append(published(author, title="Un livre gratuit"))
    cache.catalog_changed()
    return books


def keyspace(client: redis.Redis) -> dict[bytes, bytes]:
    """Every key of the server's database and its serialised value."""
    return {key: client.dump(key) for key in client.scan_iter(count=1000)}


def catalog_keys(cache_redis) -> set[bytes]:
    return set(cache_redis.scan_iter(f"{settings.REDIS_NAMESPACE}:*catalog:*", count=1000))


def attacks() -> tuple[list[str], set[str]]:
    """2,000 distinct list queries, and the few shapes among them that the cache may keep."""
    stored = [f"sort={s}&limit={n}" for s in SORTS for n in sorted(cache.PAGE_SIZES)]
    stored += [f"price_max={p}" for p in (1000, 5000, 10000)] + ["fields=title,cover"]
    queries = [f"{shape}&utm_source=ad{n}&junk{n}=x" for shape in stored for n in range(10)]  # 200
    queries += [f"fields={f}&n{n}=1" for f in ("cover,title", "cover,id,title") for n in range(50)]  # 100: one shape
    forged = ((sort, n if sort != "title" else f"Livre {n}") for n, sort in
              zip(range(300), ("popularity", "rating", "title") * 100))  # any position, cursors are not signed
    queries += [f"sort={sort}&cursor=" + selectors.cursor_encode(sort=sort, value=value, book_id=uuid.uuid4())
                for sort, value in forged]
    queries += [f"price_min={7 * n + 1}" for n in range(150)] + [f"price_max={9 * n + 3}" for n in range(150)]
    queries += [f"sort={s}&limit={n}" for s in SORTS for n in range(1, 101) if n not in cache.PAGE_SIZES][:300]
    queries += [f"category=no-such-{n}" for n in range(200)]
    queries += [f"language={chr(97 + n // 26 % 26)}{chr(97 + n % 26)}x" for n in range(200)]
    queries += [f"author={uuid.uuid4()}" for _ in range(200)]
    queries += [f"language=fr&sort={SORTS[n % 4]}&price_min={2 * n + 1}" for n in range(2000 - len(queries))]
    return queries, set(stored)


def test_two_thousand_anonymous_list_queries_store_a_bounded_set_and_leave_the_broker_untouched(
        anonymous, shelf, broker_redis, cache_redis):
    # the broker's server holds what a real one does: a revoked token, a rate-limit counter
    denylist.token_revoke(uuid.uuid4().hex, time.time() + 600)
    rate_limit_hit(key="login:ip:41.82.0.1", limit=10, window_s=60)
    queries, shapes = attacks()
    assert len(queries) == len(set(queries)) == 2000
    cache.catalog_changed()  # fresh versions: what the queries store is all that is new
    before_keys, before_size = keyspace(broker_redis), broker_redis.dbsize()
    before_calls = broker_redis.info("commandstats")
    before_cache = catalog_keys(cache_redis)

    for query in queries:
        response = anonymous.client.get(f"/api/v1/books?{query}")
        unknown = query.startswith(("category=", "author="))  # no such category, no such author
        assert response.status_code == (404 if unknown else 200), (query, response.content[:300])

    new = {key.decode() for key in catalog_keys(cache_redis) - before_cache}
    assert len(new) == len(shapes) == 20, sorted(new)  # one entry per stored shape, nothing else
    assert all(":catalog:list:" in key for key in new)
    assert before_size >= 2 and broker_redis.dbsize() == before_size
    assert keyspace(broker_redis) == before_keys  # the same keys with the same values
    calls = broker_redis.info("commandstats")
    assert {name for name in calls if calls[name] != before_calls.get(name)} <= PROBES  # not even read


def stored_variants(cache_redis, path: str) -> set[str]:
    """The codings in which the list ``path`` is stored under the current version (``json``: plain)."""
    from coko.domains.catalog import http

    query = http.BookListQuery(**dict(parse_qsl(urlsplit(path).query)))
    params = {"q": http._keyed(query, http._fields(query.fields), order=selectors.order_of(query.sort, query.order),
                               author=None), "lang": "en"}
    version = (cache_redis.get(f"{settings.REDIS_NAMESPACE}:v:{cache.LISTINGS}") or b"").decode()
    found = set()
    for coding in ("identity", "gzip", "br"):
        key = cache.key_for(f"list:{coding}", **params)
        if cache_redis.exists(f"{settings.REDIS_NAMESPACE}:v:{key}|{version}"):  # under the current version
            found.add("json" if coding == "identity" else coding)
    return found


def test_a_read_over_the_entry_budget_is_served_but_not_stored(anonymous, shelf, settings, cache_redis):
    full, small = anonymous.get("/books"), anonymous.get("/books?fields=id")
    assert len(small.content) < len(full.content)
    settings.COKO_CATALOG = {**settings.COKO_CATALOG,
                             "CACHE_ENTRY_MAX_BYTES": (len(small.content) + len(full.content)) // 2}
    cache.catalog_changed()

    for encoding in ("identity", "gzip"):
        big = anonymous.client.get("/api/v1/books", HTTP_ACCEPT_ENCODING=encoding)
        body = gzip.decompress(big.content) if encoding == "gzip" else big.content
        assert big.status_code == 200 and body == full.content  # served whole
        assert stored_variants(cache_redis, "/books") == set()  # its gzip (smaller) neither
        kept = anonymous.client.get("/api/v1/books?fields=id", HTTP_ACCEPT_ENCODING=encoding)
        assert kept.status_code == 200
    assert stored_variants(cache_redis, "/books?fields=id") == {"json", "gzip"}


def test_what_is_not_there_is_answered_and_not_stored(anonymous, shelf, cache_redis):
    cache.catalog_changed()
    before = catalog_keys(cache_redis)
    for _ in range(20):
        assert anonymous.get(f"/books/{uuid.uuid4()}").status_code == 404
        assert anonymous.get(f"/authors/{uuid.uuid4()}").status_code == 404
        assert anonymous.get(f"/authors?q={uuid.uuid4().hex}").data["items"] == []
    assert catalog_keys(cache_redis) == before
    assert anonymous.get(f"/books/{shelf[0]['id']}").status_code == 200
    new = catalog_keys(cache_redis) - before
    assert len([key for key in new if b"|" in key]) == 1  # one entry (and the book's version beside it)


def test_search_text_is_keyed_normalised(anonymous, shelf):
    first = anonymous.get("/books/search?q=Livre")
    assert first.status_code == 200 and first.data["total"] == len(shelf)
    for same in ("q=%20LIVRE%20", "q=livre%20%20", "q=%EF%BC%AC%EF%BD%89%EF%BD%96%EF%BD%92%EF%BD%85",
                 "q=livre&fields=", "q=livre&junk=1"):
        again = anonymous.get(f"/books/search?{same}")
        assert again["ETag"] == first["ETag"], same  # one key: the same entry
        assert again.data["total"] == len(shelf)
