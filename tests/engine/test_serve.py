"""make serve: the reference snapshot stands in for unmeasured experiments, marked as such, and
the background runner measures them one by one with a progress file."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from engine_fixtures import TmpBook

from perflab import book, cli, document, reference, render, serve, settings
from perflab.errors import PerflabError
from perflab.results import Metric, Result

CRASHING = "import sys\nsys.exit('坏了')\n"
RATIO = """
[[experiment.ratio]]
key = "python.double"
label = "两倍"
unit = "×"
numerator = ["python.t_s", "python.t_s"]
denominator = ["python.t_s"]
"""


def snapshot_file(
    tmp_book: TmpBook, t_s: list[float], extra: dict | None = None, profile: str = "quick"
) -> Path:
    """A results document with t.exp's figures as given (and a bogus derived ratio), used as
    the reference snapshot."""
    metrics = {"python.t_s": Metric("python.t_s", "python", "t_s", "耗时", "s", list(t_s))}
    if extra:
        metrics.update(extra)
    result = Result(
        "t.exp",
        "测试实验",
        "t.md",
        profile,
        metrics,
        environment={"date": "2026-01-02T03:04:05+00:00", "git_commit": "abc1234"},
    )
    doc = document.build(profile, [result], [])
    path = tmp_book.root / "snapshot.json"
    reference.write(doc, path)
    return path


@pytest.fixture
def serving(tmp_book: TmpBook, monkeypatch: pytest.MonkeyPatch) -> TmpBook:
    monkeypatch.setenv("PERFLAB_SERVE", "reference")
    monkeypatch.setenv("PERFLAB_REFERENCE", str(snapshot_file(tmp_book, [9.0, 9.5, 10.0])))
    return tmp_book


def test_unmeasured_experiment_comes_from_the_snapshot_marked(serving: TmpBook):
    session = book.start()
    session.measure_all(report=lambda _: None)
    result = session.result("t.exp")
    assert serving.runs() == 0, "the snapshot stands in: nothing is measured before serving"
    assert result.from_reference and not result.from_cache
    assert result.metric("python.t_s").values == [9.0, 9.5, 10.0]
    line = render.provenance(result)
    assert "参考快照" in line and "abc1234" in line and "本次构建" not in line
    # 这台机器没测过的数字不作为本机结果导出
    doc = session.document()
    assert [e["id"] for e in doc["experiments"]] == []
    assert session.snapshot_reads == {"t.exp"}


def test_a_valid_cached_result_wins_over_the_snapshot(serving: TmpBook, monkeypatch):
    monkeypatch.delenv("PERFLAB_SERVE")
    book.start().result("t.exp")  # 本机测一次，进缓存
    measured = serving.runs()
    monkeypatch.setenv("PERFLAB_SERVE", "reference")
    result = book.start().result("t.exp")
    assert serving.runs() == measured
    assert result.from_cache and not result.from_reference
    assert "参考快照" not in render.provenance(result)


def test_an_experiment_the_snapshot_lacks_is_measured_first(serving: TmpBook, monkeypatch):
    doc = json.loads(Path(settings.reference_path()).read_text(encoding="utf-8"))
    doc["experiments"] = []
    reference.write(doc, settings.reference_path())
    result = book.start().result("t.exp")
    assert serving.runs() > 0 and not result.from_reference


def with_ratio(tmp_book: TmpBook, ratio: str = RATIO) -> None:
    with (tmp_book.root / "registry" / "experiments.toml").open("a") as fh:
        fh.write(ratio)


def test_a_snapshot_entry_that_no_longer_fits_the_registry_is_measured(serving: TmpBook):
    # 注册表里的比值读 python.ratio：快照里没有这个指标（本机的示例会报告它）
    with_ratio(
        serving, RATIO.replace('denominator = ["python.t_s"]', 'denominator = ["python.ratio"]')
    )
    result = book.start().result("t.exp")
    assert serving.runs() > 0 and not result.from_reference


def test_derived_ratios_are_derived_again_from_the_snapshot(serving: TmpBook, monkeypatch):
    bogus = Metric("python.double", "python", "double", "两倍", "×", [5.0, 5.0, 5.0])
    path = snapshot_file(serving, [1.0, 2.0, 4.0], {"python.double": bogus})
    monkeypatch.setenv("PERFLAB_REFERENCE", str(path))
    with_ratio(serving)
    result = book.start().result("t.exp")
    assert result.from_reference
    assert result.metric("python.double").values == [2.0, 2.0, 2.0]


def test_a_build_without_serve_mode_measures_everything(serving: TmpBook, monkeypatch):
    monkeypatch.delenv("PERFLAB_SERVE")
    assert not book.start().result("t.exp").from_reference
    assert serving.runs() > 0


def test_a_bad_serve_mode_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PERFLAB_SERVE", "yes")
    with pytest.raises(PerflabError, match="PERFLAB_SERVE='yes'"):
        settings.serve_from_reference()


def _second_experiment(tmp_book: TmpBook, example: str, code: str) -> None:
    path = tmp_book.write_example(example, code)
    (tmp_book.root / "registry" / "more.toml").write_text(
        f"""
[[experiment]]
id = "t.second"
title = "第二个实验"
page = "t.md"
timeout_s = 20
repeats = {{ quick = 3, full = 5 }}
warmup = {{ quick = 0, full = 0 }}

