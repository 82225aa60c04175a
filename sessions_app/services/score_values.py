"""The per-session score values the sessions list shows, filters and sorts by
(`SessionScore`): one row per session and score name, kept exact in the score's transaction.

A new score updates its row with one upsert (`score_value_add`): an own score becomes the
session's value, an event's number is added to the count and sum its average is made of.
Anything that would change or remove scores (none does today: scores go with their session;
the migration's backfill is the same SQL) recomputes the rows of the sessions concerned from
their scores in two set-based statements (`score_values_rebuild`), never one query per
session.

The sums cannot overflow. New numbers lie within ±MAX_SCORE_NUMBER (services/scores.py refuses
others), but an earlier release stored any finite double: two event scores of 1e308 summed to
an error on PostgreSQL ("value out of range: overflow") and to infinity on SQLite. Each number
is therefore clamped into the range where it is summed, here and in the upsert: a sum is then at
most event_count (< 2**31) times 1e15, below 2.2e24, far from a double's 1.8e308. A session's own
score is shown as stored, never summed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from ..models import AgentSession, Score, SessionScore

# Numeric scores (and score config bounds) lie in [-MAX_SCORE_NUMBER, MAX_SCORE_NUMBER]:
# doubles hold every integer up to 2**53 exactly, and a session's running sum of event scores
# (SessionScore.event_sum), each clamped into this range, stays far below a double's limit.
MAX_SCORE_NUMBER = 1e15

TABLE = SessionScore._meta.db_table
SCORES = Score._meta.db_table
SESSIONS = AgentSession._meta.db_table
# Sessions per rebuild statement (SQLite's limit on bound variables is far above it).
REBUILD_CHUNK = 1000

_OWN_UPSERT = f"""
INSERT INTO {TABLE} (project_id, session_id, name, data_type, has_own, own_number, own_label,
    event_count, event_sum, value, label, agent_name)
VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, %s, %s, %s)
ON CONFLICT (session_id, name) DO UPDATE SET
    agent_name = EXCLUDED.agent_name, data_type = EXCLUDED.data_type, has_own = EXCLUDED.has_own,
    own_number = EXCLUDED.own_number, own_label = EXCLUDED.own_label,
    value = EXCLUDED.value, label = EXCLUDED.label
"""

_EVENT_UPSERT = f"""
INSERT INTO {TABLE} (project_id, session_id, name, data_type, has_own, own_number, own_label,
    event_count, event_sum, value, label, agent_name)
VALUES (%s, %s, %s, %s, %s, NULL, '', 1, %s, %s, '', %s)
ON CONFLICT (session_id, name) DO UPDATE SET
    agent_name = EXCLUDED.agent_name,
    event_count = {TABLE}.event_count + 1,
    event_sum = {TABLE}.event_sum + EXCLUDED.event_sum,
    data_type = CASE WHEN {TABLE}.has_own THEN {TABLE}.data_type ELSE EXCLUDED.data_type END,
    value = CASE WHEN {TABLE}.has_own THEN {TABLE}.value
        ELSE ({TABLE}.event_sum + EXCLUDED.event_sum) / ({TABLE}.event_count + 1) END
"""


def score_value_add(score: Score, agent_name: str) -> None:
    """Fold a score just stored into its session's value of that name (one query; none for an
    event's label, which the list does not average); `agent_name` is the session's."""
    with connection.cursor() as cursor:
        if score.event_id is None:
            cursor.execute(
                _OWN_UPSERT,
                [
                    score.project_id,
                    score.session_id,
                    score.name,
                    score.data_type,
                    True,
                    score.value_number,
                    score.value_label,
                    score.value_number,
                    score.value_label,
                    agent_name,
                ],
            )
        elif score.value_number is not None:
            number = clamped(score.value_number)
            cursor.execute(
                _EVENT_UPSERT,
                [
                    score.project_id,
                    score.session_id,
                    score.name,
                    score.data_type,
                    False,
                    number,
                    number,
                    agent_name,
                ],
            )


def clamped(number: float) -> float:
    """A score's number as a session's sum counts it: within ±MAX_SCORE_NUMBER."""
    return max(-MAX_SCORE_NUMBER, min(MAX_SCORE_NUMBER, number))


# A score's number clamped as `clamped` does, in SQL. The bound is written as a real number
# (`1000000000000000.0`): as an integer, SQLite would sum the clamped ones as integers, which
# overflow past 9,223 of them.
_BOUND = repr(MAX_SCORE_NUMBER)
CLAMPED_SQL = (
    f"CASE WHEN s.value_number > {_BOUND} THEN {_BOUND} "
    f"WHEN s.value_number < -{_BOUND} THEN -{_BOUND} ELSE s.value_number END"
)


def rebuild_sql(scope: str) -> str:
    """INSERT ... SELECT of the value rows of the scores matching `scope` (a condition on the
    score table aliased `s`), computed from scratch: the latest own score (created_at, id),
    else the count, sum and average of the events' numbers (each clamped: no overflow)."""
    return f"""
INSERT INTO {TABLE} (project_id, session_id, name, data_type, has_own, own_number, own_label,
    event_count, event_sum, value, label, agent_name)
SELECT k.project_id, k.session_id, k.name, COALESCE(o.data_type, e.data_type, ''),
    o.id IS NOT NULL, o.value_number, COALESCE(o.value_label, ''),
    COALESCE(e.n, 0), COALESCE(e.total, 0),
    CASE WHEN o.id IS NOT NULL THEN o.value_number WHEN e.n > 0 THEN e.total / e.n END,
    COALESCE(o.value_label, ''),
    (SELECT a.agent_name FROM {SESSIONS} a WHERE a.id = k.session_id)
FROM (
    SELECT DISTINCT s.project_id, s.session_id, s.name FROM {SCORES} s
    WHERE ({scope}) AND (s.event_id IS NULL OR s.value_number IS NOT NULL)
) k
LEFT JOIN {SCORES} o ON o.id = (
    SELECT o2.id FROM {SCORES} o2
    WHERE o2.session_id = k.session_id AND o2.name = k.name AND o2.event_id IS NULL
    ORDER BY o2.created_at DESC, o2.id DESC LIMIT 1
)
LEFT JOIN (
    SELECT s.session_id, s.name, COUNT(*) AS n, SUM({CLAMPED_SQL}) AS total,
        MAX(s.data_type) AS data_type
    FROM {SCORES} s
    WHERE ({scope}) AND s.event_id IS NOT NULL AND s.value_number IS NOT NULL
    GROUP BY s.session_id, s.name
) e ON e.session_id = k.session_id AND e.name = k.name
"""


def score_values_rebuild(session_ids: Iterable[int]) -> None:
    """Recompute the value rows of these sessions from their scores (after scores of theirs
    were changed or removed): a DELETE and an INSERT ... SELECT per thousand sessions."""
    ids = sorted(set(session_ids))
    for start in range(0, len(ids), REBUILD_CHUNK):
        chunk = ids[start : start + REBUILD_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE session_id IN ({marks})", chunk)
            cursor.execute(rebuild_sql(f"s.session_id IN ({marks})"), chunk + chunk)


def score_values_agent_set(session_id: int, agent_name: str) -> None:
    """A session's agent changed: its value rows follow (one UPDATE)."""
    SessionScore.objects.filter(session_id=session_id).update(agent_name=agent_name)
