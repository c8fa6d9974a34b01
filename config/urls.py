"""URLconf: the home page, the admin console, the API (``/api/v1``), the OPDS feeds and the
operational endpoints.

``/health``, ``/ready`` and ``/metrics`` are normally answered earlier, by
``coko.platform.http.middleware.OpsEndpointsMiddleware`` (no host check for
probes and scrapes); the patterns here serve ``reverse()`` and any stack
without that middleware.
"""

from django.contrib import admin
from django.urls import include, path

from coko.platform.auth.jwks import jwks_view
from coko.platform.http import home, ops
from coko.platform.http.api import api

handler404 = "coko.platform.http.home.not_found"

urlpatterns = [
    path("", home.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("opds/", include("coko.domains.catalog.opds.urls")),  # OPDS 1.2 and 2.0 catalogue feeds
    path("kosync/", include("coko.domains.reading.kosync")),  # KOReader's progress sync (kosync v1)
    path("health", ops.health, name="health"),
    path("ready", ops.ready, name="ready"),
    path("metrics", ops.metrics, name="metrics"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),  # access-token public keys
]

from django.conf import settings  # noqa: E402

if settings.COKO_BENCH_VIEWS:  # make bench-catalog only: the bare baseline view
    from django.http import JsonResponse  # noqa: E402

    def bare(request):
        """What a request costs before any domain code runs (middleware, routing, a small
        JSON body, gunicorn). Defined here, not in coko/devtools, which the image leaves out."""
        return JsonResponse({"ok": True})

    urlpatterns.append(path("bench/bare", bare, name="bench-bare"))
