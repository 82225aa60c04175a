"""The text diff between two strategies' prompts."""

from __future__ import annotations

from sessions_app.prompts.base import Prompt
from sessions_app.prompts.diff import prompt_diff, prompt_text


def _prompt(strategy: str, messages: list[dict]) -> Prompt:
    return Prompt(
        strategy=strategy,
        model="gpt-4o",
        messages=messages,
        sources=[[] for _ in messages],
        token_count=0,
        cost_usd=None,
    )


def test_a_prompt_reads_as_role_headers_text_and_tool_calls():
    lines = prompt_text(
        [
            {"role": "user", "content": "Where is my order?\nIt is late."},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "c1", "function": {"name": "lookup", "arguments": "{}"}}],
            },
            {"role": "tool", "content": "shipped", "tool_call_id": "c1"},
        ]
    )
    assert lines == [
        "[user]",
        "Where is my order?",
        "It is late.",
        "[assistant]",
        "",
        "→ lookup({})",
        "[tool]",
        "shipped",
        "(answers c1)",
    ]


def test_lines_only_in_one_prompt_are_removed_or_added_with_their_numbers():
    left = _prompt("minimal", [{"role": "user", "content": "a\nb\nc"}])
    right = _prompt("conversation", [{"role": "user", "content": "a\nB\nc\nd"}])
    diff = prompt_diff(left, right)
    ops = [(line.op, line.text, line.left, line.right) for line in diff.lines]
    assert ops == [
        (" ", "[user]", 1, 1),
        (" ", "a", 2, 2),
        ("-", "b", 3, None),
        ("+", "B", None, 3),
        (" ", "c", 4, 4),
        ("+", "d", None, 5),
    ]
    assert (diff.removed, diff.added) == (1, 2)


def test_identical_prompts_have_no_diff_lines():
    same = [{"role": "user", "content": "hello"}]
    diff = prompt_diff(_prompt("minimal", same), _prompt("conversation", same))
    assert diff.lines == [] and diff.removed == diff.added == 0


def test_far_apart_changes_are_separated_by_a_gap():
    left = _prompt("minimal", [{"role": "user", "content": "\n".join(map(str, range(30)))}])
    changed = [str(i) if i not in (2, 25) else f"x{i}" for i in range(30)]
    right = _prompt("conversation", [{"role": "user", "content": "\n".join(changed)}])
    assert [line.op for line in prompt_diff(left, right).lines].count("…") == 1
