"""Chinese search in a real browser: a term finds every page that uses it.

The built site is served on loopback and searched with the system Chromium, the way a
reader does: focus the box, type, release a key. Which pages each query must find is
computed from the built HTML (the visible text of each page's article), never typed in.
"""

from __future__ import annotations

import html
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urljoin, urlsplit

import pytest

from hooks.zh_search import read_terms

pytestmark = pytest.mark.browser

# Terms a reader will type; each must be used by at least one page.
REQUIRED = ["线程", "进程", "协程", "垃圾回收", "多线程"]
# The rest of the shared term list, plus compounds built on terms. A query for one of these
# is checked where some page uses it (skipped, with the reason, where none does yet).
BOOK_TERMS = read_terms()
OPTIONAL = [t for t in [*BOOK_TERMS, "两线程", "多进程", "尾延迟"] if t not in REQUIRED]

BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr",
    "ul",
}  # fmt: skip
SKIP_TAGS = {"script", "style", "object", "template"}


HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class ArticleText(HTMLParser):
    """Text of the page's <article>, without scripts, styles and search-excluded blocks.

    As in Material's search, a heading marked data-search-exclude excludes its whole section:
    everything up to the next heading of the same or a higher level.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = 0
        self.skipping: list[list] = []  # [tag, nesting] of the blocks being skipped
        self.parts: list[str] = []
        self.excluded_section: int | None = None  # level of the excluded section's heading

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.inside += 1
        if not self.inside:
            return
        if tag in HEADINGS:
            level = int(tag[1])
            if self.excluded_section is not None and level <= self.excluded_section:
                self.excluded_section = None
            if self.excluded_section is None and any(n == "data-search-exclude" for n, _ in attrs):
                self.excluded_section = level
        for entry in self.skipping:
            if entry[0] == tag:
                entry[1] += 1
        if tag in SKIP_TAGS or any(name == "data-search-exclude" for name, _ in attrs):
            self.skipping.append([tag, 1])
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.inside:
            for entry in self.skipping:
                if entry[0] == tag:
                    entry[1] -= 1
            self.skipping = [entry for entry in self.skipping if entry[1] > 0]
            if tag in BLOCK_TAGS:
                self.parts.append("\n")
        if tag == "article" and self.inside:
            self.inside -= 1

    def handle_data(self, data: str) -> None:
        if self.inside and not self.skipping and self.excluded_section is None:
            self.parts.append(data)

    def text(self) -> str:
        return "".join(self.parts)


def page_path(site: Path, page_file: Path) -> str:
    """Site-relative URL path of a built page: 'ch1/gil/', '' for the home page."""
    rel = page_file.relative_to(site).as_posix()
    return rel.removesuffix("index.html")


@pytest.fixture(scope="module")
def search_index(built_site: Path) -> dict:
    return json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page_texts(built_site: Path, search_index: dict) -> dict[str, str]:
    """Visible article text of every page the search index covers."""
    # Pages with `search: exclude` (and 404.html) are not searchable by design.
    indexed = {doc["location"].split("#")[0] for doc in search_index["docs"]}
    texts = {}
    for page_file in sorted(built_site.rglob("*.html")):
        path = page_path(built_site, page_file)
        if path not in indexed:
            continue
        parser = ArticleText()
        parser.feed(page_file.read_text(encoding="utf-8"))
        parser.close()
        texts[path] = parser.text()
    assert texts, f"no indexed pages found in {built_site}"
    return texts


def pages_using(term: str, texts: dict[str, str]) -> set[str]:
    return {path for path, text in texts.items() if term in text}


def _loopback_only(route) -> None:
    host = urlsplit(route.request.url).hostname
    if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()


def search_site(browser, base_url: str, query: str) -> set[str]:
    """Type `query` into the site's search box; the site paths of all result links."""
    context = browser.new_context()
    try:
        context.route("**/*", _loopback_only)
        page = context.new_page()
        response = page.goto(base_url + "/")
        assert response is not None and response.ok, f"cannot open {base_url}/"
        # The meta line says the engine is initializing (as served) until the worker has
        # built the index, then shows the placeholder.
        served = re.search(r'class="md-search-result__meta">\s*(.*?)\s*<', response.text())
        assert served, "no search result meta line on the home page"
        initializing = served.group(1)
        meta = page.locator(".md-search-result__meta")
        page.wait_for_function(
            "text => document.querySelector('.md-search-result__meta').textContent.trim() !== text",
            arg=initializing,
            timeout=20_000,
        )
        placeholder = meta.inner_text().strip()

        box = page.locator("input[data-md-component=search-query]")
        box.focus()
        box.fill(query)
        # Material reads the query on key release, as after an input method commits.
        box.press("End")
        page.wait_for_function(
            "text => document.querySelector('.md-search-result__meta').textContent.trim() !== text",
            arg=placeholder,
            timeout=20_000,
        )
        # Material renders ten results, then more as the list scrolls to its end.
        numbers = re.findall(r"\d+", meta.inner_text())
        wanted = int(numbers[0]) if numbers else 0
        items = page.locator(".md-search-result__list > li")
        # 一直滚到列表不再变长：Material 先渲染 10 条，之后每回到列表底部一次补 4 条。
        deadline = time.monotonic() + 20
        shown, stable_since = -1, time.monotonic()
        while items.count() < wanted and time.monotonic() < deadline:
            if items.count() != shown:
                shown, stable_since = items.count(), time.monotonic()
            elif time.monotonic() - stable_since > 3:
                break
            # Material 只在“离开底部、再回到底部”时补下一批（每批 4 条）：先往上滚一点再滚到底
            page.evaluate(
                "() => { const w = document.querySelector('.md-search__scrollwrap');"
                " w.scrollTop = Math.max(0, w.scrollHeight - 2 * w.clientHeight); }"
            )
            page.wait_for_timeout(100)
            page.evaluate(
                "() => { const w = document.querySelector('.md-search__scrollwrap');"
                " w.scrollTop = w.scrollHeight; }"
            )
            page.wait_for_timeout(150)
        assert items.count() == wanted > 0, (
            f"{query}: meta says {wanted} results, list shows {items.count()}"
        )
        hrefs = page.eval_on_selector_all(
            ".md-search-result__list a.md-search-result__link", "els => els.map(e => e.href)"
        )
    finally:
        context.close()
    base_path = urlsplit(base_url + "/").path
    found = set()
    for href in hrefs:
        parts = urlsplit(href)
        path = unquote(parts.path).removeprefix(base_path)
        found.add(f"{path}#{unquote(parts.fragment)}" if parts.fragment else path)
    return found


