"""`make serve` (PERFLAB_SERVE=reference): the background measuring process under `mkdocs serve`,
the rebuilds it triggers, and what each page says while it runs (engine side: perflab.serve).

The hook (hooks/perflab_hooks.py) calls:
- `begin(command)` at startup: the snapshot stands in only under `mkdocs serve`; a build with
  PERFLAB_SERVE set measures everything as usual (the variable is dropped, with a note);
- `start(server, profile)` in on_serve, after the first build: a temporary folder holding
  watched/progress.json and the stamp `built`; `python -m perflab run --stale --progress-file …
  --follow …` in a process group of its own that gets SIGTERM when the server dies
  (PR_SET_PDEATHSIG); the server watches watched/, so every progress write rebuilds the site;
- `built()` after every build, a failed one too: rewrites the stamp, so the background process
  starts its next experiment only once the rebuild is over;
- `notice(book)` for each page: an admonition with the progress, the failures and the snapshot
  figures the page shows, or "" when there is nothing to say;
- `stop()` at shutdown: SIGTERM (the process's `finally` blocks stop the example it is
  measuring), a grace period, then SIGKILL to its whole group; the folder is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

from perflab import paths, runner, serve, settings

STOP_GRACE_S = 10.0


@dataclass
class Background:
    folder: Path
    proc: subprocess.Popen

    @property
    def progress_file(self) -> Path:
        return self.folder / "watched" / "progress.json"

    @property
    def stamp(self) -> Path:
        return self.folder / "built"


_serving = False
_background: Background | None = None


def begin(command: str) -> bool:
    """Whether this MkDocs run serves from the snapshot (only `mkdocs serve` with PERFLAB_SERVE)."""
    global _serving
    _serving = settings.serve_from_reference()
    if _serving and command != "serve":
        print(
            "[perflab] PERFLAB_SERVE 只对 mkdocs serve（make serve）起作用；"
            f"mkdocs {command} 照常先测量全部实验",
            file=sys.stderr,
            flush=True,
        )
        os.environ.pop(settings.SERVE_VARIABLE, None)  # 笔记本内核等子进程也照常测量
        _serving = False
    return _serving


def serving() -> bool:
    return _serving


def start(server, profile: str) -> Background | None:
    """Start the background process (once) and have the server rebuild on its progress."""
    global _background
    if not _serving or _background is not None:
        return _background
    folder = Path(tempfile.mkdtemp(prefix="perflab-serve-"))
    (folder / "watched").mkdir()
    progress_file, stamp = folder / "watched" / "progress.json", folder / "built"
    stamp.write_text("0", encoding="utf-8")
    cmd = [
        sys.executable, "-m", "perflab", "--profile", profile, "run", "--stale",
        "--progress-file", str(progress_file), "--follow", str(stamp),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=paths.ROOT,
        env=settings.without_serve_mode(dict(os.environ)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        process_group=0,
        preexec_fn=runner.dies_with_parent(),
    )
    background = Background(folder, proc)
    _background = background
    server.watch(str(folder / "watched"))
    print(
        f"[perflab] 后台测量进程已启动（pid {background.proc.pid}）；每测完一个实验，站点自动重建",
        file=sys.stderr,
        flush=True,
    )
    return background


def built() -> None:
    """A build ended (or failed): let the background process measure its next experiment."""
    if _background is not None and _background.folder.is_dir():
        _background.stamp.write_text(str(time.time_ns()), encoding="utf-8")


def stop() -> None:
    """Stop the background process and everything it started; remove its folder."""
    global _background
    background, _background = _background, None
    if background is None:
        return
    proc = background.proc
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_S)
    runner.kill_group(proc.pid)
    proc.wait()
    shutil.rmtree(background.folder, ignore_errors=True)


def _snapshot_line(book, ids: list[str]) -> str:
    snapshot = book.snapshot() or {}
    e = snapshot.get("build_environment", {})
    date = str(e.get("date", "?"))[:10]
    where = f"提交 {e.get('git_commit', '?')}，{date}，{e.get('cpu_model', '?')}"
    shown = "、".join(f"<code>{escape(i)}</code>" for i in ids)
    return (
        f"<p>本页有 {len(ids)} 个实验的数字取自参考快照（{escape(where)}），"
        f"不是本机测的：{shown}。它们的出处行标有“参考快照”。</p>"
    )


def notice(book) -> str:
    """The admonition at the top of a page while serving, or "" (see the module docstring)."""
    if not _serving:
        return ""
    reads = sorted(book.snapshot_reads)
    standing_in = sum(r.from_reference for r in book.results.values())
    progress = serve.read_progress(_background.progress_file) if _background else None
    exited = _background.proc.poll() if _background else None
    failed = (progress or {}).get("failed") or {}
    lines = []
    if exited is not None and not (progress or {}).get("finished"):
        title = f"后台测量进程已退出（状态 {exited}），标注“参考快照”的数字不会再自动替换"
        kind = "warning"
    elif progress is not None and not progress.get("finished"):
        current = progress.get("current")
        title = (
            f"本机测量进行中：已完成 {progress.get('done', 0)}/{progress.get('total', 0)}"
            + (f"（正在测 {current}）" if current else "")
            + "；标注“参考快照”的数字会在测完后自动替换"
        )
        kind = "info"
    elif progress is None and standing_in:
        title = (
            f"本机测量即将在后台开始：{standing_in} 个实验先显示参考快照的数字，"
            "测完一个替换一个（页面自动刷新）"
        )
        kind = "info"
    elif failed:
        title = f"本机测量已结束，{len(failed)} 个实验失败，页面保留它们的参考快照数字"
        kind = "warning"
    elif reads:
        title = "本页有数字取自参考快照"
        kind = "info"
    else:
        return ""
    if failed:
        items = "".join(
            f"<li><code>{escape(i)}</code>：{escape(why)}</li>" for i, why in failed.items()
        )
        lines.append(f"<p>测量失败（终端里有详情）：</p><ul>{items}</ul>")
    if reads:
        lines.append(_snapshot_line(book, reads))
    return (
        f'<div class="admonition {kind} perflab-live" data-search-exclude>'
        f'<p class="admonition-title">{escape(title)}</p>{"".join(lines)}</div>'
    )


def with_notice(html: str, note: str) -> str:
    """The page's HTML with the notice right under its title (or first, without one)."""
    if not note:
        return html
    at = html.find("</h1>")
    if at == -1:
        return note + html
    at += len("</h1>")
    return html[:at] + note + html[at:]
