"""From decoded spans to what Sessionscope stores: sessions, runs and ordered events.

Which span is what (docs/otel.md has the full table):
- a model call: `gen_ai.operation.name` chat / text_completion / generate_content, OpenInference
  kind `LLM`, or any span carrying GenAI or OpenInference message attributes;
- a tool call: `execute_tool`, OpenInference `TOOL`;
- an agent turn (a run): `invoke_agent` / `invoke_workflow`, OpenInference `AGENT`, or a root
  `CHAIN`. An agent span under another agent's span with another name is a sub-agent: its calls
  go to a child session.

**Each message once, in conversation order.** Every model call repeats the conversation so far
in its input, so the same message reaches us many times, in spans that may arrive in any order
and in different export batches. A message is therefore identified by what it is, not by the
span that carried it: its key is a digest of its role, text and tool call ids, plus how many
identical messages came before it in the same list (a user who says "yes" twice gets two
events). A tool result is keyed by its tool call id alone, so the tool span's result and the
next call's `tool` input message are one event. The event's id is derived from the session and
that key, so a message already stored is a duplicate, whichever batch brings it again.

Order comes from the calls, not from arrival: each call's input followed by its output is a
slice of the conversation in order, and a call that started later never holds a message that
comes before one of an earlier call's. So within a batch a session's calls are taken in start
order (a tool call after the model call that asked for it) and each message not seen yet is
appended in its list's order; that rebuilds the conversation even when the spans of a later
turn arrive before an earlier turn's, and when a service keeps the history and each call
sends only the new messages. New messages are appended after what is already stored: a later
turn repeats everything before it, so a batch bringing turn 5 also brings turns 1-4, and
turn 3 arriving afterwards adds nothing (see docs/otel.md for what that costs).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..inputs import MAX_ID, bounded_id
from ..storable import CONTROL_CHARS, id_problem
from .attributes import call_model, call_usage
from .decode import STATUS_ERROR, Span
from .messages import Message, MessageError, call_messages

MODEL_OPERATIONS = {"chat", "text_completion", "generate_content", "completion"}
AGENT_OPERATIONS = {"invoke_agent", "create_agent"}
MESSAGE_PREFIXES = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
)
# litellm's callback promotes request metadata listed in LITELLM_OTEL_BAGGAGE_METADATA_KEYS.
SESSION_KEYS = ("gen_ai.conversation.id", "session.id", "litellm.metadata.session_id")
USER_KEYS = ("user.id", "enduser.id", "litellm.metadata.user_id")
# The part of an id kept before its digest when the id cannot be a session's as it is (control
# characters, or longer than the column): 190 + 1 + 64 = 255 characters.
SHOWN_CHARS = 190

logger = logging.getLogger(__name__)


def addressable_id(value: str) -> str:
    """A session id as the spans name it, when an API path can address it and the column holds
    it: any text but control characters (the JSON API's rule, storable.id_problem), up to 255
    characters. Any other id (control characters, or longer) is stored as its first 190
    characters with each control character as U+FFFD, `#`, and the SHA-256 of the whole id:
    every span of that conversation still lands in one session, and two ids that differ only in
    those characters or past the 255th never share one (a cut would merge them)."""
    if len(value) <= MAX_ID and id_problem(value) is None:
        return value
    # NUL and lone surrogates never get here: they reject the whole span (decode.span_problem).
    shown = CONTROL_CHARS.sub("\ufffd", value[:SHOWN_CHARS])
    return f"{shown}#{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


@dataclass
class Unit:
    """One item of a session's conversation: a chat message, a tool result or an error."""

    key: str
    message: Message | None = None  # an OpenAI chat message
    error: str = ""
    timestamp: datetime | None = None
    duration_ms: int | None = None
    span_id: str = ""
    trace_id: str = ""
    run: str | None = None
    model: str = ""
    usage: dict[str, Any] | None = None
    spans: set[str] = field(default_factory=set)

    def absorb(self, other: Unit) -> None:
        """Take the call details (latency, usage, span) another sighting of this item has."""
        if other.span_id and not self.span_id:
            self.span_id, self.trace_id = other.span_id, other.trace_id
            self.duration_ms, self.timestamp = other.duration_ms, other.timestamp
        if other.usage and not self.usage:
            self.usage, self.model = other.usage, other.model
        self.run = self.run or other.run
        self.spans |= other.spans
        if self.message is None or (
            other.message and other.message.get("tool_calls") and not self.message.get("tool_calls")
        ):
            self.message = other.message


@dataclass
class SessionPlan:
    external_id: str
    agent_name: str = ""
    user_ref: str = ""
    parent: str | None = None
    units: list[Unit] = field(default_factory=list)
    spans: set[str] = field(default_factory=set)
    # The id the spans named when it could not be the session's (control characters, or
    # longer than 255 characters): addressable_id.
    original_id: str = ""


@dataclass
class RunPlan:
    external_id: str
    session: str
    agent_name: str
    started_at: datetime
    ended_at: datetime | None
    failed: bool
    reason: str
    span_id: str


@dataclass
class Plan:
    sessions: dict[str, SessionPlan] = field(default_factory=dict)
    runs: list[RunPlan] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # span id -> reason
    used: int = 0
    # What the exporter should know of spans that were stored: partial_success's message.
    notes: list[str] = field(default_factory=list)


def _at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _kind(span: Span) -> str:
    """model, tool, agent, workflow, chain or '' (a span that carries nothing we map).

    A workflow is a run that is not an agent of its own: `invoke_workflow`, or the root span
    an OpenInference instrumentor opens per trace (the Agents SDK's "Agent workflow")."""
    a = span.attributes
    op = a.get("gen_ai.operation.name")
    op = op if isinstance(op, str) else None  # a list would not even be looked up in a set
    oi = str(a.get("openinference.span.kind", "")).upper()
    if op == "invoke_workflow" or (oi in ("AGENT", "CHAIN") and not span.parent_span_id):
        return "workflow"
    if op in AGENT_OPERATIONS or oi == "AGENT":
        return "agent"
    if op == "execute_tool" or oi == "TOOL":
        return "tool"
    if op in MODEL_OPERATIONS or oi == "LLM":
        return "model"
    if any(k.startswith(MESSAGE_PREFIXES) for k in a) or any(
        e.name.startswith("gen_ai.") for e in span.events
    ):
        return "model"
    if oi == "CHAIN" or op or any(k.startswith("gen_ai.") for k in a):
        return "chain"
    return ""


def _agent_name(span: Span) -> str:
    a = span.attributes
    name = a.get("gen_ai.agent.name") or a.get("agent.name") or a.get("graph.node.name")
    return str(name or span.name)[:200]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def message_key(message: Message) -> str:
    """What identifies a message in a conversation, whichever call repeated it."""
    if message.get("role") == "tool" and message.get("tool_call_id"):
        return f"result:{message['tool_call_id']}"
    # An assistant message with text is known by its text: some instrumentations drop the tool
    # calls from a call's output that the next call's input carries (litellm). Without text,
    # the call ids tell tool-only messages apart.
    if "_span" in message:
        return f"span:{message.pop('_span')}"
    text = str(message.get("content", ""))
    calls = "" if text else ",".join(c.get("id", "") for c in message.get("tool_calls", []))
    return _digest(message.get("role", ""), text, calls)[:32]


def _acyclic_parents(spans: list[Span], by_id: dict[str, Span]) -> dict[str, str]:
    """Each span's parent within the batch (span id -> parent's span id), the link closing a
    cycle left out: ids are the exporter's word, and a span its own ancestor would make every
    walk up the tree endless. Each span is visited once."""
    parents = {
        s.span_id: s.parent_span_id
        for s in spans
        if s.parent_span_id and s.parent_span_id in by_id and s.parent_span_id != s.span_id
    }
    done: set[str] = set()
    for start in list(parents):
        path: set[str] = set()
        node = start
        while node in parents and node not in done:
            path.add(node)
            if parents[node] in path:
                del parents[node]  # the link back into this walk: a cycle
                break
            node = parents[node]
        done |= path
    return parents


class _Tree:
    """Ancestry within the batch: a span's session, run and agent, memoized."""

    def __init__(self, spans: list[Span]):
        self.by_id = {s.span_id: s for s in spans}
        self.kinds = {s.span_id: _kind(s) for s in spans}
        self.parents = _acyclic_parents(spans, self.by_id)
        self._memo: dict[str, tuple[str, str | None, Span | None]] = {}
        self.originals: dict[str, str] = {}  # session id stored -> the id the spans named

    def _addressable(self, value: str) -> str:
        stored = addressable_id(value)
        if stored != value:
            self.originals[stored] = value
        return stored

    def parent(self, span: Span) -> Span | None:
        parent_id = self.parents.get(span.span_id)
        return self.by_id[parent_id] if parent_id else None

    def _first(self, span: Span, keys: tuple[str, ...]) -> str:
        node: Span | None = span
        while node is not None:
            for key in keys:
                value = node.attributes.get(key) or node.resource.get(key)
                # A name or a number; not a float ("nan"), a boolean or a list's repr.
                if value and (type(value) is str or type(value) is int):
                    return str(value)
            node = self.parent(node)
        return ""

    def agent_of(self, span: Span | None, kinds: tuple[str, ...] = ("agent", "workflow")):
        """The nearest agent (or workflow) span at or above this one."""
        node = span
        while node is not None and self.kinds.get(node.span_id) not in kinds:
            node = self.parent(node)
        return node

    def place(self, span: Span) -> tuple[str, str | None, Span | None]:
        """(the session its events go to, that session's parent or None, its agent span)."""
        if span.span_id in self._memo:
            return self._memo[span.span_id]
        agent = self.agent_of(span)
        result: tuple[str, str | None, Span | None]
        if agent is None:
            result = (self._conversation(span) or span.trace_id, None, None)
        elif agent is not span:
            result = self.place(agent)
        else:
            # A sub-agent runs inside another agent's span; agents a workflow runs one after
            # another (handoffs in the Agents SDK) share the workflow's session.
            above = self.agent_of(self.parent(span), ("agent",))
            if above is not None and _agent_name(above) != _agent_name(span):
                outer, _, _ = self.place(above)
                # Past 255 characters, a digest of the whole: a cut could be the parent's id.
                child = f"{outer}/{_agent_name(span)}"
                if id_problem(child) is None:
                    result = (bounded_id(child, keep=child[:190]), outer, span)
                else:  # the agent's name holds control characters
                    result = (self._addressable(child), outer, span)
            else:
                top = self.place(above)[0] if above is not None else None
                result = (top or self._conversation(span) or span.trace_id, None, span)
        self._memo[span.span_id] = result
        return result

    def _conversation(self, span: Span) -> str:
        """The session id the span or an ancestor names, as a path can address it and the
        column holds it (addressable_id)."""
        return self._addressable(self._first(span, SESSION_KEYS))

    def user(self, span: Span) -> str:
        return self._first(span, USER_KEYS)[:255]


def _session(plan: Plan, tree: _Tree, span: Span) -> tuple[SessionPlan, str | None]:
    external_id, parent, agent = tree.place(span)
    sp = plan.sessions.get(external_id)
    if sp is None:
        sp = plan.sessions[external_id] = SessionPlan(external_id, parent=parent)
        sp.original_id = tree.originals.get(external_id, "")
    if agent is not None and not sp.agent_name and tree.kinds[agent.span_id] == "agent":
        sp.agent_name = _agent_name(agent)
    elif not sp.agent_name and span.attributes.get("gen_ai.agent.name"):
        sp.agent_name = str(span.attributes["gen_ai.agent.name"])[:200]
    sp.user_ref = sp.user_ref or tree.user(span)
    sp.spans.add(span.span_id)
    return sp, (f"otel-{agent.span_id}" if agent is not None else None)


def _tool_units(span: Span, run: str | None, claimed: dict[str, tuple[str, str]]) -> list[Unit]:
    """A tool span's call (when no model output named it) and its result with the latency."""
    a = span.attributes
    name = str(a.get("gen_ai.tool.name") or a.get("tool.name") or span.name)
    arguments = a.get("gen_ai.tool.call.arguments", a.get("input.value", ""))
    result = a.get("gen_ai.tool.call.result", a.get("output.value", ""))
    if not isinstance(result, str):
        result = json.dumps(result, sort_keys=True)
    call_id = str(a.get("gen_ai.tool.call.id") or a.get("tool_call.id") or "")
    if not call_id:  # OpenInference tool spans name no call: match the call by name and input
        wanted = (name, arguments if isinstance(arguments, str) else json.dumps(arguments))
        call_id = next((cid for cid, sig in claimed.items() if sig == wanted), "")
        claimed.pop(call_id, None)
    units = []
    if not call_id:
        call_id = f"span-{span.span_id}"
        call = {"role": "assistant", "content": "", "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": name, "arguments": str(arguments)}}]}  # fmt: skip
        units.append(Unit(message_key(call), call, timestamp=_at(span.start_ns), run=run))
    message = {"role": "tool", "tool_call_id": call_id, "content": result, "name": name[:255]}
    units.append(
        Unit(
            message_key(message),
            message,
            timestamp=_at(span.end_ns or span.start_ns),
            duration_ms=span.duration_ms,
            span_id=span.span_id,
            trace_id=span.trace_id,
            run=run,
        )
    )
    return units


