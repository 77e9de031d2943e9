"""What the built pages need for assistive technology that the theme and Markdown leave out.

- Material's search is a ``role="dialog"`` without a name; it gets the name its search box
  already carries (Material's own localized label, 搜索 in this book).
- A Markdown table whose top-left header cell is empty is a grid with row labels in its first
  column (``| | 32 MiB | 128 MiB |`` then ``| Serial | … |``); Markdown writes those labels as
  data cells, so a screen reader announces a figure without saying which row it belongs to.
  They become row headers (``<th scope="row">``).

Both are applied to the finished HTML of every page (hooks/a11y.py); the colours and link
styles the audits also ask for live in docs/assets/stylesheets/extra.css.
"""

from __future__ import annotations

import re

_SEARCH_DIALOG = re.compile(r'<div class="md-search"(?P<attrs>[^>]*\brole="dialog"[^>]*)>')
_SEARCH_LABEL = re.compile(r'<input\b[^>]*class="md-search__input"[^>]*\baria-label="([^"]+)"')
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
_CORNER = re.compile(r"<thead>\s*<tr>\s*<th(?:\s[^>]*)?>\s*</th>", re.S)
_TBODY = re.compile(r"<tbody>.*?</tbody>", re.S)
_FIRST_CELL = re.compile(r"(<tr\b[^>]*>\s*)<td(?P<attrs>\s[^>]*)?>(?P<body>.*?)</td>", re.S)


def name_search_dialog(page: str) -> str:
    """Give Material's search dialog the accessible name of its search box."""
    dialog = _SEARCH_DIALOG.search(page)
    label = _SEARCH_LABEL.search(page)
    if dialog is None or label is None or "aria-label=" in dialog["attrs"]:
        return page
    named = f'<div class="md-search" aria-label="{label[1]}"{dialog["attrs"]}>'
    return page[: dialog.start()] + named + page[dialog.end() :]


def _row_headers(table: re.Match) -> str:
    html = table[0]
    if not _CORNER.search(html):
        return html

    def header(cell: re.Match) -> str:
        attrs = cell["attrs"] or ""
        return f'{cell[1]}<th scope="row"{attrs}>{cell["body"]}</th>'

    return _TBODY.sub(lambda body: _FIRST_CELL.sub(header, body[0]), html)


def row_headers(page: str) -> str:
    """In tables with an empty top-left header cell, first cells of body rows become row headers."""
    if "<table" not in page:
        return page
    return _TABLE.sub(_row_headers, page)


def fix(page: str) -> str:
    return row_headers(name_search_dialog(page))
