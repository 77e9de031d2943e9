"""No broken internal link or anchor in the built site.

The strict build already refuses links between Markdown files that do not resolve; this
checks the HTML a reader gets: every local <a href> (and every local asset a page loads)
points at a file that exists, and every #fragment at an id on the target page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from book_helpers import mkdocs_config

pytestmark = pytest.mark.site

# Attributes that name another resource, per tag. <a> is a link the reader follows; the
# others are loaded by the browser.
REFERENCES = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src"}
# <link rel> values that point elsewhere by design (none of these is fetched as a page).
SKIP_REL = {"canonical", "alternate", "preconnect", "dns-prefetch"}


class PageRefs(HTMLParser):
    """The ids of a page and the local references it makes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        attr = REFERENCES.get(tag)
        if attr is None or attr not in values:
            return
        if tag == "link" and SKIP_REL & set(values.get("rel", "").split()):
            return
        self.refs.append((tag, values[attr]))


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


def target_file(site: Path, path: str) -> Path | None:
    """The file a site path is served from: directories serve their index.html."""
    file = site / unquote(path).lstrip("/")
    if file.is_dir():
        file = file / "index.html"
    return file if file.is_file() else None


def broken_links(site: Path) -> list[str]:
    pages: dict[Path, PageRefs] = {}

    def parsed(file: Path) -> PageRefs:
        if file not in pages:
            parser = PageRefs()
            parser.feed(file.read_text(encoding="utf-8"))
            parser.close()
            pages[file] = parser
        return pages[file]

    problems = []
    for file in sorted(site.rglob("*.html")):
        rel = file.relative_to(site).as_posix()
        # The URL the page is served at (directory URLs), so relative links resolve as in a browser.
        page_url = "/" + rel.removesuffix("index.html")
        for tag, url in parsed(file).refs:
            if not url or not is_local(url):
                continue
            resolved = urlsplit(urljoin(page_url, url))
            target = target_file(site, resolved.path)
            if target is None:
                problems.append(f"{rel}: <{tag}> {url} → {resolved.path} does not exist")
                continue
            fragment = unquote(resolved.fragment)
            if tag != "a" or not fragment or target.suffix != ".html":
                continue
            if fragment not in parsed(target).ids:
                where = target.relative_to(site).as_posix()
                problems.append(f"{rel}: <a> {url} → no id {fragment!r} in {where}")
    return problems


def test_no_broken_internal_links_or_anchors(built_site: Path):
    pages = list(built_site.rglob("*.html"))
    assert len(pages) >= 2, f"only {len(pages)} HTML files in {built_site}"
    problems = broken_links(built_site)
    assert not problems, f"{len(problems)} broken internal links:\n" + "\n".join(problems[:50])


def test_the_checker_finds_broken_links(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<h2 id="top">x</h2><a href="a/">ok</a><a href="#top">ok</a>'
        '<a href="a/#missing">bad anchor</a><a href="nowhere/">bad page</a>'
        '<a href="https://example.org/">external</a><a href="mailto:x@example.org">mail</a>'
        '<script src="assets/app.js"></script>',
        encoding="utf-8",
    )
    (tmp_path / "a" / "index.html").write_text(
        '<p id="%E4%B8%AD">x</p><a href="../#top">ok</a><a href="../index.html">ok</a>'
        '<a id="中文"></a><a href="#%E4%B8%AD%E6%96%87">ok</a><a href="#中文">ok</a>',
        encoding="utf-8",
    )
    problems = broken_links(tmp_path)
    assert len(problems) == 3, problems
    assert any("no id 'missing'" in p for p in problems)
    assert any("nowhere/" in p for p in problems)
    assert any("assets/app.js" in p for p in problems)


def _tiny_book(root: Path, validation: dict | None, page: str) -> subprocess.CompletedProcess:
    """A two-page book with the given `validation:` settings, built with --strict."""
    import yaml

    docs = root / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text(page, encoding="utf-8")
    (docs / "other.md").write_text("# 另一页\n\n## 存在的小节\n\n正文。\n", encoding="utf-8")
    config = {"site_name": "t", "docs_dir": "docs", "theme": {"name": "mkdocs"}}
    if validation is not None:
        config["validation"] = validation
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(root / "site")],
        cwd=root,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


BROKEN_ANCHORS = "# 首页\n\n[坏锚点](other.md#不存在) 与 [本页坏锚点](#nowhere)\n"
GOOD_ANCHORS = "# 首页\n\n[好锚点](other.md#_1) 与 [另一页](other.md)\n"


def test_book_validation_makes_broken_anchors_fail_a_strict_build(tmp_path: Path):
    validation = mkdocs_config().get("validation")
    assert validation, "mkdocs.yml has no validation: settings"
    assert validation["links"]["anchors"] == "warn", validation
    # MkDocs 1.6 的默认只记 INFO：不设置时，同一页坏锚点的 --strict 构建照样成功
    default = _tiny_book(tmp_path / "default", None, BROKEN_ANCHORS)
    assert default.returncode == 0, default.stderr[-2000:]
    broken = _tiny_book(tmp_path / "broken", validation, BROKEN_ANCHORS)
    assert broken.returncode != 0, "a broken anchor passed the strict build"
    assert "不存在" in broken.stderr and "nowhere" in broken.stderr, broken.stderr[-2000:]
    good = _tiny_book(tmp_path / "good", validation, GOOD_ANCHORS)
    assert good.returncode == 0, good.stderr[-2000:]
