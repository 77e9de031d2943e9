"""make serve end to end on a one-page book: served at once with the snapshot's figures marked,
switched to this machine's figures when the background process has measured them, and no
process left behind, whether the server is stopped or killed."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from engine_fixtures import TmpBook
from processes import process_gone

from perflab import document, reference
from perflab.results import Metric, Result

ROOT = Path(__file__).resolve().parents[2]
# 示例等测试放行才输出：测试先看到参考快照的页面，再放行本机测量
GATED_EXAMPLE = """
import json, pathlib, sys, time
gate = pathlib.Path(sys.argv[1]).with_name("release")
deadline = time.monotonic() + 60
while not gate.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"metrics": {"t_s": {"label": "耗时", "unit": "s", "values": [0.25]}}}))
"""
PAGE = """# 小书

```python exec="1"
from perflab import book
print(book.figure("t.exp"))
```
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every live process below pid (from /proc's parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


class TinyServe:
    def __init__(self, tmp_book: TmpBook) -> None:
        root = tmp_book.root
        tmp_book.write_example("good.py", GATED_EXAMPLE)
        self.release = root / "release"
        docs = root / "docs"
        docs.mkdir()
        (docs / "t.md").write_text(PAGE, encoding="utf-8")
        config = {
            "site_name": "t",
            "docs_dir": str(docs),
            "plugins": ["markdown-exec"],
            "markdown_extensions": ["pymdownx.superfences"],
            "hooks": [str(ROOT / "hooks" / "perflab_hooks.py")],
        }
        (root / "mkdocs.yml").write_text(json.dumps(config), encoding="utf-8")
        snapshot = Result(
            "t.exp",
            "测试实验",
            "t.md",
            "quick",
            {"python.t_s": Metric("python.t_s", "python", "t_s", "耗时", "s", [9.0, 9.5, 10.0])},
            environment={"date": "2026-01-02T03:04:05+00:00", "git_commit": "abc1234"},
        )
        reference.write(document.build("quick", [snapshot], []), root / "snapshot.json")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/t/"
        self.log = root / "serve.log"
        env = {
            **os.environ,
            "PERFLAB_SERVE": "reference",
            "PERFLAB_REFERENCE": str(root / "snapshot.json"),
            "NO_MKDOCS_2_WARNING": "1",
        }
        cmd = [sys.executable, "-m", "mkdocs", "serve", "-f", str(root / "mkdocs.yml")]
        cmd += ["-a", f"127.0.0.1:{self.port}"]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def page(self) -> str:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            return ""

    def wait_for(self, predicate, what: str, timeout_s: float = 60.0):
        deadline = time.monotonic() + timeout_s
        while not (found := predicate()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                pytest.fail(f"waiting for {what}: server exited or timed out\n{tail}")
            time.sleep(0.1)
        return found

    def measuring(self) -> set[int]:
        """Once the background process runs the example: every process the server started."""

        def example_running() -> set[int] | None:
            below = _descendants(self.proc.pid)
            for pid in below:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"good.py" in cmdline:
                    return below
            return None

        return self.wait_for(example_running, "the background process to start the example")

    def serve_folder(self) -> Path:
        """The folder the server watches for the background process's progress."""
        log = self.log.read_text(errors="replace")
        return Path(re.search(r"'([^']*perflab-serve-[^']*)/watched'", log)[1])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tiny_serve(tmp_book: TmpBook):
    server = TinyServe(tmp_book)
    try:
        yield server
    finally:
        server.close()


def test_served_from_the_snapshot_then_switched_to_this_machine(tiny_serve: TinyServe):
    first = tiny_serve.wait_for(tiny_serve.page, "the first page")
    assert "参考快照" in first and "abc1234" in first
    assert "本机测量" in first  # 页首的进度说明
    started = tiny_serve.measuring()
    page = tiny_serve.page()
    assert "本机测量进行中：已完成 0/1（正在测 t.exp）" in page
    tiny_serve.release.touch()
    switched = tiny_serve.wait_for(
        lambda: (p := tiny_serve.page()) and "参考快照" not in p and p,
        "the page to show this machine's figures",
    )
    assert "本次构建读取缓存" in switched and "本机测量进行中" not in switched
    folder = tiny_serve.serve_folder()
    tiny_serve.proc.send_signal(signal.SIGTERM)
    assert tiny_serve.proc.wait(timeout=30) is not None
    left = [pid for pid in started if not process_gone(pid, wait_s=10)]
    assert not left, f"processes left running after the server stopped: {left}"
    assert not folder.exists()


def test_a_killed_server_leaves_no_background_process(tiny_serve: TinyServe):
    tiny_serve.wait_for(tiny_serve.page, "the first page")
    started = tiny_serve.measuring()
    folder = tiny_serve.serve_folder()
    assert (folder / "watched" / "progress.json").is_file()
    tiny_serve.proc.kill()  # SIGKILL：服务器来不及收拾，靠 PR_SET_PDEATHSIG
    tiny_serve.proc.wait()
    left = [pid for pid in started if not process_gone(pid, wait_s=10)]
    assert not left, f"processes left running after the server was killed: {left}"
    assert not folder.exists(), f"the background process leaves {sorted(folder.rglob('*'))}"


def test_a_failed_experiment_is_named_in_the_notice(tmp_path: Path, monkeypatch):
    # 后台测量失败：页首一行原因，页面保留参考快照的数字
    from types import SimpleNamespace

    from perflab import files
    from perflab.site import live

    folder = tmp_path / "serve"
    (folder / "watched").mkdir(parents=True)
    progress = {"done": 1, "total": 1, "current": None, "finished": True}
    progress["failed"] = {"t.exp": "t.exp: example crashed (exited with status 1)"}
    files.write_json(folder / "watched" / "progress.json", progress)
    running = SimpleNamespace(poll=lambda: None)
    monkeypatch.setattr(live, "_serving", True)
    monkeypatch.setattr(live, "_background", live.Background(folder, running))
    snapshot = {"build_environment": {"git_commit": "abc1234", "date": "2026-01-02T03:04:05"}}
    page = SimpleNamespace(snapshot_reads={"t.exp"}, results={}, snapshot=lambda: snapshot)
    note = live.notice(page)
    assert "admonition warning" in note and "1 个实验失败" in note
    assert "example crashed (exited with status 1)" in note
    assert "abc1234" in note and "<code>t.exp</code>" in note
    html = live.with_notice("<h1>标题</h1><p>正文</p>", note)
    assert html.startswith("<h1>标题</h1>" + note)
    monkeypatch.setattr(live, "_serving", False)
    assert live.notice(page) == ""
