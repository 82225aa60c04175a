"""The management commands an operator runs."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Sum

from sessions_app.models import (
    AgentSession,
    ApiKey,
    DailyUsage,
    Event,
    Membership,
    Project,
    Run,
    Summary,
    TokenUsage,
)
from sessions_app.services.projects import api_key_authenticate

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_project():
    assert "Created project 'acme'" in run("create_project", "acme", "--name", "Acme Corp")
    assert Project.objects.get(slug="acme").name == "Acme Corp"


def test_create_project_refuses_a_taken_or_invalid_slug(project):
    with pytest.raises(CommandError, match="already exists"):
        run("create_project", project.slug)
    with pytest.raises(CommandError, match="lowercase"):
        run("create_project", "Not A Slug")


def test_create_api_key_prints_a_working_secret_alone_on_the_last_line(project):
    output = run("create_api_key", "--project", project.slug, "--name", "agents")
    token = output.strip().splitlines()[-1]
    assert token.startswith("ss_") and " " not in token
    key = api_key_authenticate(token)
    assert key is not None and key.project == project and key.name == "agents"
    # Only the hash is stored.
    assert token.split("_", 2)[2] not in ApiKey.objects.get().secret_hash


def test_create_api_key_for_an_unknown_project_fails():
    with pytest.raises(CommandError, match="No project"):
        run("create_api_key", "--project", "nope")


def test_create_user_with_a_role(project):
    run(
        "create_user",
        "ana",
        "--password",
        "s3cret-pass",
        "--project",
        project.slug,
        "--role",
        "editor",
    )
    user = get_user_model().objects.get(username="ana")
    assert user.check_password("s3cret-pass")
    assert Membership.objects.get(user=user, project=project).role == "editor"


def test_create_user_superuser():
    run("create_user", "root", "--password", "s3cret-pass", "--superuser")
    assert get_user_model().objects.get(username="root").is_superuser


def test_seed_demo_writes_consistent_data_and_is_idempotent():
    output = run("seed_demo", "--sessions", "12", "--long-events", "300")
    assert "login demo / sessionscope-demo" in output
    token = output.strip().splitlines()[-1].split()[-1]
    assert api_key_authenticate(token).project.slug == "demo"
    assert get_user_model().objects.get(username="demo").check_password("sessionscope-demo")

    project = Project.objects.get(slug="demo")
    long = AgentSession.objects.get(external_id="demo-long-support-thread")
    assert long.event_count == 300 and long.last_seq == 300
    # The long session stays one session; segmentation thresholds apply from now on.
    assert long.continued_in_id is None
    assert not Summary.objects.filter(session=long).exists()
    assert project.segment_token_threshold and project.segment_turn_limit
    for session in AgentSession.objects.filter(project=project):
        events = Event.objects.filter(session=session).aggregate(n=Count("id"), last=Max("seq"))
        usage = TokenUsage.objects.filter(session=session).aggregate(t=Sum("total_tokens"))
        assert session.event_count == events["n"]
        assert session.last_seq == (events["last"] or 0)
        assert session.total_tokens == (usage["t"] or 0)
    assert DailyUsage.objects.aggregate(n=Sum("events"))["n"] == TokenUsage.objects.count()
    assert Event.objects.filter(type="tool_result", is_error=True).exists()
    assert Run.objects.values("status").distinct().count() >= 3

    before = Event.objects.count()
    assert "already present" in run("seed_demo")
    assert Event.objects.count() == before
    assert output.strip().splitlines()[-1] == run("seed_demo").strip().splitlines()[-1]


def test_seed_demo_shows_the_long_sessions_progress_as_it_goes():
    """make run's output is not a terminal: one line per 10 % of the long session, though its
    500-event batches rarely land on a 10 % mark exactly."""
    output = run("seed_demo", "--sessions", "2", "--long-events", "1200", "--quiet-credentials")
    lines = [line.strip() for line in output.splitlines() if "long session" in line]
    assert len(lines) >= 3
    assert lines[-1] == "events of the long session: 1,200/1,200"
    assert len(set(lines)) == len(lines)
    assert "login" not in output


def test_a_seeding_that_fails_part_way_leaves_no_half_demo_so_the_next_run_seeds_again():
    from unittest import mock

    from sessions_app.management.commands.seed_demo import Command

    with (
        mock.patch.object(Command, "_long_session", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        run("seed_demo", "--sessions", "3", "--long-events", "10")
    assert not Project.objects.filter(slug="demo").exists()
    assert not AgentSession.objects.exists() and not Event.objects.exists()
    assert "Seeded" in run("seed_demo", "--sessions", "3", "--long-events", "10")


def test_demo_conversations_hang_together():
    import json

    run("seed_demo", "--sessions", "30", "--long-events", "200")
    calls = Event.objects.filter(type="tool_call")
    assert calls.exists()
    for call in calls:
        # Arguments are a JSON object, never Python's repr or an echo of the question.
        assert isinstance(json.loads(call.content), dict)
    for result in Event.objects.filter(type="tool_result", is_error=False)[:50]:
        assert isinstance(json.loads(result.content), dict)
    from sessions_app import demo_scripts

    turns = [
        turn
        for scripts in (
            demo_scripts.SUPPORT,
            demo_scripts.CODING,
            demo_scripts.RESEARCH,
            demo_scripts.TRAVEL,
            demo_scripts.ANALYST,
        )
        for script in scripts
        for turn in script.turns
    ]
    on_error = {t.answer_on_error[:15] for t in turns if t.calls}
    assert not on_error & {t.answer[:15] for t in turns}
    for error in Event.objects.filter(type="tool_result", is_error=True):
        # The answer that follows is the one for a failure, and names the failed tool and
        # its cause where the turn has several tools.
        answer = (
            Event.objects.filter(session=error.session, seq__gt=error.seq, role="assistant")
            .order_by("seq")
            .first()
        )
        assert answer.content[:15] in on_error
        if (
            "{tool}"
            in next(
                t for t in turns if t.answer_on_error[:15] == answer.content[:15]
            ).answer_on_error
        ):
            assert error.name in answer.content and error.content in answer.content
    assert "parcel" not in " ".join(
        Event.objects.filter(session__agent_name="travel-planner").values_list("content", flat=True)
    )


def test_every_demo_session_with_usage_is_priced():
    run("seed_demo", "--sessions", "30", "--long-events", "100")
    assert not TokenUsage.objects.filter(cost_source="unknown").exists()
    assert not AgentSession.objects.filter(total_tokens__gt=0, cost_usd=0).exists()


def test_demo_sessions_come_in_each_frameworks_shape():
    run("seed_demo", "--sessions", "40", "--long-events", "100")
    formats = set(Event.objects.values_list("payload_format", flat=True).distinct())
    assert formats == {"native", "openai_chat", "responses", "agent_framework"}
    frameworks = {s.metadata.get("framework") for s in AgentSession.objects.all()}
    assert {"agentsilex", "openai-agents", "agent-framework", "a2a-session-manager"} <= frameworks
    chat = Event.objects.filter(payload_format="openai_chat", type="tool_result").first()
    assert chat.payload["role"] == "tool" and chat.payload["tool_call_id"] == chat.tool_call_id


@pytest.fixture
def health_server():
    """A server that answers every GET, on a free port; yields its /api/v1/health URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/health"
    finally:
        server.shutdown()


