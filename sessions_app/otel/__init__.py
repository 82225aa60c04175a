"""OpenTelemetry (OTLP/HTTP) trace ingest: decode, map, store; see docs/otel.md."""
