"""Markdown for pages: result tables, charts, provenance lines, claim tables."""

from __future__ import annotations

import posixpath
from html import escape

from perflab import charts, contention, verdict_text
from perflab.claims import VERDICT_LABELS, Claim, Judgement
from perflab.errors import PerflabError
from perflab.registry import Chart
from perflab.results import Metric, Result
from perflab.units import fmt, when


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


def machines_table(results: list[tuple[str, Result]]) -> str:
    """The same metrics measured on several machines, side by side (medians).

    A row is marked 不同 when two machines' 95% intervals do not overlap (the difference is
    beyond what either machine's run-to-run noise explains).
    """
    labels = [label for label, _ in results]
    head = (
        "| 实现 | 指标 | " + " | ".join(labels) + " | 机器间 |\n"
        "|---|---|" + "---:|" * len(labels) + "---|"
    )
    rows = []
    for key, metric in results[0][1].metrics.items():
        found = [r.metrics.get(key) for _, r in results]
        cells = [fmt(m.summary.median, m.unit) if m else "—" for m in found]
        present = [m.summary for m in found if m]
        differ = len(present) > 1 and max(s.low for s in present) > min(s.high for s in present)
        rows.append(
            f"| {metric.run_label} | {metric.label} | "
            + " | ".join(cells)
            + f" | {'不同' if differ else '在噪声内'} |"
        )
    return "\n".join([head, *rows])


def _series_of(result: Result, key: str) -> dict:
    try:
        data = result.series[key]
    except KeyError:
        known = ", ".join(result.series) or "none"
        raise PerflabError(
            f"experiment {result.experiment} reported no series {key!r} (it has: {known})"
        ) from None
    if not isinstance(data, dict) or not {"t", "values", "unit"} <= set(data):
        raise PerflabError(
            f"experiment {result.experiment}: series {key!r} needs t, values and unit"
        )
    return data


def _timeseries(result: Result, c: Chart) -> str:
    picked = [(label, _series_of(result, keys[0])) for label, keys in c.series]
    units = {d["unit"] for _, d in picked}
    if len(units) != 1:
        raise PerflabError(f"chart {c.title!r} mixes units {sorted(units)}")
    events = sorted({(float(t), str(label)) for _, d in picked for t, label in d.get("events", [])})
    return charts.timeseries_chart(
        c.title,
        [(label, d["t"], d["values"]) for label, d in picked],
        units.pop(),
        c.x_title or "时间（秒）",
        [(r.value, r.label) for r in c.references],
        events,
        c.y_log,
    )


def chart_html(result: Result, specs: list[Chart]) -> str:
    """The charts the registry declares for this experiment, as inline SVG.

    Bars and series of skipped optional runs are left out; a chart with nothing left is not
    drawn. Each chart is cached with its data (charts.py), so a rebuild draws nothing.
    """
    drawn = []
    for c in specs:
        references = [(r.value, r.label) for r in c.references]
        if c.kind == "timeseries":
            drawn.append(_timeseries(result, c))
            continue
        if c.kind == "bar":
            metrics = [result.metric(k) for k in c.metrics if not result.skipped(k)]
            if metrics:
                drawn.append(charts.bar_chart(c.title, metrics))
            continue
        series = [
            (label, [result.metric(k) for k in keys])
            for label, keys in c.series
            if not any(result.skipped(k) for k in keys)
        ]
        if not series:
            continue
        if c.kind == "line":
            drawn.append(
                charts.line_chart(
                    c.title,
                    list(c.x),
                    series,
                    c.x_title,
                    references,
                    c.y_log,
                    x_values=list(c.x_values) if c.x_values else None,
                    x_log=c.x_log,
                )
            )
        elif c.kind == "percentiles":
            points = [(label, list(zip(c.x_values, ms, strict=True))) for label, ms in series]
            drawn.append(charts.percentile_chart(c.title, points, None, references, c.y_log))
        elif c.kind == "grouped":
            drawn.append(
                charts.grouped_bar_chart(c.title, list(c.x), series, c.x_title, references)
            )
    return "\n".join(drawn)


