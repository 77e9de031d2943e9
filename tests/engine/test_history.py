"""History across publishing runs (perflab/history.py), on synthetic kept runs: merged results
files as `perflab merge` writes them, holding real Result shapes.

An environment change that moves a figure is named; a move within noise names nothing; a move
with no recorded change says so; runs are ordered by their recorded time; a malformed file is
skipped with one line naming it; a missing folder is refused; machines are followed apart; and
the page function over a throwaway book, with kept runs, without, and with a wrong folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from engine_fixtures import CLAIM_TOML, TmpBook

from pages import history as history_page
from perflab import book, history, shards
from perflab.claims import Claim, Rule, Sweep
from perflab.errors import PerflabError
from perflab.registry import Experiment, Ratio, Term
from perflab.results import Metric, Result

RULE = Rule("approx", value=0.5, tolerance=0.5, why="测试用的宽容差")
FIXED = Claim(
    id="t.fixed",
    page="t.md",
    claim="耗时约半秒",
    quoted="耗时 0.5 秒",
    source="测试",
    experiment="t.exp",
    unit="s",
    rule=RULE,
    condition="测试条件",
    metric="python.t_s",
)
SWEPT = dataclasses.replace(
    FIXED,
    id="t.swept",
    claim="并发多少都约半秒",
    metric=None,
    sweep=Sweep("并发数", "", (1.0, 2.0), ("python.c1_s", "python.c2_s")),
)
RATIO = dataclasses.replace(
    FIXED, id="t.ratio", claim="甲约为乙的一半", quoted="0.5 倍", unit="×", metric="python.a_vs_b"
)
CLAIMS = [FIXED, SWEPT, RATIO]
EXPERIMENTS = {
    "t.exp": Experiment(
        id="t.exp",
        title="测试实验",
        page="t.md",
        runs=[],
        repeats={"quick": 3, "full": 6},
        warmup={},
        ratios=[
            Ratio("python.a_vs_b", "甲 ÷ 乙", (Term("python.a_s"),), (Term("python.b_s"),)),
            # 旧运行里没有这个指标：这个比值缺席，别的比值照算
            Ratio("python.gone", "没有的", (Term("python.never_s"),), (Term("python.b_s"),)),
        ],
    )
}
ENV = {
    "cpu_model": "CPU 甲",
    "cpu_count": 4,
    "arch": "x86_64",
    "os": "Debian GNU/Linux 12 (bookworm)",
    "kernel": "6.1.0",
    "python": "CPython 3.11.7",
    "go": "go1.26.8",
    "libraries": {"orjson": "3.10.0"},
    "tools": {"java": "openjdk 17.0.15 2025-04-15"},
}
# 6 个进程：中位数的 95% 区间就是 [最小, 最大]
HALF = [0.49, 0.495, 0.5, 0.5, 0.505, 0.51]
NEAR_HALF = [0.50, 0.505, 0.51, 0.51, 0.515, 0.52]  # 与 HALF 的区间重叠
ONE = [0.99, 0.995, 1.0, 1.0, 1.005, 1.01]  # 与 HALF 的区间不重叠


def values(t_s: list[float] = HALF, **more: list[float]) -> dict[str, list[float]]:
    return {"t_s": t_s, "c1_s": HALF, "c2_s": HALF, "a_s": HALF, "b_s": ONE, **more}


def result(measured: dict[str, list[float]], environment: dict) -> Result:
    metrics = {
        f"python.{name}": Metric(f"python.{name}", "python", name, "耗时", "s", list(v))
        for name, v in measured.items()
    }
    return Result("t.exp", "测试实验", "t.md", "full", metrics, environment=environment)


def keep(
    folder: Path,
    name: str,
    when: str,
    commit: str,
    machines: dict[str, tuple[dict[str, list[float]], dict]],
) -> Path:
    """A kept run as the history job stores it: the merged file of that run."""
    doc = {
        "schema": shards.MERGED_SCHEMA,
        "schema_version": shards.SCHEMA_VERSION,
        "git_commit": commit,
        "profile": "full",
        "machines": [
            {
                "label": label,
                "environment": {**environment, "git_commit": commit, "date": when},
                "results": [result(measured, {**environment, "date": when}).to_dict()],
            }
            for label, (measured, environment) in machines.items()
        ],
    }
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def line_of(folder: Path) -> history.Timeline:
    runs, skipped = history.load(folder, CLAIMS, EXPERIMENTS, warn=lambda _: None)
    assert skipped == []
    return history.timeline(runs, CLAIMS)


def test_runs_are_ordered_by_their_recorded_time_not_their_file_names(tmp_path: Path):
    keep(tmp_path, "b.json", "2026-11-02T03:00:00+00:00", "bbbbbbb", {"甲": (values(), ENV)})
    keep(tmp_path, "a.json", "2026-11-03T03:00:00+00:00", "ccccccc", {"甲": (values(), ENV)})
    keep(tmp_path, "c.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    runs, _ = history.load(tmp_path, CLAIMS, EXPERIMENTS)
    assert [r.commit for r in runs] == ["aaaaaaa", "bbbbbbb", "ccccccc"]
    assert runs == sorted(runs, key=lambda r: r.date)


def test_headline_figures_are_each_claims_points_with_ratios_from_todays_registry(tmp_path: Path):
    keep(tmp_path, "1.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    (run,) = history.load(tmp_path, CLAIMS, EXPERIMENTS)[0]
    figs = run.machines["甲"]
    assert list(figs) == [
        ("t.fixed", "python.t_s"),
        ("t.swept", "python.c1_s"),
        ("t.swept", "python.c2_s"),
        ("t.ratio", "python.a_vs_b"),
    ]
    # 文件里没有这个比值：按现在的注册表逐轮配对算出（0.49/0.99 … 0.51/1.01）
    ratio = figs["t.ratio", "python.a_vs_b"].entry
    assert ratio["unit"] == "×" and 0.49 < ratio["median"] < 0.51
    assert [f.at for f in figs.values()] == [None, 1.0, 2.0, None]
    assert figs["t.fixed", "python.t_s"].entry["median"] == 0.5


def test_an_environment_change_that_moves_a_figure_is_named(tmp_path: Path):
    newer = {
        **ENV,
        "python": "CPython 3.12.1",
        "libraries": {"orjson": "3.10.1", "ujson": "5.0"},
        "tools": {},
    }
    keep(tmp_path, "1.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    keep(tmp_path, "2.json", "2026-11-08T03:00:00+00:00", "bbbbbbb", {"甲": (values(ONE), newer)})
    line = line_of(tmp_path)
    (move,) = line.moves["甲"]
    assert move.before.key == ("t.fixed", "python.t_s")
    assert (move.before_run.commit, move.after_run.commit) == ("aaaaaaa", "bbbbbbb")
    assert move.ratio == pytest.approx(2.0)
    assert move.changes == (
        history.Change("Python", "CPython 3.11.7", "CPython 3.12.1"),
        history.Change("orjson", "3.10.0", "3.10.1"),
        history.Change("ujson", "—", "5.0"),
        history.Change("java", "openjdk 17.0.15 2025-04-15", "—"),
    )
    assert line.last_move("甲", ("t.fixed", "python.t_s")) is move
    assert line.last_move("甲", ("t.swept", "python.c1_s")) is None


def test_a_move_within_noise_names_nothing_even_when_the_environment_changed(tmp_path: Path):
    other_cpu = {**ENV, "cpu_model": "CPU 乙", "kernel": "6.8.0"}
    keep(tmp_path, "1.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    keep(
        tmp_path,
        "2.json",
        "2026-11-08T03:00:00+00:00",
        "bbbbbbb",
        {"甲": (values(NEAR_HALF), other_cpu)},
    )
    line = line_of(tmp_path)
    assert line.moves["甲"] == []
    assert [f.entry["median"] for f in line.values("甲", ("t.fixed", "python.t_s"))] == [0.5, 0.51]


def test_a_move_with_nothing_recorded_changed_says_so(tmp_path: Path):
    keep(tmp_path, "1.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    keep(tmp_path, "2.json", "2026-11-08T03:00:00+00:00", "bbbbbbb", {"甲": (values(ONE), ENV)})
    (move,) = line_of(tmp_path).moves["甲"]
    assert move.changes == ()


def test_other_interpreters_and_the_cpu_are_compared_by_version():
    before = {**ENV, "interpreters": {"py313": {"found": True, "version": "3.13.0"}}}
    after = {
        **ENV,
        "cpu_model": "CPU 乙",
        "cpu_count": 2,
        "interpreters": {"py313": {"found": True, "version": "3.13.1"}, "py314t": {"found": False}},
    }
    assert history.environment_changes(before, after) == [
        history.Change("CPU 型号", "CPU 甲", "CPU 乙"),
        history.Change("CPU 数", "4", "2"),
        history.Change("Python 3.13", "3.13.0", "3.13.1"),
        history.Change("Python 3.14t", "—", "未找到"),
    ]
    assert history.environment_changes(ENV, dict(ENV)) == []


def test_machines_are_followed_apart_and_a_figure_an_old_run_lacks_is_missing(tmp_path: Path):
    old = values()
    del old["c2_s"]  # 那时还没有第二个扫描点
    keep(
        tmp_path,
        "1.json",
        "2026-11-01T03:00:00+00:00",
        "aaaaaaa",
        {"甲": (old, ENV), "乙": (values(ONE), ENV)},
    )
    keep(
        tmp_path,
        "2.json",
        "2026-11-08T03:00:00+00:00",
        "bbbbbbb",
        {"甲": (values(), ENV), "乙": (values(ONE), ENV)},
    )
    line = line_of(tmp_path)
    assert line.labels == ["甲", "乙"]
    # 甲与乙的数字差一倍，但各自前后两次没变：机器之间不比较
    assert line.moves == {"甲": [], "乙": []}
    second = line.values("甲", ("t.swept", "python.c2_s"))
    assert second[0] is None and second[1].entry["median"] == 0.5


def test_a_malformed_file_is_skipped_with_one_line_naming_it(tmp_path: Path):
    keep(tmp_path, "good.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    shard = keep(tmp_path, "shard.json", "2026-11-02T03:00:00+00:00", "b", {"甲": (values(), ENV)})
    doc = json.loads(shard.read_text(encoding="utf-8"))
    shard.write_text(json.dumps({**doc, "schema": shards.SHARD_SCHEMA}), encoding="utf-8")
    undated = keep(tmp_path, "undated.json", "", "ccccccc", {"甲": (values(), ENV)})
    (tmp_path / "notes.txt").write_text("不是结果文件，不读", encoding="utf-8")
    warned: list[str] = []
    runs, skipped = history.load(tmp_path, CLAIMS, EXPERIMENTS, warn=warned.append)
    assert [r.name for r in runs] == ["good.json"]
    assert len(skipped) == 3 and len(warned) == 3
    for line, name in zip(skipped, ("broken.json", "shard.json", "undated.json"), strict=True):
        assert name in line and "\n" not in line
    assert "not JSON" in skipped[0]
    assert "not a merged results file" in skipped[1]
    assert "no readable date" in skipped[2] and undated.name in warned[2]


def test_a_missing_folder_is_refused_with_one_line(tmp_path: Path):
    with pytest.raises(PerflabError, match=r"PERFLAB_HISTORY=.*nowhere: no such folder") as err:
        history.load(tmp_path / "nowhere", CLAIMS, EXPERIMENTS)
    assert "\n" not in str(err.value)


def test_this_build_replaces_a_kept_copy_of_itself_and_comes_last(tmp_path: Path):
    keep(tmp_path, "1.json", "2026-11-01T03:00:00+00:00", "aaaaaaa", {"甲": (values(), ENV)})
    keep(tmp_path, "2.json", "2026-11-08T03:00:00+00:00", "bbbbbbb", {"甲": (values(), ENV)})
    runs, _ = history.load(tmp_path, CLAIMS, EXPERIMENTS)
    current = history.Run(
        history.CURRENT,
        dt.datetime(2026, 11, 8, 3, tzinfo=dt.UTC),
        "bbbbbbb",
        "full",
        runs[1].machines,
        current=True,
    )
    merged = history.with_current(runs, current)
    assert [r.name for r in merged] == ["1.json", history.CURRENT]


def test_the_page_shows_this_build_after_the_kept_runs_with_the_move_and_its_cause(
    tmp_book: TmpBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_book.root / "registry" / "claims.toml").write_text(CLAIM_TOML, encoding="utf-8")
    session = book.start()
    session.measure_all(report=lambda _: None)
    session.page = "history.md"
    measured = session.result("t.exp")
    label = shards.default_machine_label()
    kept = tmp_path / "kept"
    kept.mkdir()
    for days, commit, scale in ((14, "aaaaaaa00001", 1.0), (7, "bbbbbbb00002", 10.0)):
        when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")
        raw = measured.to_dict()
        raw["environment"] = {**raw["environment"], "python": f"CPython 3.{90 + days}.0"}
        for m in raw["metrics"]:
            m["values"] = [scale * v for v in m["values"]]
            m["rounds"] = [[scale * v for v in r] for r in m["rounds"]]
        doc = {
            "schema": shards.MERGED_SCHEMA,
            "schema_version": shards.SCHEMA_VERSION,
            "git_commit": commit,
            "profile": "quick",
            "machines": [
                {
                    "label": label,
                    "environment": {"git_commit": commit, "date": when},
                    "results": [raw],
                }
            ],
        }
        (kept / f"{when[:10]}-{commit}.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("PERFLAB_HISTORY", str(kept))
    md = history_page.overview()
    assert "3 次构建" in md and "越出噪声的共 2 处" in md and "本次构建相对它的上一次 1 处" in md
    (row,) = [line for line in md.splitlines() if "`t.claim`" in line]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "550 ms" and cells[3] == "**5.50 s**" and cells[4] == "**550 ms**"
    assert (
        f"5.50 s → 550 ms（0.100×）；Python：CPython 3.97.0 → {measured.environment['python']}"
        in (cells[5])
    )
    # 不设 PERFLAB_HISTORY：一行说明怎么拿到历次发布，表里只有本次构建
    monkeypatch.delenv("PERFLAB_HISTORY")
    alone = history_page.overview()
    assert "PERFLAB_HISTORY" in alone and "perflab-history" in alone
    assert "| 说法 | 测量点 | 本次构建 |" in alone and "最近一次越出噪声" not in alone
    monkeypatch.setenv("PERFLAB_HISTORY", str(tmp_path / "nowhere"))
    with pytest.raises(PerflabError, match="no such folder"):
        history_page.overview()
