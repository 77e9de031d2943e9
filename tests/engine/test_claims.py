"""Verdicts are computed from the median and interval; claims that point nowhere fail loudly."""

from __future__ import annotations

import dataclasses
import math

import pytest
from engine_fixtures import TmpBook

from perflab import book, claims, measure, render, verdict_text
from perflab.claims import DEPENDS, FAILS, HOLDS, Claim, Rule, Sweep, verdict
from perflab.errors import PerflabError
from perflab.results import Metric, Result
from perflab.stats import Summary, summarize


def s(median: float, low: float, high: float) -> Summary:
    return Summary(median=median, low=low, high=high, confidence=0.95, n=11)


@pytest.mark.parametrize(
    ("rule", "summary", "expected"),
    [
        (Rule("approx", value=1.0, tolerance=0.15), s(1.05, 0.95, 1.2), HOLDS),
        (Rule("approx", value=1.0, tolerance=0.15), s(1.9, 1.8, 2.0), FAILS),
        (Rule("approx", value=1.0, tolerance=0.15), s(1.25, 1.1, 1.4), DEPENDS),
        (Rule("at_most", value=0.001), s(0.0004, 0.0003, 0.0006), HOLDS),
        (Rule("at_most", value=0.001), s(0.004, 0.002, 0.006), FAILS),
        (Rule("at_most", value=0.001), s(0.0009, 0.0005, 0.0015), DEPENDS),
        (Rule("at_least", value=2.0), s(3.0, 2.5, 3.5), HOLDS),
        (Rule("at_least", value=2.0), s(1.0, 0.9, 1.1), FAILS),
        (Rule("between", low=0.015, high=0.030), s(0.0002, 0.0001, 0.0003), FAILS),
        (Rule("between", low=0.015, high=0.030), s(0.02, 0.01, 0.04), HOLDS),
    ],
)
def test_verdict_on_known_values(rule, summary, expected):
    assert verdict(rule, summary) == expected


CLAIM = """
[[claim]]
id = "t.claim"
page = "t.md"
claim = "说法"
quoted = "约 1.0"
source = "测试"
condition = "测试条件"
unit = "×"
experiment = "{experiment}"
metric = "{metric}"
rule = {{ kind = "approx", value = 1.0, tolerance = 0.1, why = "测试用的宽度" }}
"""


def test_claim_on_a_missing_experiment_fails(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="gone", metric="python.t_s")
    )
    with pytest.raises(
        PerflabError, match=r"claims\.toml: claim t\.claim: experiment 'gone' is not registered"
    ):
        book.start()


def test_claim_on_a_metric_never_produced_fails(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="t.exp", metric="python.nope")
    )
    session = book.start()
    with pytest.raises(
        PerflabError, match=r"claims\.toml: claim t\.claim: no metric 'python\.nope' in t\.exp"
    ):
        session.measure_all(report=lambda _: None)


def test_claim_renders_with_computed_verdict(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="t.exp", metric="python.ratio")
    )
    book.start()
    text = book.claims("t.exp")
    assert "约 1.0" in text and "1.02×" in text
    # 引文之下是注册表里我们对它的一句话理解
    assert '<small class="perflab-gist">说法</small>' in text
    assert "perflab-holds" in text and "成立" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[claim]]\nid = "x"\n', "missing claim, quoted"),
        (CLAIM.replace('kind = "approx"', 'kind = "roughly"'), "rule kind 'roughly'"),
        (CLAIM.replace("value = 1.0, tolerance = 0.1", "value = 1.0"), "needs tolerance"),
        (CLAIM.replace(', why = "测试用的宽度"', ""), "needs why"),
        (CLAIM.replace('metric = "{metric}"\n', ""), "exactly one of metric or sweep"),
        (
            CLAIM.replace(
                'metric = "{metric}"',
                'sweep = {{ condition = "c", at = [2, 1], metrics = ["a", "b"] }}',
            ),
            "increasing condition values",
        ),
    ],
)
def test_malformed_claims_are_rejected(tmp_book: TmpBook, body: str, message: str):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        body.format(experiment="t.exp", metric="python.ratio")
    )
    with pytest.raises(PerflabError, match=message):
        book.start()


# 扫描：说法没给的条件（消息速率、载荷、堆大小）扫一遍，判定看整条曲线


def swept(rule: Rule, at: list[float], medians: list[float], spread: float = 0.02) -> tuple:
    """A claim over a sweep and a result whose metric at each point has n=6 around a median."""
    keys = [f"python.m{i}" for i in range(len(at))]
    metrics = {
        key: Metric(
            key, "python", key, "m", "", [m * (1 + spread * d) for d in (-1, -0.5, 0, 0, 0.5, 1)]
        )
        for key, m in zip(keys, medians, strict=True)
    }
    claim = Claim(
        id="t.sweep", page="t.md", claim="c", quoted="q", source="s", experiment="t.exp",
        unit="", rule=rule, condition="c", sweep=Sweep("速率", "条/秒", tuple(at), tuple(keys)),
    )  # fmt: skip
    return claim, Result("t.exp", "t", "t.md", "full", metrics)


