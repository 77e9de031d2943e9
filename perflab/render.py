"""Markdown for pages: result tables, charts, provenance lines, claim tables."""

from __future__ import annotations

import datetime as dt
import posixpath
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


def claim_rows(claims: list[tuple[Claim, Result]], *, link_from: str | None = None) -> str:
    """Claim table; with link_from (the rendering page) each row links to the claim's page."""
    head = "| 说法（引述） | 我们的实测 | 判定 | 判定规则 |"
    sep = "|---|---|---|---|"
    if link_from is not None:
        head, sep = head + " 所在页面 |", sep + "---|"
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
        if link_from is not None:
            target = posixpath.relpath(claim.page, posixpath.dirname(link_from) or ".")
            row += f" [{result.title}]({target}) |"
        rows.append(row)
    return "\n".join(rows)


def claim_sources(claims: list[Claim]) -> str:
    sources = sorted({c.source for c in claims})
    return "\n".join(f"> 引述来源：{s}" for s in sources)


ENVIRONMENT_LABELS = {
    "cpu_model": "CPU 型号",
    "cpu_count": "CPU 数（系统）",
    "cpus_available": "本进程可用 CPU 数",
    "arch": "架构",
    "os": "操作系统",
    "kernel": "内核",
    "python": "Python",
    "python_executable": "Python 解释器路径",
    "go": "Go",
    "libraries": "关键库版本",
    "git_commit": "代码提交",
    "date": "构建时间（UTC）",
    "profile": "档位",
}


def environment_table(environment: dict) -> str:
    rows = ["| 项目 | 值 |", "|---|---|"]
    for key, label in ENVIRONMENT_LABELS.items():
        value = environment.get(key, "")
        if isinstance(value, dict):
            value = "，".join(f"{k} {v}" for k, v in value.items()) or "—"
        rows.append(f"| {label} | `{value}` |")
    return "\n".join(rows)


def experiments_table(experiments: list) -> str:
    rows = [
        "| 实验 id | 页面 | 实现 | quick：进程数 × 参数 | full：进程数 × 参数 | 超时 |",
        "|---|---|---|---|---|---|",
    ]
    for exp in experiments:

        def profile_cell(profile: str, exp=exp) -> str:
            args = "；".join(
                f"{r.name}: `{' '.join(r.args_for(profile)) or '—'}`" for r in exp.runs
            )
            return f"{exp.repeats_for(profile)}（预热 {exp.warmup_for(profile)}）× {args}"

        langs = "、".join(r.name for r in exp.runs)
        rows.append(
            f"| `{exp.id}` | [{exp.title}]({exp.page}) | {langs} | {profile_cell('quick')} "
            f"| {profile_cell('full')} | {exp.timeout_s:g} s |"
        )
    return "\n".join(rows)