def test_ready_at_seeds_then_prints_the_credentials_line_with_the_servers_url_last(
    health_server,
):
    """make run starts the server beside the seeding: the login comes last, once both are done."""
    output = run("seed_demo", "--sessions", "3", "--long-events", "20", "--ready-at", health_server)
    lines = output.strip().splitlines()
    port = health_server.split(":")[2].split("/")[0]
    assert lines[-1].startswith(f"Sessionscope is ready: http://127.0.0.1:{port}/")
    assert sum("Sessionscope is ready" in line for line in lines) == 1
    assert any(line.startswith("Seeded ") for line in lines[:-1])
    token = lines[-1].split()[-1]
    assert api_key_authenticate(token).project.slug == "demo"
    assert AgentSession.objects.filter(external_id="demo-long-support-thread").exists()


def test_ready_at_fails_when_the_server_never_answers():
    from unittest import mock

    from sessions_app.management.commands.seed_demo import Command

    real = Command._announce_when_up
    with (
        mock.patch.object(
            Command, "_announce_when_up", lambda self, url: real(self, url, timeout=0.5)
        ),
        pytest.raises(CommandError, match="did not answer"),
    ):
        run(
            "seed_demo",
            "--sessions",
            "1",
            "--long-events",
            "0",
            "--ready-at",
            "http://127.0.0.1:9/",
        )


def test_wait_for_prints_the_credentials_line_once_the_server_answers(health_server):
    port = health_server.split(":")[2].split("/")[0]
    output = run("seed_demo", "--wait-for", health_server)
    line = output.strip().splitlines()[-1]
    assert line.startswith(f"Sessionscope is ready: http://127.0.0.1:{port}/")
    assert "login demo / sessionscope-demo" in line and "API key ss_demo0000_" in line
    assert not Project.objects.filter(slug="demo").exists()  # it wrote nothing
