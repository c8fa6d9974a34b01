"""The project's URLconf plus two plain views under ``/api/faults/`` that need a dependency.

There is no domain route yet that reads the catalog database or the cache, so
these stand in for one: they go through the whole real middleware stack, and an
exception escaping them becomes the API's error envelope exactly as it would
for a domain route.
"""

from django.apps import apps
from django.core.cache import cache
from django.http import JsonResponse
from django.urls import path

from config import urls as project_urls


def catalog_events(request):
    """Reads the catalog database (its outbox: a table every domain has)."""
    return JsonResponse({"count": apps.get_model("catalog", "OutboxEvent").objects.count()})


def cached(request):
    """Writes and reads the Django cache (Redis)."""
    cache.set("faults-probe", "here", 30)
    return JsonResponse({"value": cache.get("faults-probe")})


urlpatterns = [
    path("api/faults/catalog-events", catalog_events),
    path("api/faults/cache", cached),
    *project_urls.urlpatterns,
]
