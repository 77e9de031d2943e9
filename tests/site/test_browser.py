"""Every page in the navigation, in a real browser, as a reader gets it: desktop and phone.

The quick-profile site is served on loopback and opened in the system Chromium. Which
pages exist, which diagrams and charts each one has, is read from mkdocs.yml and the built
HTML, never typed in here. Screenshots land in test-output/screenshots/, the transferred
bytes of every page in test-output/page-weight.json (and .md) for a person to read.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from book_helpers import nav_pages
from conftest import OUTPUT

from perflab.render import page_url
from perflab.site import diagrams

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = OUTPUT / "screenshots"
SEARCH_INDEX = "/search/search_index.json"
# Diagrams are drawn at build time (perflab/site/diagrams.py): no page loads Mermaid's script.
MERMAID_SCRIPT = re.compile(r"/mermaid[^/]*\.js$")
# Issue 16's goal: the first visit of any page, with text gzipped as a static host sends it,
# stays within 500 KB (search index included).
FIRST_VISIT_GZIP_LIMIT = 500_000
# A page without diagrams loads the theme and its own HTML (plus the search index, which
# grows with the book and is fetched once per visit to the site, so it is left out here).
# The bound is a sanity check against a page that drags in something large, not a budget.
LEAN_PAGE_BYTES = 1_500_000
# Shared assets at least this large must come from the cache on the next page. (Smaller
# ones, like the favicon Chromium sometimes re-requests, are left out.)
SHARED_ASSET_BYTES = 10_000
# Screenshots stop this far down (CSS px): a 40,000-px page costs seconds to encode.
SHOT_MAX_HEIGHT = 8_000
# The pilot page: its code is shown as Python and Go in linked tabs.
PILOT = "ch1/gil/"


def nav_paths() -> list[str]:
    """Site paths of the pages in mkdocs.yml's nav, in order: '', 'ch1/', 'ch1/gil/'."""
    return [page_url(file) for file in nav_pages() if "://" not in file]


PAGES = nav_paths()


def slug(path: str) -> str:
    return path.strip("/").replace("/", "-") or "index"


def built_html(site: Path, path: str) -> str:
    file = site / path / "index.html"
    assert file.is_file(), f"nav page {path or '/'} was not built ({file})"
    return file.read_text(encoding="utf-8")


def site_file(site: Path, url_path: str) -> Path | None:
    """The built file a served URL path maps to (directory URLs → index.html)."""
    rel = unquote(urlsplit(url_path).path).lstrip("/")
    file = site / rel
    if file.is_dir():
        file = file / "index.html"
    return file if file.is_file() else None


_GZIP: dict[Path, int] = {}
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".csv", ".map"}


def gzip_size(file: Path | None, sent: int) -> int:
    """Bytes on the wire if the host gzips text (as GitHub Pages does); `sent` otherwise."""
    if file is None or file.suffix not in COMPRESSIBLE:
        return sent
    if file not in _GZIP:
        _GZIP[file] = len(gzip.compress(file.read_bytes(), compresslevel=6))
    return _GZIP[file]


class Visit:
    """One browser context with everything it requested, and what went wrong, recorded."""

    def __init__(self, browser, base_url: str, **context_options) -> None:
        self.base_url = base_url
        self.context = browser.new_context(**context_options)
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.context.on(
            "response",
            lambda r: self.failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None,
        )
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def reset(self) -> None:
        """Forget what earlier pages requested, before reusing the context for another."""
        self.requests.clear()
        self.failed.clear()
        self.errors.clear()

    def open(self, path: str, idle: bool = True) -> None:
        response = self.page.goto(f"{self.base_url}/{path}", wait_until="load")
        assert response is not None and response.ok, f"/{path}: {response and response.status}"
        if idle:  # the search worker fetches its index after load
            self.page.wait_for_load_state("networkidle")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width, height = self.page.evaluate(
            "() => [document.documentElement.clientWidth, document.documentElement.scrollHeight]"
        )
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, SHOT_MAX_HEIGHT)}
        self.page.screenshot(path=SCREENSHOTS / name, full_page=True, clip=clip, scale="css")

    def close(self) -> None:
        self.context.close()

    def check_clean(self, path: str) -> None:
        assert not self.errors, f"/{path}: errors in the browser:\n" + "\n".join(self.errors)
        assert not self.failed, f"/{path}: failed requests:\n" + "\n".join(self.failed)
        outside = [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:"))
            and urlsplit(url).hostname not in ("127.0.0.1",)
        ]
        assert not outside, f"/{path}: requests leaving 127.0.0.1: {outside}"


