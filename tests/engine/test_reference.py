"""The reference snapshot: comparison rows on known data, clear failures, the committed file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from engine_fixtures import TmpBook

from perflab import book, paths, reference
from perflab.errors import PerflabError


def metric(key: str, median: float, low: float, high: float, unit: str = "s") -> dict:
    run, name = key.split(".", 1)
    return {
        "key": key,
        "run": run,
        "name": name,
        "label": name,
        "unit": unit,
        "median": median,
        "ci_low": low,
        "ci_high": high,
        "n": 5,
    }


def results_doc(profile: str, cpu: str, experiments: dict[str, list[dict]]) -> dict:
    return {
        "schema": "perflab-results",
        "schema_version": 1,
        "profile": profile,
        "build_environment": {"cpu_model": cpu, "python": "CPython 3.11.7", "profile": profile},
        "experiments": [
            {"id": exp_id, "profile": profile, "metrics": metrics}
            for exp_id, metrics in experiments.items()
        ],
        "claims": [],
    }


REFERENCE = results_doc(
    "full",
    "Reference CPU",
    {
        "x.exp": [
            metric("python.same_s", 1.00, 0.95, 1.05),
            metric("python.slower_s", 1.00, 0.95, 1.05),
            metric("go.gone_s", 0.50, 0.45, 0.55),
        ],
        "x.retired": [metric("python.t_s", 2.0, 1.9, 2.1)],
    },
)
CURRENT = results_doc(
    "full",
    "Other CPU",
    {
        "x.exp": [
            metric("python.same_s", 1.02, 0.97, 1.10),
            metric("python.slower_s", 2.00, 1.90, 2.10),
            metric("python.new_ratio", 1.5, 1.4, 1.6, unit="×"),
        ],
        "x.added": [metric("go.t_s", 0.1, 0.09, 0.11)],
    },
)


def by_key(rows: list[reference.Row]) -> dict[tuple[str, str], reference.Row]:
    return {(r.experiment, r.key): r for r in rows}


def test_overlapping_intervals_are_noise_and_disjoint_ones_a_change():
    rows = by_key(reference.compare(REFERENCE, CURRENT))
    same = rows["x.exp", "python.same_s"]
    assert same.status == reference.WITHIN_NOISE
    assert same.ratio == pytest.approx(1.02)
    slower = rows["x.exp", "python.slower_s"]
    assert slower.status == reference.CHANGED
    assert slower.ratio == pytest.approx(2.0)


def test_metrics_in_only_one_document_are_listed_as_such():
    rows = by_key(reference.compare(REFERENCE, CURRENT))
    assert rows["x.exp", "go.gone_s"].status == reference.ONLY_REFERENCE
    assert rows["x.retired", "python.t_s"].status == reference.ONLY_REFERENCE
    assert rows["x.exp", "python.new_ratio"].status == reference.ONLY_CURRENT
    assert rows["x.added", "go.t_s"].status == reference.ONLY_CURRENT
    assert len(rows) == 6


def test_different_profiles_are_not_judged():
    quick = results_doc("quick", "Reference CPU", {"x.exp": [metric("python.same_s", 5, 4, 6)]})
    (row,) = [r for r in reference.compare(REFERENCE, quick) if r.key == "python.same_s"]
    assert row.status == reference.OTHER_PROFILE
    page = reference.render(REFERENCE, quick)
    assert "档位不同" in page and f"**{reference.CHANGED}**" not in page


def test_rendered_comparison_shows_changes_counts_one_sided_and_both_environments():
    page = reference.render(REFERENCE, CURRENT)
    table = page.split("### 逐项对比")[1].split("### 只在一边出现的指标")[0]
    slower_row = next(line for line in table.splitlines() if "slower_s" in line)
    assert slower_row.endswith(f"| **{reference.CHANGED}** |") and "| 2.00× |" in slower_row
    # 在噪声内的一项不占页面，只在 CSV 里
    assert "same_s" not in table and reference.CSV_NAME in table
    assert "1 个变化" in table and "1 个在噪声内" in table
    one_sided = page.split("### 只在一边出现的指标")[1]
    assert "| `x.retired` | 1 | " + reference.ONLY_REFERENCE in one_sided
    assert "| `x.added` | 1 | " + reference.ONLY_CURRENT in one_sided
    assert one_sided.count(reference.ONLY_REFERENCE) == 2
    assert one_sided.count(reference.ONLY_CURRENT) == 2
    environments = page.split("### 逐项对比")[0]
    cpu_row = next(line for line in environments.splitlines() if "CPU 型号" in line)
    assert "Reference CPU" in cpu_row and "Other CPU" in cpu_row and "不同" in cpu_row


def test_the_page_lists_only_the_largest_changes_and_the_csv_every_row():
    n = reference.SHOWN_CHANGES + 5
    # 第 i 项变为 2+i 倍：越往后变化越大，页面从最大的列起
    ref = results_doc("full", "c", {"x": [metric(f"python.m{i}_s", 1, 0.9, 1.1) for i in range(n)]})
    cur = results_doc(
        "full",
        "c",
        {"x": [metric(f"python.m{i}_s", 2 + i, 1.9 + i, 2.1 + i) for i in range(n)]},
    )
    page = reference.render(ref, cur)
    shown = [line for line in page.splitlines() if line.startswith("| `x` |")]
    assert len(shown) == reference.SHOWN_CHANGES
    assert f"m{n - 1}_s" in shown[0] and "m5_s" in shown[-1]
    assert "其余 5 项见 CSV" in page
    rows = list(csv.DictReader(io.StringIO(reference.comparison_csv(ref, cur))))
    assert len(rows) == n and {r["status"] for r in rows} == {reference.CHANGED}
    assert float(rows[3]["ratio"]) == pytest.approx(5.0)
    assert rows[3]["reference_median"] == "1" and rows[3]["current_median"] == "5"
    header_only = reference.comparison_csv(None, cur)
    assert header_only.strip() == ",".join(reference.CSV_COLUMNS)


def test_missing_reference_gives_a_note_not_an_error(tmp_path: Path):
    missing = tmp_path / "reference" / "results.json"
    assert reference.load(missing) is None
    note = reference.comparison(CURRENT, missing)
    assert note.startswith('!!! note "没有参考快照"') and "make reference" in note


def test_perflab_reference_names_another_snapshot(tmp_path: Path, monkeypatch):
    other = tmp_path / "published-results.json"
    other.write_text(json.dumps(REFERENCE), encoding="utf-8")
    monkeypatch.setenv("PERFLAB_REFERENCE", str(other))
    assert reference.reference_path() == other
    assert "Reference CPU" in reference.comparison(CURRENT)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"schema": "perflab-results", ', "not readable JSON"),
        ("[]", "top level is not a JSON object"),
        (json.dumps({**REFERENCE, "schema_version": 99}), "schema_version is 99"),
        (
            json.dumps(results_doc("full", "c", {"x": [{"key": "python.t", "unit": "s"}]})),
            "'median' is not a number",
        ),
    ],
)
def test_malformed_reference_fails_in_one_line_naming_the_file(
    tmp_path: Path, content: str, reason: str
):
    bad = tmp_path / "results.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(PerflabError) as err:
        reference.comparison(CURRENT, bad)
    message = str(err.value)
    assert str(bad) in message and reason in message
    assert "\n" not in message


def test_written_snapshot_loads_and_matches_itself(tmp_book: TmpBook):
    session = book.start("quick")
    target = tmp_book.root / "reference" / "results.json"
    reference.write(session.document(), target)
    doc = reference.load(target)
    assert [e["id"] for e in doc["experiments"]] == ["t.exp"]
    rows = reference.compare(doc, doc)
    assert rows and {r.status for r in rows} == {reference.WITHIN_NOISE}


def test_the_committed_snapshot_is_a_valid_full_profile_run():
    doc = reference.load(paths.ROOT / "reference" / "results.json")
    assert doc is not None, "reference/results.json is missing: run `make reference`"
    assert doc["profile"] == "full"
    assert all(e["profile"] == "full" for e in doc["experiments"])
    env = doc["build_environment"]
    for field in ("cpu_model", "python", "go", "git_commit", "date"):
        assert env.get(field), field


@pytest.mark.site
def test_data_page_compares_this_build_with_the_snapshot(built_site: Path):
    html = (built_site / "data" / "index.html").read_text(encoding="utf-8")
    assert "与参考快照对比" in html and "两次测量的环境" in html
    # 测试用 quick 档构建，而快照是 full 档：页面必须说明两者不可直接比较，不列变化
    assert "档位不同" in html and "参考快照：中位数" not in html
    rows = list(csv.DictReader((built_site / "data" / reference.CSV_NAME).open(encoding="utf-8")))
    snapshot = reference.load(paths.ROOT / "reference" / "results.json")
    assert len(rows) >= sum(len(e["metrics"]) for e in snapshot["experiments"])
    assert {r["status"] for r in rows} <= {
        reference.OTHER_PROFILE,
        reference.ONLY_CURRENT,
        reference.ONLY_REFERENCE,
    }


def test_every_committed_snapshot_entry_fits_the_registry():
    # make serve 先用快照里的结果：对不上注册表的条目要在出第一页之前实测（full 档要几分钟）。
    # 改了指标名或图表之后用 make reference IDS="…" 重测那几个实验
    from perflab import serve

    session = book.start("full", stand_in=False)
    snapshot = reference.load(paths.ROOT / "reference" / "results.json")
    misfits = {}
    for exp in session.experiments.values():
        result, why = serve.stand_in(exp, "full", session.claims_for(experiment=exp.id), snapshot)
        if result is None:
            misfits[exp.id] = why
    assert not misfits, misfits
