"""Exec-block output converted once: the same Markdown gives the remembered HTML next build."""

from __future__ import annotations

import pytest

from perflab import slots
from perflab.site import exec_cache


@pytest.fixture
def counting(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path))
    calls = []

    def convert(self, text, stash=None, id_prefix=None):
        calls.append(text)
        return f"<p>{id_prefix}{text}</p>"

    return exec_cache.cached_convert(convert, "fingerprint"), calls


def test_the_same_output_is_converted_once(counting):
    convert, calls = counting
    first = convert(None, "| a |\n|---|\n| 1 |", id_prefix="x-")
    assert convert(None, "| a |\n|---|\n| 1 |", id_prefix="x-") == first
    assert len(calls) == 1
    # 另一个代码块（另一个 id 前缀）或另一段输出：各自转换
    convert(None, "| a |\n|---|\n| 1 |", id_prefix="y-")
    convert(None, "| a |\n|---|\n| 2 |", id_prefix="x-")
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("text", "stash"),
    [("### 标题\n\n表格", None), ("<h3>标题</h3>", None), ("正文", {"ph": "<svg/>"})],
)
def test_headings_and_stashed_html_are_always_converted(counting, text, stash):
    # 标题要进页面目录，暂存的 HTML 每次不同：这两种输出不走缓存
    convert, calls = counting
    convert(None, text, stash=stash, id_prefix="x-")
    convert(None, text, stash=stash, id_prefix="x-")
    assert len(calls) == 2


def test_installs_on_the_pinned_markdown_exec():
    from markdown_exec._internal.rendering import MarkdownConverter

    assert exec_cache.install()
    assert MarkdownConverter.convert.perflab_cached


def test_output_is_held_out_of_the_page_while_a_site_is_built(counting, monkeypatch):
    # 构建站点时输出先换成占位，页面渲染完（搜索索引读过之后）才放回去
    convert, _ = counting
    monkeypatch.setattr(slots, "_held", None)
    assert convert(None, "表格", id_prefix="x-") == "<p>x-表格</p>"
    slots.open_build()
    placeholder = convert(None, "表格", id_prefix="x-")
    assert slots.PATTERN.fullmatch(placeholder)
    filled = slots.fill(f"<article>{placeholder}</article>")
    assert filled == "<article>" + slots.FILLED.format(html="<p>x-表格</p>") + "</article>"
