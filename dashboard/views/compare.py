"""The prompt comparison page: the strategies' prompts for one session, side by side."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import reverse

from sessions_app import prompts
from sessions_app.errors import InvalidInput
from sessions_app.models import AgentSession
from sessions_app.prompts.diff import PromptDiff, prompt_diff
from sessions_app.selectors.costs import used_models
from sessions_app.selectors.sessions import session_for_page, session_main_model

from ..access import project_for
from ..htmx import render_htmx
from ..http import DashboardRequest
from .common import chrome

COMMON_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "claude-3-5-haiku-latest")


class CompareForm(forms.Form):
    """What to compare: strategies, the model that counts and prices, an optional limit."""

    strategies = forms.MultipleChoiceField(
        choices=[(s, prompts.STRATEGY_LABELS[s]) for s in prompts.STRATEGIES], required=False
    )
    model = forms.CharField(max_length=255, required=False)
    max_tokens = forms.IntegerField(min_value=1, max_value=10_000_000, required=False)
    history = forms.IntegerField(min_value=1, max_value=prompts.MAX_HISTORY, required=False)
    # The two strategies whose prompts are shown as a text diff.
    diff_a = forms.ChoiceField(choices=[(s, s) for s in prompts.STRATEGIES], required=False)
    diff_b = forms.ChoiceField(choices=[(s, s) for s in prompts.STRATEGIES], required=False)


@dataclass
class Row:
    """One message of a column, with links to its events and how many columns share it."""

    message: dict[str, Any]
    links: list[tuple[int, str]]
    shared: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Column:
    prompt: prompts.Prompt
    label: str
    rows: list[Row]


def _event_url(slug: str, session_id: int, seq: int) -> str:
    # The transcript pages by seq: open the page that starts at this event, scrolled to it.
    base = reverse("dashboard:session_detail", args=[slug, session_id])
    return f"{base}?after_seq={max(seq - 1, 0)}#ev-{seq}"


def _columns(slug: str, built: list[prompts.Prompt]) -> list[Column]:
    """Columns with each message marked by how many columns contain the same message (same
    role, same events): what is in only some columns is what differs."""

    def key(message: dict[str, Any], sources: list[prompts.Source]) -> tuple:
        return (message["role"], tuple((s.session_id, s.seq) for s in sources))

    seen = Counter(
        k for p in built for k in {key(m, s) for m, s in zip(p.messages, p.sources, strict=True)}
    )
    columns = []
    for p in built:
        rows = [
            Row(
                message=m,
                links=[(s.seq, _event_url(slug, s.session_id, s.seq)) for s in sources],
                shared=seen[key(m, sources)],
                tool_calls=m.get("tool_calls") or [],
            )
            for m, sources in zip(p.messages, p.sources, strict=True)
        ]
        columns.append(Column(prompt=p, label=prompts.STRATEGY_LABELS[p.strategy], rows=rows))
    return columns


def _model_choices(project_id: int, chosen: str) -> list[str]:
    used = used_models(project_id, limit=20, ordered=False)
    models = [settings.SUMMARY_MODEL, *COMMON_MODELS, *used, chosen]
    return sorted({m for m in models if m})


def _diff_pair(data: dict[str, Any], chosen: list[str]) -> tuple[str, str]:
    """The two strategies to diff: the ones asked for, else the first two shown (minimal and
    conversation when fewer than two are shown)."""
    default_a, default_b = [*chosen, prompts.MINIMAL, prompts.CONVERSATION][:2]
    if default_a == default_b:
        default_b = prompts.CONVERSATION if default_a != prompts.CONVERSATION else prompts.MINIMAL
    return data.get("diff_a") or default_a, data.get("diff_b") or default_b


@login_required
def session_compare(request: DashboardRequest, slug: str, pk: int) -> HttpResponse:
    """Strategies side by side (default all five), counted and priced for one model (by
    default the one the session used most), and a text diff between two of them."""
    project = project_for(request, slug)
    session: AgentSession = session_for_page(project, pk)
    session.project = project
    form = CompareForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    strategies = data.get("strategies") or list(prompts.STRATEGIES)
    model = (data.get("model") or session_main_model(session) or prompts.DEFAULT_MODEL).strip()
    max_tokens = data.get("max_tokens")
    history = data.get("history") or prompts.DEFAULT_HISTORY
    chosen = [s for s in prompts.STRATEGIES if s in strategies]
    diff_a, diff_b = _diff_pair(data, chosen)
    error = ""
    columns: list[Column] = []
    diff: PromptDiff | None = None
    try:
        # The diff's two strategies are built even when their columns are not shown.
        wanted = [s for s in prompts.STRATEGIES if s in chosen or s in (diff_a, diff_b)]
        built = prompts.build_all(
            session,
            wanted,
            model=model,
            max_tokens=max_tokens,
            history=history,
            include_parent_context=True,
        )
        by_name = {p.strategy: p for p in built}
        columns = _columns(slug, [p for p in built if p.strategy in chosen])
        if diff_a != diff_b:
            diff = prompt_diff(by_name[diff_a], by_name[diff_b])
    except InvalidInput as exc:
        error = exc.detail
    context = chrome(
        request,
        project,
        session=session,
        form=form,
        columns=columns,
        strategies=strategies,
        all_strategies=[(s, prompts.STRATEGY_LABELS[s]) for s in prompts.STRATEGIES],
        model=model,
        models=_model_choices(project.pk, model),
        max_tokens=max_tokens,
        history=history,
        error=error,
        diff=diff,
        diff_a=diff_a,
        diff_b=diff_b,
        total_columns=len(columns),
        nav="sessions",
    )
    return render_htmx(request, "dashboard/compare.html", context, partials=("compare-columns",))
