"""Helpers for the receiver's tests: spans recorded in memory, posted as OTLP bodies."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sessions_app.llm import _litellm


@pytest.fixture(scope="session", autouse=True)
def _litellm_loaded() -> None:
    _litellm()


def recorded(emit: Callable, **kwargs) -> list:
    """The finished spans `emit` produces, in the order they ended."""
    exporter = InMemorySpanExporter()
    emit(exporter, **kwargs)
    return list(exporter.get_finished_spans())


def protobuf(spans: list, *, compress: bool = False) -> bytes:
    body = encode_spans(spans).SerializeToString()
    return gzip.compress(body) if compress else body


@pytest.fixture
def post_otlp(client, api_token):
    """POST a body to the receiver with the project's key."""

    def post(
        body: bytes,
        content_type: str = "application/x-protobuf",
        path: str = "/api/otel/v1/traces",
        **headers,
    ):
        headers.setdefault("Authorization", f"Bearer {api_token}")
        return client.post(path, data=body, content_type=content_type, headers=headers)

    return post
