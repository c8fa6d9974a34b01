"""WSGI entry point (gunicorn config.wsgi:application; runserver loads it too)."""

import os

from django.core.wsgi import get_wsgi_application

from coko.platform import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
tracing.configure(role="web")  # before the handler reads MIDDLEWARE: the HTTP spans' middleware
application = get_wsgi_application()
