"""Looking an event up by its id, removed or not: the right event, through an index.

Removed events keep their ids (an agent that clears and re-adds reuses them), so only live ids
are unique. The lookups that must also see removed events probe the unique index for live
ones and `event_removed_external_id` for removed ones; asked of both at once, PostgreSQL had no
index to use and scanned every event of the project on each OTLP batch and each jump by id.
"""

from __future__ import annotations

import pytest
from django.db import connection

from sessions_app.db import numbered
from sessions_app.inputs import EventInput
from sessions_app.models import AgentSession
from sessions_app.selectors import otel, transcript
from sessions_app.services.events import events_append, events_clear
from sessions_app.services.events.lookups import STORED_EVENTS_SQL

pytestmark = pytest.mark.django_db


def _append(project, session: str, *ids: str) -> AgentSession:
    events_append(
        project=project,
        session_external_id=session,
        events=[EventInput(external_id=i, source="user", content=f"said {i}") for i in ids],
    )
    return AgentSession.objects.get(project=project, external_id=session)


@pytest.fixture
def cleared_and_readded(project) -> tuple[AgentSession, AgentSession]:
    """e-1 and e-2 stored, cleared, then e-1 stored again in another session."""
    first = _append(project, "first", "e-1", "e-2")
    events_clear(session=first)
    again = _append(project, "again", "e-1")
    return first, again


def test_stored_ids_count_removed_events(project, other_project, cleared_and_readded):
    assert otel.stored_event_ids(project, ["e-1", "e-2", "e-3"]) == {"e-1", "e-2"}
    assert otel.stored_event_ids(other_project, ["e-1", "e-2"]) == set()


def test_a_jump_by_id_goes_to_the_live_event_else_to_the_latest_removed(
    project, cleared_and_readded
):
    first, again = cleared_and_readded
    assert transcript.event_location(project, "e-1") == (again.pk, 1)
    assert transcript.event_location(project, "e-2") == (first.pk, 2)
    assert transcript.event_location(project, "e-3") is None


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        # Only penalised, not forbidden: a scan still shows when no index can answer.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _generic_plan(sql: str, values) -> str:
    """The plan of `sql` as the server runs it: a prepared statement (`db.server_bound`) whose
    generic plan knows neither the project nor the ids."""
    sql, order = numbered(sql)
    arguments = [values[key] for key in order]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE lookup AS {sql}")
        placeholders = ", ".join(["%s"] * len(arguments))
        cursor.execute(f"EXPLAIN EXECUTE lookup({placeholders})", arguments)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE lookup")
    return plan


# Each probes an index per id of the batch; flattened into a join (or an EXISTS), the generic
# plan hashed every event of the project instead, a cost growing with the table.
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("sql", "values", "indexes", "probe"),
    [
        (
            otel.STORED_IDS_SQL,
            {"ids": '["e-1", "e-2"]', "project": 1},
            ("event_project_external_id", "event_removed_external_id"),
            "external_id = wanted.external_id",
        ),
        (
            otel.EVENTS_BY_SPAN_SQL,
            ['["00f067aa0ba902b7"]', 1],
            ("event_span",),
            "span_id)::text = wanted.span_id",
        ),
        (
            STORED_EVENTS_SQL,
            ['["e-1", "e-2"]', 1],
            ("event_project_external_id",),
            "external_id)::text = wanted.external_id",
        ),
    ],
    ids=["otlp-stored-ids", "otlp-span-ids", "append-duplicates"],
)
def test_batch_lookups_by_id_probe_an_index_per_id(
    cleared_and_readded, sql, values, indexes, probe
):
    plan = _generic_plan(sql, values)
    assert "Seq Scan" not in plan and "Hash" not in plan and "hashed" not in plan
    assert "Nested Loop" in plan
    for index in indexes:
        assert f"Scan using {index}" in plan
    assert plan.count(probe) == len(indexes)


@pytest.mark.postgres
def test_a_jump_by_id_probes_indexes(project, cleared_and_readded):
    plans = []

    def explain(execute, sql, params, many, context):
        if sql.startswith("SELECT") and '"sessions_app_event"' in sql:
            plans.append(_plan(sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        transcript.event_location(project, "e-2")  # the live probe misses, then the removed
    # Each by its index, not a walk of the primary key or the table filtering every row.
    live, removed = plans
    assert "Index Cond" in live and "event_project_external_id" in live
    assert "Index Cond" in removed and "event_removed_external_id" in removed
