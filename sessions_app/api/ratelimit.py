"""An optional per-key request rate limit on the API (off by default; docs/api.md)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from ..errors import RateLimited
from ..models import ApiKey

WINDOW_SECONDS = 60


def api_rate_limit_check(key: ApiKey, *, now: float | None = None) -> None:
    """Count a request of this key in the current minute; raise RateLimited over the limit."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    name = f"api-rate:{key.pk}:{window}"
    # A fixed window: one atomic increment per request (add, then incr, is race-free in both
    # the local-memory and the Redis cache).
    cache.add(name, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count > limit:
        retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        raise RateLimited(
            f"This key made more than {limit} requests this minute; retry in {retry_after} s.",
            retry_after=retry_after,
        )
