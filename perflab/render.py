"""Markdown for pages: result tables, charts, provenance lines, claim tables."""

from __future__ import annotations

import datetime as dt
from html import escape

from perflab import charts
from perflab.claims import VERDICT_LABELS, Claim, verdict
from perflab.registry import Chart
from perflab.results import Metric, Result
from perflab.units import fmt


def _interval(metric: Metric) -> str:
    s = metric.summary
    text = f"{fmt(s.low, metric.unit, like=s.median)} – {fmt(s.high, metric.unit, like=s.median)}"
    notes = []
    if not s.reaches_confidence:
        notes.append(f"样本少，仅覆盖 {s.confidence:.0%}")
    if s.wide:
        notes.append("⚠ 波动大")
    return f"{text}（{'，'.join(notes)}）" if notes else text


def metric_row(metric: Metric) -> str:
    s = metric.summary
    return (
        f"| {metric.run_label} | {metric.label} | **{fmt(s.median, metric.unit)}** "
        f"| {_interval(metric)} | {s.n} |"
    )


def table(result: Result, keys: list[str] | None = None) -> str:
    metrics = [result.metric(k) for k in keys] if keys else list(result.metrics.values())
    head = "| 实现 | 指标 | 中位数 | 95% 区间 | n |\n|---|---|---:|---|---:|"
    return "\n".join([head, *(metric_row(m) for m in metrics)])


def chart_html(result: Result, specs: list[Chart]) -> str:
    """The charts the registry declares for this experiment, as inline SVG."""
    return "\n".join(
        charts.bar_chart(c.title, [result.metric(k) for k in c.metrics]) for c in specs
    )


def _when(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso or "未知时间"


def provenance(result: Result) -> str:
    e = result.environment
    n = min((m.summary.n for m in result.metrics.values()), default=0)
    libs = " · ".join(f"{k} {v}" for k, v in e.get("libraries", {}).items())
    parts = [
        f"实测于 {_when(e.get('date', ''))}",
        f"档位 {result.profile}",
        f"每项 n={n}",
        f"{e.get('cpu_model', '?')}，本实验用 {e.get('cpus_used', '?')} / "
        f"{e.get('cpus_available', '?')} 个可用 CPU",
        f"{e.get('os', '?')}，内核 {e.get('kernel', '?')}",
        e.get("python", "?"),
    ]
    if any(m.run == "go" for m in result.metrics.values()):
        parts.append(e.get("go", "?"))
    if libs:
        parts.append(libs)
    parts.append(f"提交 {e.get('git_commit', '?')}")
    parts.append("本次构建读取缓存" if result.from_cache else "本次构建新测")
    return f'<p class="perflab-provenance"><small>{escape(" · ".join(parts))}</small></p>'


def figure(result: Result, specs: list[Chart]) -> str:
    """Table, charts and provenance of one experiment, ready to print from a page."""
    parts = (table(result), chart_html(result, specs), provenance(result))
    return "\n\n".join(x for x in parts if x)


def claim_rows(claims: list[tuple[Claim, Result]], *, with_page: bool = False) -> str:
    head = "| 说法（引述） | 我们的实测 | 判定 | 判定规则 |"
    sep = "|---|---|---|---|"
    if with_page:
        head, sep = head + " 出处页面 |", sep + "---|"
    rows = [head, sep]
    for claim, result in claims:
        metric = result.metric(claim.metric)
        s = metric.summary
        outcome = verdict(claim.rule, s)
        rule = claim.rule.describe(lambda v, m=metric: fmt(v, m.unit))
        measured = f"{fmt(s.median, metric.unit)}（{metric.run_label} · {metric.label}，n={s.n}）"
        row = (
            f"| {claim.quoted} | {measured} "
            f'| <span class="perflab-verdict perflab-{outcome}">{VERDICT_LABELS[outcome]}</span> '
            f"| {rule} |"
        )
        if with_page:
            row += f" [{claim.page}]({claim.page}) |"
        rows.append(row)
    return "\n".join(rows)


def claim_sources(claims: list[Claim]) -> str:
    sources = sorted({c.source for c in claims})
    return "\n".join(f"> 引述来源：{s}" for s in sources)
