"""The optional per-key rate limit on the API: off by default, 429 with Retry-After above it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from sessions_app.api.ratelimit import api_rate_limit_check
from sessions_app.errors import RateLimited
from sessions_app.models import ApiKey

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_without_a_limit_a_key_is_never_refused(api):
    for _ in range(30):
        assert api.get("/sessions").status_code == 200


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
def test_a_key_over_its_limit_gets_a_429_with_retry_after(api):
    for _ in range(3):
        assert api.get("/sessions").status_code == 200
    refused = api.get("/sessions")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60


@override_settings(API_RATE_LIMIT_PER_MINUTE=2)
def test_a_refused_write_stores_nothing(api):
    api.get("/sessions")
    api.get("/sessions")
    response = api.post("/sessions/s/events", {"source": "user", "message": "x"})
    assert response.status_code == 429
    from sessions_app.models import Event

    assert not Event.objects.exists()


@override_settings(API_RATE_LIMIT_PER_MINUTE=2)
def test_each_key_has_its_own_limit(api, project):
    from sessions_app.services.projects import api_key_create

    _, token = api_key_create(project=project, name="second")
    other = ApiClient(token)
    api.get("/sessions")
    api.get("/sessions")
    assert api.get("/sessions").status_code == 429
    assert other.get("/sessions").status_code == 200


@override_settings(API_RATE_LIMIT_PER_MINUTE=1)
def test_the_limit_starts_again_the_next_minute(api_token):
    key = ApiKey.objects.get()
    api_rate_limit_check(key, now=120.0)
    with pytest.raises(RateLimited) as refused:
        api_rate_limit_check(key, now=150.5)
    assert refused.value.retry_after == 30
    api_rate_limit_check(key, now=180.0)


@override_settings(API_RATE_LIMIT_PER_MINUTE=1)
def test_health_needs_no_key_and_is_not_limited(client):
    for _ in range(3):
        assert client.get("/api/v1/health").status_code in (200, 503)


@override_settings(API_RATE_LIMIT_PER_MINUTE=1)
def test_a_bad_key_is_still_a_401_not_a_429(client):
    for _ in range(3):
        response = client.get("/api/v1/sessions", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
