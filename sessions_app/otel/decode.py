"""OTLP/HTTP trace bodies (protobuf or JSON, maybe gzipped) into plain `Span` records, and the
pieces every signal's receiver shares: the body's encoding, inflating, parsing, the answer.

Protobuf is decoded by `opentelemetry-proto`. OTLP's JSON is not protobuf's canonical JSON
(trace and span ids are hex, not base64; 64-bit integers may be strings), so it is walked here
directly into the same records. Anything that is not OTLP raises `BadBody` (a 400).
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..storable import text_problem

# An attribute string longer than this is cut (a span is still used); the receiver's body limit
# bounds the whole request.
MAX_ATTRIBUTE_CHARS = 1_000_000

STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf", "application/octet-stream")

M = TypeVar("M", bound=Message)


class BadBody(Exception):
    """The body is not an OTLP export request of the signal its path receives."""


class TooLarge(Exception):
    """The body, once decompressed, is over the size limit."""


@dataclass
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass
class Span:
    """One span with its resource's attributes folded in, ids as lowercase hex."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any] = field(default_factory=dict)
    events: list[SpanEvent] = field(default_factory=list)
    status_code: int = STATUS_UNSET
    status_message: str = ""
    kind: int = 0

    @property
    def duration_ms(self) -> int | None:
        """End minus start in whole milliseconds; None when the span has no usable end."""
        if not self.end_ns or self.end_ns < self.start_ns:
            return None
        return min((self.end_ns - self.start_ns) // 1_000_000, 2**31 - 1)


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding (gzip or deflate), refused past `limit` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadBody(f"Content-Encoding {encoding!r} is not supported (use gzip).")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        # Bounded, so a small bomb cannot expand into gigabytes before we look at it.
        out = inflater.decompress(body, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BadBody(f"The body is not valid {encoding}.") from exc
    if len(out) > limit:
        raise TooLarge(f"The decompressed body is larger than {limit} bytes.")
    return out


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def encoding(content_type: str) -> Literal["protobuf", "json"]:
    """The body's OTLP encoding by its Content-Type; BadBody for a type OTLP does not use."""
    kind = _media_type(content_type)
    if kind in PROTOBUF_TYPES:
        return "protobuf"
    if kind == "application/json":
        return "json"
    raise BadBody(f"Content-Type {kind!r} is not OTLP (application/x-protobuf or json).")


def parse_protobuf(request: M, body: bytes) -> M:
    """`request` (an empty export request message) read from `body`; BadBody if it cannot be."""
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        name = request.DESCRIPTOR.name
        raise BadBody(f"The body is not an OTLP protobuf {name}.") from exc
    return request


def parse_json(body: bytes) -> Any:
    """The body as JSON; BadBody if it is not."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadBody("The body is not valid JSON.") from exc


# --- protobuf ---------------------------------------------------------------------------------


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    result = getattr(value, kind)
    if isinstance(result, str) and len(result) > MAX_ATTRIBUTE_CHARS:
        return result[:MAX_ATTRIBUTE_CHARS]
    return result


def _pb_attributes(attributes: Any) -> dict[str, Any]:
    """Attributes as a dict, each value as `_pb_value` reads it.

    Strings and integers, nearly every attribute a span has, are read here without a call to
    `_pb_value`: this runs for every attribute of every span."""
    out = {}
    for kv in attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            text = value.string_value
            out[kv.key] = text if len(text) <= MAX_ATTRIBUTE_CHARS else text[:MAX_ATTRIBUTE_CHARS]
        elif kind == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = _pb_value(value)
    return out


def _pb_id(raw: bytes, size: int) -> str:
    """An id as lowercase hex; "" unless it has OTLP's size and is not all zeros (invalid)."""
    return raw.hex() if len(raw) == size and raw.strip(b"\x00") else ""


def decode_protobuf(body: bytes) -> list[Span]:
    """Spans of an `ExportTraceServiceRequest` in protobuf."""
    request = parse_protobuf(ExportTraceServiceRequest(), body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(
                    Span(
                        trace_id=_pb_id(s.trace_id, 16),
                        span_id=_pb_id(s.span_id, 8),
                        parent_span_id=_pb_id(s.parent_span_id, 8),
                        name=s.name,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes=_pb_attributes(s.attributes),
                        resource=resource,
                        events=[
                            SpanEvent(e.name, e.time_unix_nano, _pb_attributes(e.attributes))
                            for e in s.events
                        ],
                        status_code=s.status.code,
                        status_message=s.status.message,
                        kind=s.kind,
                    )
                )
    return spans


# --- JSON -------------------------------------------------------------------------------------


def json_get(obj: dict, camel: str, snake: str, default: Any = None) -> Any:
    """OTLP JSON uses lowerCamelCase; receivers should accept the proto's snake_case too."""
    if camel in obj:
        return obj[camel]
    return obj.get(snake, default)


def _json_values(inner: Any) -> list:
    """The `values` list of an arrayValue or kvlistValue; TypeError when it is not one."""
    values = inner.get("values", []) if isinstance(inner, dict) else None
    if not isinstance(values, list):
        raise TypeError("arrayValue and kvlistValue hold {values: [...]}")
    return values


def _json_value(value: Any) -> Any:
    """An AnyValue's value; TypeError, ValueError or OverflowError when it is wrongly typed."""
    if not isinstance(value, dict) or not value:
        return None
    key, inner = next(iter(value.items()))
    if key in ("stringValue", "string_value"):
        text = str(inner)
        return text[:MAX_ATTRIBUTE_CHARS]
    if key in ("intValue", "int_value"):
        return int(inner)
    if key in ("doubleValue", "double_value"):
        return float(inner)
    if key in ("boolValue", "bool_value"):
        return bool(inner)
    if key in ("arrayValue", "array_value"):
        return [_json_value(v) for v in _json_values(inner)]
    if key in ("kvlistValue", "kvlist_value"):
        return _json_attributes(_json_values(inner))
    if key in ("bytesValue", "bytes_value"):
        return str(inner)
    return None


def _json_attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        raise BadBody("attributes must be a list of {key, value}.")
    out = {}
    for kv in items:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            try:
                out[kv["key"]] = _json_value(kv.get("value"))
            except (TypeError, ValueError, OverflowError, RecursionError):
                continue  # a wrongly typed value is dropped, not the span
    return out


def _hex_id(value: Any, size: int) -> str:
    text = value if isinstance(value, str) else ""
    text = text.lower()
    if text and (
        len(text) != size
        or any(c not in "0123456789abcdef" for c in text)
        or not text.strip("0")  # all zeros: OTLP's invalid id
    ):
        return ""
    return text


def _nanos(value: Any) -> int:
    """A time in nanoseconds since the epoch: a fixed64 in OTLP's protobuf, so JSON's must fit
    one too (a larger one would be a date no column holds)."""
    nanos = int(value or 0)
    if not 0 <= nanos < 2**64:
        raise ValueError(f"time {value!r} is outside OTLP's fixed64 nanoseconds")
    return nanos


def _json_span(s: dict, resource: dict[str, Any]) -> Span:
    status = json_get(s, "status", "status", {}) or {}
    code = status.get("code", 0)
    if isinstance(code, str):  # the enum's name, as some encoders write it
        code = {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    return Span(
        trace_id=_hex_id(json_get(s, "traceId", "trace_id"), 32),
        span_id=_hex_id(json_get(s, "spanId", "span_id"), 16),
        parent_span_id=_hex_id(json_get(s, "parentSpanId", "parent_span_id"), 16),
        name=str(s.get("name", "")),
        start_ns=_nanos(json_get(s, "startTimeUnixNano", "start_time_unix_nano", 0)),
        end_ns=_nanos(json_get(s, "endTimeUnixNano", "end_time_unix_nano", 0)),
        attributes=_json_attributes(s.get("attributes", [])),
        resource=resource,
        events=[
            SpanEvent(
                str(e.get("name", "")),
                _nanos(json_get(e, "timeUnixNano", "time_unix_nano", 0)),
                _json_attributes(e.get("attributes", [])),
            )
            for e in s.get("events", [])
            if isinstance(e, dict)
        ],
        status_code=int(code) if isinstance(code, int) else 0,
        status_message=str(status.get("message", "")),
        kind=s.get("kind", 0) if isinstance(s.get("kind"), int) else 0,
    )


def _json_list(obj: dict, camel: str, snake: str) -> list:
    """A list field of a request's object (missing or null is empty); BadBody otherwise."""
    value = json_get(obj, camel, snake) or []
    if not isinstance(value, list):
        raise BadBody(f"{camel} must be a list.")
    return value


def decode_json(body: bytes) -> tuple[list[Span], list[str]]:
    """Spans of an OTLP JSON request, and the reasons for spans that could not be read.

    The request's structure around the spans (resources, scopes, the span lists) must be
    OTLP's, else the body is not an export request (BadBody, a 400); a span that cannot be read
    is rejected alone, a wrongly typed attribute value dropped."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadBody("The body is not an OTLP ExportTraceServiceRequest (resourceSpans).")
    spans: list[Span] = []
    rejected: list[str] = []
    for rs in _json_list(data, "resourceSpans", "resource_spans"):
        if not isinstance(rs, dict):
            raise BadBody("resourceSpans must hold objects.")
        resource_object = rs.get("resource") or {}
        if not isinstance(resource_object, dict):
            raise BadBody("resource must be an object.")
        resource = _json_attributes(resource_object.get("attributes") or [])
        for ss in _json_list(rs, "scopeSpans", "scope_spans"):
            if not isinstance(ss, dict):
                raise BadBody("scopeSpans must hold objects.")
            for s in _json_list(ss, "spans", "spans"):
                try:
                    spans.append(_json_span(s, resource))
                except (
                    AttributeError,
                    TypeError,
                    ValueError,
                    OverflowError,
                    RecursionError,
                    BadBody,
                ) as exc:
                    rejected.append(f"unreadable span: {exc}"[:300])
    return spans, rejected


# --- text every span must hold ----------------------------------------------------------------


def value_problem(value: Any) -> str | None:
    """`text_problem` of the first bad string (or key) in a value of lists and dicts."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return problem
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


_CONTAINERS = (list, dict)


def _attributes_problem(attributes: dict[str, Any], what: str) -> str | None:
    """`text_problem` of the first bad key or value of attributes, naming the attribute."""
    # This runs for every attribute of every span: the keys are checked at once, and ASCII
    # strings without NUL (`isascii` is constant time), nearly every value, in the loop alone.
    keys = "".join(attributes)
    clean = "\x00" not in keys and keys.isascii()
    if clean:
        for value in attributes.values():
            if value.__class__ is str:
                if "\x00" in value or not value.isascii():
                    clean = False
                    break
            elif value.__class__ in _CONTAINERS:
                clean = False
                break
    if clean:
        return None
    for key, value in attributes.items():
        problem = text_problem(key) or value_problem(value)
        if problem:
            return f"{what} {key[:100]!r} {problem}"
    return None


def span_problem(span: Span, resource_problem: str | None = None) -> str | None:
    """Why a decoded span cannot be stored as it is, or None: a string in it (attribute, event,
    name, status message) holds text no column can. Every string is checked, not only those
    the mapping reads today, so no attribute read tomorrow reaches the database unchecked."""
    problem = resource_problem or _attributes_problem(span.attributes, "attribute")
    if problem:
        return problem
    name, status = span.name, span.status_message
    if "\x00" in name or "\x00" in status or not name.isascii() or not status.isascii():
        for what, text in (("the span name", name), ("the status message", status)):
            problem = text_problem(text)
            if problem:
                return f"{what} {problem}"
    for event in span.events:
        problem = _attributes_problem(event.attributes, "event attribute")
        if problem:
            return problem
        problem = text_problem(event.name)
        if problem:
            return f"an event name {problem}"
    return None


def checked(spans: list[Span]) -> tuple[list[Span], list[str]]:
    """The spans whose text can be stored, and a reason for each one that cannot."""
    good: list[Span] = []
    rejected: list[str] = []
    resources: dict[int, str | None] = {}  # a resource is shared by its spans: checked once
    for span in spans:
        key = id(span.resource)
        if key not in resources:
            resources[key] = _attributes_problem(span.resource, "resource attribute")
        problem = span_problem(span, resources[key])
        if problem:
            rejected.append(f"span rejected: {problem}")
        else:
            good.append(span)
    return good, rejected


def decode(body: bytes, content_type: str) -> tuple[list[Span], list[str]]:
    """Spans of a request body by its content type whose text can be stored, with reasons for
    the spans that could not be read or hold text no column can (NUL, lone surrogates)."""
    unreadable: list[str] = []
    if encoding(content_type) == "protobuf":
        spans = decode_protobuf(body)
    else:
        spans, unreadable = decode_json(body)
    good, bad_text = checked(spans)
    return good, unreadable + bad_text


def response_body(
    content_type: str,
    rejected: int,
    message: str,
    response_type: type[Message] = ExportTraceServiceResponse,
) -> tuple[bytes, str]:
    """An export response (an ExportTraceServiceResponse unless told) in the request's encoding,
    with a partial success when something was rejected or there is something to say."""
    response: Any = response_type()
    partial = response.partial_success
    # Every signal's partial success has its `rejected_<items>` count as field 1.
    counter = partial.DESCRIPTOR.fields_by_number[1]
    if _media_type(content_type) == "application/json":
        body: dict[str, Any] = {}
        if rejected or message:
            body["partialSuccess"] = {counter.json_name: str(rejected), "errorMessage": message}
        return json.dumps(body).encode(), "application/json"
    if rejected or message:
        setattr(partial, counter.name, rejected)
        partial.error_message = message
    return response.SerializeToString(), "application/x-protobuf"
