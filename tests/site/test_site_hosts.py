"""No built file names a third-party host, except what must stay (each with its reason).

Readers are largely in mainland China, where public CDNs are slow or blocked; a page must
load nothing from elsewhere, and no asset may even name another host it could fetch from.
Every text file of the built site (HTML, CSS, JS, JSON, XML, source maps, notebooks) is
scanned for http(s) URLs. What may stay, and why:

* the site's own host (``SITE_URL``, in the sitemap and canonical links) and loopback
  (the book tells the reader to open ``make serve`` at 127.0.0.1), and nginx upstream names
  in the configuration listings the service pages show (``proxy_pass http://app;``);
* XML namespace names (``NAMESPACES``): identifiers inside SVG and the sitemap, never fetched;
* ``<a href>`` hyperlinks in pages (and the same URLs as text in the search index): a link
  the reader may follow, e.g. a quoted figure's source (DESIGN rule 9), is not a request the
  page makes;
* inside the theme's and Mermaid's files, shipped byte for byte: URLs in comments (licence
  notices must stay by their licences' terms, the rest are the authors' references) and the
  few URLs in code listed in ``VENDOR_CODE_URLS``, each with why it is never fetched here.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.site

URL = re.compile(r"""https?://[^\s"'`<>()\\{}|^\[\],;]+""", re.I)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
# nginx 配置里 upstream 块的名字（页面展示的配置片段：proxy_pass http://app;）：
# 由 nginx 自己解析成本机回环端口，不是主机名，页面也从不请求它
NGINX_UPSTREAMS = {"app", "next"}
NAMESPACES = {
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/XML/1998/namespace",
    "http://www.w3.org/1998/Math/MathML",
    "http://www.sitemaps.org/schemas/sitemap/0.9",
}
# 主题的文件原样发布（文件名即内容散列）；其中代码里的这些网址在本站不会被请求
VENDOR_CODE_URLS = {
    # Material 只在页面上有 .mermaid 元素时从 CDN 取 Mermaid；本站的图在构建时画成内联 SVG，
    # 页面上没有这样的元素（hooks/mermaid_svg.py 在有遗漏时让构建失败）
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js": "mermaid loader, never reached",
    # 只在没有 ResizeObserver 的浏览器里才加载；Material 支持的浏览器都有
    "https://unpkg.com/resize-observer-polyfill": "polyfill for browsers without it",
    # 仓库信息（星数、版本）只在 repo_url 指向 GitHub 时请求；mkdocs.yml 没有 repo_url
    "https://api.github.com/repos/": "repository facts, needs repo_url",
    "https://api.github.com/users/": "repository facts, needs repo_url",
    "https://$": "GitLab repository facts (https://${host}/api/v4), needs repo_url",
    # 图标内嵌 SVG 里的 Font Awesome 许可声明（许可要求保留）
    "https://fontawesome.com": "licence notice inside the icons",
    # 控制台警告里的说明链接（文本，不请求）
    "https://bit.ly/2s3ChXG": "text of a console warning",
}
VENDOR_FILES = (
    re.compile(r"^assets/javascripts/"),
    re.compile(r"^assets/stylesheets/(main|palette)\.[0-9a-f]+\.min\.css(\.map)?$"),
    re.compile(r"^assets/vendor/"),
)
TEXT_SUFFIXES = {
    ".html", ".css", ".js", ".json", ".xml", ".svg", ".map", ".txt", ".ipynb", ".csv",
    ".webmanifest",
}  # fmt: skip
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"(?<![:\\/\"'])//[^\n]*")


class Hyperlinks(HTMLParser):
    """A page's text with every <a>…</a> (its href and its text) set aside."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.hrefs: set[str] = set()
        self.rest: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.depth += 1
            self.hrefs.update(value or "" for name, value in attrs if name == "href")
            return
        if not self.depth:
            self.rest.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.depth:
            self.rest.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.rest.append(data)

    handle_comment = handle_data


def without_comments(code: str) -> str:
    """JS/CSS/TS source with /* */ and // comments removed (URLs in strings stay)."""
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", code))


def own_hosts(site: Path) -> set[str]:
    hosts = set(LOOPBACK) | NGINX_UPSTREAMS
    if os.environ.get("SITE_URL"):
        hosts.add(urlsplit(os.environ["SITE_URL"]).netloc.lower())
    index = site / "index.html"
    if index.is_file():
        canonical = re.search(r'<link rel="canonical" href="([^"]+)"', index.read_text("utf-8"))
        if canonical and canonical.group(1).startswith("http"):
            hosts.add(urlsplit(canonical.group(1)).netloc.lower())
    return hosts


def _allowed(url: str, hosts: set[str]) -> bool:
    url = url.rstrip(".")
    host = urlsplit(url).netloc.lower()
    return host in hosts or host.split(":")[0] in hosts or url in NAMESPACES


def third_party_urls(site: Path) -> list[str]:
    """'file: url' for every URL of another host that is not allowed to stay."""
    hosts = own_hosts(site)
    files = sorted(f for f in site.rglob("*") if f.is_file() and f.suffix in TEXT_SUFFIXES)
    links: set[str] = set()
    texts: dict[str, str] = {}
    for file in files:
        rel = file.relative_to(site).as_posix()
        text = file.read_text(encoding="utf-8", errors="replace")
        vendor = any(p.search(rel) for p in VENDOR_FILES)
        if file.suffix == ".html":
            parser = Hyperlinks()
            parser.feed(text)
            parser.close()
            links |= parser.hrefs
            text = "".join(parser.rest)
        elif vendor and file.suffix == ".map":
            sources = json.loads(text).get("sourcesContent") or []
            text = "\n".join(without_comments(source or "") for source in sources)
        elif vendor:
            text = without_comments(text)
        texts[rel] = text
    problems = []
    for rel, text in texts.items():
        vendor = any(p.search(rel) for p in VENDOR_FILES)
        for url in URL.findall(text):
            if _allowed(url, hosts):
                continue
            if vendor and any(url.startswith(known) for known in VENDOR_CODE_URLS):
                continue
            if rel == "search/search_index.json" and url in links:
                continue
            problems.append(f"{rel}: {url}")
    return problems


def test_no_built_file_names_a_third_party_host(built_site: Path) -> None:
    problems = third_party_urls(built_site)
    assert not problems, f"{len(problems)} third-party URLs in the built site:\n" + "\n".join(
        problems[:60]
    )


def test_the_scan_finds_third_party_urls(tmp_path: Path) -> None:
    (tmp_path / "assets" / "javascripts").mkdir(parents=True)
    (tmp_path / "index.html").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"></svg><a href="https://example.org/src">'
        "https://example.org/src</a><p>http://127.0.0.1:8000</p>"
        '<script src="https://cdn.example.com/x.js"></script>',
        encoding="utf-8",
    )
    (tmp_path / "extra.css").write_text(
        '/* https://licence.example.org */ @import "https://fonts.example.net/a.css";',
        encoding="utf-8",
    )
    (tmp_path / "assets" / "javascripts" / "bundle.js").write_text(
        '/*! lib | https://lib.example.org | MIT */ fetch("https://api.example.io/x")\n'
        '_t("https://unpkg.com/mermaid@11/dist/mermaid.min.js")',
        encoding="utf-8",
    )
    problems = third_party_urls(tmp_path)
    assert sorted(problems) == [
        "assets/javascripts/bundle.js: https://api.example.io/x",
        "extra.css: https://fonts.example.net/a.css",
        "extra.css: https://licence.example.org",
        "index.html: https://cdn.example.com/x.js",
    ], problems
