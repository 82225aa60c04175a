"""Summaries and prompt comparison in Chromium: trigger a summary from the session page, watch
it go from queued to done without reloading; open the comparison page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sessions_app import summaries as text
from sessions_app.models import Summary
from sessions_app.services.summaries import summary_run
from tests.sessions_app.chat_format import append, assistant, call, result, user

pytestmark = pytest.mark.browser


@pytest.fixture
def conversation(project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv(text.MOCK_RESPONSE_ENV, raising=False)
    return append(
        project,
        "support-42",
        user("b-u1", "Where is my order 42? It was due Friday."),
        assistant("b-a1", "Let me check."),
        call("b-c1", "b-a1", "call_1", "lookup_order", {"id": 42}),
        result("b-r1", "call_1", "order 42: in transit", name="lookup_order"),
        assistant("b-a2", "Order 42 is in transit and arrives Monday."),
        user("b-u2", "Can I change the delivery address?"),
        assistant("b-a3", "Yes, until it ships: use the account page."),
    )


def test_a_triggered_summary_goes_from_queued_to_done_live(
    conversation, project, editor, page, login, screenshot, monkeypatch
):
    # The worker is played by this test: enqueueing does nothing, so the page shows the
    # summary queued and polling; the test then runs it and the page must update by itself.
    from sessions_app.tasks.summaries import summary_run_task

    monkeypatch.setattr(summary_run_task, "apply_async", lambda *a, **kw: None)
    login(editor)
    page.goto(f"/p/{project.slug}/sessions/{conversation.pk}/")
    form = page.locator("#summary-form")
    form.wait_for()
    form.locator("select[name=strategy]").select_option("query_focused")
    form.locator("button[type=submit]").click()

    item = page.locator("#summary-list .summary-item").first
    item.wait_for()
    assert "Queued" in item.inner_text()
    screenshot("summary-queued")
    url_before = page.url

    summary = Summary.objects.get()
    summary_run(summary_id=summary.pk)

    page.locator(f"#summary-{summary.pk}[data-status=succeeded]").wait_for(timeout=10_000)
    done = page.locator(f"#summary-{summary.pk}").inner_text()
    assert "Done" in done and "Q: Where is my order 42?" in done and "extractive" in done
    assert page.url == url_before
    screenshot("summary-done")


def test_the_comparison_page_shows_five_columns_and_differences(
    conversation, project, viewer, page, login, screenshot
):
    login(viewer)
    page.goto(f"/p/{project.slug}/sessions/{conversation.pk}/")
    page.get_by_role("link", name="Compare prompts").click()
    page.locator(".compare-col").first.wait_for()
    assert page.locator(".compare-col").count() == 5
    assert page.locator(".cmp-msg.only-here").count() > 0
    screenshot("compare-five")
    # Unticking strategies refreshes the columns in place and keeps the choice in the URL.
    for name in ("minimal", "conversation", "hierarchical"):
        page.locator(f"input[name=strategies][value={name}]").check()
    page.locator("input[name=strategies][value=task_focused]").uncheck()
    page.locator("input[name=strategies][value=tool_focused]").uncheck()
    expect(page.locator(".compare-col")).to_have_count(3)
    assert "strategies=minimal" in page.url
