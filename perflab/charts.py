"""Inline SVG charts. Text stays text, so the reader's browser draws the Chinese labels."""

from __future__ import annotations

import math
from html import escape

from perflab.results import Metric
from perflab.units import fmt, fmt_tick, scale_for

WIDTH = 680
MIN_LABEL_WIDTH = 120
MIN_PLOT_WIDTH = 280
VALUE_WIDTH = 150
ROW = 34
TOP = 40
BOTTOM = 30


def text_width(text: str, font_px: float = 13) -> float:
    """Rough rendered width: CJK characters are about one em wide, Latin ones about half."""
    return sum(font_px if ord(ch) >= 0x2E80 else font_px * 0.56 for ch in text)


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
    labels = [f"{m.run_label} · {m.label}" for m in metrics]
    label_width = max(max(text_width(t) for t in labels) + 16, MIN_LABEL_WIDTH)
    # 标签很长时加宽画布而不是截断文字（SVG 随容器缩放）
    width = max(WIDTH, label_width + MIN_PLOT_WIDTH + VALUE_WIDTH)
    plot = width - label_width - VALUE_WIDTH
    height = TOP + ROW * len(metrics) + BOTTOM

    def x(value: float) -> float:
        return label_width + plot * max(value, 0.0) / top

    rows = []
    for i, (label, s) in enumerate(zip(labels, summaries, strict=True)):
        y = TOP + i * ROW
        mid = y + ROW / 2
        rows.append(
            f'<text x="{label_width - 8}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 7}" width="{x(s.median) - label_width:.1f}" '
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
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height}" '
        f'role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
        f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" class="perflab-title">'
        f"{escape(title)}</text>"
        + "".join(rows)
        + f'<line x1="{label_width}" x2="{label_width + plot}" y1="{axis_y}" y2="{axis_y}" '
        f'class="perflab-axis"/>'
        f'<text x="{label_width}" y="{axis_y + 18}">0</text>'
        f'<text x="{label_width + plot}" y="{axis_y + 18}" text-anchor="end">'
        f"{escape(fmt(top, unit, like=divisor))}</text>"
        f"</svg>"
        f"<figcaption>条形为中位数，横线为 95% 区间（单位 {escape(shown or '无')}）</figcaption>"
        f"</figure>"
    )


LINE_HEIGHT = 300
LINE_LEFT = 80
LINE_RIGHT = 170
LINE_TOP = 40
LINE_BOTTOM = 50
SERIES_CLASSES = 6


