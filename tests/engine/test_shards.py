"""Shards and merging: deterministic assignment, every refusal of `merge`, and a book built from
shard files of two machines (separate processes) showing both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_fixtures import CLAIM_TOML, TmpBook
from test_cli import perflab

from perflab import book, shards
from perflab.errors import PerflabError

SECOND = """
[[experiment]]
id = "t.second"
title = "第二个实验"
page = "t.md"
repeats = {{ quick = 2, full = 5 }}

[[experiment.run]]
lang = "python"
path = "{path}"
args = {{ quick = ["{runs}"], full = ["{runs}"] }}
"""


def test_assignment_is_deterministic_balanced_and_covers_every_experiment_once():
    ids = [f"e{i}" for i in range(9)]
    durations = {f"e{i}": float(d) for i, d in enumerate([50, 10, 40, 30, 20, 5, 60, 1, 2])}
    split = shards.assign(ids, 3, durations)
    assert split == shards.assign(list(ids), 3, dict(durations))
    assert sorted(i for shard in split for i in shard) == ids
    totals = [sum(durations[i] for i in shard) for shard in split]
    # 最长的先放、放进当前最空的一片：任意两片之差不超过最长的那个实验
    assert max(totals) - min(totals) <= max(durations.values())
    for shard in split:
        assert shard == sorted(shard, key=ids.index)  # 片内保持注册表顺序


def test_an_experiment_without_a_recorded_duration_counts_as_the_median():
    split = shards.assign(["a", "b", "new"], 2, {"a": 10.0, "b": 30.0})
    assert sorted(map(sorted, split)) == [["a", "new"], ["b"]]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_malformed_shard_is_refused(text: str):
    with pytest.raises(PerflabError, match="expected I/N"):
        shards.parse_shard(text)


@pytest.fixture
def two_experiments(tmp_book: TmpBook) -> TmpBook:
    path = tmp_book.root / "registry" / "experiments.toml"
    second = SECOND.format(path=tmp_book.root / "good.py", runs=tmp_book.runs_file)
    path.write_text(path.read_text(encoding="utf-8") + second, encoding="utf-8")
    (tmp_book.root / "registry" / "claims.toml").write_text(CLAIM_TOML, encoding="utf-8")
    return tmp_book


def shard_files(root: Path) -> dict[str, Path]:
    """Shards 1/2 and 2/2 of machine A and the single shard of machine B, each its own process."""
    made = {}
    for name, shard, machine in (
        ("a1", "1/2", "机器甲"),
        ("a2", "2/2", "机器甲"),
        ("b", "1/1", "机器乙"),
    ):
        out = root / f"{name}.json"
        proc = perflab("run", "--shard", shard, "--machine", machine, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        made[name] = out
    return made


def test_shards_of_two_machines_merge_and_a_book_built_from_them_shows_both(
    two_experiments: TmpBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    files = shard_files(tmp_path)
    a1, a2 = (json.loads(files[n].read_text(encoding="utf-8")) for n in ("a1", "a2"))
    # 每个实验整个留在一片里，两片合起来恰好是全部实验
    assert sorted(a1["shard"]["experiments"] + a2["shard"]["experiments"]) == ["t.exp", "t.second"]
    merged = tmp_path / "merged.json"
    proc = perflab("merge", *(str(p) for p in files.values()), "--out", str(merged))
    assert proc.returncode == 0, proc.stderr
    monkeypatch.setenv("PERFLAB_RESULTS", str(merged))
    runs_before = two_experiments.runs()
    session = book.start()
    session.measure_all(report=lambda _: None)
    assert two_experiments.runs() == runs_before  # 从合并的文件构建：本机一次也不测
    assert [m.label for m in session.machines] == ["机器甲", "机器乙"]
    figure = book.figure("t.exp")
    assert "各机器上的同一组指标" in figure and "| 机器甲 | 机器乙 |" in figure
    summary = book.claims_summary()
    assert "<th>各机器</th>" in summary and "成立：2/2 台机器" in summary
    doc = session.document()
    assert [m["label"] for m in doc["machines"]] == ["机器甲", "机器乙"]
    assert doc["claims"][0]["verdicts_by_machine"] == {"机器甲": "holds", "机器乙": "holds"}


def rewrite(path: Path, change) -> Path:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_merge_refuses_every_bad_input_with_one_line_naming_the_file(
    two_experiments: TmpBook, tmp_path: Path
):
    files = shard_files(tmp_path)
    a1, a2, b = files["a1"], files["a2"], files["b"]
    expected = ["t.exp", "t.second"]

    def refused(paths: list[Path], match: str) -> None:
        with pytest.raises(PerflabError, match=match) as err:
            shards.merge(paths, expected)
        assert "\n" not in str(err.value)

    refused([a1, b], r"machine '机器甲' is missing shard\(s\) 2/2")
    refused([a1, a1, a2], r"a1\.json: shard 1/2 of machine '机器甲' is also in .*a1\.json")
    other = tmp_path / "other.json"
    other.write_text(a2.read_text(encoding="utf-8"), encoding="utf-8")
    rewrite(other, lambda d: d.update(git_commit="0123456789ab"))
    refused([a1, other], r"other\.json: measured at commit 0123456789ab")
    rewrite(other, lambda d: d.update(schema_version=99))
    refused([a1, other], r"other\.json: schema_version is 99, expected 1")
    other.write_text("{not json", encoding="utf-8")
    refused([a1, other], r"other\.json: not JSON")
    other.write_text(a2.read_text(encoding="utf-8"), encoding="utf-8")
    rewrite(other, lambda d: d["shard"].update(index=1))
    refused([a1, other], r"other\.json: shard 1/2 of machine '机器甲' is also in")
    rewrite(other, lambda d: d["shard"].update(index=2, experiments=d["shard"]["experiments"][:0]))
    refused([a1, other], r"other\.json: its results do not match the experiments")
    rewrite(other, lambda d: d.update(results=[], shard={**d["shard"], "experiments": []}))
    refused([a1, other], r"machine '机器甲' has no result for")
    rewrite(other, lambda d: d.pop("machine"))
    refused([a1, other], r"other\.json: machine is missing")
    refused([], "no shard file given")


def test_a_build_refuses_results_merged_at_another_commit(
    two_experiments: TmpBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    files = shard_files(tmp_path)
    doc = shards.merge([files["b"]], None)
    doc["git_commit"] = "0123456789ab"
    merged = tmp_path / "old.json"
    merged.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("PERFLAB_RESULTS", str(merged))
    with pytest.raises(PerflabError, match=r"old\.json: measured at commit '0123456789ab'") as err:
        book.start()
    assert "\n" not in str(err.value)


def test_a_build_from_a_merged_file_names_a_machine_missing_an_experiment(
    two_experiments: TmpBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    files = shard_files(tmp_path)
    doc = shards.merge([files["b"]], None)
    doc["machines"][0]["results"] = doc["machines"][0]["results"][:1]
    merged = tmp_path / "partial.json"
    merged.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("PERFLAB_RESULTS", str(merged))
    session = book.start()
    with pytest.raises(PerflabError, match=r"partial\.json: machine '机器乙' has no result for"):
        session.measure_all(report=lambda _: None)
