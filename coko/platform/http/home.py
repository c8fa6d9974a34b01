"""The front door for a person with a browser: ``GET /`` and the not-found page.

A small page saying what Coko is and where to go next (the API docs, the OPDS feeds for
reading apps, the staff console, the health endpoint), in the visitor's language. The
API's own root (``GET /api/v1/``) answers the same links as JSON.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from coko.platform.version import app_version

#: where a newcomer goes next: (name, path); the API root lists the same
LINKS = {
    "docs": "/api/v1/docs",
    "openapi": "/api/v1/openapi.json",
    "opds": "/opds/",
    "opds2": "/opds/v2/",
    "admin": "/admin/",
    "health": "/health",
}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    response = render(request, "coko/home.html", {"links": LINKS, "version": app_version()})
    response["Cache-Control"] = "public, max-age=300"
    return response


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """Django's ``handler404`` outside the API (the API answers its own envelope)."""
    return render(request, "coko/404.html", {"links": LINKS}, status=404)


__all__ = ["LINKS", "home", "not_found"]