def test_sweep_that_crosses_the_band_depends_with_interpolated_boundaries():
    # 中位数 = 1000 × 速率，引文 800 ± 50%（400–1200）：速率约 0.4–1.2 之间成立
    rule = Rule("approx", value=800, tolerance=0.5, why="w")
    claim, result = swept(rule, [0.25, 0.5, 1, 2, 4], [250, 500, 1000, 2000, 4000])
    j = claims.judge(claim, result)
    assert j.verdict == DEPENDS
    assert [p.verdict for p in j.points] == [FAILS, HOLDS, HOLDS, FAILS, FAILS]
    assert [b.holds_above for b in j.boundaries] == [True, False]
    assert [b.at for b in j.boundaries] == pytest.approx([0.4, 1.2])
    assert "速率约在 0.4 条/秒 – 1.2 条/秒 时成立" in verdict_text.holding_region(j)


def test_sweep_boundary_on_a_one_sided_rule():
    # 中位数与堆大小成正比：0.03 s @ 32 MiB，「至少 0.1 s」从约 106.7 MiB 起成立
    rule = Rule("at_least", value=0.1, why="w")
    claim, result = swept(rule, [32, 128, 512], [0.03, 0.12, 0.48])
    j = claims.judge(claim, result)
    assert j.verdict == DEPENDS
    assert len(j.boundaries) == 1 and j.boundaries[0].holds_above
    assert j.boundaries[0].at == pytest.approx(32 * 0.1 / 0.03)
    # 成立的一段一直到最后一个扫描点：只说到扫描上限为止，不说“≳ 110”
    region = verdict_text.holding_region(j)
    assert "速率从约 110 条/秒 到扫描上限 512 条/秒 都成立" in region
    assert "≳" not in region


def test_a_region_from_the_start_of_the_sweep_stops_at_its_lower_end():
    rule = Rule("at_most", value=0.1, why="w")
    claim, result = swept(rule, [32, 128, 512], [0.03, 0.12, 0.48])
    region = verdict_text.holding_region(claims.judge(claim, result))
    assert "速率从扫描下限 32 条/秒 到约 110 条/秒 都成立" in region
    assert "≲" not in region


def test_sweep_that_stays_on_one_side_gives_a_firm_verdict():
    rule = Rule("approx", value=800, tolerance=0.5, why="w")
    claim, result = swept(rule, [1, 2, 4], [700, 800, 900])
    assert claims.judge(claim, result).verdict == HOLDS
    claim, result = swept(rule, [1, 2, 4], [2000, 4000, 8000])
    j = claims.judge(claim, result)
    assert j.verdict == FAILS and j.boundaries == []
    assert "处处不成立" in verdict_text.holding_region(j)


def test_a_jump_across_the_whole_band_gives_two_boundaries():
    rule = Rule("approx", value=100, tolerance=0.1, why="w")
    claim, result = swept(rule, [1, 2], [10, 1000])
    j = claims.judge(claim, result)
    # 两个点都在范围外，但曲线在两点之间穿过了整个范围：有一小段成立，视情况而定
    assert [p.verdict for p in j.points] == [FAILS, FAILS]
    assert j.verdict == DEPENDS
    assert [b.holds_above for b in j.boundaries] == [True, False]
    assert [b.at for b in j.boundaries] == pytest.approx(
        [2 ** (math.log10(9) / 2), 2 ** (math.log10(11) / 2)]
    )


def test_every_point_outside_the_band_but_the_curve_crossing_it_depends():
    # 载荷式扫描，每档约 ×3.8，而 ±50% 的范围只宽 3×：没有一个点落在 75–225 µs 里，
    # 中位数却在 4 KB 与 16 KB 之间从 60 µs 升到 240 µs，穿过了引文的 150 µs
    rule = Rule("approx", value=150e-6, tolerance=0.5, why="w")
    medians = [15e-6, 60e-6, 240e-6, 960e-6]
    claim, result = swept(rule, [1_000, 4_000, 16_000, 64_000], medians)
    j = claims.judge(claim, result)
    assert all(p.verdict == FAILS and not p.inside for p in j.points)
    assert j.verdict == DEPENDS
    # 对数-对数插值：耗时与载荷成正比，边界就在 75 µs、225 µs 对应的载荷上
    assert [b.at for b in j.boundaries] == pytest.approx([5_000, 15_000])
    assert [b.holds_above for b in j.boundaries] == [True, False]
    assert "速率约在 5,000 条/秒 – 15,000 条/秒 时成立" in verdict_text.holding_region(j)
    # 同一条曲线整体平移到范围之外，才是处处不成立
    claim, result = swept(rule, [1_000, 4_000, 16_000, 64_000], [m * 100 for m in medians])
    j = claims.judge(claim, result)
    assert j.verdict == FAILS and j.boundaries == []