@pytest.fixture(scope="module")
def weight_report(built_site: Path):
    """Collects transferred bytes per page; written to test-output/ when the module ends."""
    # Screenshots of pages that left the navigation would mislead whoever looks.
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    report: dict = {"pages": {}, "warm_cache": None}
    yield report
    if not report["pages"]:
        return
    pages = sorted(report["pages"].values(), key=lambda p: p["bytes"], reverse=True)
    doc = {
        "note": (
            "Bytes sent by the loopback server (headers + bodies, uncompressed) for a first"
            " visit with an empty cache; gzip_estimate is the same with text assets gzipped"
            " (level 6), roughly what a static host that compresses would send."
        ),
        "largest_page": pages[0]["page"],
        "pages": pages,
        "warm_cache": report["warm_cache"],
    }
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "page-weight.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    lines = [
        "# Page weight (quick-profile build, first visit, empty cache)",
        "",
        "| page | requests | bytes sent | gzip estimate | diagrams |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for p in pages:
        lines.append(
            f"| /{p['page']} | {p['requests']} | {p['bytes']:,} | {p['gzip_estimate']:,} |"
            f" {p['diagrams'] or ''} |"
        )
    lines += ["", f"Largest page: /{pages[0]['page']} ({pages[0]['bytes']:,} bytes)."]
    warm = report["warm_cache"]
    if warm:
        lines.append(
            f"Warm cache: /{warm['second']} after /{warm['first']} sent {warm['bytes']:,} bytes"
            f" ({warm['requests']} requests, {warm['not_modified']} answered 304 Not Modified)."
        )
    (OUTPUT / "page-weight.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_navigation_has_pages():
    assert len(PAGES) >= 2 and "" in PAGES, PAGES
    assert PILOT in PAGES, f"the pilot page {PILOT} is not in the navigation"


@pytest.mark.parametrize("path", PAGES, ids=[slug(p) for p in PAGES])
def test_page_in_browser(
    path: str,
    browser,
    phone: Visit,
    served_site: str,
    served_log: list,
    built_site: Path,
    weight_report: dict,
) -> None:
    html = built_html(built_site, path)
    drawn = len(re.findall(rf'<div class="{diagrams.PAGE_CLASS}"', html))
    charts = len(re.findall(r'<figure class="perflab-chart"', html))

    # Desktop, empty cache: what a first visit costs.
    mark = len(served_log)
    visit = Visit(browser, served_site, viewport=DESKTOP)
    try:
        visit.open(path)
        visit.check_clean(path)
        check_diagrams(visit, path, drawn)
        check_charts(visit, path, charts)
        visit.screenshot(f"{slug(path)}-desktop.png")
    finally:
        visit.close()
    record_weight(weight_report, built_site, path, drawn, served_log[mark:])

    # Phone, in one context for all pages (a warm cache, like a reader browsing): the body
    # never scrolls sideways (wide tables and code scroll in their own box), and the
    # navigation sits behind the drawer button.
    phone.reset()
    phone.open(path)
    phone.check_clean(path)
    check_diagrams(phone, path, drawn)
    check_charts(phone, path, charts)
    overflow = phone.page.evaluate(OVERFLOW)
    assert max(overflow["scroll"], overflow["body"]) <= overflow["width"], (
        f"/{path} scrolls sideways at {PHONE['width']} px: {overflow}"
    )
    drawer = phone.page.locator("label.md-header__button[for='__drawer']")
    assert drawer.is_visible(), f"/{path}: no navigation drawer button on a phone"
    phone.screenshot(f"{slug(path)}-phone.png")


def check_diagrams(visit: Visit, path: str, expected: int) -> None:
    """Each diagram drawn at build time: visible, text as text, legible, nothing clipped."""
    hosts = visit.page.locator(f"div.{diagrams.PAGE_CLASS}")
    assert hosts.count() == expected, f"/{path}: {expected} diagrams in the HTML"
    for i in range(expected):
        host = hosts.nth(i)
        host.scroll_into_view_if_needed()
        state = host.evaluate(DIAGRAM_STATE)
        where = f"/{path}: diagram {i} at {visit.page.viewport_size['width']} px: {state}"
        assert state["width"] > 0 and state["height"] > 0 and state["texts"] > 0, where
        assert state["foreign"] == 0, where
        # scaled with the column, never below the legible minimum
        assert state["scale"] >= diagrams.MIN_SCALE - 0.01, where
        # wider than its box: the box scrolls (so all of it can be reached), never clips
        if state["overflows"]:
            assert state["overflowX"] in ("auto", "scroll"), where
        assert not state["clipped"], where


# What one drawn diagram looks like in the page: sizes, text, and whether anything is cut off.
DIAGRAM_STATE = """host => {
    const svg = host.querySelector(':scope > svg');
    const box = svg.getBoundingClientRect();
    const viewBox = svg.viewBox.baseVal;
    const clipped = [];
    for (let p = host.parentElement; p && p !== document.body; p = p.parentElement) {
        const style = getComputedStyle(p);
        const r = p.getBoundingClientRect();
        if (['hidden', 'clip'].includes(style.overflowX) && host.scrollWidth > 0
            && Math.min(box.right, host.getBoundingClientRect().right) > r.right + 1) {
            clipped.push(p.tagName + '.' + p.className);
        }
    }
    return {
        width: box.width, height: box.height,
        texts: [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).length,
        foreign: svg.querySelectorAll('foreignObject').length,
        scale: viewBox && viewBox.width ? box.width / viewBox.width : 0,
        overflows: host.scrollWidth > host.clientWidth + 1,
        overflowX: getComputedStyle(host).overflowX,
        clipped,
    };
}"""


def check_charts(visit: Visit, path: str, expected: int) -> None:
    svgs = visit.page.locator("figure.perflab-chart svg")
    assert svgs.count() >= expected, f"/{path}: {expected} charts in the HTML"
    for i in range(svgs.count()):
        svg = svgs.nth(i)
        svg.scroll_into_view_if_needed()
        assert svg.is_visible(), f"/{path}: chart {i} is not visible"
        box = svg.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, f"/{path}: chart {i} {box}"
        labels = [t.strip() for t in svg.locator("text").all_text_contents()]
        assert any(labels), f"/{path}: chart {i} has no text"


# Elements that stick out to the right of the viewport without a scrolling box around them.
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const culprits = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right <= width + 1 || r.width === 0) continue;
        let clipped = false;
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; }
        }
        if (!clipped) culprits.push(
            `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}`);
    }
    return {
        width,
        scroll: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        culprits: culprits.slice(0, 8),
    };
}"""


def record_weight(report: dict, site: Path, path: str, drawn: int, sent: list) -> None:
    """Add one first visit's server log to the report, and check it is sane."""
    resources = [
        {
            "path": url,
            "status": status,
            "bytes": size,
            "gzip_estimate": gzip_size(site_file(site, url), size),
        }
        for url, status, size in sent
    ]
    resources.sort(key=lambda r: r["bytes"], reverse=True)
    weight = {
        "page": path,
        "diagrams": drawn,
        "requests": len(sent),
        "bytes": sum(r["bytes"] for r in resources),
        "gzip_estimate": sum(r["gzip_estimate"] for r in resources),
        "bytes_without_search_index": sum(
            r["bytes"] for r in resources if r["path"] != SEARCH_INDEX
        ),
        "resources": resources,
    }
    report["pages"][path] = weight
    urls = [url.split("?")[0] for url, _, _ in sent]
    assert f"/{path}" in urls, f"/{path}: the server log does not show the page itself: {sent}"
    scripts = [url for url in urls if MERMAID_SCRIPT.search(url)]
    assert not scripts, f"/{path} loads Mermaid's script although its diagrams are drawn: {scripts}"
    assert weight["bytes_without_search_index"] <= LEAN_PAGE_BYTES, (
        f"/{path} sends {weight['bytes_without_search_index']:,} bytes (search index aside):"
        f" {resources[:5]}"
    )
    assert weight["gzip_estimate"] <= FIRST_VISIT_GZIP_LIMIT, (
        f"/{path}: a first visit sends {weight['gzip_estimate']:,} bytes gzipped"
        f" (limit {FIRST_VISIT_GZIP_LIMIT:,}): {resources[:5]}"
    )