def sections_using(term: str, search_index: dict) -> set[str]:
    """Indexed sections (page#anchor) whose title or text contains `term`."""
    found = set()
    for doc in search_index["docs"]:
        if "#" not in doc["location"]:
            continue
        plain = html.unescape(re.sub(r"<[^>]*>", "", doc["title"] + "\n" + doc["text"]))
        if term in plain.replace("\u200b", ""):
            found.add(doc["location"])
    return found


def _check(term: str, browser, served_site: str, page_texts: dict, search_index: dict) -> None:
    found = search_site(browser, served_site, term)
    pages = {location.split("#")[0] for location in found}
    expected = pages_using(term, page_texts)
    missing = sorted(expected - pages)
    assert not missing, (
        f"searching {term} misses pages {missing}; found {sorted(pages)}, "
        f"pages using it {sorted(expected)}"
    )
    # Finer: every section of those pages that uses the term is listed under its page.
    expected = sections_using(term, search_index)
    missing = sorted(expected - found)
    assert not missing, (
        f"searching {term} misses sections {missing}; found {sorted(found)}, "
        f"sections using it {sorted(expected)}"
    )


@pytest.mark.parametrize("term", REQUIRED)
def test_search_finds_every_page_using_term(
    term: str, browser, served_site: str, page_texts: dict[str, str], search_index: dict
) -> None:
    assert pages_using(term, page_texts), f"no page uses {term}: this check would be vacuous"
    _check(term, browser, served_site, page_texts, search_index)


@pytest.mark.parametrize("term", OPTIONAL)
def test_search_finds_every_page_using_book_term(
    term: str, browser, served_site: str, page_texts: dict[str, str], search_index: dict
) -> None:
    if not pages_using(term, page_texts):
        pytest.skip(f"no page uses {term} yet")
    _check(term, browser, served_site, page_texts, search_index)


