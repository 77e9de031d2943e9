"""`python -m perflab`: list, run (progress, the page's table, JSON), reference, unknown ids."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT
from engine_fixtures import TmpBook
from processes import process_gone

from perflab import reference


def perflab(*args: str) -> subprocess.CompletedProcess[str]:
    # tmp_book 已把 PERFLAB_REGISTRY / PERFLAB_CACHE_DIR / PERFLAB_PROFILE 写进 os.environ
    return subprocess.run(
        [sys.executable, "-m", "perflab", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_shows_every_experiment_with_its_page(tmp_book: TmpBook):
    proc = perflab("list")
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    assert line.split()[:3] == ["t.exp", "python", "docs/t.md"]
    assert "测试实验" in line


def test_run_shows_progress_prints_the_page_table_and_writes_json(
    tmp_book: TmpBook, tmp_path: Path
):
    out = tmp_path / "out"
    proc = perflab("run", "t.exp", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for step in ("预热 1/1", "第 1/3 次", "第 3/3 次", "测量完成"):
        assert f"[1/1] t.exp：{step}" in proc.stderr
    assert tmp_book.runs() == 4  # 1 次预热 + 3 次重复
    # 与页面上的表格同一个渲染函数：表头、实现、指标标签、中位数
    assert "| 实现 | 指标 | 中位数 | 95% 区间 | n |" in proc.stdout
    assert "| Python | 耗时 | **550 ms** |" in proc.stdout
    provenance = next(line for line in proc.stdout.splitlines() if line.startswith("实测于"))
    assert "档位 quick" in provenance and "<" not in provenance
    saved = json.loads((out / "t.exp.json").read_text(encoding="utf-8"))
    assert saved["experiment"] == "t.exp" and saved["profile"] == "quick"
    (t_s,) = [m for m in saved["metrics"] if m["key"] == "python.t_s"]
    assert t_s["values"] == [0.55] * 3 and t_s["rounds"] == [[0.5, 0.6]] * 3

    again = perflab("run", "t.exp", "--out", str(out))
    assert again.returncode == 0 and "缓存有效，未重测" in again.stderr
    assert tmp_book.runs() == 4


def test_run_warns_when_a_measurement_exceeds_its_profiles_time_budget(
    tmp_book: TmpBook, tmp_path: Path, monkeypatch, capsys
):
    from perflab import cli, settings

    monkeypatch.setitem(settings.TIME_BUDGET_S, "quick", 0.0)
    assert cli.main(["run", "t.exp", "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "超出 quick 档每个实验 0 s 的预算" in err
    # 缓存命中时没有新的测量，不再提醒
    assert cli.main(["run", "t.exp", "--out", str(tmp_path / "out")]) == 0
    assert "预算" not in capsys.readouterr().err


def test_unknown_id_is_a_one_line_error_with_exit_code_2(tmp_book: TmpBook, tmp_path: Path):
    proc = perflab("run", "t.exp", "no.such", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "perflab: unknown experiment id 'no.such' (known: t.exp)"
    assert proc.stdout == ""
    assert tmp_book.runs() == 0, "nothing may be measured when one of the ids is unknown"


def test_unknown_subcommand_is_a_usage_error(tmp_book: TmpBook):
    proc = perflab("measure", "t.exp")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_reference_writes_a_snapshot_the_data_page_can_read(tmp_book: TmpBook, tmp_path: Path):
    target = tmp_path / "reference" / "results.json"
    proc = perflab("--profile", "quick", "reference", "--out", str(target))
    assert proc.returncode == 0, proc.stderr
    assert "参考快照已写入" in proc.stderr
    doc = reference.load(target)
    assert doc["profile"] == "quick"
    assert [e["id"] for e in doc["experiments"]] == ["t.exp"]


def test_the_engine_and_its_cli_load_without_mkdocs():
    # 引擎不依赖站点：命令行、导出、参照对比都不该把 MkDocs 及其插件（perflab.site 的依赖）拉进来
    code = (
        "import sys, perflab.cli, perflab.export, perflab.reference, perflab.document; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('mkdocs', 'markdown_exec', 'nbclient') "
        "or m == 'perflab.site' or m.startswith('perflab.site.')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_terminated_run_stops_the_processes_its_example_started(tmp_book: TmpBook):
    # 构建被 TERM 结束（CI 超时、kill PID）：示例和它留下的子进程也要一并停掉
    tmp_book.write_example(
        "stays.py",
        """
        import subprocess, sys, time, pathlib
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        pathlib.Path(sys.argv[1]).with_name("child.pid").write_text(str(child.pid))
        time.sleep(300)
        """,
    )
    tmp_book.write_registry(example="stays.py", extra="120")
    cli = subprocess.Popen(
        [sys.executable, "-m", "perflab", "run", "t.exp"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid_file = tmp_book.root / "child.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    cli.send_signal(signal.SIGTERM)
    assert cli.wait(timeout=30) == 128 + signal.SIGTERM
    assert process_gone(child), "the example's child outlived a terminated build"


def test_reference_with_ids_replaces_only_their_entries(tmp_book: TmpBook, tmp_path: Path):
    target = tmp_path / "reference" / "results.json"
    assert perflab("--profile", "quick", "reference", "--out", str(target)).returncode == 0
    doc = reference.load(target)
    (entry,) = doc["experiments"]
    # 快照里还有一个别的实验（例如已退役的），以及 t.exp 的旧条目
    kept = {**entry, "id": "x.kept", "title": "保持原样"}
    doc["experiments"] = [{**entry, "title": "旧条目"}, kept]
    reference.write(doc, target)
    proc = perflab("--profile", "quick", "reference", "--out", str(target), "t.exp")
    assert proc.returncode == 0, proc.stderr
    assert "替换了 t.exp" in proc.stderr
    after = reference.load(target)
    assert [e["id"] for e in after["experiments"]] == ["t.exp", "x.kept"]
    assert after["experiments"][0]["title"] != "旧条目" and after["experiments"][1] == kept
    # 拼错的 id：测量之前一行报错
    runs = tmp_book.runs()
    proc = perflab("--profile", "quick", "reference", "--out", str(target), "no.such")
    assert proc.returncode == 2 and "unknown experiment id 'no.such'" in proc.stderr
    assert tmp_book.runs() == runs
