"""Inline SVG charts. Text stays text, so the reader's browser draws the Chinese labels."""

from __future__ import annotations

from html import escape

from perflab.results import Metric
from perflab.units import fmt, scale_for

WIDTH = 680
LABEL_WIDTH = 230
VALUE_WIDTH = 150
ROW = 34
TOP = 40
BOTTOM = 30


def bar_chart(title: str, metrics: list[Metric]) -> str:
    """Horizontal bars at the median with whiskers for the interval; one row per metric."""
    if not metrics:
        raise ValueError("bar_chart needs at least one metric")
    units = {m.unit for m in metrics}
    if len(units) != 1:
        raise ValueError(f"chart {title!r} mixes units {sorted(units)}")
    unit = units.pop()
    summaries = [m.summary for m in metrics]
    top = max(max(s.high, s.median) for s in summaries) or 1.0
    divisor, shown = scale_for(unit, max(s.median for s in summaries))
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = TOP + ROW * len(metrics) + BOTTOM

    def x(value: float) -> float:
        return LABEL_WIDTH + plot * max(value, 0.0) / top

    rows = []
    for i, (metric, s) in enumerate(zip(metrics, summaries, strict=True)):
        y = TOP + i * ROW
        mid = y + ROW / 2
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{escape(metric.run_label)} · {escape(metric.label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 7}" width="{x(s.median) - LABEL_WIDTH:.1f}" '
            f'height="{ROW - 14}" class="perflab-bar"/>'
            f'<line x1="{x(s.low):.1f}" x2="{x(s.high):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
            f'class="perflab-whisker"/>'
            f'<text x="{x(max(s.high, s.median)) + 6:.1f}" y="{mid + 4:.1f}">'
            f"{escape(fmt(s.median, unit, like=divisor))}</text>"
        )
    axis_y = TOP + ROW * len(metrics)
    desc = "；".join(
        f"{m.run_label} {m.label}：中位数 {fmt(s.median, unit)}"
        for m, s in zip(metrics, summaries, strict=True)
    )
    return (
        f'<figure class="perflab-chart">'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" class="perflab-title">'
        f"{escape(title)}</text>"
        + "".join(rows)
        + f'<line x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH + plot}" y1="{axis_y}" y2="{axis_y}" '
        f'class="perflab-axis"/>'
        f'<text x="{LABEL_WIDTH}" y="{axis_y + 18}">0</text>'
        f'<text x="{LABEL_WIDTH + plot}" y="{axis_y + 18}" text-anchor="end">'
        f"{escape(fmt(top, unit, like=divisor))}</text>"
        f"</svg>"
        f"<figcaption>条形为中位数，横线为 95% 区间（单位 {escape(shown or '无')}）</figcaption>"
        f"</figure>"
    )
