"""The OPDS routes: who is asking, the cached bytes of the feed, the exact media types.

Readers' apps browse anonymously or send HTTP Basic credentials (KOReader, Thorium …); a
Bearer access token is accepted too. Credentials that are sent are always checked: a wrong
pair is a 401 with a ``Basic`` challenge (the same answer whether the account exists or not),
too many attempts a 429. The public feeds are the same for everyone (acquisition links point
at the files domain, which decides per reader), so they are cached as pages are
(``catalog.cache``: short-lived, under ``LISTINGS``), a book's entry under its own version;
``/opds/shelf`` is the one personal feed. ``ETag``/304 and gzip (only when the
client asks for it: KOReader sends ``Accept-Encoding: identity``) come from the platform's
middleware.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache, wraps
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from coko.domains.accounts import api as accounts_api
from coko.platform.auth.basic import BasicRefused
from coko.platform.auth.tokens import access_token_verify
from coko.platform.errors import ApiError, error_for_exception
from coko.platform.http.client import client_ip

from .. import cache, errors
from . import atom, feeds, json2
from .feeds import ACQUISITION, NAVIGATION, Params, Urls

OPENSEARCH_TYPE = atom.OPENSEARCH_TYPE


# --- who is asking -----------------------------------------------------------------------------
def user_of(request: HttpRequest) -> str | None:
    """The id of the user whose credentials came with the request, or ``None`` (anonymous).

    Raises ``BasicRefused`` (401, Basic challenge), ``RateLimited`` (429) or, for a bad
    Bearer token, the token's own 401.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return access_token_verify(value).user_id
    if scheme != "basic":
        raise BasicRefused()
    return accounts_api.basic_credentials_check(value=value, ip=client_ip(request)).user_id


# --- answers -----------------------------------------------------------------------------------
def _lang() -> str:
    lang = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return lang if lang in dict(settings.LANGUAGES) else "en"


def _urls(request: HttpRequest, version: int) -> Urls:
    return Urls(base=request.build_absolute_uri("/"), version=version)


def _respond(request: HttpRequest, body: bytes, content_type: str, *, personal: bool = False) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    if personal:
        response["Cache-Control"] = "private, no-cache"
    elif request.META.get("HTTP_AUTHORIZATION"):
        response["Cache-Control"] = "private, max-age=30"
    else:
        response["Cache-Control"] = "public, max-age=30"
    patch_vary_headers(response, ("Accept-Language", "Authorization"))
    return response


def _error(error: ApiError, version: int) -> HttpResponse:
    """Not the API's envelope: plain text for OPDS 1.2, problem details for OPDS 2.0."""
    message = str(error.message)
    if isinstance(error.details, dict) and {"parameter", "expected"} <= set(error.details):
        message = f"{message} {error.details['parameter']}: {error.details['expected']}."
    if version == 2:
        body = json.dumps({"title": HTTPStatus(error.status).phrase, "status": error.status, "detail": message,
                           "code": error.code}, ensure_ascii=False).encode()
        response = HttpResponse(body, status=error.status, content_type="application/problem+json")
    else:
        response = HttpResponse(f"{message}\n".encode(), status=error.status,
                                content_type="text/plain; charset=utf-8")
    for name, value in error.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _cached(kind: str, build: Callable[[], bytes], *, keep: bool = True,
            versions: tuple[str, ...] = (cache.LISTINGS,), **params) -> bytes:
    """Rendered bytes, cached under ``versions`` (``catalog.cache``: a feed is a page, a book's
    entry is keyed by that book); not stored when ``keep`` is false or over the entry budget
    (``catalog.cache.storable``)."""
    return cache.cached_bytes(f"opds:{kind}", lambda: (build(), True), keep=keep, versions=versions, **params)[0]


def opds_view(view):
    """GET/HEAD only; authenticate; turn the domain's errors (and a database or Redis outage:
    503) into OPDS error answers. Anything else is a bug: Django's 500."""

    @require_safe
    @wraps(view)
    def wrapper(request: HttpRequest, *args, version: int = 1, **kwargs):
        try:
            request.opds_user_id = user_of(request)
            return view(request, *args, version=version, **kwargs)
        except Exception as exc:
            error = error_for_exception(exc)
            if error is None:
                raise
            return _error(error, version)

    return wrapper


