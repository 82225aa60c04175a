"""The test client the suite uses: Django's, with API requests (config/handlers.py API_PREFIXES:
/api/v1/ and the OTLP paths) through the API's middleware chain, as config/wsgi.py serves them."""

from __future__ import annotations

from django.test import Client
from django.test.client import ClientHandler

from config.handlers import ApiMiddlewareMixin, is_api_path, keep_encoded_slashes


class _ApiClientHandler(ApiMiddlewareMixin, ClientHandler):
    pass


class SplitClient(Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pages = self.handler
        api = _ApiClientHandler(pages.enforce_csrf_checks)

        def handler(environ):
            keep_encoded_slashes(environ)
            return (api if is_api_path(environ["PATH_INFO"]) else pages)(environ)

        self.handler = handler

    def generic(self, method, path, *args, **extra):
        # As gunicorn does, pass the request target as sent, with `%2F` still encoded.
        extra.setdefault("RAW_URI", str(path))
        return super().generic(method, path, *args, **extra)
