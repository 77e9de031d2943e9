"""MkDocs hook: measure every experiment before pages render; export the results after.

Under `make serve` (PERFLAB_SERVE=reference) the reference snapshot stands in for what this
machine has not measured, a background process measures it, and each finished experiment
rebuilds the site (perflab/site/live.py). Engine code lives in perflab/; this file only
connects it to MkDocs' build events.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402

from perflab import book, export, history, reference, runner, settings, slots  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402
from perflab.site import exec_cache, live  # noqa: E402


def on_startup(command, **kwargs) -> None:
    # mkdocs 被 TERM 结束时也要走完 finally：停掉正在测量的示例及其进程组
    runner.stop_cleanly_on_sigterm()
    # 代码块的输出与上次构建相同时，直接用上次转换好的 HTML
    exec_cache.install()
    try:
        live.begin(command)
    except PerflabError as exc:
        raise PluginError(f"perflab: {exc}") from None


def on_serve(server, config, builder, **kwargs):
    # 首次构建已完成：后台进程开始测量参考快照代替的实验，每测完一个，站点重建一次
    live.start(server, book.current().profile)
    return server


def on_shutdown(**kwargs) -> None:
    live.stop()


def on_pre_build(config, **kwargs) -> None:
    # mkdocs serve 在同一个进程里重建：丢掉已导入的页面模块，改过的 pages/*.py 下次重建即生效
    for name in [m for m in sys.modules if m == "pages" or m.startswith("pages.")]:
        del sys.modules[name]
    try:
        reference.load()  # 参照快照坏了就在测量前一行报错，而不是在页面渲染时
        history.require_folder(settings.history_dir())  # 同理：历史文件夹不存在
        session = book.start()
        print(
            f"[perflab] 档位 {session.profile}：共 {len(session.experiments)} 个实验"
            + ("（PERFLAB_REFRESH：全部重测）" if session.refresh else ""),
            file=sys.stderr,
            flush=True,
        )
        slots.open_build()
        session.measure_all()
    except PerflabError as exc:
        raise PluginError(f"perflab: {exc}") from None


def on_page_markdown(markdown, page, **kwargs):
    session = book.current()
    session.page = page.file.src_uri
    session.snapshot_reads.clear()
    return markdown


def on_page_content(html, page, **kwargs):
    # make serve：进度、失败，以及本页哪些实验的数字取自参考快照
    return live.with_notice(html, live.notice(book.current()))


def on_post_page(output, page, **kwargs):
    try:
        return slots.fill(output)
    except PerflabError as exc:
        raise PluginError(f"perflab: {page.file.src_uri}: {exc}") from None


@event_priority(-200)  # 最后：其他钩子（搜索索引，-100）写完之后后台才开始测下一个
def on_post_build(config, **kwargs) -> None:
    try:
        export.write(book.current().document(), Path(config["site_dir"]) / "data")
    except PerflabError as exc:
        raise PluginError(f"perflab: {exc}") from None
    live.built()


def on_build_error(error, **kwargs) -> None:
    live.built()  # 重建失败也不让后台进程空等