def provenance(result: Result) -> str:
    e = result.environment
    n = min((m.summary.n for m in result.metrics.values()), default=0)
    versions = {**e.get("libraries", {}), **e.get("tools", {})}
    libs = " · ".join(f"{k} {v}" for k, v in versions.items())
    parts = [
        # make serve 时本机还没测的实验：数字来自参考快照（那台机器、那次提交、那个日期）
        *(["参考快照（不是本机测的，后台测完后自动替换）"] if result.from_reference else []),
        f"实测于 {when(e.get('date', ''))}",
        f"档位 {result.profile}",
        f"每项 n={n}",
        f"{e.get('cpu_model', '?')}，本实验用 {e.get('cpus_used', '?')} / "
        f"{e.get('cpus_available', '?')} 个可用 CPU",
        f"{e.get('os', '?')}，内核 {e.get('kernel', '?')}",
        e.get("python", "?"),
    ]
    busy = contention.summary(e)
    if busy is not None:
        parts.append(f"测量期间其他进程占用 CPU：中位 {busy[0]:.2f} 个，最多 {busy[1]:.2f} 个")
    found = [
        f"{name} {i['implementation']} {i['version']}"
        for name, i in e.get("interpreters", {}).items()
        if i.get("found")
    ]
    if found:
        parts.append("其他解释器：" + "，".join(found))
    if any(m.run == "go" for m in result.metrics.values()):
        parts.append(e.get("go", "?"))
    if libs:
        parts.append(libs)
    parts.append(f"提交 {e.get('git_commit', '?')}")
    if not result.from_reference:
        parts.append("本次构建读取缓存" if result.from_cache else "本次构建新测")
    return f'<p class="perflab-provenance"><small>{escape(" · ".join(parts))}</small></p>'


def interpreters_table(result: Result) -> str:
    """Which interpreters the experiment's runs asked for, which were found, and which not."""
    rows = [
        "| 实现 | 要求的解释器 | 结果 | 版本 | GIL | 路径或原因 |",
        "|---|---|---|---|---|---|",
    ]
    for name, i in result.environment.get("interpreters", {}).items():
        if i.get("found"):
            build = "自由线程版" if i["free_threaded"] else "默认版"
            gil = f"{'开启' if i['gil_enabled'] else '关闭'}（{build}）"
            rows.append(
                f"| {name} | `{i['requested']}` | 找到 | {i['implementation']} {i['version']} "
                f"| {gil} | `{i['executable']}` |"
            )
        else:
            rows.append(f"| {name} | `{i['requested']}` | 未找到，已跳过 | — | — | {i['why']} |")
    return "\n".join(rows)


def page_url(page: str) -> str:
    """The directory URL MkDocs gives a page: "ch1/gil.md" → "ch1/gil/", "ch1/index.md" → "ch1/"."""
    stem = page.removesuffix(".md").removesuffix(".ipynb")
    if stem == "index" or stem.endswith("/index"):
        stem = stem.removesuffix("index").rstrip("/")
    return f"{stem}/" if stem else ""


def page_href(page: str, from_page: str) -> str:
    """A link from one page to another as the built site needs it (exec output is not rewritten).

    Both pages have directory URLs, so the link is relative to the source page's directory.
    """
    rel = posixpath.relpath("/" + page_url(page), "/" + page_url(from_page))
    return "./" if rel == "." else rel + "/"


def _measured(j: Judgement) -> str:
    lines = verdict_text.measured_lines(j)
    if j.claim.sweep is None:
        return escape(lines[0])
    points = [f'<span class="perflab-point">{escape(line)}</span>' for line in lines[:-1]]
    return "<br>".join([*points, f"<small>{escape(lines[-1])}</small>"])


CLAIM_COLUMNS = ("说法（引述）", "我们的实测", "判定", "判定条件与边界")
MACHINES_COLUMN = "各机器"


def machine_verdicts(judged: list[tuple[str, Judgement]]) -> str:
    """ "成立：2/3 台机器" and each machine's verdict, for a claim judged on several machines;
    a claim judged along a sweep also says, per machine, where it holds (the boundary moves
    from one machine to another)."""
    counts: dict[str, int] = {}
    for _, j in judged:
        counts[j.verdict] = counts.get(j.verdict, 0) + 1
    summary = "；".join(f"{VERDICT_LABELS[v]}：{n}/{len(judged)} 台机器" for v, n in counts.items())
    lines = []
    for label, j in judged:
        region = verdict_text.holding_region(j) if j.claim.sweep is not None else ""
        line = f"{escape(label)}：{VERDICT_LABELS[j.verdict]}"
        lines.append(line + (f"（{escape(region)}）" if region else ""))
    return f"<strong>{summary}</strong><br><small>{'<br>'.join(lines)}</small>"


