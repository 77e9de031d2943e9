"""Notebook pages (mkdocs-jupyter): no third-party loaders, and a link to download the notebook.

nbconvert's template always emits a MathJax loader (``<script src="">`` when
``custom_mathjax_url`` is empty, plus its inline configuration) and a Mermaid module loader
that imports from cdnjs as soon as a notebook holds a diagram. The book's notebooks use
neither, and no page may reference a third-party host, so both are removed here; anything
external left in a script, stylesheet or image tag fails the build. mkdocs-jupyter copies the
source ``.ipynb`` beside the page (``include_source``); Material does not link it, so a link
goes under the notebook's title. nbconvert gives Chinese headings an empty id while the page's
table of contents (built by mkdocs-jupyter with Markdown's toc) links to ``#_1``, ``#_2``…;
each heading gets the id its table-of-contents entry links to.

mkdocs-jupyter also sets each notebook page's title to the notebook's first heading when
it renders, over the title the nav in mkdocs.yml gives it; the nav title is put back (a
notebook outside the nav keeps its heading, as a Markdown page would).

Notebook kernels run in the page's folder (or in a copy of docs/ elsewhere, as
scripts/bench_build.py does); PERFLAB_ROOT tells them where the repository, and perflab, is.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from html import escape, unescape
from pathlib import Path

from mkdocs.exceptions import PluginError

_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_MERMAID = re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid.*?</script>', re.S)
_EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"'](?:https?:)?//[^>]*>"
    r"|import\(\s*[\"'](?:https?:)?//",
    re.I,
)
_H1_END = "</h1>"
_HEADING = re.compile(
    r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">(.*?)</a></h\1>', re.S
)
ROOT = Path(__file__).resolve().parents[1]
# 笔记本页面在 nav 里配置的标题（src_uri → 标题），渲染后恢复
_nav_titles: dict[str, str] = {}


def on_config(config, **kwargs):
    # 笔记本内核继承本进程的环境变量，据此找到仓库根目录
    os.environ["PERFLAB_ROOT"] = str(ROOT)
    return config


def on_files(files, config, **kwargs):
    """Hand mkdocs-jupyter the executed copy of each notebook (engine cache rules apply)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from perflab import settings
    from perflab.errors import PerflabError
    from perflab.site import notebooks

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        profile = settings.profile()
        for file in files:
            if file.src_uri.endswith(".ipynb") and file.abs_src_path:
                source = Path(file.abs_src_path)
                file.abs_src_path = str(notebooks.executed(source, profile, report))
    except PerflabError as exc:
        raise PluginError(f"perflab: {exc}") from None
    return files


def on_nav(nav, config, files, **kwargs):
    _nav_titles.clear()
    for page in nav.pages:
        # nav 写了标题时 MkDocs 在构造页面时就赋给了实例属性；否则留给渲染去决定
        title = page.__dict__.get("title")
        if page.file.src_uri.endswith(".ipynb") and title:
            _nav_titles[page.file.src_uri] = title
    return nav


def _download_link(name: str) -> str:
    return (
        f'<p class="perflab-download"><a href="{escape(name)}" download>下载本笔记本'
        f"（{escape(name)}）</a>：放进本书仓库，用 .venv 的 Python 作内核打开"
        "（VS Code、JupyterLab 均可），即可修改、重跑下面的每个单元格。</p>"
    )


def _text(fragment: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _toc_ids(items, found: dict[str, list[str]]) -> dict[str, list[str]]:
    for item in items:
        found.setdefault(_text(item.title), []).append(item.id)
        _toc_ids(item.children, found)
    return found


def _align_heading_ids(html: str, toc) -> str:
    ids = _toc_ids(toc, {})

    def replace(match: re.Match) -> str:
        level, inner, mark = match.groups()
        wanted = ids.get(_text(inner))
        if not wanted:
            return match.group(0)
        anchor = escape(wanted.pop(0))
        link = f'<a class="anchor-link" href="#{anchor}">{mark}</a>'
        return f'<h{level} id="{anchor}">{inner}{link}</h{level}>'

    return _HEADING.sub(replace, html)


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    nav_title = _nav_titles.get(page.file.src_uri)
    if nav_title:
        page.title = nav_title
    html = _MERMAID.sub("", _MATHJAX.sub("", html))
    html = _align_heading_ids(html, page.toc)
    external = _EXTERNAL.search(html)
    if external:
        raise PluginError(
            f"notebook page {page.file.src_uri} still loads a third-party resource: "
            f"{external.group(0)[:120]}"
        )
    link = _download_link(posixpath.basename(page.file.src_uri))
    at = html.find(_H1_END)
    if at == -1:
        return link + html
    at += len(_H1_END)
    return html[:at] + link + html[at:]
