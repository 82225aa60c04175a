"""Summary strategies: the instructions sent to the model, and an extractive summarizer that
needs no network, used when no model credentials are configured.

The four strategies have a2a-session-manager's intent (shared/reference/a2a-semantics.md) with
our own wording. Whether a model can be called is decided by `credentials_available`: litellm's
`validate_environment` for the model's provider, or the mock switches below.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import llm
from .models import Event, Summary

BASIC = Summary.Strategy.BASIC
KEY_POINTS = Summary.Strategy.KEY_POINTS
TOPIC_BASED = Summary.Strategy.TOPIC_BASED
QUERY_FOCUSED = Summary.Strategy.QUERY_FOCUSED

INSTRUCTIONS: dict[str, str] = {
    BASIC: (
        "You summarize conversations between a user and an AI assistant. Write a short summary "
        "(at most five sentences) of the main topic and the key information exchanged, "
        "including decisions made and results of tool calls. Do not invent anything."
    ),
    KEY_POINTS: (
        "You summarize conversations between a user and an AI assistant. List the key points "
        "that were discussed as a bulleted list, one short line per point, most important "
        "first. Include facts found by tools and any open questions. Do not invent anything."
    ),
    TOPIC_BASED: (
        "You summarize conversations between a user and an AI assistant. Organize the summary "
        "by the topics discussed: for each topic, a heading line followed by its key points as "
        "bullets. Keep the topics in the order they came up. Do not invent anything."
    ),
    QUERY_FOCUSED: (
        "You summarize conversations between a user and an AI assistant. List the user's main "
        "questions and, for each, the answer the user got (or that it is still unanswered). "
        "Use the form 'Q: …' then 'A: …'. Do not invent anything."
    ),
}
QUERY_SUFFIX = "Focus on what the conversation says about: {query}"

# Characters of transcript sent to the model: the first user message and the most recent
# turns are kept, the middle is elided (a summary of a 20,000-event session must still fit).
TRANSCRIPT_BUDGET = 48_000
EXTRACTIVE_MODEL = "extractive"

# Switches for demos, tests and CI workers: litellm answers with this text (after this many
# seconds) instead of calling a provider, so no network and no key is needed.
MOCK_RESPONSE_ENV = "SUMMARY_MOCK_RESPONSE"
MOCK_DELAY_ENV = "SUMMARY_MOCK_DELAY"

# litellm (and openai) exception classes worth retrying; anything else fails the summary.
TRANSIENT_ERRORS = frozenset(
    {
        "RateLimitError",
        "Timeout",
        "APITimeoutError",
        "APIConnectionError",
        "ServiceUnavailableError",
        "InternalServerError",
    }
)


def mock_options() -> dict[str, Any]:
    """litellm options that make completions local (`mock_response`), from the environment."""
    text = os.environ.get(MOCK_RESPONSE_ENV, "")
    if not text:
        return {}
    options: dict[str, Any] = {"mock_response": text}
    delay = os.environ.get(MOCK_DELAY_ENV, "")
    if delay:
        options["mock_delay"] = float(delay)
    return options


def credentials_available(model: str, options: dict[str, Any] | None = None) -> bool:
    """Whether `model` can be called: a mock response is configured, or litellm finds the
    provider's keys (e.g. OPENAI_API_KEY for gpt-4o-mini) in the environment."""
    if (options or {}).get("mock_response") is not None or mock_options():
        return True
    try:
        check = llm._litellm().validate_environment(model=model)
    except Exception:
        return False
    return bool(check.get("keys_in_environment"))