# Not a browser test, but about the same index; it needs only the built site.
@pytest.mark.site
def test_search_index_is_segmented_at_book_terms(search_index: dict) -> None:
    texts = [doc["title"] + "\n" + doc["text"] for doc in search_index["docs"]]
    han = r"[\u4e00-\u9fff]"
    assert any(re.search(f"{han}\u200b{han}", text) for text in texts), (
        "search index has no U+200B between Chinese words: is jieba installed?"
    )

    separator = search_index["config"]["separator"]
    # One bare lookahead per term (a split before it), longest first, so a compound term
    # wins over a term inside it. The split after a term is in the index (below).
    ahead = re.findall(r"\|\(\?=([^()|]*)\)", separator)
    assert set(ahead) == set(BOOK_TERMS), f"separator has no zero-width term splits: {separator}"
    assert [len(a) for a in ahead] == sorted(map(len, ahead), reverse=True)
    assert set(REQUIRED) - {"多线程"} <= set(BOOK_TERMS)

    # Every occurrence of a term is one token: U+200B (or the text's edge, or a non-Han
    # character) on both sides.
    for term in BOOK_TERMS:
        for text in texts:
            for match in re.finditer(term, text):
                before = text[match.start() - 1] if match.start() else ""
                after = text[match.end()] if match.end() < len(text) else ""
                for ch in (before, after):
                    assert not re.match(han, ch), f"{term} is not a token of its own in {text!r}"

    # jieba (with the term list as user dictionary) never cuts a term apart.
    for term in BOOK_TERMS:
        for text in texts:
            joined = text.replace("\u200b", "")
            assert joined.count(term) == text.count(term), (
                f"jieba cut {term} apart in the index: {text[:200]!r}"
            )


def highlighter_pattern(separator: str, query: str) -> str:
    """The term part of the regex Material's page highlighter builds for ?h=query.

    Mirrors the theme's steps (integrations/search/highlighter): split the separator at
    "|", set aside alternatives that are nothing but lookarounds, and cut the query at what
    is left.
    """
    kept = [
        "\ufffd" if not re.sub(r"(\(\?[!=<][^)]+\))", "", part) else part
        for part in separator.split("|")
    ]
    splitter = re.compile("|".join(kept), re.I | re.M)
    query = re.sub(r"[\s*+\-:~^]+", " ", query).replace("&", "&amp;").strip()
    escaped = re.sub(r"[|\\{}()[\]^$+*?.-]", lambda m: "\\" + m.group(0), query)
    return splitter.sub("|", escaped)


@pytest.mark.site
def test_separator_suits_materials_highlighter(search_index: dict) -> None:
    """No lookbehind (not in every browser Material supports), and for every book term the
    highlighter's pattern matches the term and never the empty string."""
    separator = search_index["config"]["separator"]
    assert "(?<" not in separator, f"lookbehind in the search separator: {separator}"
    for term in [*BOOK_TERMS, "GIL", "两 线程"]:
        pattern = highlighter_pattern(separator, term)
        assert not re.fullmatch(pattern, ""), f"?h={term}: highlighter pattern {pattern!r} is empty"
        for word in term.split():
            assert re.search(f"({pattern})", f"前文{word}后文"), (term, pattern)


VISIBLE_TEXT_HAS = """term => {
  // 与 Material 的高亮器相同：只看有高度（可见）的文本节点
  const it = document.createNodeIterator(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  for (let n = it.nextNode(); n; n = it.nextNode())
    if (n.parentElement && n.parentElement.offsetHeight && n.textContent.includes(term))
      return true;
  return false;
}"""


def marks_after_opening(browser, url: str, visible: str | None = None) -> list[str] | None:
    """Text of every <mark> Material's highlighter puts into the article of `url`.

    With `visible`, None when no visible text of the article contains it (nothing to mark).
    """
    context = browser.new_context()
    try:
        context.route("**/*", _loopback_only)
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.ok, url
        page.wait_for_selector("article", state="attached")
        if visible is not None and not page.evaluate(VISIBLE_TEXT_HAS, visible):
            return None
        # 高亮在搜索索引载入后才做：等第一个 mark 出现（旧行为也会出现，只是空的）
        page.wait_for_selector("article mark[data-md-highlight]", state="attached", timeout=20_000)
        return page.eval_on_selector_all("article mark", "els => els.map(e => e.textContent)")
    finally:
        context.close()


