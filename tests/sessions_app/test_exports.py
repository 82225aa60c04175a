"""Session exports: every event written from the record the API shows, money as JSON numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sessions_app.exports import export_json, export_jsonl, export_markdown
from sessions_app.inputs import EventInput, UsageInput
from sessions_app.models import AgentSession
from sessions_app.services.events import events_append
from sessions_app.services.sessions import session_upsert
from tests.sessions_app.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _append(project, external_id: str, *events: EventInput) -> AgentSession:
    session_upsert(project=project, external_id=external_id, fields={})
    events_append(project=project, session_external_id=external_id, events=list(events))
    return AgentSession.objects.get(project=project, external_id=external_id)


def _priced(project) -> AgentSession:
    return _append(
        project,
        "priced",
        EventInput(external_id="q", source="user", role="user", content="hi", timestamp=T0),
        EventInput(
            external_id="a",
            source="llm",
            role="assistant",
            content="hello",
            timestamp=T0,
            parent_external_id="q",
            usage=UsageInput(
                model="gpt-4o-mini",
                prompt_tokens=1000,
                completion_tokens=200,
                cached_tokens=300,
                reasoning_tokens=50,
                cost_usd=Decimal("0.0123"),
            ),
        ),
    )


def _unpriced(project) -> AgentSession:
    return _append(
        project,
        "unpriced",
        EventInput(
            external_id="m",
            source="llm",
            role="assistant",
            content="from a model without a price",
            timestamp=T0,
            usage=UsageInput(model="mystery-model", prompt_tokens=40, completion_tokens=10),
        ),
    )


def _text(parts) -> str:
    return b"".join(parts).decode()


def _json_export(session: AgentSession) -> dict:
    return json.loads(_text(export_json(session)))


def test_exported_events_are_the_api_events_with_money_as_numbers(project, api_token):
    session = _priced(project)
    api_events = ApiClient(api_token).get("/sessions/priced/events").json()["items"]
    exported = _json_export(session)["events"]
    for api_event, export_event in zip(api_events, exported, strict=True):
        assert export_event.keys() == api_event.keys()
        usage, api_usage = export_event.pop("token_usage"), api_event.pop("token_usage")
        assert export_event == api_event
        if api_usage is None:
            assert usage is None
            continue
        for money in ("cost_usd", "input_cost_per_token", "output_cost_per_token"):
            text, number = api_usage.pop(money), usage.pop(money)
            assert isinstance(text, str) or text is None  # the API keeps its decimal strings
            assert number == (None if text is None else float(text))
        assert usage == api_usage


def test_exports_carry_cached_and_reasoning_tokens_and_cost_as_a_number(project):
    session = _priced(project)
    usage = _json_export(session)["events"][1]["token_usage"]
    assert (usage["cached_tokens"], usage["reasoning_tokens"]) == (300, 50)
    assert usage["cost_usd"] == 0.0123 and usage["cost_source"] == "reported"
    assert _json_export(session)["session"]["cost_usd"] == 0.0123
    assert _json_export(session)["events"][1]["parent_event_id"] == "q"


def test_jsonl_events_are_the_same_records_as_the_json_export(project):
    session = _priced(project)
    lines = [json.loads(line) for line in _text(export_jsonl(session)).splitlines()]
    events = [
        {k: v for k, v in r.items() if k != "record"} for r in lines if r["record"] == "event"
    ]
    assert events == _json_export(session)["events"]
    assert lines[0]["cost_usd"] == 0.0123


def test_markdown_shows_money_as_the_pages_do(project):
    text = _text(export_markdown(_priced(project)))
    assert "- **Cost:** `$0.0123`" in text
    assert "_gpt-4o-mini: 1200 tokens, $0.0123_" in text
    assert "E-" not in text and "0.0123000000" not in text


def test_markdown_says_price_unknown_for_an_unpriced_session_not_zero(project):
    text = _text(export_markdown(_unpriced(project)))
    assert "- **Cost:** `price unknown`" in text
    assert "_mystery-model: 50 tokens, price unknown_" in text
    assert "0E-10" not in text and "$0" not in text


def test_markdown_of_a_session_without_usage_shows_a_true_zero(project):
    session = _append(
        project, "quiet", EventInput(external_id="u", source="user", content="hi", timestamp=T0)
    )
    assert "- **Cost:** `$0`" in _text(export_markdown(session))


@pytest.mark.parametrize(
    ("raw", "json_form", "iso"),
    [
        ("2026-03-01 12:00:00+00", '"2026-03-01T12:00:00Z"', "2026-03-01T12:00:00+00:00"),
        (
            "2026-03-01 12:00:00.1234+00",
            '"2026-03-01T12:00:00.123Z"',
            "2026-03-01T12:00:00.123400+00:00",
        ),
        (
            "2026-03-01 12:00:00.000120",
            '"2026-03-01T12:00:00.000Z"',
            "2026-03-01T12:00:00.000120+00:00",
        ),
        ("2026-03-01 12:00:00", '"2026-03-01T12:00:00Z"', "2026-03-01T12:00:00+00:00"),
    ],
)
def test_moments_are_written_from_the_databases_text_as_django_writes_them(raw, json_form, iso):
    from django.core.serializers.json import DjangoJSONEncoder

    from sessions_app.exports import _iso, _moment

    assert _moment(raw) == json_form
    moment = datetime.fromisoformat(iso)
    assert _moment(raw) == json.dumps(moment, cls=DjangoJSONEncoder)
    assert _iso(raw) == moment.isoformat()


def _every_field(project) -> AgentSession:
    """Events that exercise every exported field: escapes, unicode, whole and tiny money,
    cached and reasoning tokens, a parent, a run, a duration, a removal, moments with and
    without a fraction of a second."""
    from sessions_app.models import Event, TokenUsage
    from sessions_app.services.runs import run_create

    session = _priced(project)
    run_create(session=session, external_id="run-1", agent_name="bot", started_at=T0)
    events_append(
        project=project,
        session_external_id="priced",
        events=[
            EventInput(
                external_id='odd "id" \\ ü',
                source="tool",
                type="tool_result",
                role="tool",
                name="search\t`x`",
                tool_call_id="call-1",
                content='quote " backslash \\ newline \n tab \t bell \x07 emoji 🙂 ```fence```',
                is_error=True,
                payload={"b": [1, 2.5, None, True], "a": {"ü": "\n"}},
                metadata={"k": "v", "n": 3},
                timestamp=datetime(2026, 3, 1, 12, 0, 0, 120, tzinfo=UTC),
                run_external_id="run-1",
                parent_external_id="a",
                duration_ms=1234,
                span_id="00f067aa0ba902b7",
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            ),
            EventInput(
                external_id="whole",
                source="llm",
                role="assistant",
                content="",
                timestamp=datetime(2026, 3, 1, 12, 0, 1, 999999, tzinfo=UTC),
                usage=UsageInput(
                    model="gpt-4o-mini",
                    prompt_tokens=10,
                    completion_tokens=5,
                    reasoning_tokens=7,
                    cost_usd=Decimal("2"),
                ),
            ),
            EventInput(
                external_id="tiny",
                source="llm",
                role="assistant",
                content="unpriced",
                timestamp=T0,
                usage=UsageInput(model="mystery-model", prompt_tokens=1, completion_tokens=1),
            ),
        ],
    )
    TokenUsage.objects.filter(event__external_id="tiny").update(
        cost_usd=Decimal("0.0000000150"), input_cost_per_token=Decimal("0.00000015")
    )
    Event.objects.filter(external_id="whole").update(
        removed_at=datetime(2026, 3, 2, tzinfo=UTC), removed_by="user"
    )
    return session


@pytest.mark.postgres
def test_postgresql_writes_each_event_exactly_as_the_python_path_does(project):
    from unittest import mock

    from sessions_app.exports import _dumps, event_as_dict, iter_events

    session = _every_field(project)
    exports = {}
    for name, export in (("json", export_json), ("jsonl", export_jsonl), ("md", export_markdown)):
        with mock.patch("sessions_app.exports.can_write_event_json", return_value=False):
            python = _text(export(session))
        assert _text(export(session)) == python, name
        exports[name] = python
    # ...and both are the record serialiser's: every field, money as numbers.
    events = json.loads(exports["json"])["events"]
    assert events == [json.loads(_dumps(event_as_dict(e))) for e in iter_events(session)]
    by_id = {e["id"]: e for e in events}
    assert by_id["whole"]["token_usage"]["cost_usd"] == 2.0
    assert by_id["whole"]["token_usage"]["reasoning_tokens"] == 7
    assert by_id["tiny"]["token_usage"]["cost_usd"] == 1.5e-08
    assert by_id['odd "id" \\ ü']["parent_event_id"] == "a"
    assert by_id['odd "id" \\ ü']["run_id"] == "run-1"
    assert '"cost_usd": 2.0,' in exports["json"] and '"cost_usd": 1.5e-08,' in exports["json"]


EXPORTS = (("json", export_json), ("jsonl", export_jsonl), ("md", export_markdown))


def _with_odd_branch(project) -> AgentSession:
    """Every field's session, one of its events on a branch whose name needs escaping in JSON
    and a cost that rounds half up on the pages (1.005 -> $1.01)."""
    from sessions_app.models import Event, TokenUsage

    session = _every_field(project)
    Event.objects.filter(external_id="q").update(branch='try "b" \\ ü\n\t2')
    TokenUsage.objects.filter(event__external_id="a").update(cost_usd=Decimal("1.005"))
    return session


@pytest.mark.parametrize("chunk", [1, 7, None])
def test_an_export_is_the_same_bytes_whatever_its_chunks(project, chunk):
    from sessions_app.models import Event

    session = _with_odd_branch(project)
    events = Event.objects.filter(session=session).count()
    for name, export in EXPORTS:
        whole = b"".join(export(session))
        parts = list(export(session) if chunk is None else export(session, chunk=chunk))
        assert all(isinstance(part, bytes) for part in parts), name
        assert b"".join(parts) == whole, name
        if chunk == 1:  # the head, then one part per event (and the JSON document's tail)
            assert len(parts) == 1 + events + (name == "json"), name


def test_a_branch_name_needing_escapes_is_exported_as_json_and_as_text(project):
    session = _with_odd_branch(project)
    events = _json_export(session)["events"]
    assert events[0]["branch"] == 'try "b" \\ ü\n\t2'
    assert '"branch": "try \\"b\\" \\\\ ü\\n\\t2"' in _text(export_json(session))
    lines = _text(export_jsonl(session)).splitlines()
    assert json.loads(lines[2])["branch"] == 'try "b" \\ ü\n\t2'  # session, run, first event
    assert "_gpt-4o-mini: 1200 tokens, $1.01_" in _text(export_markdown(session))


def test_an_export_reads_up_to_the_last_event_there_was_when_it_began(project):
    session = _priced(project)
    parts = export_jsonl(session, chunk=1)
    head = next(parts)
    _append(project, "priced", EventInput(external_id="late", source="user", content="late"))
    lines = (head + b"".join(parts)).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines[1:]] == ["q", "a"]


def test_a_half_read_export_stops_reading_when_it_is_closed(project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session = _with_odd_branch(project)
    for name, export in EXPORTS:
        parts = export(session, chunk=1)
        next(parts), next(parts)
        with CaptureQueriesContext(connection) as queries:
            parts.close()
            assert list(parts) == [], name
        assert len(queries) == 0, name


@pytest.mark.postgres
@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_postgresql_writes_the_same_bytes_as_the_python_path_whatever_the_chunks(project, chunk):
    from unittest import mock

    session = _with_odd_branch(project)
    for name, export in EXPORTS:
        with mock.patch("sessions_app.exports.can_write_event_json", return_value=False):
            python = b"".join(export(session))
        assert b"".join(export(session, chunk=chunk)) == python, name
