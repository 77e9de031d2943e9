"""Verdicts in words: where along its sweep a claim holds, and under which conditions.

Shared by the claim tables on the pages and by the results document (its `region` field).
"""

from __future__ import annotations

import math

from perflab.claims import DEPENDS, FAILS, HOLDS, VERDICT_LABELS, Judgement
from perflab.units import fmt, scale_for

POINT_MARKS = {HOLDS: "✓", FAILS: "✗", DEPENDS: "？"}


def condition_value(value: float, unit: str, *, rough: bool = False) -> str:
    """A sweep's condition value with its unit (s and B scaled like metrics).

    rough=True keeps two significant digits: an interpolated boundary is no sharper.
    """
    divisor, shown = scale_for(unit, value) if unit in ("s", "B") else (1.0, unit)
    number = value / divisor
    if rough and number:
        number = round(number, 1 - math.floor(math.log10(abs(number))))
        return f"{number:,g} {shown}".strip()
    return fmt(value, unit) if unit in ("s", "B") else f"{number:,g} {unit}".strip()


def holding_region(j: Judgement) -> str:
    """Where the claim holds along its sweep, in words, or why it depends.

    A region that reaches an end of the sweep says so ("… 到扫描上限 1 条/秒都成立"): past
    the last point nothing was measured, so no "≳ X" may promise more.
    """
    sweep = j.claim.sweep
    if sweep is None:
        return "实测区间跨过界线，这次测量判断不了" if j.verdict == DEPENDS else ""
    first, last = j.at[0], j.at[-1]
    span = f"{condition_value(first, sweep.unit)} – {condition_value(last, sweep.unit)}"
    if j.verdict != DEPENDS:
        return f"在扫描范围 {span} 内处处{VERDICT_LABELS[j.verdict]}"
    if not j.boundaries:
        return "各点中位数都在同一侧，但有的点区间跨过界线，这次测量判断不了"
    # 从扫描起点出发，每过一个边界就切换“成立 / 不成立”
    holding, start, pieces = j.points[0].inside, first, []
    for b in [*j.boundaries, None]:
        end = last if b is None else b.at
        if holding:
            pieces.append(_region(sweep, start, end, first, last))
        if b is not None:
            holding, start = b.holds_above, b.at
    if not pieces:
        return "扫描范围内无处成立"
    return "；".join(pieces) + "（边界由相邻两点插值）"


def _region(sweep, start: float, end: float, first: float, last: float) -> str:
    """One stretch of the sweep where the claim holds; an end of the sweep is named as such."""
    unit = sweep.unit
    if start == first and end == last:
        return f"整个扫描范围 {condition_value(first, unit)} – {condition_value(last, unit)} 都成立"
    if start == first:
        return (
            f"{sweep.condition}从扫描下限 {condition_value(first, unit)} "
            f"到约 {condition_value(end, unit, rough=True)} 都成立"
        )
    if end == last:
        return (
            f"{sweep.condition}从约 {condition_value(start, unit, rough=True)} "
            f"到扫描上限 {condition_value(last, unit)} 都成立"
        )
    low, high = (condition_value(v, unit, rough=True) for v in (start, end))
    return f"{sweep.condition}约在 {low} – {high} 时成立"


def judged_under(j: Judgement) -> str:
    """The conditions a verdict was reached under: the fixed ones and the swept range."""
    claim = j.claim
    if claim.sweep is None:
        return claim.condition
    unit = claim.sweep.unit
    span = f"{condition_value(j.at[0], unit)} – {condition_value(j.at[-1], unit)}"
    return f"{claim.condition}；扫描 {claim.sweep.condition}：{span}（{len(j.at)} 个点）"


def coverage(summary) -> str:
    """How much an interval can be trusted, in the page's words: "n=6，区间覆盖 97%"."""
    return f"n={summary.n}，区间覆盖 {summary.confidence:.0%}"


def measured_lines(j: Judgement) -> list[str]:
    """What was measured for a claim, as the page shows it: one line, or one per sweep point
    (with its mark) and a last line with the weakest interval's coverage."""
    if j.claim.sweep is None:
        p = j.points[0]
        s = p.metric.summary
        where = f"{p.metric.run_label} · {p.metric.label}"
        return [f"{fmt(s.median, p.metric.unit)}（{where}，{coverage(s)}）"]
    unit = j.claim.sweep.unit
    lines = [
        f"{condition_value(p.at, unit)}：{fmt(p.metric.summary.median, p.metric.unit)} "
        f"{POINT_MARKS[p.verdict]}"
        for p in j.points
    ]
    weakest = min((p.metric for p in j.points), key=lambda m: m.summary.confidence)
    lines.append(f"{weakest.run_label} · 各点中最少：{coverage(weakest.summary)}")
    return lines


def rule_text(j: Judgement) -> str:
    """A claim's rule in the page's words, with the real coverage of the intervals it reads
    (the weakest point of a sweep): a quick build's n=3 covers 75%, not 95%."""
    unit = j.points[0].metric.unit
    weakest = min(p.metric.summary.confidence for p in j.points)
    return j.claim.rule.describe(lambda v: fmt(v, unit), confidence=weakest)


def plain(j: Judgement) -> str:
    """A claim's verdict as text for a terminal, with the same words as the page's table."""
    claim = j.claim
    lines = [f"「{claim.quoted}」：{VERDICT_LABELS[j.verdict]}"]
    lines += [f"  实测：{line}" for line in measured_lines(j)]
    lines.append(f"  条件：{judged_under(j)}")
    if region := holding_region(j):
        lines.append(f"  {region}")
    lines.append(f"  规则：{rule_text(j)}；理由：{claim.rule.why}")
    return "\n".join(lines)
