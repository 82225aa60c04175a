"""OTLP metrics and logs: answered 200 with everything they carried rejected, and never kept."""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from sessions_app.models import AgentSession, Event, Run
from tests.otel_spans import emit_conversation

from .conftest import protobuf, recorded

pytestmark = pytest.mark.django_db

METRICS_PATHS = ("/api/otel/v1/metrics", "/v1/metrics")
LOGS_PATHS = ("/api/otel/v1/logs", "/v1/logs")

# Two resources, every kind of metric: 2 + 1 + 1 + 1 + 2 data points, and a metric without data.
METRICS = {
    "resourceMetrics": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]},
            "scopeMetrics": [
                {
                    "scope": {"name": "agent_framework"},
                    "metrics": [
                        {
                            "name": "queue.depth",
                            "gauge": {
                                "dataPoints": [
                                    {"asInt": "3", "timeUnixNano": "1767607200000000000"},
                                    {"asDouble": 0.5, "timeUnixNano": "1767607200000000000"},
                                ]
                            },
                        },
                        {
                            "name": "calls",
                            "sum": {
                                "dataPoints": [{"asInt": "7"}],
                                "aggregationTemporality": 2,
                                "isMonotonic": True,
                            },
                        },
                        {
                            "name": "gen_ai.client.token.usage",
                            "histogram": {
                                "dataPoints": [
                                    {
                                        "count": "2",
                                        "sum": 130,
                                        "bucketCounts": ["1", "1"],
                                        "explicitBounds": [100],
                                    }
                                ],
                                "aggregationTemporality": 2,
                            },
                        },
                        {"name": "no.data.yet"},
                    ],
                }
            ],
        },
        {
            "scopeMetrics": [
                {
                    "metrics": [
                        {
                            "name": "gen_ai.client.operation.duration",
                            "exponentialHistogram": {"dataPoints": [{"count": "1", "scale": 2}]},
                        },
                        {
                            "name": "latency",
                            "summary": {"dataPoints": [{"count": "1"}, {"count": "4"}]},
                        },
                    ]
                }
            ]
        },
    ]
}
METRIC_DATA_POINTS = 7

# Two resources, 3 + 1 log records.
LOGS = {
    "resourceLogs": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]},
            "scopeLogs": [
                {
                    "scope": {"name": "agent_framework"},
                    "logRecords": [
                        {"severityNumber": 9, "body": {"stringValue": "started"}},
                        {"severityNumber": 13, "body": {"stringValue": "slow tool"}},
                        {"severityText": "ERROR", "body": {"stringValue": "failed"}},
                    ],
                }
            ],
        },
        {"scopeLogs": [{"logRecords": [{"body": {"stringValue": "done"}}]}]},
    ]
}
LOG_RECORDS = 4


def metrics_protobuf(body: dict = METRICS) -> bytes:
    return ParseDict(body, ExportMetricsServiceRequest()).SerializeToString()


def logs_protobuf(body: dict = LOGS) -> bytes:
    return ParseDict(body, ExportLogsServiceRequest()).SerializeToString()


def metrics_answer(response) -> ExportMetricsServiceResponse:
    assert response["Content-Type"] == "application/x-protobuf"
    parsed = ExportMetricsServiceResponse()
    parsed.ParseFromString(response.content)
    return parsed


def logs_answer(response) -> ExportLogsServiceResponse:
    assert response["Content-Type"] == "application/x-protobuf"
    parsed = ExportLogsServiceResponse()
    parsed.ParseFromString(response.content)
    return parsed


def stored() -> tuple[int, int, int]:
    return AgentSession.objects.count(), Event.objects.count(), Run.objects.count()


@pytest.mark.parametrize("path", METRICS_PATHS)
def test_protobuf_metrics_are_answered_200_with_every_data_point_rejected(post_otlp, path):
    response = post_otlp(metrics_protobuf(), path=path)
    assert response.status_code == 200
    partial = metrics_answer(response).partial_success
    assert partial.rejected_data_points == METRIC_DATA_POINTS
    assert "Sessionscope stores traces only" in partial.error_message
    assert f"did not keep this export's {METRIC_DATA_POINTS} data points" in partial.error_message
    assert "OTEL_METRICS_EXPORTER=none" in partial.error_message
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in partial.error_message


