"""`GET /api/v1/health`: database and broker reachability, no auth."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

router = Router(tags=["health"])


class ComponentOut(Schema):
    ok: bool
    detail: str
    latency_ms: float | None = None


class HealthOut(Schema):
    status: str
    database: ComponentOut
    broker: ComponentOut


def _check_database() -> ComponentOut:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return ComponentOut(ok=False, detail=f"unreachable: {type(exc).__name__}")
    return ComponentOut(
        ok=True,
        detail=connection.vendor,
        latency_ms=round((time.perf_counter() - started) * 1e3, 2),
    )


def _check_broker() -> ComponentOut:
    if not settings.CELERY_BROKER_URL:
        return ComponentOut(ok=True, detail="none configured: tasks run in-process")
    from config.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return ComponentOut(ok=False, detail=f"unreachable: {type(exc).__name__}")
    return ComponentOut(
        ok=True, detail="reachable", latency_ms=round((time.perf_counter() - started) * 1e3, 2)
    )


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None)
def health(request: HttpRequest):
    """Database and broker reachability; 503 when either is down."""
    database, broker = _check_database(), _check_broker()
    ok = database.ok and broker.ok
    body = HealthOut(status="ok" if ok else "degraded", database=database, broker=broker)
    return Status(200 if ok else 503, body)