[[experiment.run]]
lang = "python"
path = "{path}"
args = {{ quick = [], full = [] }}
"""
    )


def _plain_book() -> book.Book:
    return book.Book(refresh=False, stand_in=False)


def test_the_command_line_always_measures_here(serving: TmpBook, tmp_path: Path, capsys):
    # PERFLAB_SERVE 只管 make serve 的站点：run 与 reference 从不把快照当成本机的结果
    assert cli.main(["run", "t.exp", "--out", str(tmp_path / "out")]) == 0
    assert serving.runs() > 0 and "参考快照" not in capsys.readouterr().out
    written = tmp_path / "ref.json"
    assert cli.main(["--profile", "quick", "reference", "--out", str(written)]) == 0
    (entry,) = json.loads(written.read_text(encoding="utf-8"))["experiments"]
    assert entry["metrics"][0]["values"] != [9.0, 9.5, 10.0]


def test_run_stale_flags_are_checked(tmp_book: TmpBook, capsys):
    assert cli.main(["run", "--progress-file", "p.json"]) == 2
    assert cli.main(["run", "--stale", "t.exp"]) == 2
    err = capsys.readouterr().err
    assert "go with --stale" in err and "give no ids" in err
    assert cli.main(["run", "--stale"]) == 0 and tmp_book.runs() > 0


def test_background_measures_the_stale_ones_and_reports_progress(tmp_book: TmpBook):
    _second_experiment(tmp_book, "crash.py", CRASHING)
    progress = tmp_book.root / "progress.json"
    lines: list[str] = []
    state = serve.measure_stale(_plain_book, progress_file=progress, report=lines.append)
    written = serve.read_progress(progress)
    assert written == state
    assert state["finished"] and state["current"] is None
    assert state["measured"] == ["t.exp"] and state["done"] == state["total"] == 2
    # 失败的实验：一行原因，其余照测
    assert list(state["failed"]) == ["t.second"] and "\n" not in state["failed"]["t.second"]
    assert any("t.second" in line and "失败" in line for line in lines)
    assert book.start().result("t.exp").from_cache
    # 再跑一次：t.exp 已有有效缓存，不再测
    runs = tmp_book.runs()
    again = serve.measure_stale(_plain_book, report=lines.append)
    assert tmp_book.runs() == runs and again["measured"] == []


def _wait_for(predicate, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while not (found := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
    return found


def test_background_waits_for_each_rebuild_and_follows_later_edits(tmp_book: TmpBook):
    second = tmp_book.root / "second_runs.txt"
    code = f"import json, pathlib\npathlib.Path({str(second)!r}).open('a').write('x')\n"
    code += 'print(json.dumps({"metrics": {"t_s": {"unit": "s", "value": 0.1}}}))\n'
    _second_experiment(tmp_book, "second.py", code)
    folder = tmp_book.root / "serve"
    folder.mkdir()
    stamp, progress = folder / "built", folder / "progress.json"
    stamp.write_text("0")
    outcome: dict = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            serve.measure_stale(
                _plain_book, progress_file=progress, stamp=stamp, report=lambda _: None
            )
        )
    )
    thread.start()
    try:

        def at(done: int):
            return lambda: (p := serve.read_progress(progress)) and p["done"] == done and p

        first = _wait_for(at(0), "the first progress write")
        assert first["current"] == "t.exp" and first["total"] == 2
        # 进度写出后，站点没重建完就不开始测量
        time.sleep(0.5)
        assert tmp_book.runs() == 0
        stamp.write_text("1")
        after_one = _wait_for(at(1), "t.exp to be measured")
        assert after_one["current"] == "t.second" and tmp_book.runs() > 0
        time.sleep(0.5)
        assert not second.exists()
        stamp.write_text("2")
        done = _wait_for(at(2), "t.second to be measured")
        assert done["finished"] and done["measured"] == ["t.exp", "t.second"]
        stamp.write_text("3")
        # 测完之后改了示例：下一次重建之后后台接着测
        runs = len(second.read_text())
        tmp_book.write_example("second.py", code + "# 改过\n")
        stamp.write_text("4")
        queued = _wait_for(
            lambda: (p := serve.read_progress(progress)) and not p["finished"] and p,
            "the edited experiment to be queued",
        )
        assert queued["current"] == "t.second" and queued["total"] == 3
        stamp.write_text("5")
        _wait_for(lambda: len(second.read_text()) > runs, "the edited example to be measured")
        again = _wait_for(at(3), "the progress after the edit")
        assert again["measured"][-1] == "t.second"
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()  # 服务器的目录没了：后台进程结束
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome["done"] == 3


def test_a_full_profile_snapshot_stands_in_for_a_quick_serve_saying_so(serving, monkeypatch):
    # 提交的快照是 full 档：quick 档的 make serve 也先用它，出处行写明档位，不在出页前测整本书
    monkeypatch.setenv("PERFLAB_REFERENCE", str(snapshot_file(serving, [1.0, 2.0], profile="full")))
    result = book.start("quick").result("t.exp")
    assert serving.runs() == 0 and result.from_reference
    line = render.provenance(result)
    assert "参考快照" in line and "档位 full" in line