@pytest.mark.parametrize("path", LOGS_PATHS)
def test_protobuf_logs_are_answered_200_with_every_log_record_rejected(post_otlp, path):
    response = post_otlp(logs_protobuf(), path=path)
    assert response.status_code == 200
    partial = logs_answer(response).partial_success
    assert partial.rejected_log_records == LOG_RECORDS
    assert "Sessionscope stores traces only" in partial.error_message
    assert f"did not keep this export's {LOG_RECORDS} log records" in partial.error_message
    assert "OTEL_LOGS_EXPORTER=none" in partial.error_message
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in partial.error_message


def test_one_log_record_is_named_in_the_singular(post_otlp):
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "x"}}]}]}]}
    partial = logs_answer(post_otlp(logs_protobuf(body), path="/v1/logs")).partial_success
    assert partial.rejected_log_records == 1
    assert "this export's 1 log record." in partial.error_message


@pytest.mark.parametrize("path", METRICS_PATHS)
def test_json_metrics_are_answered_in_json(post_otlp, path):
    response = post_otlp(json.dumps(METRICS).encode(), content_type="application/json", path=path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    partial = response.json()["partialSuccess"]
    assert set(partial) == {"rejectedDataPoints", "errorMessage"}
    assert partial["rejectedDataPoints"] == str(METRIC_DATA_POINTS)  # an int64: a JSON string
    assert "OTEL_METRICS_EXPORTER=none" in partial["errorMessage"]


@pytest.mark.parametrize("path", LOGS_PATHS)
def test_json_logs_are_answered_in_json(post_otlp, path):
    response = post_otlp(json.dumps(LOGS).encode(), content_type="application/json", path=path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    partial = response.json()["partialSuccess"]
    assert set(partial) == {"rejectedLogRecords", "errorMessage"}
    assert partial["rejectedLogRecords"] == str(LOG_RECORDS)
    assert "OTEL_LOGS_EXPORTER=none" in partial["errorMessage"]


def test_json_with_the_protos_snake_case_names_is_counted_too(post_otlp):
    metrics = {
        "resource_metrics": [{"scope_metrics": [{"metrics": [
            {"exponential_histogram": {"data_points": [{}, {}]}},
            {"gauge": {"data_points": [{}]}},
        ]}]}]
    }  # fmt: skip
    logs = {"resource_logs": [{"scope_logs": [{"log_records": [{}, {}, {}]}]}]}
    answer = post_otlp(
        json.dumps(metrics).encode(), content_type="application/json", path="/v1/metrics"
    ).json()
    assert answer["partialSuccess"]["rejectedDataPoints"] == "3"
    answer = post_otlp(
        json.dumps(logs).encode(), content_type="application/json", path="/v1/logs"
    ).json()
    assert answer["partialSuccess"]["rejectedLogRecords"] == "3"


def test_gzip_bodies_are_counted(post_otlp):
    gz = {"Content-Encoding": "gzip"}
    response = post_otlp(gzip.compress(metrics_protobuf()), path="/api/otel/v1/metrics", **gz)
    assert metrics_answer(response).partial_success.rejected_data_points == METRIC_DATA_POINTS
    response = post_otlp(gzip.compress(logs_protobuf()), path="/api/otel/v1/logs", **gz)
    assert logs_answer(response).partial_success.rejected_log_records == LOG_RECORDS
    response = post_otlp(gzip.compress(json.dumps(LOGS).encode()), "application/json",
                         path="/v1/logs", **gz)  # fmt: skip
    assert response.json()["partialSuccess"]["rejectedLogRecords"] == str(LOG_RECORDS)


@pytest.mark.parametrize("path", METRICS_PATHS + LOGS_PATHS)
def test_an_empty_export_is_a_plain_success(post_otlp, path):
    signal = "resourceMetrics" if "metrics" in path else "resourceLogs"
    encode = metrics_protobuf if "metrics" in path else logs_protobuf
    # Django's test client leaves out the Content-Type of an empty body; exporters send it.
    for body, headers in (
        (b"", {"Content-Type": "application/x-protobuf"}),
        (encode({signal: [{}]}), {}),
    ):
        response = post_otlp(body, path=path, **headers)
        assert response.status_code == 200
        answer = (metrics_answer if "metrics" in path else logs_answer)(response)
        assert not answer.HasField("partial_success")
    for body in ({}, {signal: []}, {signal: [{}]}):
        response = post_otlp(json.dumps(body).encode(), content_type="application/json", path=path)
        assert response.status_code == 200
        assert response.json() == {}


@pytest.mark.parametrize("path", METRICS_PATHS + LOGS_PATHS)
def test_without_a_valid_key_the_answer_is_401(post_otlp, path):
    body = metrics_protobuf() if "metrics" in path else logs_protobuf()
    for authorization in ("Bearer nope", ""):
        response = post_otlp(body, path=path, Authorization=authorization)
        assert response.status_code == 401
        assert "API key" in response.json()["message"]


@pytest.mark.parametrize("path", METRICS_PATHS + LOGS_PATHS)
def test_a_body_that_is_not_otlp_is_a_400(post_otlp, path):
    signal = "resourceMetrics" if "metrics" in path else "resourceLogs"
    assert post_otlp(b"\xff\xff\xff not protobuf", path=path).status_code == 400
    assert post_otlp(b"hello", content_type="text/plain", path=path).status_code == 400
    assert post_otlp(b"not gzip", path=path, **{"Content-Encoding": "gzip"}).status_code == 400
    assert post_otlp(b"x", path=path, **{"Content-Encoding": "br"}).status_code == 400
    for body in (b"{not json", b"[1, 2]", b'"text"'):
        assert post_otlp(body, content_type="application/json", path=path).status_code == 400
    for shape in ({signal: {}}, {signal: [1]}, {signal: "x"}):
        body = json.dumps(shape).encode()
        assert post_otlp(body, content_type="application/json", path=path).status_code == 400


def test_json_of_the_wrong_shape_deeper_down_is_a_400(post_otlp):
    def post(body: dict, path: str):
        return post_otlp(json.dumps(body).encode(), content_type="application/json", path=path)

    assert post({"resourceMetrics": [{"scopeMetrics": {}}]}, "/v1/metrics").status_code == 400
    metric = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"gauge": []}]}]}]}
    assert post(metric, "/v1/metrics").status_code == 400
    points = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {"dataPoints": 3}}]}]}]}
    assert post(points, "/v1/metrics").status_code == 400
    assert (
        post({"resourceLogs": [{"scopeLogs": [{"logRecords": "x"}]}]}, "/v1/logs").status_code
        == 400
    )