@pytest.fixture(scope="module")
def phone(browser, served_site: str):
    """A phone-sized browser context shared by the page tests."""
    visit = Visit(browser, served_site, viewport=PHONE, is_mobile=True, has_touch=True)
    yield visit
    visit.close()


def test_assets_are_fetched_once_across_pages(
    browser, served_site: str, served_log: list, built_site: Path, weight_report: dict
) -> None:
    """A reader going from one page to the next downloads no shared asset twice (the theme,
    its scripts, the search index): the browser's cache answers, or the server says 304."""
    chapters = [p for p in PAGES if p.startswith("ch")]
    assert len(chapters) >= 2, chapters
    first, second = chapters[:2]
    visit = Visit(browser, served_site, viewport=DESKTOP)
    try:
        start = len(served_log)
        visit.open(first)
        middle = len(served_log)
        visit.open(second)
        end = len(served_log)
        visit.check_clean(second)
    finally:
        visit.close()
    fetched = {url for url, status, _ in served_log[start:middle] if status == 200}
    again = served_log[middle:end]
    refetched = [
        (url, size)
        for url, status, size in again
        if status == 200
        and url in fetched
        and url.split("?")[0] != f"/{second}"
        and size >= SHARED_ASSET_BYTES
    ]
    weight_report["warm_cache"] = {
        "first": first,
        "second": second,
        "requests": len(again),
        "not_modified": sum(1 for _, status, _ in again if status == 304),
        "bytes": sum(size for _, _, size in again),
        "served": [list(entry) for entry in again],
    }
    assert SEARCH_INDEX in fetched, f"/{first} did not load {SEARCH_INDEX}"
    assert not refetched, (
        f"assets downloaded again on the second page: {refetched};"
        f" first page: {served_log[start:middle]}, second page: {again}"
    )


