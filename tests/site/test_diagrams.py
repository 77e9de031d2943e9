"""Mermaid diagrams drawn at build time (perflab/site/diagrams.py, hooks/mermaid_svg.py).

The drawing tests use the real pinned Mermaid in the system Chromium, and a real MkDocs build
of a two-page book: a diagram that cannot be drawn must fail the build naming its page, and a
second build must take every diagram from the cache without starting a browser.
"""

from __future__ import annotations

import html as htmllib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.site import diagrams

ROOT = Path(__file__).resolve().parents[2]

FLOW = """flowchart LR
    A["请求到达<br/>解析 JSON"] --> B{"缓存命中？"}
    B -->|是| C["直接返回"]
    B -->|否| D["查询数据库"]
"""
SEQUENCE = """sequenceDiagram
    participant C as 客户端
    participant S as 服务
    C->>S: 请求
    S-->>C: 响应
"""
BROKEN = """flowchart LR
    A[未闭合的方括号 --> B
"""


def test_text_alternative_names_the_kind_and_each_label_once():
    alt = diagrams.text_alternative("sequence", ["客户端", " 服务 ", "请求", "客户端", ""])
    assert alt == "时序图：客户端；服务；请求"
    assert diagrams.text_alternative("someNewKind", ["甲"]) == "图：甲"


def test_finish_sets_role_label_and_the_smallest_legible_width():
    raw = (
        '<svg id="m" width="100%" xmlns="http://www.w3.org/2000/svg" class="flowchart"'
        ' style="max-width: 1000.5px;" viewBox="0 -3 1000.5 300" role="graphics-document document"'
        ' aria-roledescription="flowchart-v2"><g><text>甲</text></g></svg>'
    )
    out = diagrams.finish(raw, ["甲", "乙"])
    root = re.match(r"<svg[^>]*>", out)[0]
    assert 'role="img"' in root and 'aria-label="流程图：甲；乙"' in root
    assert "aria-roledescription" not in root
    assert f"min-width: {1000.5 * diagrams.MIN_SCALE:.0f}px" in root
    assert "max-width: 1000px" in root or "max-width: 1001px" in root
    assert out.endswith("<g><text>甲</text></g></svg>")
    # a diagram named by its own accTitle keeps that name
    titled = raw.replace('role="graphics', 'aria-labelledby="t1" role="graphics')
    assert "aria-label=" not in re.match(r"<svg[^>]*>", diagrams.finish(titled, ["甲"]))[0]
    with pytest.raises(PerflabError, match="viewBox"):
        diagrams.finish('<svg id="m"></svg>', [])


def test_fences_of_markdown_and_of_notebooks_are_found():
    markdown = '<p>x</p><pre class="mermaid"><code>flowchart LR\n  A --&gt; B\n</code></pre>'
    notebook = (
        '<div class="jp-Mermaid"><pre class="mermaid">\nflowchart LR\n  A --> B\n</pre></div>'
    )
    for page in (markdown, notebook):
        (match,) = diagrams.FENCE.finditer(page)
        assert "A --" in match["source"]
    assert not diagrams.FENCE.search('<pre class="highlight"><code>mermaid</code></pre>')


def test_key_changes_with_everything_that_changes_the_drawing():
    base = diagrams.Fingerprint(
        config={"theme": "base"}, mermaid="11.0.0", chromium="C 1", fonts="F"
    )
    key = base.key(FLOW)
    assert key == base.key(FLOW)
    assert key != base.key(SEQUENCE)
    for change in (
        {"config": {"theme": "dark"}},
        {"mermaid": "11.0.1"},
        {"chromium": "C 2"},
        {"fonts": "G"},
        {"renderer": "other"},
    ):
        other = diagrams.Fingerprint(**{**base.__dict__, **change})
        assert other.key(FLOW) != key, change


def test_the_font_stack_is_the_sites(tmp_path: Path):
    assert "Noto Sans CJK SC" in diagrams.font_stack()
    css = tmp_path / "extra.css"
    css.write_text("body { color: red; }", encoding="utf-8")
    with pytest.raises(PerflabError, match="--md-text-font"):
        diagrams.font_stack(css)


def fences(*sources: str) -> str:
    """A page with these diagrams as superfences writes them (the source HTML-escaped)."""
    return "".join(
        f'<p>图</p><pre class="mermaid"><code>{htmllib.escape(s)}</code></pre>' for s in sources
    )


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory, browser):
    """One build drawing a page with a flowchart shown twice and a sequence diagram.

    It asks for the tests' own browser first: drawing must work while another Playwright
    session (with its asyncio loop) runs in the same thread, as in this suite."""
    cache = tmp_path_factory.mktemp("diagram-cache")
    build = diagrams.Build(cache=cache)
    try:
        html = build.replace(fences(FLOW, SEQUENCE, FLOW), "demo.md")
        yield build, html, cache
    finally:
        build.close()


