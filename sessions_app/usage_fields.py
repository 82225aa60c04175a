"""The usage sums, defined once: the columns TokenUsage rows and DailyUsage aggregates share, and
the aggregates summing them (the costs page, the API's /usage, the daily aggregate's upkeep and
the what-if all read these)."""

from __future__ import annotations

from django.db.models import Aggregate, Count, Sum

TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)
# Every sum a rollup has: the tokens, the cost, and how many usage rows (events) made it up.
SUM_FIELDS = (*TOKEN_FIELDS, "cost_usd", "events")


def usage_sums(*, of_rows: bool = False) -> dict[str, Aggregate]:
    """One aggregate per sum. Over DailyUsage `events` is a column summed like the others; over
    TokenUsage rows (`of_rows`) it is their count."""
    sums: dict[str, Aggregate] = {name: Sum(name) for name in (*TOKEN_FIELDS, "cost_usd")}
    sums["events"] = Count("id") if of_rows else Sum("events")
    return sums
