"""Lean pages, checked on the built files: large assets exist once, shared by every page.

The transferred bytes of each page are measured in the browser (tests/site/test_browser.py,
written to test-output/page-weight.json); this checks the precondition for caching them:
no page ships its own copy of a large asset, and no page inlines one.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path

import pytest

from hooks import shared_styles

pytestmark = pytest.mark.site

LARGE = 64 * 1024
# An HTML page carries its text, tables and inline SVG charts; a page this large has pulled
# in something that belongs in a shared asset (a script, a data: image).
MAX_HTML = 1_000_000


def test_no_large_asset_is_copied(built_site: Path):
    copies: dict[str, list[str]] = defaultdict(list)
    for file in built_site.rglob("*"):
        if file.is_file() and file.suffix != ".map" and file.stat().st_size >= LARGE:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
            copies[digest].append(file.relative_to(built_site).as_posix())
    duplicated = [sorted(names) for names in copies.values() if len(names) > 1]
    assert not duplicated, f"large files with identical content: {duplicated}"


def test_pages_do_not_inline_large_assets(built_site: Path):
    for file in built_site.rglob("*.html"):
        html = file.read_text(encoding="utf-8")
        rel = file.relative_to(built_site).as_posix()
        assert len(html.encode()) <= MAX_HTML, f"{rel} is {len(html.encode()):,} bytes"
        for data_url in re.findall(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]{20000,}", html):
            pytest.fail(f"{rel} inlines a {len(data_url):,}-character data: URL")
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
        assert all(len(s) < 50_000 for s in scripts), f"{rel} inlines a large <script>"
        # mkdocs-jupyter inlines the JupyterLab theme; hooks/shared_styles.py moves it out.
        styles = re.findall(r"<style\b[^>]*>(.*?)</style>", html, re.S)
        big = [len(s) for s in styles if len(s.encode()) >= shared_styles.MIN_BYTES]
        assert not big, f"{rel} inlines <style> blocks of {big} characters"


def test_no_page_ships_the_diagram_runtime(built_site: Path):
    # Diagrams are inline SVG drawn at build time (perflab/site/diagrams.py); Mermaid's
    # JavaScript (3.5 MB) stays out of the site.
    found = [p.relative_to(built_site).as_posix() for p in built_site.rglob("mermaid*.js")]
    assert not found, found


def test_shared_styles_moves_large_inline_css_to_one_file(tmp_path: Path):
    class Page:
        url = "labs/demo/"

    css = ".jp{color:red}" * 5000  # about 70 kB, no relative url()
    page = f'<head><style type="text/css">{css}</style><style>.small{{}}</style></head>'
    shared_styles.on_pre_build({})
    out = shared_styles.on_post_page(page, Page(), {})
    again = shared_styles.on_post_page(page, Page(), {})
    assert out == again and css not in out and "<style>.small{}</style>" in out
    link = re.search(r'<link rel="stylesheet" href="([^"]+)">', out)
    assert link and link[1].startswith("../../assets/stylesheets/inline/")
    shared_styles.on_post_build({"site_dir": str(tmp_path)})
    (written,) = (tmp_path / "assets/stylesheets/inline").iterdir()
    assert written.read_text(encoding="utf-8") == css
    assert (tmp_path / "labs/demo" / link[1]).resolve() == written.resolve()

    relative = f"<style>{css} .x{{background:url(img/a.png)}}</style>"
    assert shared_styles.on_post_page(relative, Page(), {}) == relative