def line_chart(
    title: str,
    x_labels: list[str],
    series: list[tuple[str, list[Metric]]],
    x_title: str = "",
    references: list[tuple[float, str]] | tuple = (),
    y_log: bool = False,
) -> str:
    """One line per series over categorical x values; points at the median, whiskers for the
    interval. For scaling curves (1, 2, 4 workers; 0 → 10k ready tasks) and boundary maps:
    `references` are (value, label) pairs drawn as dashed horizontal lines (a quoted figure),
    `y_log` puts the y axis on a log scale (values must be positive)."""
    if not series or any(len(ms) != len(x_labels) for _, ms in series):
        raise ValueError(f"chart {title!r}: every series needs one metric per x value")
    units = {m.unit for _, ms in series for m in ms}
    if len(units) != 1:
        raise ValueError(f"chart {title!r} mixes units {sorted(units)}")
    unit = units.pop()
    summaries = [[m.summary for m in ms] for _, ms in series]
    ref_values = [v for v, _ in references]
    top = max([max(s.high, s.median) for row in summaries for s in row] + ref_values) or 1.0
    divisor, shown = scale_for(unit, max(s.median for row in summaries for s in row))
    plot_w = WIDTH - LINE_LEFT - LINE_RIGHT
    plot_h = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM
    step = plot_w / max(len(x_labels) - 1, 1)
    bottom = 0.0
    if y_log:
        lows = [min(s.low, s.median) for row in summaries for s in row] + ref_values
        if min(lows) <= 0:
            raise ValueError(f"chart {title!r}: a log axis needs positive values")
        # 上下各留一点余量，取到整十倍，刻度落在 10 的整数次幂上
        bottom = 10 ** math.floor(math.log10(min(lows)))
        top = 10 ** math.ceil(math.log10(top))
        if top == bottom:
            top = bottom * 10

    def x(i: int) -> float:
        return LINE_LEFT + (i * step if len(x_labels) > 1 else plot_w / 2)

    def y(value: float) -> float:
        if y_log:
            share = (math.log10(max(value, bottom)) - math.log10(bottom)) / (
                math.log10(top) - math.log10(bottom)
            )
        else:
            share = max(value, 0.0) / top
        return LINE_TOP + plot_h * (1 - share)

    parts = [
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" class="perflab-title">'
        f"{escape(title)}</text>",
        f'<line x1="{LINE_LEFT}" x2="{LINE_LEFT + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
        f'class="perflab-axis"/>',
        f'<line x1="{LINE_LEFT}" x2="{LINE_LEFT}" y1="{LINE_TOP}" y2="{y(0):.1f}" '
        f'class="perflab-axis"/>',
    ]
    ticks = [bottom, top]
    if y_log:
        ticks = [10**e for e in range(round(math.log10(bottom)), round(math.log10(top)) + 1)]
    for tick in ticks:
        text = (
            "0" if tick == 0 else fmt_tick(tick, unit) if y_log else fmt(tick, unit, like=divisor)
        )
        parts.append(
            f'<line x1="{LINE_LEFT}" x2="{LINE_LEFT + plot_w}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}" class="perflab-grid"/>'
            f'<text x="{LINE_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{escape(text)}</text>"
        )
    placed: list[tuple[float, float, float]] = []  # 已放下的参考线标签：(y, 左端, 右端)
    for value, label in references:
        # 几条参考线挨得近时（对数轴上很常见），标签依次向左错开，不互相压住
        right, width = LINE_LEFT + plot_w - 4, text_width(label, 12)
        for py, left, end in sorted(placed, key=lambda p: -p[2]):
            if abs(py - y(value)) < 14 and right - width < end and right > left:
                right = left - 12
        placed.append((y(value), right - width, right))
        parts.append(
            f'<line x1="{LINE_LEFT}" x2="{LINE_LEFT + plot_w}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" class="perflab-reference"/>'
            f'<text x="{right:.1f}" y="{y(value) - 4:.1f}" text-anchor="end" '
            f'class="perflab-reference-label">{escape(label)}</text>'
        )
    for i, label in enumerate(x_labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{y(0) + 18:.1f}" text-anchor="middle">{escape(label)}</text>'
        )
    if x_title:
        parts.append(
            f'<text x="{LINE_LEFT + plot_w / 2}" y="{LINE_HEIGHT - 8}" text-anchor="middle">'
            f"{escape(x_title)}</text>"
        )
    desc = []
    for n, ((label, _), row) in enumerate(zip(series, summaries, strict=True)):
        cls = f"perflab-series-{n % SERIES_CLASSES}"
        points = " ".join(f"{x(i):.1f},{y(s.median):.1f}" for i, s in enumerate(row))
        parts.append(f'<polyline points="{points}" class="perflab-line {cls}"/>')
        for i, s in enumerate(row):
            parts.append(
                f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(s.low):.1f}" y2="{y(s.high):.1f}" '
                f'class="perflab-whisker {cls}"/>'
                f'<circle cx="{x(i):.1f}" cy="{y(s.median):.1f}" r="3.5" '
                f'class="perflab-dot {cls}"/>'
            )
        legend_y = LINE_TOP + 8 + n * 20
        parts.append(
            f'<line x1="{WIDTH - LINE_RIGHT + 16}" x2="{WIDTH - LINE_RIGHT + 36}" '
            f'y1="{legend_y}" y2="{legend_y}" class="perflab-line {cls}"/>'
            f'<text x="{WIDTH - LINE_RIGHT + 42}" y="{legend_y + 4}">{escape(label)}</text>'
        )
        values = "，".join(
            f"{xl} {fmt(s.median, unit)}" for xl, s in zip(x_labels, row, strict=True)
        )
        desc.append(f"{label}：{values}")
    desc += [f"参考线 {label}：{fmt(value, unit)}" for value, label in references]
    axis = "纵轴为对数刻度；" if y_log else ""
    return (
        f'<figure class="perflab-chart">'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {LINE_HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape('；'.join(desc))}</desc>"
        + "".join(parts)
        + "</svg>"
        f"<figcaption>{axis}点为中位数，竖线为 95% 区间（单位 {escape(shown or '无')}）"
        + ("；虚线为引述的数字" if references else "")
        + "</figcaption></figure>"
    )
