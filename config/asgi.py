"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from coko.platform import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
tracing.configure(role="web")  # before the handler reads MIDDLEWARE: the HTTP spans' middleware
application = get_asgi_application()
