"""WSGI entry point. config/asgi.py runs it (what `make run` and the README serve); it also runs
alone under a WSGI server (gunicorn config.wsgi). API paths (config/handlers.py API_PREFIXES:
/api/v1/, /api/otel/, /v1/traces, /v1/metrics, /v1/logs) run through the API's middleware
chain, everything else through the pages'."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

pages = get_wsgi_application()  # sets Django up

from config.handlers import ApiWSGIHandler, split_application  # noqa: E402
from sessions_app.heap import freeze_loaded  # noqa: E402

application = split_application(pages, ApiWSGIHandler())
freeze_loaded()  # what the process loaded is never collected: out of the collector's way
