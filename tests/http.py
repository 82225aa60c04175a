"""The test client the suite uses: Django's, with /api/v1/ requests through the API's middleware
chain, as config/wsgi.py serves them."""

from __future__ import annotations

from django.test import Client
from django.test.client import ClientHandler

from config.handlers import ApiMiddlewareMixin, is_api_path


class _ApiClientHandler(ApiMiddlewareMixin, ClientHandler):
    pass


class SplitClient(Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pages = self.handler
        api = _ApiClientHandler(pages.enforce_csrf_checks)
        self.handler = lambda environ: (api if is_api_path(environ["PATH_INFO"]) else pages)(
            environ
        )
