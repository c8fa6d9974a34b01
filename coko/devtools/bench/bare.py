"""The baseline of ``make bench-catalog``: a bare Django view behind every middleware.

Served at ``/bench/bare`` only when ``COKO_BENCH_VIEWS=1`` (config/urls.py): what a request
costs before any domain code runs (middleware, routing, a small JSON body, gunicorn).
"""

from django.http import JsonResponse


def bare(request):
    return JsonResponse({"ok": True})