def test_rule_text_shows_the_real_coverage_of_the_intervals_it_reads():
    rule = Rule("at_least", value=0.75, why="w")
    claim, result = swept(rule, [2, 4], [0.9, 0.95])
    result.metrics["python.m1"].values = [0.94, 0.95, 0.96]  # n=3：顺序统计量区间只覆盖 75%
    text = verdict_text.rule_text(claims.judge(claim, result))
    assert "区间（覆盖 75%）整体不低于 0.750 即成立" in text
    assert "95%" not in text


def test_coverage_rule_fails_a_full_profile_verdict_on_three_runs():
    rule = Rule("approx", value=800, tolerance=0.5, why="w")
    claim, result = swept(rule, [1, 2], [800, 900])
    result.metrics["python.m1"].values = [900.0, 901.0, 899.0]
    j = claims.judge(claim, result)
    with pytest.raises(
        PerflabError, match=r"claim t\.sweep: .*python\.m1 with n=3 .*covers only 75%"
    ):
        claims.check_coverage(j, "full")
    claims.check_coverage(j, "quick")  # quick 档只如实显示覆盖率，不拦


def test_full_build_with_too_few_runs_names_the_claim(tmp_book: TmpBook, monkeypatch):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="t.exp", metric="python.ratio")
    )
    monkeypatch.setenv("PERFLAB_PROFILE", "full")  # 夹具的 full 档只有 5 次重复：覆盖 94%
    session = book.start()
    with pytest.raises(PerflabError, match=r"claim t\.claim: .*n=5.*at least 6"):
        session.measure_all(report=lambda _: None)


def test_paired_ratio_interval_is_over_pairs_not_a_quotient_of_medians():
    numerator, denominator = [1.0, 2.0, 9.0, 4.0, 5.0, 6.0], [1.0, 1.0, 9.0, 4.0, 5.0, 3.0]
    pairs = measure.paired_ratios(numerator, denominator)
    assert pairs == [1.0, 2.0, 1.0, 1.0, 1.0, 2.0]
    s = summarize(pairs)
    assert s.median == 1.0 and (s.low, s.high) == (1.0, 2.0)
    with pytest.raises(ValueError, match="cannot pair"):
        measure.paired_ratios([1.0, 2.0], [1.0])


def test_declared_ratio_becomes_a_metric_paired_per_round(tmp_book: TmpBook):
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    registry_file.write_text(
        registry_file.read_text()
        + '\n[[experiment.ratio]]\nkey = "python.t_vs_ratio"\nlabel = "比"\n'
        'numerator = "python.t_s"\ndenominator = "python.ratio"\n'
    )
    result = book.start().result("t.exp")
    metric = result.metric("python.t_vs_ratio")
    assert metric.unit == "×" and metric.summary.n == 3
    assert metric.values == pytest.approx([0.55 / 1.02] * 3)


def test_sweep_positions_can_be_measured():
    # 载荷的实际字节数由示例量出：边界按实测的位置插值
    rule = Rule("approx", value=150e-6, tolerance=0.5, why="w")
    claim, result = swept(rule, [1, 2, 3], [30e-6, 90e-6, 300e-6])
    sizes = {"python.size0": 1249.0, "python.size1": 4819.0, "python.size2": 16784.0}
    for key, size in sizes.items():
        result.metrics[key] = Metric(key, "python", key, "字节", "B", [size] * 6)
    measured = dataclasses.replace(
        claim, sweep=dataclasses.replace(claim.sweep, at=(), at_metrics=tuple(sizes))
    )
    j = claims.judge(measured, result)
    assert j.at == list(sizes.values())
    assert j.verdict == DEPENDS and 1249 < j.boundaries[0].at < 4819 < j.boundaries[1].at < 16784
    result.metrics["python.size2"].values = [100.0] * 6
    with pytest.raises(PerflabError, match="not increasing"):
        claims.judge(measured, result)


def test_each_machine_says_where_a_swept_claim_holds_on_its_own_figures():
    # 两台机器上界线位置不同：说法表里每台机器各写自己的成立范围
    rule = Rule("approx", value=800, tolerance=0.5, why="w")
    claim, slow = swept(rule, [0.25, 0.5, 1, 2, 4], [250, 500, 1000, 2000, 4000])
    _, fast = swept(rule, [0.25, 0.5, 1, 2, 4], [125, 250, 500, 1000, 2000])
    cell = render.machine_verdicts(
        [("机器甲", claims.judge(claim, slow)), ("机器乙", claims.judge(claim, fast))]
    )
    assert "视情况而定：2/2 台机器" in cell
    assert "机器甲：视情况而定（速率约在 0.4 条/秒 – 1.2 条/秒 时成立" in cell
    assert "机器乙：视情况而定（速率约在 0.8 条/秒 – 2.4 条/秒 时成立" in cell
