"""WSGI entry point (gunicorn config.wsgi): /api/v1/ runs through the API's middleware chain,
everything else through the pages' (config/handlers.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

pages = get_wsgi_application()  # sets Django up

from config.handlers import ApiWSGIHandler, split_application  # noqa: E402
from sessions_app.heap import freeze_loaded  # noqa: E402

application = split_application(pages, ApiWSGIHandler())
freeze_loaded()  # what the process loaded is never collected: out of the collector's way