def claim_rows(
    judgements: list[tuple[Judgement, Result]],
    *,
    link_from: str | None = None,
    by_machine: dict[str, list[tuple[str, Judgement]]] | None = None,
) -> str:
    """Claim table as HTML; with link_from (the rendering page) each row links to the claim's page.

    The rule and the reason for its band fold away under the verdict. Each cell carries its
    column's name (data-label), so on a phone the stylesheet can stack a row into a card.
    by_machine (claim id → [(machine label, Judgement)]) adds a column for a build that merged
    results from several machines.
    """
    columns = CLAIM_COLUMNS + ((MACHINES_COLUMN,) if by_machine else ())
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = []
    for j, _result in judgements:
        claim = j.claim
        rule = escape(verdict_text.rule_text(j))
        where = escape(verdict_text.judged_under(j))
        region = verdict_text.holding_region(j)
        if region:
            where += f"<br><strong>{escape(region)}</strong>"
        verdict = (
            f'<span class="perflab-verdict perflab-{j.verdict}">{VERDICT_LABELS[j.verdict]}</span>'
            f'<details class="perflab-rule"><summary>规则</summary>{rule}；'
            f"理由：{escape(claim.rule.why)}</details>"
        )
        # 引文照录原话，下面一行是我们对它的理解（注册表的 claim），读者可以核对两者是否一致
        gist = f'<small class="perflab-gist">{escape(claim.claim)}</small>'
        quoted = f"{escape(claim.quoted)}<br>{gist}"
        if link_from is not None:
            href = escape(page_href(claim.page, link_from))
            quoted += (
                f'<br><small><a href="{href}">{escape(claim.page.removesuffix(".md"))}</a></small>'
            )
        cells = (quoted, _measured(j), verdict, where)
        if by_machine:
            cells += (machine_verdicts(by_machine.get(claim.id, [])),)
        rows.append(
            "<tr>"
            + "".join(
                f'<td data-label="{label}">{cell}</td>'
                for label, cell in zip(columns, cells, strict=True)
            )
            + "</tr>"
        )
    return (
        f'<table class="perflab-claims"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


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


def experiments_table(experiments: list, from_page: str) -> str:
    rows = [
        "| 实验 id | 页面 | 实现 | quick：进程数 × 参数 | full：进程数 × 参数 | 预热 | 超时 |",
        "|---|---|---|---|---|---|---|",
    ]
    for exp in experiments:

        def profile_cell(profile: str, exp=exp) -> str:
            args = "；".join(
                f"{r.name}: `{' '.join(r.args_for(profile)) or '—'}`" for r in exp.runs
            )
            return f"{exp.repeats_for(profile)}（预热 {exp.warmup_for(profile)}）× {args}"

        langs = "、".join(r.name for r in exp.runs)
        rows.append(
            f"| `{exp.id}` | [{exp.title}]({page_href(exp.page, from_page)}) | {langs} "
            f"| {profile_cell('quick')} "
            f"| {profile_cell('full')} | {exp.warmup_how or '—'} | {exp.timeout_s:g} s |"
        )
    return "\n".join(rows)


# Pieces for tables a page composes itself (summaries, matrices, lists an example reports in info).


def value(metric: Metric) -> str:
    """One metric inline: its median in bold, then the 95% interval and any warning."""
    s = metric.summary
    parts = [
        f"95% 区间 {fmt(s.low, metric.unit, like=s.median)} – "
        f"{fmt(s.high, metric.unit, like=s.median)}"
    ]
    if not s.reaches_confidence:
        parts.append(f"样本少，仅覆盖 {s.confidence:.0%}")
    if s.wide:
        parts.append("⚠ 波动大")
    return f"**{fmt(s.median, metric.unit)}**（{'，'.join(parts)}）"


def times(metric: Metric, digits: int = 1) -> str:
    """A ratio in a Chinese sentence ("是……的 N 倍"): the median as "N 倍", then its interval."""
    s = metric.summary
    parts = [f"95% 区间 {s.low:,.{digits}f} – {s.high:,.{digits}f}"]
    if not s.reaches_confidence:
        parts.append(f"样本少，仅覆盖 {s.confidence:.0%}")
    if s.wide:
        parts.append("⚠ 波动大")
    return f"{s.median:,.{digits}f} 倍（{'，'.join(parts)}）"


def grid(result: Result, template: str, rows: dict[str, str], cols: dict[str, str]) -> str:
    """Metrics laid out as a matrix: the cell of (row, col) is key template.format(row=, col=).

    rows and cols map the substituted text to the header shown; each cell is a median with its
    interval below it.
    """
    head = "| | " + " | ".join(cols.values()) + " |\n|---|" + "---:|" * len(cols)
    lines = [head]
    for r, row_label in rows.items():
        cells = []
        for c in cols:
            metric = result.metric(template.format(row=r, col=c))
            median = fmt(metric.summary.median, metric.unit)
            cells.append(f"**{median}**<br><small>{_interval(metric)}</small>")
        lines.append(f"| {row_label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def records(rows: list[dict], columns: list[tuple[str, ...]]) -> str:
    """A list of dicts (say, what an example reported in its info) as a table.

    Each column is (field, header) for text, (field, header, "code") for code, or
    (field, header, unit) for a number formatted with that unit ("" for a plain count).
    """
    head = "| " + " | ".join(c[1] for c in columns) + " |"
    align = "|" + "".join("---:|" if len(c) > 2 and c[2] != "code" else "---|" for c in columns)
    lines = [head, align]
    for row in rows:
        cells = []
        for field_name, _header, *kind in columns:
            cell = row[field_name]
            if kind and kind[0] == "code":
                text = f"<code>{escape(str(cell))}</code>"
            elif kind:
                text = escape(fmt(float(cell), kind[0]))
            else:
                text = escape(str(cell))
            cells.append(text.replace("|", "&#124;"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