def tab_pages(site: Path) -> list[str]:
    """Pages with at least two tabbed sets that offer a 'Go' tab."""
    found = []
    for path in PAGES:
        html = built_html(site, path)
        sets = re.split(r'<div class="tabbed-set', html)[1:]
        if sum(1 for s in sets if re.search(r"<label[^>]*>Go</label>", s[:2000])) >= 2:
            found.append(path)
    return found


TAB_STATE = """() => [...document.querySelectorAll('.tabbed-set')].map(set => {
    const labels = [...set.querySelectorAll(':scope > .tabbed-labels > label')];
    const names = labels.map(l => l.textContent.trim());
    if (!names.includes('Go')) return null;
    const checked = labels.find(l => document.getElementById(l.htmlFor)?.checked);
    const blocks = [...set.querySelectorAll(':scope > .tabbed-content > .tabbed-block')];
    const shown = blocks.findIndex(b => b.getClientRects().length > 0);
    return {checked: checked ? checked.textContent.trim() : null, shown: names[shown] ?? null};
}).filter(Boolean)"""


def test_linked_tabs_switch_together(browser, served_site: str, built_site: Path) -> None:
    pages = tab_pages(built_site)
    assert PILOT in pages, f"the pilot page /{PILOT} has no linked Python/Go tabs"
    visit = Visit(browser, served_site, viewport=DESKTOP)
    try:
        for path in pages:
            visit.reset()
            # 等网络空闲：否则下一次跳转会中断本页搜索 worker 的请求，被记成失败请求
            visit.open(path)
            before = visit.page.evaluate(TAB_STATE)
            assert len(before) >= 2, f"/{path}: {before}"
            assert any(s["checked"] != "Go" for s in before), f"/{path} opens on Go: {before}"
            # Click Go in the last set; every set with a Go tab follows.
            visit.page.locator(
                ".tabbed-set .tabbed-labels > label", has_text=re.compile("^Go$")
            ).last.click()
            deadline = time.monotonic() + 5
            after = visit.page.evaluate(TAB_STATE)
            while any(s["checked"] != "Go" for s in after) and time.monotonic() < deadline:
                visit.page.wait_for_timeout(100)
                after = visit.page.evaluate(TAB_STATE)
            assert all(s == {"checked": "Go", "shown": "Go"} for s in after), (
                f"/{path}: after clicking Go once: {after} (before: {before})"
            )
            visit.check_clean(path)
            # Material remembers the chosen tab for the next page; start each page afresh.
            visit.page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    finally:
        visit.close()


USED_STYLESHEETS = """() => {
  // 每个样式表至少有一条规则的选择器命中本页的某个元素（去掉伪类、伪元素后再比）
  const unused = [];
  for (const sheet of document.styleSheets) {
    if (!sheet.href) continue;
    let used = false;
    const visit = rules => {
      for (const rule of rules) {
        if (used) return;
        if (rule.cssRules && !rule.selectorText) { visit(rule.cssRules); continue; }
        if (!rule.selectorText) continue;
        for (const part of rule.selectorText.split(",")) {
          const plain = part.replace(/::?[a-zA-Z-]+(\\([^)]*\\))?/g, "").trim() || "*";
          try { if (document.querySelector(plain)) { used = true; return; } } catch (e) {}
        }
      }
    };
    visit(sheet.cssRules);
    if (!used) unused.push(sheet.href);
  }
  return unused;
}"""


@pytest.mark.parametrize("path", ["", PILOT, "labs/gil/"], ids=["index", "pilot", "notebook"])
def test_pages_link_only_stylesheets_they_use(browser, served_site: str, path: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{served_site}/{path}")
        assert response is not None and response.ok, path
        page.wait_for_load_state("load")
        unused = page.evaluate(USED_STYLESHEETS)
    finally:
        context.close()
    assert not unused, f"/{path} links stylesheets nothing on it uses: {unused}"
