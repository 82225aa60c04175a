"""Editing a score config: description, bounds and labels change; the type and the name only
while no score uses them, a label only when no score holds it; editors only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import DataType, ScoreConfig
from sessions_app.services.scores import score_record
from tests.factories import SessionFactory

from .conftest import htmx

pytestmark = pytest.mark.django_db


@pytest.fixture
def tone(project):
    return ScoreConfig.objects.create(
        project=project,
        name="tone",
        data_type=DataType.CATEGORICAL,
        categories=["calm", "curt", "rude"],
        description="How the agent sounds",
    )


@pytest.fixture
def helpful(project):
    return ScoreConfig.objects.create(
        project=project, name="helpfulness", data_type=DataType.NUMERIC, min_value=1, max_value=5
    )


def edit_url(config, slug: str = "acme") -> str:
    return reverse("dashboard:score_config_edit", args=[slug, config.pk])


def body(config, **changes) -> dict[str, str]:
    data = {
        "name": config.name,
        "data_type": config.data_type,
        "min_value": "" if config.min_value is None else str(config.min_value),
        "max_value": "" if config.max_value is None else str(config.max_value),
        "categories": ", ".join(config.categories),
        "description": config.description,
    }
    return {**data, **changes}


def score(config, value) -> None:
    session = SessionFactory(project=config.project)
    score_record(session=session, name=config.name, value=value, config=config, author_name="t")


def test_the_edit_form_is_a_page_and_a_partial_with_the_stored_values(client, editor, tone):
    client.force_login(editor)
    page = client.get(edit_url(tone))
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert 'value="calm, curt, rude"' in html and 'value="How the agent sounds"' in html
    assert '<option value="categorical" selected>' in html
    partial = client.get(edit_url(tone), **htmx("score-config-form")).content.decode()
    assert "<html" not in partial and 'id="score-config-form"' in partial


def test_the_configs_page_links_editors_to_the_edit_form(client, editor, viewer, tone):
    client.force_login(editor)
    listing = reverse("dashboard:score_configs", args=["acme"])
    assert edit_url(tone) in client.get(listing).content.decode()
    client.force_login(viewer)
    assert edit_url(tone) not in client.get(listing).content.decode()


def test_an_editor_changes_description_bounds_and_labels(client, editor, helpful, tone):
    client.force_login(editor)
    r = client.post(edit_url(helpful), body(helpful, min_value="0", max_value="10"))
    assert r.status_code == 302 and r["Location"] == "/p/acme/scores/"
    helpful.refresh_from_db()
    assert (helpful.min_value, helpful.max_value) == (0, 10)
    r = client.post(edit_url(tone), body(tone, categories="calm, rude, warm", description="Voice"))
    tone.refresh_from_db()
    assert r.status_code == 302
    assert tone.categories == ["calm", "rude", "warm"] and tone.description == "Voice"


def test_a_saved_htmx_edit_sends_the_browser_back_to_the_configs(client, editor, tone):
    client.force_login(editor)
    r = client.post(edit_url(tone), body(tone, description="x"), **htmx("score-config-form"))
    assert r.status_code == 200 and r["HX-Redirect"] == "/p/acme/scores/"


def test_the_type_of_a_config_with_scores_cannot_change(client, editor, helpful):
    score(helpful, 4)
    client.force_login(editor)
    r = client.post(edit_url(helpful), body(helpful, data_type="boolean"))
    html = r.content.decode()
    assert r.status_code == 422
    assert "helpfulness already has 1 score; its type cannot change." in html
    # The form keeps what was typed beside the error, for the editor to put right.
    assert '<option value="boolean" selected>' in html
    helpful.refresh_from_db()
    assert helpful.data_type == DataType.NUMERIC


def test_the_type_and_name_change_while_no_score_uses_the_config(client, editor, helpful):
    client.force_login(editor)
    r = client.post(edit_url(helpful), body(helpful, name="useful", data_type="boolean"))
    assert r.status_code == 302
    helpful.refresh_from_db()
    assert (helpful.name, helpful.data_type, helpful.min_value) == ("useful", "boolean", None)


def test_a_config_with_scores_cannot_be_renamed(client, editor, helpful):
    score(helpful, 2)
    client.force_login(editor)
    r = client.post(edit_url(helpful), body(helpful, name="useful"))
    assert r.status_code == 422 and "it cannot be renamed" in r.content.decode()
    assert ScoreConfig.objects.get(pk=helpful.pk).name == "helpfulness"


def test_a_label_scores_still_use_cannot_be_removed_but_an_unused_one_can(client, editor, tone):
    score(tone, "rude")
    client.force_login(editor)
    r = client.post(
        edit_url(tone), body(tone, categories="calm, curt"), **htmx("score-config-form")
    )
    assert r.status_code == 422
    assert "Scores still use rude: keep it." in r.content.decode()
    assert ScoreConfig.objects.get(pk=tone.pk).categories == ["calm", "curt", "rude"]
    r = client.post(edit_url(tone), body(tone, categories="rude, calm"))
    assert r.status_code == 302
    assert ScoreConfig.objects.get(pk=tone.pk).categories == ["rude", "calm"]


def test_a_bad_form_is_a_400_and_changes_nothing(client, editor, helpful):
    client.force_login(editor)
    r = client.post(edit_url(helpful), body(helpful, max_value="lots"))
    assert r.status_code == 400 and "max_value" in r.content.decode()
    r = client.post(edit_url(helpful), body(helpful, min_value="9", max_value="1"))
    assert r.status_code == 422 and "The minimum is above the maximum." in r.content.decode()
    assert ScoreConfig.objects.get(pk=helpful.pk).max_value == 5


def test_a_viewer_may_not_edit_a_config(client, viewer, tone):
    client.force_login(viewer)
    assert client.get(edit_url(tone)).status_code == 403
    assert client.post(edit_url(tone), body(tone, description="x")).status_code == 403
    assert ScoreConfig.objects.get(pk=tone.pk).description == "How the agent sounds"


def test_another_project_s_user_and_config_are_404(client, outsider, editor, tone, other_project):
    client.force_login(outsider)
    assert client.get(edit_url(tone)).status_code == 404
    theirs = ScoreConfig.objects.create(project=other_project, name="x", data_type="boolean")
    client.force_login(editor)
    assert client.get(edit_url(theirs)).status_code == 404
    assert client.post(edit_url(theirs), body(theirs, description="y")).status_code == 404


def test_the_edit_page_s_queries_are_pinned(client, editor, tone, django_assert_num_queries):
    client.force_login(editor)
    client.get(edit_url(tone))
    # session, user, project, role, the config, the project switcher
    with django_assert_num_queries(6):
        client.get(edit_url(tone))