def _model_units(span: Span, run: str | None) -> list[Unit]:
    """A model call's input then output as units; its latency and usage on the output."""
    inputs, outputs = call_messages(span)
    if not outputs and span.status_code != STATUS_ERROR and call_usage(span.attributes):
        # Content not recorded (sensitive data off): the call still has its usage and latency,
        # on an empty answer known by its span, so a retry stays one event.
        outputs = [{"role": "assistant", "content": "", "_span": span.span_id}]
    units: list[Unit] = []
    if not inputs and not outputs:
        return units
    # The same two times for every message of the call: made once.
    started = _at(span.start_ns)
    ended = _at(span.end_ns or span.start_ns) if outputs else None
    counts: dict[str, int] = {}
    for index, message in enumerate([*inputs, *outputs]):
        base = message_key(message)
        n = counts[base] = counts.get(base, -1) + 1
        key = f"{base}.{n}" if not base.startswith("result:") else base
        unit = Unit(key, message, timestamp=started, run=run)
        if index >= len(inputs):
            unit.timestamp = ended
            unit.trace_id = span.trace_id
            if index == len(inputs):  # the call's own event: latency, usage, span
                unit.span_id, unit.duration_ms = span.span_id, span.duration_ms
                unit.usage, unit.model = call_usage(span.attributes), call_model(span.attributes)
        units.append(unit)
    return units