def is_transient(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection and 5xx errors: worth a retry with backoff."""
    return any(cls.__name__ in TRANSIENT_ERRORS for cls in type(exc).__mro__)


@dataclass(frozen=True)
class Line:
    """One message of the conversation, as the summarizers read it."""

    seq: int
    speaker: str
    text: str


def lines_of(events: Iterable[Event]) -> list[Line]:
    """User and assistant messages and tool results as speaker-labelled lines."""
    out = []
    for e in events:
        text = (e.content or "").strip()
        if not text:
            continue
        if e.type == Event.Type.MESSAGE:
            speaker = "User" if e.source == Event.Source.USER else "Assistant"
        elif e.type == Event.Type.TOOL_RESULT:
            speaker = f"Tool {e.name}".strip() + (" (error)" if e.is_error else "")
        elif e.type == Event.Type.SUMMARY:
            speaker = "Earlier summary"
        else:
            continue
        out.append(Line(e.seq, speaker, text))
    return out


def transcript(lines: list[Line], budget: int = TRANSCRIPT_BUDGET) -> str:
    """The lines as text within `budget` characters: the first line and the latest ones."""
    rendered = [f"{line.speaker}: {line.text}" for line in lines]
    total = sum(len(r) + 1 for r in rendered)
    if total <= budget:
        return "\n".join(rendered)
    head = rendered[0][: budget // 4]
    tail: list[str] = []
    room = budget - len(head) - 40
    for r in reversed(rendered[1:]):
        if len(r) + 1 > room:
            break
        tail.append(r)
        room -= len(r) + 1
    skipped = len(rendered) - 1 - len(tail)
    return "\n".join([head, f"[… {skipped} earlier messages omitted …]", *reversed(tail)])


def summary_messages(strategy: str, lines: list[Line], query: str = "") -> list[dict[str, str]]:
    """The chat messages asking the model for a summary with `strategy`."""
    instruction = INSTRUCTIONS[strategy]
    if query:
        instruction += "\n" + QUERY_SUFFIX.format(query=query)
    return [
        {"role": "system", "content": instruction},
        {"role": "user", "content": "Conversation:\n" + transcript(lines)},
    ]


# -- extractive ------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_SENTENCE = 240


def _first_sentence(text: str) -> str:
    sentence = _SENTENCE.split(" ".join(text.split()), maxsplit=1)[0]
    return sentence if len(sentence) <= MAX_SENTENCE else sentence[: MAX_SENTENCE - 1] + "…"


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.lower()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _pairs(lines: list[Line]) -> list[tuple[str, str]]:
    """(question, the turn's final answer) for each user message: the last assistant message
    before the next user message ("Let me check." is rarely the answer)."""
    pairs: list[tuple[str, str]] = []
    for i, line in enumerate(lines):
        if line.speaker != "User":
            continue
        answer = ""
        for n in lines[i + 1 :]:
            if n.speaker == "User":
                break
            if n.speaker == "Assistant":
                answer = n.text
        pairs.append((_first_sentence(line.text), _first_sentence(answer) if answer else ""))
    return pairs


def extractive_summary(strategy: str, lines: list[Line], query: str = "", limit: int = 8) -> str:
    """A summary made of sentences taken from the conversation itself (no model, no network)."""
    if not lines:
        return "The conversation has no messages to summarize."
    pairs = _pairs(lines)
    answers = [_first_sentence(n.text) for n in lines if n.speaker == "Assistant"]
    errors = sum(1 for n in lines if n.speaker.endswith("(error)"))
    if strategy == KEY_POINTS:
        points = _dedupe([q for q, _ in pairs] + answers)
        return "\n".join(f"- {p}" for p in points[:limit])
    if strategy == TOPIC_BASED:
        blocks = []
        for question, answer in _dedupe_pairs(pairs)[:limit]:
            blocks.append(f"{question}\n- {answer or 'No answer yet.'}")
        return "\n\n".join(blocks) or "\n".join(f"- {a}" for a in answers[:limit])
    if strategy == QUERY_FOCUSED:
        chosen = _dedupe_pairs(pairs)
        if query:
            wanted = {w.lower() for w in _WORD.findall(query)}
            chosen.sort(
                key=lambda qa: -len(wanted & {w.lower() for w in _WORD.findall(" ".join(qa))})
            )
        return (
            "\n".join(f"Q: {q}\nA: {a or 'No answer yet.'}" for q, a in chosen[:limit])
            or "No questions were asked."
        )
    # basic: the opening request, the latest answer, and the size of the exchange.
    parts = []
    if pairs:
        parts.append(f"The user asked: {pairs[0][0]}")
        if len(pairs) > 1:
            parts.append(f"Latest request: {pairs[-1][0]}")
    if answers:
        parts.append(f"Latest answer: {answers[-1]}")
    parts.append(
        f"{len(pairs)} user message(s), {len(answers)} assistant message(s)"
        + (f", {errors} failed tool call(s)." if errors else ".")
    )
    return " ".join(parts)


def _dedupe_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for q, a in pairs:
        if q.lower() not in seen:
            seen.add(q.lower())
            out.append((q, a))
    return out
