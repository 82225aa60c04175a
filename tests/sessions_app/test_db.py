"""The raw-SQL helpers of the ingest path (sessions_app/db.py)."""

import pytest
from django.db import IntegrityError, connection

from sessions_app.db import numbered, server_bound
from tests.factories import ProjectFactory


def test_numbered_maps_named_placeholders_to_positions_once_each():
    sql, order = numbered("SELECT %(a)s, %(b)s::json, %(a)s WHERE x LIKE 'p%%'")
    assert sql == "SELECT $1, $2::json, $1 WHERE x LIKE 'p%'"
    assert order == ("a", "b")


def test_numbered_maps_positional_placeholders_in_order():
    assert numbered("SELECT %s, %s") == ("SELECT $1, $2", (0, 1))


@pytest.mark.parametrize("sql", ["SELECT %b", "SELECT %(a)b", "SELECT %s, %(a)s"])
def test_numbered_refuses_what_it_cannot_bind_the_same_way(sql):
    with pytest.raises(ValueError, match="placeholder"):
        numbered(sql)


@pytest.mark.postgres
@pytest.mark.django_db
def test_server_bound_binds_named_and_repeated_parameters():
    rows = server_bound("SELECT %(a)s::int + %(b)s::int, %(a)s::text, 'x%%y'", {"a": 2, "b": 3})
    assert rows == [(5, "2", "x%y")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_server_bound_raises_djangos_errors():
    project = ProjectFactory()
    copy = (
        "INSERT INTO sessions_app_project (slug, name) "
        "SELECT slug, name FROM sessions_app_project WHERE id = %s RETURNING id"
    )
    with pytest.raises(IntegrityError):
        server_bound(copy, [project.pk])
    # The connection's reused cursor serves the next statement after a failed one.
    assert server_bound("SELECT %s::int", [7]) == [(7,)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_server_bound_follows_the_connection_when_django_reconnects():
    assert server_bound("SELECT pg_backend_pid()", []) == [
        (connection.connection.info.backend_pid,)
    ]
    connection.close()  # as close_old_connections does after CONN_MAX_AGE or a failed health check
    (pid,) = server_bound("SELECT pg_backend_pid()", [])[0]
    assert pid == connection.connection.info.backend_pid
    assert server_bound("SELECT %s::text", ["again"]) == [("again",)]
