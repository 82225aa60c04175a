"""URL routes: the dashboard at /, the API at /api/ (operations under /api/v1/), the OTLP
receiver, the admin."""

from django.contrib import admin
from django.urls import include, path, re_path

from sessions_app.otel.receiver import logs as otlp_logs
from sessions_app.otel.receiver import metrics as otlp_metrics
from sessions_app.otel.receiver import traces as otlp_traces

from .api import api, api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    # OTLP/HTTP: the exporter appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT (…/api/otel);
    # /v1/traces as well for users coming from Phoenix, whose endpoint is the bare host.
    path("api/otel/v1/traces", otlp_traces, name="otlp-traces"),
    path("v1/traces", otlp_traces, name="otlp-traces-root"),
    # The same endpoint gets the SDK's metrics and logs, answered 200 and refused (not kept),
    # so exporters stop reporting 404s and say why instead.
    path("api/otel/v1/metrics", otlp_metrics, name="otlp-metrics"),
    path("v1/metrics", otlp_metrics, name="otlp-metrics-root"),
    path("api/otel/v1/logs", otlp_logs, name="otlp-logs"),
    path("v1/logs", otlp_logs, name="otlp-logs-root"),
    path("api/", api.urls),
    # Clients of the API read JSON errors, also for a path that does not exist.
    re_path(r"^api/", api_not_found),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