@pytest.mark.browser
def test_diagrams_become_inline_svg_with_text_as_text(drawn):
    build, html, _ = drawn
    assert "<pre" not in html and 'class="mermaid"' not in html
    blocks = re.findall(
        rf'<div class="{diagrams.PAGE_CLASS}" tabindex="0">(<svg.*?</svg>)</div>', html, re.S
    )
    assert len(blocks) == 3
    for svg in blocks:
        assert "<foreignObject" not in svg
        root = re.match(r"<svg[^>]*>", svg)[0]
        assert 'role="img"' in root and "aria-label=" in root
    # the labels are SVG text the reader's fonts draw, <br/> made two lines
    label = re.search(r"<text\b[^>]*>(?:(?!</text>).)*请求到达.*?</text>", blocks[0], re.S)[0]
    assert len(re.findall(r'<tspan class="text-outer-tspan', label)) == 2, label
    alt = re.search(r'aria-label="流程图：([^"]*)"', blocks[0])[1].split("；")
    assert sorted(alt) == sorted(
        ["请求到达 解析 JSON", "缓存命中？", "是", "否", "直接返回", "查询数据库"]
    )
    assert 'aria-label="时序图：' in blocks[1] and "客户端" in blocks[1]
    # the same diagram twice on a page: ids stay unique
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]
    assert build.drawn == 2 and build.cached == 0
    assert build.renderer is not None and build.renderer.started


@pytest.mark.browser
def test_a_cached_rebuild_starts_no_browser(drawn):
    _, html, cache = drawn
    again = diagrams.Build(cache=cache)
    out = again.replace(fences(FLOW, SEQUENCE), "demo.md")
    assert again.renderer is None and again.cached == 2 and again.drawn == 0
    assert "no browser started" in again.summary()
    first = re.search(r"<svg.*?</svg>", out, re.S)[0]
    assert first in html


@pytest.mark.browser
def test_a_diagram_mermaid_cannot_draw_names_its_page(drawn):
    build, _, _ = drawn
    with pytest.raises(PerflabError) as caught:
        build.replace(fences(SEQUENCE, BROKEN), "ch9/broken.md")
    message = str(caught.value)
    assert message.startswith("ch9/broken.md: diagram 2 of 2 ('flowchart LR')")
    assert "Mermaid cannot draw it" in message


def test_a_diagram_left_for_the_browser_fails_the_page(tmp_path: Path):
    build = diagrams.Build(cache=tmp_path)
    with pytest.raises(PerflabError, match=r"ch1/x\.md: a Mermaid diagram is left"):
        build.replace('<div class="mermaid">flowchart LR</div>', "ch1/x.md")
    assert build.replace("<p>no diagram</p>", "ch1/y.md") == "<p>no diagram</p>"


MKDOCS_YML = f"""site_name: t
docs_dir: docs
strict: true
theme:
  name: material
  language: zh
  font: false
plugins: []
hooks:
  - {ROOT}/hooks/mermaid_svg.py
markdown_extensions:
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
"""


def mkdocs_build(project: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(project / "site")],
        cwd=project,
        env={**os.environ, "PERFLAB_CACHE_DIR": str(cache), "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.browser
def test_builds_draw_then_cache_and_fail_naming_the_page(tmp_path: Path):
    project = tmp_path / "book"
    (project / "docs").mkdir(parents=True)
    (project / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    (project / "docs/index.md").write_text(f"# 首页\n\n```mermaid\n{FLOW}```\n", encoding="utf-8")
    cache = tmp_path / "cache"

    first = mkdocs_build(project, cache)
    assert first.returncode == 0, first.stderr[-2000:]
    html = (project / "site/index.html").read_text(encoding="utf-8")
    assert f'class="{diagrams.PAGE_CLASS}"' in html and "<svg" in html
    assert "mermaid.min.js" not in html and 'class="mermaid"' not in html
    assert "1 drawn in one Chromium" in first.stderr, first.stderr[-2000:]

    again = mkdocs_build(project, cache)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 from the cache, no browser started" in again.stderr, again.stderr[-2000:]

    (project / "docs/bad.md").write_text(f"# 坏图\n\n```mermaid\n{BROKEN}```\n", encoding="utf-8")
    failed = mkdocs_build(project, cache)
    assert failed.returncode != 0
    assert "diagrams: bad.md: diagram 1 of 1" in failed.stderr, failed.stderr[-2000:]