def _merge(order: list[Unit], index: dict[str, Unit], units: list[Unit]) -> None:
    """Append the units not seen yet, in their list's order; a unit seen before takes the call
    details (latency, usage, span) this sighting has."""
    for unit in units:
        seen = index.get(unit.key)
        if seen is not None:
            seen.absorb(unit)
        else:
            index[unit.key] = unit
            order.append(unit)


def _span_units(
    span: Span, kind: str, run: str | None, calls: dict[str, tuple[str, str]]
) -> tuple[int, list[Unit], bool]:
    """(its rank among calls that started together, the units a span adds, whether it is a run);
    the model calls' tool calls are recorded in `calls` (call id -> name and arguments)."""
    if kind == "model":
        units = _model_units(span, run)
        for u in units:
            for c in (u.message or {}).get("tool_calls", []):
                calls[c["id"]] = (c["function"]["name"], c["function"]["arguments"])
        return 0, units, False
    if kind == "tool":
        return 1, _tool_units(span, run, calls), False
    return 0, [], kind in ("agent", "workflow")


def plan_spans(spans: list[Span]) -> Plan:
    """Map a batch of spans; unusable spans are listed in `rejected` with the reason.

    A span the mapping fails on is rejected alone, whatever the failure: the rest of the batch
    is still stored (the failure is logged, it is a bug or an input not foreseen)."""
    plan = Plan()
    tree = _Tree(spans)
    per_session: dict[str, list[tuple[int, int, list[Unit]]]] = {}
    calls: dict[str, dict[str, tuple[str, str]]] = {}  # session -> call id -> (name, args)
    for span in sorted(spans, key=lambda s: (s.start_ns, s.end_ns)):
        kind = tree.kinds[span.span_id]
        if not span.span_id or not span.trace_id:
            plan.rejected[span.span_id or f"#{len(plan.rejected)}"] = "invalid trace or span id"
            continue
        if not kind:
            plan.rejected[span.span_id] = "no GenAI or OpenInference attributes"
            continue
        try:
            external_id, _, agent = tree.place(span)
            run = f"otel-{agent.span_id}" if agent is not None else None
            rank, units, is_run = _span_units(span, kind, run, calls.setdefault(external_id, {}))
        except MessageError as exc:
            plan.rejected[span.span_id] = str(exc)[:300]
            continue
        except Exception as exc:
            logger.warning("OTLP span %s could not be mapped", span.span_id, exc_info=True)
            plan.rejected[span.span_id] = f"the span could not be mapped ({type(exc).__name__})"
            continue
        sp, run = _session(plan, tree, span)
        plan.used += 1
        if is_run:
            plan.runs.append(
                RunPlan(
                    external_id=run or f"otel-{span.span_id}",
                    session=sp.external_id,
                    agent_name=_agent_name(span),
                    started_at=_at(span.start_ns),
                    ended_at=_at(span.end_ns) if span.end_ns else None,
                    failed=span.status_code == STATUS_ERROR,
                    reason=span.status_message[:2000],
                    span_id=span.span_id,
                )
            )
        if span.status_code == STATUS_ERROR:
            units.append(
                Unit(
                    f"error:{span.span_id}",
                    error=span.status_message or f"{span.name} failed",
                    timestamp=_at(span.end_ns or span.start_ns),
                    span_id=span.span_id if kind not in ("model", "tool") else "",
                    trace_id=span.trace_id,
                    run=run,
                )
            )
        for u in units:
            u.spans.add(span.span_id)
        per_session.setdefault(sp.external_id, []).append((span.start_ns, rank, units))
    for external_id, lists in per_session.items():
        order: list[Unit] = []
        index: dict[str, Unit] = {}
        for _, _, units in sorted(lists, key=lambda item: (item[0], item[1])):
            _merge(order, index, units)
        plan.sessions[external_id].units = order
    plan.notes = [_stored_elsewhere(sp) for sp in plan.sessions.values() if sp.original_id]
    return plan


def _stored_elsewhere(sp: SessionPlan) -> str:
    """What the exporter is told of a session id stored in its digest form, and why."""
    why = (
        "holds control characters, which no API path can address"
        if id_problem(sp.original_id) is not None
        else f"is longer than the {MAX_ID} characters a session id can hold"
    )
    return (
        f"session id {sp.original_id[:100]!r} {why}: its spans are stored in session "
        f"{sp.external_id!r}"
    )
