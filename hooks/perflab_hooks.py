"""MkDocs hook: measure every experiment before pages render; export the results after.

Engine code lives in perflab/; this file only connects it to MkDocs' build events.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.exceptions import PluginError  # noqa: E402

from perflab import book, export, reference, runner  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402
from perflab.site import exec_cache, slots  # noqa: E402


def on_startup(command, **kwargs) -> None:
    # mkdocs 被 TERM 结束时也要走完 finally：停掉正在测量的示例及其进程组
    runner.stop_cleanly_on_sigterm()
    # 代码块的输出与上次构建相同时，直接用上次转换好的 HTML
    exec_cache.install()


def on_pre_build(config, **kwargs) -> None:
    # mkdocs serve 在同一个进程里重建：丢掉已导入的页面模块，改过的 pages/*.py 下次重建即生效
    for name in [m for m in sys.modules if m == "pages" or m.startswith("pages.")]:
        del sys.modules[name]
    try:
        reference.load()  # 参照快照坏了就在测量前一行报错，而不是在页面渲染时
        session = book.start()
        print(
            f"[perflab] 档位 {session.profile}：共 {len(session.experiments)} 个实验"
            + ("（PERFLAB_REFRESH：全部重测）" if session.refresh else ""),
            file=sys.stderr,
            flush=True,
        )
        session.chart_slots = {}
        slots.open_build()
        session.measure_all()
    except PerflabError as exc:
        raise PluginError(f"perflab: {exc}") from None


def on_page_markdown(markdown, page, **kwargs):
    book.current().page = page.file.src_uri
    return markdown


def on_post_page(output, page, **kwargs):
    try:
        return book.fill_chart_slots(slots.fill(output))
    except PerflabError as exc:
        raise PluginError(f"perflab: {page.file.src_uri}: {exc}") from None


def on_post_build(config, **kwargs) -> None:
    try:
        export.write(book.current().document(), Path(config["site_dir"]) / "data")
    except PerflabError as exc:
        raise PluginError(f"perflab: {exc}") from None