@pytest.mark.parametrize("path", METRICS_PATHS + LOGS_PATHS)
def test_a_body_over_the_limit_is_a_413(post_otlp, settings, path):
    settings.OTLP_MAX_BODY_BYTES = 1000
    records = [{"body": {"stringValue": "x" * 40}}] * 50
    many = {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}
    body = metrics_protobuf() * 10 if "metrics" in path else logs_protobuf(many)
    assert len(body) > 1000
    assert post_otlp(body, path=path).status_code == 413
    # Small on the wire, over the limit once inflated.
    compressed = gzip.compress(body)
    assert len(compressed) < 1000
    response = post_otlp(compressed, path=path, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["message"]


@pytest.mark.parametrize("path", METRICS_PATHS + LOGS_PATHS)
def test_a_get_is_a_405_answered_in_json_by_the_api(client, path):
    response = client.get(path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    # JSON, as the API's middleware chain answers (the pages' would answer an empty text/html).
    assert response.json()["code"] == "method_not_allowed"


def test_nothing_is_stored(post_otlp):
    assert post_otlp(protobuf(recorded(emit_conversation))).status_code == 200
    before = stored()
    assert before[0] == 1 and before[1] > 0
    for path in METRICS_PATHS:
        assert post_otlp(metrics_protobuf(), path=path).status_code == 200
        body = json.dumps(METRICS).encode()
        assert post_otlp(body, content_type="application/json", path=path).status_code == 200
    for path in LOGS_PATHS:
        assert post_otlp(logs_protobuf(), path=path).status_code == 200
        body = json.dumps(LOGS).encode()
        assert post_otlp(body, content_type="application/json", path=path).status_code == 200
    assert stored() == before


def test_metrics_and_logs_are_answered_while_the_span_receiver_is_busy(post_otlp, monkeypatch):
    from sessions_app.otel import receiver

    monkeypatch.setattr(receiver._slots, "acquire", lambda blocking=True: False)
    assert post_otlp(protobuf(recorded(emit_conversation))).status_code == 429
    assert post_otlp(metrics_protobuf(), path="/api/otel/v1/metrics").status_code == 200
    assert post_otlp(logs_protobuf(), path="/api/otel/v1/logs").status_code == 200


# --- the OpenTelemetry SDK's own exporters, against a live server ---------------------------


def sdk_metrics():
    """What an agent's MeterProvider collects: GenAI histograms and a counter, 4 data points."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("agent_framework")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    usage.record(120, {"gen_ai.token.type": "input"})
    usage.record(15, {"gen_ai.token.type": "output"})
    meter.create_histogram("gen_ai.client.operation.duration", unit="s").record(0.4)
    meter.create_counter("agent.invocations").add(1)
    return reader.get_metrics_data()


def sdk_logs():
    """What an agent's LoggerProvider emits: three log records."""
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("agent_framework")
    logger.emit(body="agent started", severity_number=SeverityNumber.INFO)
    logger.emit(body="tool get_weather called", severity_number=SeverityNumber.DEBUG)
    logger.emit(body="agent finished", severity_number=SeverityNumber.INFO)
    return memory.get_finished_logs()


@pytest.fixture
def counted(monkeypatch) -> list[tuple[str, int]]:
    """The (signal, count) of every metrics and logs export the server reads, in order."""
    from sessions_app.otel import receiver

    seen: list[tuple[str, int]] = []
    for name in ("METRICS", "LOGS"):
        signal = getattr(receiver, name)

        def count(body: bytes, content_type: str, signal=signal) -> int:
            seen.append((signal.name, signal.count(body, content_type)))
            return seen[-1][1]

        monkeypatch.setattr(receiver, name, dataclasses.replace(signal, count=count))
    return seen


@pytest.mark.django_db(transaction=True)
def test_the_sdks_protobuf_exporters_succeed_with_the_endpoint_docs_give(
    live_server, api_token, monkeypatch, counted
):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult
    from opentelemetry.sdk.metrics.export import MetricExportResult

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{live_server.url}/api/otel")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer {api_token}")
    metrics = OTLPMetricExporter(compression=Compression.Gzip)
    assert metrics.export(sdk_metrics()) == MetricExportResult.SUCCESS
    logs = OTLPLogExporter(compression=Compression.Gzip)
    assert logs.export(sdk_logs()) == LogRecordExportResult.SUCCESS
    assert counted == [("metrics", 4), ("logs", 3)]
    assert stored() == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_sdks_json_exporters_succeed_with_a_bare_host_endpoint(
    live_server, api_token, monkeypatch, counted
):
    from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.json.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult
    from opentelemetry.sdk.metrics.export import MetricExportResult

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", live_server.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer {api_token}")
    assert OTLPMetricExporter().export(sdk_metrics()) == MetricExportResult.SUCCESS
    assert OTLPLogExporter().export(sdk_logs()) == LogRecordExportResult.SUCCESS
    assert counted == [("metrics", 4), ("logs", 3)]
    assert stored() == (0, 0, 0)