def first_result(browser, base_url: str, query: str) -> str:
    """The href of the first search result for `query`, as a reader would click it."""
    context = browser.new_context()
    try:
        context.route("**/*", _loopback_only)
        page = context.new_page()
        response = page.goto(base_url + "/")
        assert response is not None and response.ok, f"cannot open {base_url}/"
        # 等搜索引擎就绪：提示行离开“正在初始化”（与 search_site 相同）
        served = re.search(r'class="md-search-result__meta">\s*(.*?)\s*<', response.text())
        assert served, "no search result meta line on the home page"
        page.wait_for_function(
            "text => document.querySelector('.md-search-result__meta').textContent.trim() !== text",
            arg=served.group(1),
            timeout=20_000,
        )
        box = page.locator("input[data-md-component=search-query]")
        box.focus()
        box.fill(query)
        box.press("End")
        link = page.locator(".md-search-result__list a.md-search-result__link").first
        link.wait_for(state="attached", timeout=20_000)
        return link.get_attribute("href") or ""
    finally:
        context.close()


def _check_marks(url: str, marks: list[str], terms: list[str]) -> None:
    assert marks, f"{url}: nothing highlighted"
    empty = [m for m in marks if not m.strip()]
    assert not empty, f"{url}: {len(empty)} empty <mark> of {len(marks)}"
    wanted = {t.lower() for t in terms}
    stray = sorted({m for m in marks if m.lower() not in wanted})
    assert not stray, f"{url}: marked {stray[:10]}, wanted only {sorted(wanted)}"


@pytest.mark.parametrize("query", ["延迟", "线程", "GIL"])
def test_opening_a_search_result_highlights_the_query(browser, served_site: str, query: str):
    href = first_result(browser, served_site, query)
    parts = urlsplit(href)
    highlight = parse_qs(parts.query).get("h", [""])[0]
    assert highlight, f"first result for {query} carries no ?h=: {href}"
    url = urljoin(served_site + "/", href)
    marks = marks_after_opening(browser, url)
    _check_marks(url, marks, highlight.split())
    # Material 先用索引里的词切分中文查询，且从不拿整个查询去比（segment 的循环只看真前缀）：
    # 线程 的前缀 线 也是索引里的词时，链接带的是 ?h=线。高亮的总是查询的开头部分。
    assert all(query.lower().startswith(h.lower()) for h in highlight.split()), highlight
    if query in ("延迟", "GIL"):
        assert highlight.lower() == query.lower(), href
        assert any(m.lower() == query.lower() for m in marks), f"{url}: {query} never marked"


def test_every_book_term_is_highlighted_where_it_is_used(
    browser, served_site: str, page_texts: dict[str, str]
) -> None:
    # 每个词选用它最多的那一页（最可能出现在可见的正文里）
    checked = []
    for term in BOOK_TERMS:
        pages = sorted(
            pages_using(term, page_texts), key=lambda path: -page_texts[path].count(term)
        )
        for path in pages[:3]:
            url = f"{served_site}/{path}?h={quote(term)}"
            marks = marks_after_opening(browser, url, visible=term)
            if marks is not None:
                _check_marks(url, marks, [term])
                checked.append(term)
                break
    assert set(REQUIRED) - {"多线程"} <= set(checked), f"terms checked: {checked}"


def test_data_page_tables_stay_out_of_the_search_index(search_index: dict):
    # 数据页的表格每一张都在实验自己的页面上：只索引一次，不让数据页占去大半个索引
    data = [d for d in search_index["docs"] if d["location"].startswith("data/")]
    assert any("拿你自己的结果来比" in d["title"].replace("\u200b", "") for d in data)
    text = " ".join(d["text"] for d in data)
    assert "ch1.gil" not in text and "ch4.loadtest" not in text
