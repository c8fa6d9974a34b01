"""OPDS routes, mounted at ``/opds/`` (``config/urls.py``): OPDS 1.2 at ``/opds/…``, the same
feeds in OPDS 2.0 at ``/opds/v2/…`` (route names prefixed ``v2-``)."""

from django.urls import path

from . import views

app_name = "opds"

FEEDS = [
    ("", views.root, "root"),
    ("new", views.new, "new"),
    ("popular", views.popular, "popular"),
    ("categories", views.categories, "categories"),
    ("categories/<slug:slug>/sections", views.category_sections, "category-sections"),
    ("categories/<slug:slug>", views.category, "category"),
    ("authors", views.authors, "authors"),
    ("authors/<uuid:author_id>", views.author, "author"),
    ("collections/<slug:slug>", views.collection, "collection"),
    ("search", views.search, "search"),
    ("books/<uuid:book_id>", views.book, "book"),
    ("shelf", views.shelf, "shelf"),
]

urlpatterns = [
    path("opensearch.xml", views.opensearch, {"version": 1}, name="opensearch"),
    path("cover-placeholder.png", views.cover_placeholder, name="cover-placeholder"),
    *[path(route, view, {"version": 1}, name=name) for route, view, name in FEEDS],
    *[path(f"v2/{route}" if route else "v2/", view, {"version": 2}, name=f"v2-{name}") for route, view, name in FEEDS],
]
