"""Prompts for an agent's next call: `GET /sessions/{id}/prompt` (a strategy) and
`GET /sessions/{id}/context` (summaries of a segmented conversation plus recent messages).

Both follow a summarized session to its newest segment: the agent keeps using one id.
"""

from __future__ import annotations

from typing import Any

from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from .. import prompts
from ..models import AgentSession
from ..pricing import PriceBook
from ..selectors.sessions import session_external_ids, session_pk
from ..services.segments import session_current
from .auth import ApiRequest
from .convert import check_path_id
from .schemas import ERRORS, CleanStr, Money

router = Router(tags=["prompts"])


class PromptQuery(Schema):
    model_config = ConfigDict(extra="ignore")

    strategy: CleanStr = Field(
        prompts.MINIMAL,
        description="minimal, task_focused (task), tool_focused (tool), conversation, hierarchical",
    )
    model: CleanStr = Field(
        prompts.DEFAULT_MODEL, min_length=1, max_length=255, description="Counts and prices."
    )
    max_tokens: int | None = Field(None, ge=1, le=10_000_000)
    include_parent_context: bool = Field(
        True, description="hierarchical: prepend every ancestor's latest summary."
    )
    history: int = Field(prompts.DEFAULT_HISTORY, ge=1, le=prompts.MAX_HISTORY)


class ContextQuery(Schema):
    model_config = ConfigDict(extra="ignore")

    model: CleanStr = Field(prompts.DEFAULT_MODEL, min_length=1, max_length=255)
    recent: int = Field(10, ge=1, le=prompts.MAX_HISTORY)
    max_tokens: int | None = Field(None, ge=1, le=10_000_000)


class SourceOut(Schema):
    session: str
    seq: int


class DroppedOut(Schema):
    action: str
    role: str
    seqs: list[int]
    reason: str


class PromptOut(Schema):
    """Chat messages ready for a completions call, with their size and estimated cost."""

    session: str = Field(description="The session (or newest segment) the prompt was built on.")
    strategy: str
    model: str
    messages: list[dict[str, Any]]
    token_count: int
    cost_usd: Money | None = Field(description="Input cost estimate; null for an unknown model.")
    dropped: list[DroppedOut]
    sources: list[list[SourceOut]] = Field(description="Per message, the events it came from.")


def _out(session: AgentSession, prompt: prompts.Prompt) -> dict[str, Any]:
    ids = {s.session_id for sources in prompt.sources for s in sources} - {session.pk}
    names = session_external_ids(ids)
    names[session.pk] = session.external_id
    return {
        "session": session.external_id,
        "strategy": prompt.strategy,
        "model": prompt.model,
        "messages": prompt.messages,
        "token_count": prompt.token_count,
        "cost_usd": prompt.cost_usd,
        "dropped": [
            {k: d[k] for k in ("action", "role", "seqs", "reason")} for d in prompt.dropped
        ],
        "sources": [
            [{"session": names.get(s.session_id, ""), "seq": s.seq} for s in sources]
            for sources in prompt.sources
        ],
    }


def _session(request: ApiRequest, external_id: str) -> AgentSession:
    project = request.auth.project
    session = session_current(session_pk(project, check_path_id(external_id)))
    session.project = project
    return session


@router.get(
    "/sessions/{external_id}/prompt",
    response={200: PromptOut, **ERRORS},
    summary="Build a prompt",
)
def get_prompt(request: ApiRequest, external_id: str, query: Query[PromptQuery]):
    """The prompt a strategy builds from the session, truncated to `max_tokens` if given
    (never over it; what was cut is listed in `dropped`)."""
    strategy = prompts.resolve_strategy(query.strategy, strict=True)
    session = _session(request, external_id)
    prompt = prompts.build_prompt(
        session,
        strategy,
        model=query.model,
        max_tokens=query.max_tokens,
        include_parent_context=query.include_parent_context,
        history=query.history,
        price_book=PriceBook(session.project),
    )
    return _out(session, prompt)


@router.get(
    "/sessions/{external_id}/context",
    response={200: PromptOut, **ERRORS},
    summary="Context across segments",
)
def get_context(request: ApiRequest, external_id: str, query: Query[ContextQuery]):
    """One system message joining the summaries of every earlier segment and ancestor (oldest
    first), then the last `recent` messages of the newest segment."""
    session = _session(request, external_id)
    prompt = prompts.build_context(
        session, model=query.model, recent=query.recent, max_tokens=query.max_tokens
    )
    return _out(session, prompt)
