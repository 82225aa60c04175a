"""The dashboard's template filters and tags."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from django.template import Context, Template
from django.test import RequestFactory

from dashboard.templatetags.dashboard import ms, usd


def test_usd_formats_money_as_the_exports_do():
    assert usd(Decimal("0E-10")) == "$0"
    assert usd(Decimal("0.0312000000")) == "$0.0312"
    assert usd(None) == "\u2013"


def test_ms_reads_a_latency_in_the_unit_that_fits():
    assert [ms(v) for v in (0, 250, 999, 1000, 2800, 9_949, 9_950, 42_500)] == [
        "0 ms", "250 ms", "999 ms", "1.0 s", "2.8 s", "9.9 s", "10 s", "43 s",
    ]  # fmt: skip
    assert ms(59_600) == "1m 00s" and ms(1_276_800) == "21m 17s"
    assert ms(3 * 3600 * 1000) == "3h 00m"
    assert ms(None) == ms(-5) == "\u2013"


def test_usd_says_price_unknown_when_no_usage_has_a_price():
    for unpriced in ("all", "unknown", True):
        html = usd(Decimal(0), unpriced)
        assert "price unknown" in html and "$0" not in html


def test_usd_marks_a_partly_priced_cost():
    html = usd(Decimal("0.02"), "some")
    assert html.startswith("$0.0200 <span") and "+ unpriced" in html


def test_usd_keeps_a_priced_cost_plain():
    assert usd(Decimal("0.02"), "") == "$0.0200"
    assert usd(Decimal("0.02"), "computed") == "$0.0200"


def render_header(sort: str, query: str = "") -> str:
    request = RequestFactory().get("/p/acme/sessions/" + query)
    template = Template('{% load dashboard %}{% sort_header "cost_usd" "Cost" %}')
    context = Context({"request": request, "filters": SimpleNamespace(sort=sort)})
    context.request = request
    return template.render(context)


def test_a_sort_header_links_descending_first_and_keeps_the_filters_but_not_the_cursor():
    html = render_header("-last_event_at", "?agent=bot&cursor=abc")
    assert 'href="?agent=bot&amp;sort=-cost_usd"' in html
    assert 'class="sort"' in html and "↓" not in html and "↑" not in html


def test_the_active_sort_header_toggles_and_shows_its_direction():
    html = render_header("-cost_usd", "?sort=-cost_usd")
    assert 'href="?sort=cost_usd"' in html and 'class="sort active"' in html and "Cost ↓" in html
    html = render_header("cost_usd", "?sort=cost_usd")
    assert 'href="?sort=-cost_usd"' in html and "Cost ↑" in html
