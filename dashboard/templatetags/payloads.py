"""Payloads for reading: a collapsible JSON viewer rendered on the server, and Markdown.

The viewer is plain HTML (nested <details>), so it works without JavaScript and costs no
framework. It renders at most NODE_BUDGET values; past that a "more" line points at the raw
text, so a huge payload never becomes a huge page. Markdown goes through nh3, which keeps only
the tags below: no images (so no remote fetches), no scripts, no styles, no event handlers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import markdown as markdown_lib
import nh3
from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Values rendered per viewer; the rest are counted and left to the raw view.
NODE_BUDGET = 400
# Containers deeper than this start collapsed.
OPEN_DEPTH = 2
# Strings longer than this fold behind their first characters.
LONG_STRING = 240
# A container carries its own JSON for its copy button only below this size.
COPY_LIMIT = 4096

MARKDOWN_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "del", "s",
    "code", "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th",
    "td", "dl", "dt", "dd", "sup", "sub",
}  # fmt: skip
MARKDOWN_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
# Something only Markdown would write: a heading, a list, emphasis, code, a link or a table.
MARKDOWN_HINT = re.compile(
    r"^\s{0,3}(#{1,6}\s|[-*+]\s|\d+[.)]\s|>|```|\|.*\|)|\*\*|__|`[^`\n]+`|\[[^\]\n]+\]\([^)\s]+\)",
    re.MULTILINE,
)


def _markdown_without_html() -> markdown_lib.Markdown:
    """Markdown that shows raw HTML in the text as text: a reviewer sees the <script> an agent
    wrote instead of losing it to the sanitiser (which stays as the second line of defence)."""
    md = markdown_lib.Markdown(extensions=["fenced_code", "tables", "sane_lists"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


_markdown = _markdown_without_html()


def parse_json_text(text: Any) -> tuple[bool, Any]:
    """(True, value) when `text` is a JSON object or array, else (False, None)."""
    if not isinstance(text, str):
        return False, None
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False, None
    try:
        return True, json.loads(stripped)
    except ValueError:
        return False, None


class _Viewer:
    def __init__(self) -> None:
        self.budget = NODE_BUDGET
        self.parts: list[str] = []

    def node(self, key: str | None, value: Any, depth: int) -> None:
        self.budget -= 1
        key_html = format_html('<span class="jv-key">{}</span>', key) if key is not None else ""
        if isinstance(value, dict | list):
            self.container(key_html, value, depth)
        else:
            self.leaf(key_html, value)

    def leaf(self, key_html: str, value: Any) -> None:
        if isinstance(value, str):
            kind, literal, copy = "str", json.dumps(value, ensure_ascii=False), value
        elif value is None:
            kind, literal, copy = "null", "null", "null"
        elif isinstance(value, bool):
            kind, literal, copy = "bool", json.dumps(value), json.dumps(value)
        elif isinstance(value, int | float):
            kind, literal, copy = "num", json.dumps(value), json.dumps(value)
        else:
            kind, literal, copy = "str", json.dumps(str(value)), str(value)
        button = format_html(
            '<button type="button" class="jv-copy" data-copy-text="{}" title="Copy this value"'
            ' aria-label="Copy this value">copy</button>',
            copy,
        )
        if kind == "str" and len(value) > LONG_STRING:
            self.parts.append(
                format_html(
                    '<details class="jv-leaf jv-longstr"><summary>{}<span class="jv-val jv-str">'
                    '{}…</span> <span class="jv-count">{} chars</span>{}</summary>'
                    '<div class="jv-val jv-str jv-full">{}</div></details>',
                    key_html,
                    literal[:100],
                    len(value),
                    button,
                    literal,
                )
            )
            return
        self.parts.append(
            format_html(
                '<div class="jv-leaf">{}<span class="jv-val jv-{}">{}</span>{}</div>',
                key_html,
                kind,
                literal,
                button,
            )
        )

    def container(self, key_html: str, value: dict[Any, Any] | list[Any], depth: int) -> None:
        is_dict = isinstance(value, dict)
        opening, closing = ("{", "}") if is_dict else ("[", "]")
        size = len(value)
        count = f"{size} key{'s' if size != 1 else ''}" if is_dict else f"{size} item"
        if not is_dict and size != 1:
            count += "s"
        if size == 0:
            self.parts.append(
                format_html(
                    '<div class="jv-leaf">{}<span class="jv-val jv-empty">{}{}</span></div>',
                    key_html,
                    opening,
                    closing,
                )
            )
            return
        compact = json.dumps(value, ensure_ascii=False, default=str)
        copy = (
            format_html(
                '<button type="button" class="jv-copy" data-copy-text="{}" title="Copy this value"'
                ' aria-label="Copy this value">copy</button>',
                compact,
            )
            if len(compact) <= COPY_LIMIT
            else ""
        )
        is_open = " open" if depth < OPEN_DEPTH and self.budget > 0 else ""
        self.parts.append(
            format_html(
                '<details class="jv-node"{}><summary>{}<span class="jv-brace">{}</span>'
                '<span class="jv-count">{}</span>{}</summary><ul class="jv-kids">',
                mark_safe(is_open),
                key_html,
                opening,
                count,
                copy,
            )
        )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        shown = 0
        for k, v in items:
            if self.budget <= 0:
                break
            self.parts.append("<li>")
            self.node(str(k), v, depth + 1)
            self.parts.append("</li>")
            shown += 1
        if shown < size:
            self.parts.append(
                format_html(
                    '<li class="jv-more">… {} more not shown: see the raw text</li>', size - shown
                )
            )
        self.parts.append(format_html('</ul><span class="jv-brace">{}</span></details>', closing))


def render_json(value: Any) -> SafeString:
    """The viewer's HTML for a decoded JSON value."""
    viewer = _Viewer()
    viewer.node(None, value, 0)
    return mark_safe(f'<div class="jv">{"".join(viewer.parts)}</div>')


@register.filter
def json_view(value: Any) -> SafeString:
    """A collapsible, escaped tree of a decoded JSON value (payload, metadata, state)."""
    return render_json(value)


@register.filter
def json_text_view(text: Any) -> SafeString | str:
    """The viewer for text holding a JSON object or array (tool arguments, results); '' when
    the text is not JSON, so the template shows it as text."""
    ok, value = parse_json_text(text)
    return render_json(value) if ok else ""


@register.filter
def markdown(text: Any) -> SafeString | str:
    """Markdown rendered and sanitised (nh3: no images, scripts, styles or handlers); '' when
    the text has nothing Markdown would format, so the template shows it as plain text."""
    if not isinstance(text, str) or not MARKDOWN_HINT.search(text):
        return ""
    html = _markdown.reset().convert(text)
    return mark_safe(  # sanitised by nh3
        nh3.clean(
            html,
            tags=MARKDOWN_TAGS,
            attributes=MARKDOWN_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )
