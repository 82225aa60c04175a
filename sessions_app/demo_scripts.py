"""What the demo agents say: per agent, conversations whose tool calls fit the question, whose
tool results fit the call, and whose answers follow from the results (or from the error).

`{n}` in any text is replaced by one number per conversation (an order, a ticket, a test).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """A tool call: its JSON arguments, its result, and the error it fails with, if it does."""

    tool: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    error: str


@dataclass(frozen=True)
class Turn:
    """A user message, the tools the agent calls for it, and the answer (or the answer given
    when a call failed, where "{tool}" and "{error}" name the call that failed and why)."""

    question: str
    calls: list[Call]
    answer: str
    answer_on_error: str


@dataclass(frozen=True)
class Script:
    """One conversation: the first turn, then follow-ups in order."""

    turns: list[Turn] = field(default_factory=list)


SUPPORT = [
    Script(
        [
            Turn(
                "Where is my order #{n}? It was supposed to arrive on Monday.",
                [
                    Call(
                        "lookup_order",
                        {"order_id": "{n}", "include": ["shipment"]},
                        {
                            "order_id": "{n}",
                            "status": "shipped",
                            "carrier": "DHL",
                            "tracking": "JD014600{n}",
                            "last_scan": "Leipzig hub, 2 days ago",
                            "eta": "in 2 days",
                        },
                        "TimeoutError: DHL tracking API did not answer within 30 s",
                    )
                ],
                "Your order #{n} left our warehouse and is with DHL (tracking JD014600{n}). "
                "It was last scanned at the Leipzig hub two days ago; DHL now expects to "
                "deliver it within two days.",
                "I could not reach DHL's tracking service just now (it timed out), so I cannot "
                "see where order #{n} is. I have opened a ticket and we will email you the "
                "tracking status within the hour.",
            ),
            Turn(
                "Can I get a refund for the shipping fee, since it is late?",
                [
                    Call(
                        "refund_order",
                        {"order_id": "{n}", "amount": 4.99, "reason": "late delivery"},
                        {"refund_id": "rf_{n}", "amount": 4.99, "currency": "EUR"},
                        "PermissionError: refunds above 0 EUR need a supervisor on this account",
                    )
                ],
                "Done: I refunded the 4.99 EUR shipping fee (refund rf_{n}). It shows on your "
                "card in 3-5 working days.",
                "I am not allowed to refund this account myself (it needs a supervisor's "
                "approval); I have passed your request on and you will hear back today.",
            ),
        ]
    ),
    Script(
        [
            Turn(
                "I was charged twice for order #{n}; please refund one of them.",
                [
                    Call(
                        "lookup_order",
                        {"order_id": "{n}", "include": ["payments"]},
                        {
                            "order_id": "{n}",
                            "payments": [
                                {"id": "pay_a{n}", "amount": 59.0, "status": "captured"},
                                {"id": "pay_b{n}", "amount": 59.0, "status": "captured"},
                            ],
                        },
                        "ConnectionError: orders database replica is unreachable",
                    ),
                    Call(
                        "refund_order",
                        {"order_id": "{n}", "payment_id": "pay_b{n}", "amount": 59.0},
                        {"refund_id": "rf_{n}", "amount": 59.0, "currency": "EUR"},
                        "ValueError: payment pay_b{n} is already being refunded",
                    ),
                ],
                "You were indeed charged twice (59.00 EUR each). I refunded the second "
                "payment (refund rf_{n}); it will be back on your card in 3-5 working days.",
                "I could not finish: {tool} failed ({error}). I have escalated the double "
                "charge on order #{n} to billing so nothing is lost.",
            ),
        ]
    ),
]

CODING = [
    Script(
        [
            Turn(
                "The test suite fails on CI with a timeout in test_ingest_{n}. Can you look?",
                [
                    Call(
                        "run_tests",
                        {"path": "tests/test_ingest.py", "k": "test_ingest_{n}", "verbose": True},
                        {
                            "passed": 0,
                            "failed": 1,
                            "duration_s": 31.2,
                            "failure": "Timeout >30s in SELECT ... WHERE session_id = %s",
                        },
                        "RuntimeError: test runner container ran out of memory (OOMKilled)",
                    ),
                    Call(
                        "read_file",
                        {"path": "app/models.py", "start_line": 40, "end_line": 80},
                        {"lines": 41, "text": "class Event(models.Model):\n    session = ..."},
                        "FileNotFoundError: app/models.py is not in this checkout",
                    ),
                ],
                "The test times out on a query by session_id: the events table has no index "
                "on it, so each lookup is a full scan. Adding "
                "`models.Index(fields=['session', 'seq'])` and a migration fixes it; locally "
                "the test now passes in 0.4 s.",
                "I could not finish the investigation: {tool} failed ({error}). From the CI "
                "log alone the timeout is in a query by session_id, which points at a missing "
                "index; I will retry once that is fixed.",
            ),
            Turn(
                "Great, please apply the patch and re-run the suite.",
                [
                    Call(
                        "apply_patch",
                        {"path": "app/models.py", "diff": "+ models.Index(fields=['session'])"},
                        {"applied": True, "files_changed": 2},
                        "PatchError: hunk 1 does not apply (file changed since it was read)",
                    ),
                    Call(
                        "run_tests",
                        {"path": "tests/", "k": "", "verbose": False},
                        {"passed": 412, "failed": 0, "duration_s": 48.7},
                        "TimeoutError: CI queue is full, job not started within 60 s",
                    ),
                ],
                "Applied (2 files changed, including the migration) and the whole suite "
                "passes: 412 tests in 49 s.",
                "Nothing is merged yet: {tool} failed ({error}). The branch is unchanged.",
            ),
        ]
    ),
    Script(
        [
            Turn(
                "Refactor the payment module so retries are idempotent.",
                [
                    Call(
                        "read_file",
                        {"path": "payments/charge.py", "start_line": 1, "end_line": 120},
                        {"lines": 120, "text": "def charge(order, amount):\n    ..."},
                        "PermissionError: payments/ is read-only for this agent",
                    )
                ],
                "`charge()` creates a new provider charge on every call. I changed it to send "
                "an idempotency key derived from the order id and attempt, so a retry returns "
                "the first charge instead of making a second one.",
                "I am not allowed to read the payments code (read-only for this agent), so I "
                "cannot propose the change; a maintainer needs to grant access.",
            ),
        ]
    ),
]

RESEARCH = [
    Script(
        [
            Turn(
                "Can you compare the pricing of the three vendors we shortlisted?",
                [
                    Call(
                        "web_search",
                        {"query": "Acme Cloud vs Borealis vs Cirrus pricing per seat 2026"},
                        {
                            "results": [
                                {"title": "Acme Cloud pricing", "url": "https://acme.example/p"},
                                {"title": "Borealis plans", "url": "https://borealis.example"},
                                {"title": "Cirrus for teams", "url": "https://cirrus.example"},
                            ]
                        },
                        "HTTPError: 429 Too Many Requests from the search provider",
                    ),
                    Call(
                        "fetch_page",
                        {"url": "https://borealis.example", "max_chars": 20000},
                        {"status": 200, "chars": 18422, "title": "Borealis plans"},
                        "HTTPError: 403 Forbidden (the site blocks automated readers)",
                    ),
                ],
                "Per seat per month: Acme 12 USD, Borealis 9 USD (11 USD under 50 seats), "
                "Cirrus 14 USD with SSO included. Borealis is cheapest at your volume; Acme "
                "has the better SLA (99.95 %).",
                "This comparison is incomplete: {tool} failed ({error}). From what I could "
                "read, Acme charges 12 USD and Cirrus 14 USD per seat; Borealis is missing.",
            ),
            Turn(
                "Can you make it shorter and add sources?",
                [],
                "Borealis 9 USD/seat (cheapest), Acme 12 USD (best SLA), Cirrus 14 USD (SSO "
                "included). Sources: acme.example/p, borealis.example, cirrus.example.",
                "",
            ),
        ]
    ),
    Script(
        [
            Turn(
                "Summarise the attached paper and list its main limitations.",
                [
                    Call(
                        "summarize_pdf",
                        {"file_id": "file_{n}", "pages": "all", "style": "bullet points"},
                        {"pages": 14, "summary": "A retrieval method that ...", "figures": 6},
                        "ValueError: file_{n} is a scanned PDF without a text layer",
                    )
                ],
                "The paper proposes a retrieval method that re-ranks passages with a small "
                "model. Limitations: evaluated on English only, no latency figures, and the "
                "baselines are two years old.",
                "The PDF has no text layer (it is a scan), so I cannot read it; could you send "
                "a text version or the arXiv link?",
            ),
        ]
    ),
]

TRAVEL = [
    Script(
        [
            Turn(
                "Plan a 4-day trip to Lisbon in May for two people, mid-range budget.",
                [
                    Call(
                        "search_flights",
                        {
                            "from": "BER",
                            "to": "LIS",
                            "depart": "2026-05-14",
                            "return": "2026-05-18",
                            "passengers": 2,
                        },
                        {"best": {"airline": "TAP", "price_eur": 412, "stops": 0}},
                        "TimeoutError: the fares provider did not answer within 20 s",
                    ),
                    Call(
                        "book_hotel",
                        {
                            "city": "Lisbon",
                            "nights": 4,
                            "guests": 2,
                            "max_price_eur": 160,
                            "hold_only": True,
                        },
                        {
                            "hotel": "Casa do Largo",
                            "area": "Alfama",
                            "price_eur_night": 138,
                            "hold_id": "h_{n}",
                        },
                        "ValueError: no rooms under 160 EUR/night for these dates",
                    ),
                    Call(
                        "get_weather",
                        {"city": "Lisbon", "month": "May"},
                        {"avg_high_c": 22, "avg_low_c": 14, "rain_days": 5},
                        "ConnectionError: weather service unreachable",
                    ),
                ],
                "Flights: TAP direct, 412 EUR for both of you. Hotel: Casa do Largo in Alfama, "
                "138 EUR a night (held, not booked). Expect 22 °C highs. Day 1 Alfama and the "
                "castle, day 2 Belém, day 3 Sintra, day 4 LX Factory and the river.",
                "The plan is not complete: {tool} failed ({error}). I kept what I found so "
                "far and will retry that step.",
            ),
            Turn(
                "Great, please go ahead and book the hotel.",
                [
                    Call(
                        "book_hotel",
                        {"hold_id": "h_{n}", "confirm": True},
                        {"booking_id": "bk_{n}", "status": "confirmed"},
                        "ConflictError: hold h_{n} expired before confirmation",
                    )
                ],
                "Booked: Casa do Largo, 4 nights, confirmation bk_{n}.",
                "The hold expired before I could confirm it; the room is no longer reserved. "
                "Shall I search again?",
            ),
        ]
    ),
]

ANALYST = [
    Script(
        [
            Turn(
                "How many active users did we have last week, split by country?",
                [
                    Call(
                        "run_sql",
                        {
                            "sql": "SELECT country, count(DISTINCT user_id) FROM events "
                            "WHERE ts >= now() - interval '7 days' GROUP BY 1 ORDER BY 2 DESC"
                        },
                        {
                            "rows": [["PT", 5087], ["ES", 2730], ["FR", 1904], ["other", 2687]],
                            "total": 12408,
                        },
                        "OperationalError: canceling statement due to statement timeout (60 s)",
                    ),
                    Call(
                        "plot_chart",
                        {
                            "kind": "bar",
                            "x": "country",
                            "y": "users",
                            "title": "Active users, last 7 days",
                        },
                        {"image_id": "chart_{n}.png"},
                        "RuntimeError: chart service is out of disk space",
                    ),
                ],
                "12,408 active users last week: Portugal 5,087 (41 %), Spain 2,730 (22 %), "
                "France 1,904 (15 %), other 2,687. Chart: chart_{n}.png.",
                "I could not finish: {tool} failed ({error}). Retrying in a few minutes; a "
                "daily rollup table would make this query cheaper.",
            ),
        ]
    ),
]


# The shape each agent's items arrive in, as its framework writes them (payload_format): the
# a2a session manager's native events, OpenAI chat messages (agentsilex, litellm callers), the
# Agents SDK's Responses items, Agent Framework messages.
SHAPES = {
    "support-bot": "openai_chat",
    "research-agent": "responses",
    "code-assistant": "native",
    "travel-planner": "agent_framework",
    "local-analyst": "native",
}
FRAMEWORKS = {
    "openai_chat": "agentsilex",
    "responses": "openai-agents",
    "agent_framework": "agent-framework",
    "native": "a2a-session-manager",
}
ASKS = ["Let me check that.", "I will look that up.", "One moment, checking."]


def fill(value: Any, n: int) -> Any:
    """`value` with every "{n}" in its strings replaced by n."""
    if isinstance(value, str):
        return value.replace("{n}", str(n))
    if isinstance(value, dict):
        return {k: fill(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, n) for v in value]
    return value


def framework_item(shape: str, kind: str, **f: Any) -> dict[str, Any] | None:
    """The item a framework would have sent for this event, or None for native events."""
    if shape == "openai_chat":
        if kind == "user":
            return {"role": "user", "content": f["text"]}
        if kind == "ask":
            calls = [
                {"id": c, "type": "function", "function": {"name": t, "arguments": a}}
                for c, t, a in f["calls"]
            ]
            return {"role": "assistant", "content": f["text"], "tool_calls": calls}
        if kind == "result":
            return {"role": "tool", "tool_call_id": f["call_id"], "content": f["text"]}
        if kind == "answer":
            return {"role": "assistant", "content": f["text"]}
        return None
    if shape == "responses":
        if kind in ("user", "answer", "ask"):
            role = "user" if kind == "user" else "assistant"
            part = "input_text" if kind == "user" else "output_text"
            return {"type": "message", "role": role, "content": [{"type": part, "text": f["text"]}]}
        if kind == "call":
            return {
                "type": "function_call",
                "call_id": f["call_id"],
                "name": f["tool"],
                "arguments": f["text"],
            }
        if kind == "result":
            return {"type": "function_call_output", "call_id": f["call_id"], "output": f["text"]}
        return None
    if shape == "agent_framework":
        if kind in ("user", "answer", "ask"):
            role = "user" if kind == "user" else "assistant"
            return {"role": role, "contents": [{"type": "text", "text": f["text"]}]}
        if kind == "call":
            return {
                "role": "assistant",
                "contents": [
                    {
                        "type": "function_call",
                        "call_id": f["call_id"],
                        "name": f["tool"],
                        "arguments": json.loads(f["text"]),
                    }
                ],
            }
        if kind == "result":
            return {
                "role": "tool",
                "contents": [
                    {"type": "function_result", "call_id": f["call_id"], "result": f["text"]}
                ],
            }
        return None
    if kind == "call":  # a2a's native tool call: the arguments as an object
        return {"tool": f["tool"], "arguments": json.loads(f["text"])}
    return None
