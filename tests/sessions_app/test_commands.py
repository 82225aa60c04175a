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
    assert "password sessionscope-demo" in output
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
