"""Rendered HTML held back from a page until MkDocs has rendered it, then put in (on_post_page).

Material's search plugin indexes `page.content` before the page is rendered; HTML held here
never reaches it. The book holds its measured output: what exec blocks print (tables, verdicts,
provenance lines) and the charts. Their numbers change with every build and their words repeat
the prose around them, so search points to the prose, the index readers download stays small,
and a cached rebuild does not parse the same tables again (a third of its indexing time).

A slot exists only while a site is built (`open_build` in on_pre_build); otherwise `hold`
returns the HTML itself, so a page function run by hand prints plain HTML.
"""

from __future__ import annotations

import hashlib
import re

from perflab.errors import PerflabError

SLOT = '<div class="perflab-slot" data-slot="{key}"></div>'
# 放回去的 HTML 包在这里：data-search-exclude 在页面上写明这段不进搜索（浏览器测试据此核对）
FILLED = '<div class="perflab-output" data-search-exclude>{html}</div>'
PATTERN = re.compile(r'<div class="perflab-slot" data-slot="([0-9a-f]{16})"></div>')
# 槽里的 HTML 自己也可以含槽（一段输出里的图表）：最多这么多层
MAX_DEPTH = 4

_held: dict[str, str] | None = None


def open_build() -> None:
    """Start holding HTML (a new build: what the previous one held is dropped)."""
    global _held
    _held = {}


def hold(html: str) -> str:
    """A placeholder standing for `html` while a site is built; `html` itself otherwise."""
    if _held is None or not html:
        return html
    key = hashlib.sha256(html.encode()).hexdigest()[:16]
    _held[key] = html
    return SLOT.format(key=key)


def fill(page: str) -> str:
    """Put every held piece back into a rendered page; a placeholder nothing was held for is a
    PerflabError naming it."""
    held = _held or {}

    def put(match: re.Match) -> str:
        if match.group(1) not in held:
            raise PerflabError(f"output placeholder {match.group(1)} has nothing held for it")
        return FILLED.format(html=held[match.group(1)])

    for _ in range(MAX_DEPTH):
        if not PATTERN.search(page):
            return page
        page = PATTERN.sub(put, page)
    raise PerflabError(f"output placeholders nested deeper than {MAX_DEPTH} levels")