def _feed(request: HttpRequest, version: int, name: str, kind: str, build: Callable[[str], feeds.Feed],
          *, params: Params | None = None, **key) -> HttpResponse:
    lang = _lang()
    urls = _urls(request, version)
    render = atom.feed_render if version == 1 else json2.feed_render
    keep = params is None or cache.storable(limit=params.limit, cursor=params.cursor or ",".join(params.back),
                                            offset=params.offset, q=params.q or None)
    body = _cached(f"v{version}:{name}", lambda: render(build(lang), urls=urls, lang=lang), keep=keep,
                   base=urls.base, lang=lang, params=asdict(params) if params else None, **key)
    return _respond(request, body, atom.TYPES[kind] if version == 1 else json2.FEED_TYPE)


def _params(request: HttpRequest, version: int) -> Params:
    return Params.parse(request.GET, search_param="query" if version == 2 else "q")


# --- routes ------------------------------------------------------------------------------------
@opds_view
def root(request, *, version):
    return _feed(request, version, "root", NAVIGATION, lambda lang: feeds.root(lang=lang))


@opds_view
def new(request, *, version):
    params = _params(request, version)
    return _feed(request, version, "new", ACQUISITION, lambda lang: feeds.new(params=params, lang=lang),
                 params=params)


@opds_view
def popular(request, *, version):
    params = _params(request, version)
    return _feed(request, version, "popular", ACQUISITION, lambda lang: feeds.popular(params=params, lang=lang),
                 params=params)


@opds_view
def categories(request, *, version):
    return _feed(request, version, "categories", NAVIGATION, lambda lang: feeds.categories(lang=lang))


@opds_view
def category_sections(request, slug: str, *, version):
    return _feed(request, version, "category-sections", NAVIGATION,
                 lambda lang: feeds.category_sections(slug=slug, lang=lang), slug=slug)


@opds_view
def category(request, slug: str, *, version):
    params = _params(request, version)
    return _feed(request, version, "category", ACQUISITION,
                 lambda lang: feeds.category(slug=slug, params=params, lang=lang), slug=slug, params=params)


@opds_view
def authors(request, *, version):
    params = _params(request, version)
    return _feed(request, version, "authors", NAVIGATION, lambda lang: feeds.authors(params=params, lang=lang),
                 params=params)


@opds_view
def author(request, author_id, *, version):
    params = _params(request, version)
    return _feed(request, version, "author", ACQUISITION,
                 lambda lang: feeds.author(author_id=str(author_id), params=params, lang=lang),
                 author_id=str(author_id), params=params)


@opds_view
def collection(request, slug: str, *, version):
    params = _params(request, version)
    return _feed(request, version, "collection", ACQUISITION,
                 lambda lang: feeds.collection(slug=slug, params=params, lang=lang), slug=slug, params=params)


@opds_view
def search(request, *, version):
    params = _params(request, version)
    search_param = "query" if version == 2 else "q"
    return _feed(request, version, "search", ACQUISITION,
                 lambda lang: feeds.search(params=params, lang=lang, search_param=search_param),
                 params=params)


@opds_view
def book(request, book_id, *, version):
    lang = _lang()
    urls = _urls(request, version)
    if version == 1:
        def build():
            return atom.entry_render(feeds.book(book_id=str(book_id), lang=lang), urls=urls, lang=lang)
        content_type = atom.ENTRY_TYPE
    else:
        def build():
            return json2.publication_render(feeds.book(book_id=str(book_id), lang=lang), urls=urls, lang=lang)
        content_type = json2.PUBLICATION_TYPE
    body = _cached(f"v{version}:book", build, versions=cache.book_versions(book_id), base=urls.base, lang=lang,
                   id=str(book_id))
    return _respond(request, body, content_type)


@opds_view
def shelf(request, *, version):
    if request.opds_user_id is None:
        raise errors.SIGN_IN_REQUIRED()
    lang = _lang()
    urls = _urls(request, version)
    feed = feeds.shelf(user_id=request.opds_user_id, params=_params(request, version), lang=lang)
    render = atom.feed_render if version == 1 else json2.feed_render
    return _respond(request, render(feed, urls=urls, lang=lang),
                    atom.TYPES[ACQUISITION] if version == 1 else json2.FEED_TYPE, personal=True)


@opds_view
def opensearch(request, *, version):
    lang = _lang()
    return _respond(request, atom.opensearch_render(urls=_urls(request, 1), lang=lang), OPENSEARCH_TYPE)


@lru_cache(maxsize=1)
def _placeholder_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 360), (31, 94, 78))
    ImageDraw.Draw(image).rectangle((14, 14, 225, 345), outline=(236, 190, 60), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@require_safe
def cover_placeholder(request):
    """The cover of a book that has none (OPDS 2.0 publications carry an image)."""
    response = HttpResponse(_placeholder_png(), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response
