"""OTLP metrics and logs: read only to be counted and refused, since Sessionscope keeps traces.

An SDK given only `OTEL_EXPORTER_OTLP_ENDPOINT` (Agent Framework's `configure_otel_providers()`
is one) exports all three signals to it. A 404 makes the exporter print an error on every batch;
a 200 whose `partial_success` rejects everything tells the user the truth once per batch, in the
exporter's own terms, and exporters do not retry it. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from .decode import BadBody, encoding, json_get, parse_json, parse_protobuf, response_body

# A metric's data is one of these, each holding `dataPoints` (camelCase and snake_case names).
_METRIC_KINDS = (
    ("gauge", "gauge"),
    ("sum", "sum"),
    ("histogram", "histogram"),
    ("exponentialHistogram", "exponential_histogram"),
    ("summary", "summary"),
)


def _json_children(parents: Iterable[dict], camel: str, snake: str) -> list[dict]:
    """Every object in the `camel` (or `snake`) list of each parent; BadBody for another shape."""
    children: list[dict] = []
    for parent in parents:
        items = json_get(parent, camel, snake)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise BadBody(f"{camel} must be a list of objects.")
        children.extend(items)
    return children


def _json_object(body: bytes) -> dict:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadBody("The body is not an OTLP export request (a JSON object).")
    return data


def metric_data_points(body: bytes, content_type: str) -> int:
    """How many data points an OTLP metrics export request holds, protobuf or JSON."""
    if encoding(content_type) == "protobuf":
        request = parse_protobuf(ExportMetricsServiceRequest(), body)
        total = 0
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    kind = metric.WhichOneof("data")
                    if kind is not None:
                        total += len(getattr(metric, kind).data_points)
        return total
    resources = _json_children([_json_object(body)], "resourceMetrics", "resource_metrics")
    scopes = _json_children(resources, "scopeMetrics", "scope_metrics")
    total = 0
    for metric in _json_children(scopes, "metrics", "metrics"):
        for camel, snake in _METRIC_KINDS:
            points: Any = json_get(metric, camel, snake)
            if points is None:
                continue
            if not isinstance(points, dict):
                raise BadBody(f"A metric's {camel} must be an object.")
            total += len(_json_children([points], "dataPoints", "data_points"))
    return total


def log_records(body: bytes, content_type: str) -> int:
    """How many log records an OTLP logs export request holds, protobuf or JSON."""
    if encoding(content_type) == "protobuf":
        request = parse_protobuf(ExportLogsServiceRequest(), body)
        return sum(
            len(scope_logs.log_records)
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
        )
    resources = _json_children([_json_object(body)], "resourceLogs", "resource_logs")
    scopes = _json_children(resources, "scopeLogs", "scope_logs")
    return len(_json_children(scopes, "logRecords", "log_records"))


@dataclass(frozen=True)
class Refused:
    """A signal Sessionscope answers but does not keep."""

    name: str
    item: str  # one of what it carries, and…
    items: str  # …more than one
    count: Callable[[bytes, str], int]
    response_type: type[Message]
    exporter_variable: str

    def answer(self, body: bytes, content_type: str) -> tuple[bytes, str]:
        """The export response rejecting every item the request holds, in its encoding."""
        count = self.count(body, content_type)
        message = ""
        if count:
            message = (
                "Sessionscope stores traces only: it did not keep this export's "
                f"{count} {self.item if count == 1 else self.items}. To stop sending "
                f"{self.name}, set {self.exporter_variable}=none, or set "
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the whole .../v1/traces URL) instead of "
                "OTEL_EXPORTER_OTLP_ENDPOINT."
            )
        return response_body(content_type, count, message, self.response_type)


METRICS = Refused(
    name="metrics",
    item="data point",
    items="data points",
    count=metric_data_points,
    response_type=ExportMetricsServiceResponse,
    exporter_variable="OTEL_METRICS_EXPORTER",
)
LOGS = Refused(
    name="logs",
    item="log record",
    items="log records",
    count=log_records,
    response_type=ExportLogsServiceResponse,
    exporter_variable="OTEL_LOGS_EXPORTER",
)
