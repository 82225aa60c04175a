"""The pages' own middleware: a Content-Security-Policy (below) and Secure cookies
(`SecureCookiesMiddleware`).

A Content-Security-Policy on every page: scripts and styles only from our own origin.

Agent-written text is escaped by the templates; this is the second line of defence, so that an
escaping mistake still cannot run an inline script, an event handler attribute or a
`javascript:` URL, nor load remote images.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Set the Content-Security-Policy header unless a view already set one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response


class SecureCookiesMiddleware:
    """Mark every cookie Secure on a response to a request that came over TLS (directly, or
    through a proxy trusted with SECURE_PROXY_SSL_HEADER), so the session and CSRF cookies are
    never sent back over plain HTTP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response
