"""Charts drawn by matplotlib as inline SVG, each cached on disk with everything it depends on.

Text stays text (`svg.fonttype: none`): the reader's browser draws the Chinese labels with the
site's fonts. Layout never asks matplotlib how wide a label is (its fonts lack CJK glyphs);
margins come from `text_width`, so the drawing is the same on every machine. Colours are CSS
variables (extra.css), so a chart follows the site's light and dark schemes.

Every public function first reduces its input to a plain, JSON-able plan (labels, units,
medians and intervals, axes). The plan, the style, this module's source and matplotlib's
version key the cache: a rebuild with nothing changed reads the SVG and never imports
matplotlib (see chart_cache.py).
"""

from __future__ import annotations

import math
import re
from html import escape

from perflab import chart_cache
from perflab.results import Metric
from perflab.units import fmt, fmt_tick, scale_for

WIDTH = 440  # 视框宽度：手机上按比例缩小，440 在 360 px 屏上刻度字仍约 9.7 px
FONT = 14
SMALL = 13
SERIES_COLOURS = 6
# 画图时用的占位颜色，写出 SVG 后换成 CSS 变量（见 extra.css），随站点配色变化
FG, MUTED, GRID, REFERENCE = "#010101", "#020202", "#030303", "#040404"
SERIES = tuple(f"#05050{i}" for i in range(SERIES_COLOURS))
CSS_COLOURS = {
    FG: "var(--perflab-fg, #333)",
    MUTED: "var(--perflab-muted, #777)",
    GRID: "var(--perflab-grid, #ddd)",
    REFERENCE: "var(--perflab-reference, #c62828)",
    **{c: f"var(--perflab-s{i}, #3f51b5)" for i, c in enumerate(SERIES)},
}
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "perflab",
    "svg.image_inline": True,
    "font.size": FONT,
    "font.family": "sans-serif",
    "axes.edgecolor": MUTED,
    "axes.labelcolor": FG,
    "axes.linewidth": 1.0,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": FG,
    "ytick.labelcolor": FG,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "grid.color": GRID,
    "grid.linewidth": 1.0,
    "lines.linewidth": 2.2,
    "path.simplify": False,
    "savefig.transparent": True,
}
# 百分位图的横轴刻度：x = 1/(1-q)，HdrHistogram 的画法
PERCENTILE_TICKS = (50.0, 90.0, 99.0, 99.9, 99.99, 99.999)


def text_width(text: str, font_px: float = FONT) -> float:
    """Rough rendered width: CJK characters are about one em wide, Latin ones about half."""
    return sum(font_px if ord(ch) >= 0x2E80 else font_px * 0.58 for ch in text)


def _unit_of(title: str, metrics: list[Metric]) -> str:
    units = {m.unit for m in metrics}
    if len(units) != 1:
        raise ValueError(f"chart {title!r} mixes units {sorted(units)}")
    return units.pop()


def _point(m: Metric) -> list[float]:
    s = m.summary
    return [s.median, s.low, s.high]


def _check_log(title: str, values: list[float]) -> None:
    if min(values) <= 0:
        raise ValueError(f"chart {title!r}: a log axis needs positive values")


def _references(references) -> list[list]:
    return [[float(v), str(label)] for v, label in references]


def _caption(plan: dict, body: str) -> str:
    shown = scale_for(plan["unit"], plan["magnitude"])[1]
    notes = [body, f"单位 {shown}"] if shown else [body]  # 计数没有单位，不写“单位 无”
    if plan.get("y_log"):
        notes.insert(0, "纵轴为对数刻度")
    if plan.get("x_log"):
        notes.insert(0, "横轴为对数刻度")
    if plan.get("references"):
        notes.append("虚线为引述的数字")
    return "；".join(notes)


def _figure(plan: dict, desc: str, caption: str) -> str:
    svg = chart_cache.svg(plan, lambda: _draw(plan))
    # 替代文字：<title> 与 <desc> 放在 svg 的开头，读屏软件先读到
    head = f"<title>{escape(plan['title'])}</title><desc>{escape(desc)}</desc>"
    svg = svg.replace(">", f' role="img" aria-label="{escape(plan["title"])}">' + head, 1)
    return (
        f'<figure class="perflab-chart">'
        f'<div class="perflab-chart-title">{escape(plan["title"])}</div>'
        f"{svg}<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _values_text(unit: str, labels: list[str], points: list) -> str:
    return "，".join(
        f"{x} {fmt(p[0], unit)}" for x, p in zip(labels, points, strict=True) if p is not None
    )


def bar_chart(title: str, metrics: list[Metric]) -> str:
    """Horizontal bars at the median with whiskers for the interval; one row per metric.

    Each row's label sits on its own line above the bar (long Chinese labels need the
    width on a phone), with the median at the right end of that line."""
    if not metrics:
        raise ValueError("bar_chart needs at least one metric")
    unit = _unit_of(title, metrics)
    plan = {
        "kind": "bar",
        "title": title,
        "unit": unit,
        "labels": [f"{m.run_label} · {m.label}" for m in metrics],
        "points": [_point(m) for m in metrics],
    }
    plan["magnitude"] = max(p[0] for p in plan["points"])
    desc = "；".join(
        f"{label}：中位数 {fmt(p[0], unit)}，95% 区间 {fmt(p[1], unit)} – {fmt(p[2], unit)}"
        for label, p in zip(plan["labels"], plan["points"], strict=True)
    )
    return _figure(plan, desc, _caption(plan, "条形为中位数，横线为 95% 区间"))


def line_chart(
    title: str,
    x_labels: list[str],
    series: list[tuple[str, list[Metric]]],
    x_title: str = "",
    references: list[tuple[float, str]] | tuple = (),
    y_log: bool = False,
    x_values: list[float] | None = None,
    x_log: bool = False,
) -> str:
    """One line per series; points at the median, whiskers for the interval.

    x is categorical (1, 2, 4 workers; "K/4", "K") unless `x_values` gives numbers, which may
    sit on a log axis (`x_log`, a payload or concurrency sweep); `x_labels` name the ticks.
    `references` are (value, label) pairs drawn as dashed horizontal lines (a quoted figure),
    `y_log` puts the y axis on a log scale (values must be positive)."""
    if not series or any(len(ms) != len(x_labels) for _, ms in series):
        raise ValueError(f"chart {title!r}: every series needs one metric per x value")
    if x_values is not None and len(x_values) != len(x_labels):
        raise ValueError(f"chart {title!r}: x_values and x_labels differ in length")
    if x_log and x_values is None:
        raise ValueError(f"chart {title!r}: a log x axis needs numeric x values")
    unit = _unit_of(title, [m for _, ms in series for m in ms])
    plan = {
        "kind": "line",
        "title": title,
        "unit": unit,
        "x_labels": [str(x) for x in x_labels],
        "x_values": [float(v) for v in x_values] if x_values is not None else None,
        "x_title": x_title,
        "x_log": x_log,
        "y_log": y_log,
        "series": [[label, [_point(m) for m in ms]] for label, ms in series],
        "references": _references(references),
    }
    points = [p for _, pts in plan["series"] for p in pts]
    plan["magnitude"] = max(p[0] for p in points)
    if y_log:
        _check_log(title, [min(p) for p in points] + [v for v, _ in plan["references"]])
    if x_log:
        _check_log(title, plan["x_values"])
    desc = [
        f"{label}：{_values_text(unit, plan['x_labels'], pts)}" for label, pts in plan["series"]
    ]
    desc += [f"参考线 {label}：{fmt(v, unit)}" for v, label in plan["references"]]
    return _figure(plan, "；".join(desc), _caption(plan, "点为中位数，竖线为 95% 区间"))


def percentile_label(q: float) -> str:
    return f"p{q:g}"


def percentile_chart(
    title: str,
    series: list[tuple[str, list[tuple[float, Metric | float]]]],
    unit: str | None = None,
    references: list[tuple[float, str]] | tuple = (),
    y_log: bool = False,
) -> str:
    """Latency against percentile, as HdrHistogram plots it: x = 1/(1-q) on a log axis, so
    p50, p90, p99, p99.9, p99.99 sit one step apart and the tail gets the room it needs.

    Each series is a list of (percentile 0–100, value) pairs; a value is a measured Metric
    (drawn with its interval) or a plain number in `unit` (one histogram's reading)."""
    if not series or any(not pts for _, pts in series):
        raise ValueError(f"chart {title!r}: every series needs at least one percentile")
    metrics = [v for _, pts in series for _, v in pts if isinstance(v, Metric)]
    if metrics:
        unit = _unit_of(title, metrics + ([] if unit is None else [_Unit(unit)]))
    elif unit is None:
        raise ValueError(f"chart {title!r}: plain values need a unit")
    rows = []
    for label, pts in series:
        row = []
        for q, v in sorted(pts, key=lambda p: p[0]):
            if not 0 <= q < 100:
                raise ValueError(f"chart {title!r}: percentile {q} is not in [0, 100)")
            value = _point(v) if isinstance(v, Metric) else [float(v)] * 3
            row.append([float(q), *value])
        rows.append([label, row])
    plan = {
        "kind": "percentiles",
        "title": title,
        "unit": unit,
        "series": rows,
        "references": _references(references),
        "y_log": y_log,
        "x_log": True,
    }
    values = [p[1] for _, row in rows for p in row]
    plan["magnitude"] = max(values)
    if y_log:
        _check_log(title, [min(p[1:]) for _, row in rows for p in row])
    desc = [
        f"{label}：" + "，".join(f"{percentile_label(p[0])} {fmt(p[1], unit)}" for p in row)
        for label, row in rows
    ]
    desc += [f"参考线 {label}：{fmt(v, unit)}" for v, label in plan["references"]]
    whiskers = "，竖线为 95% 区间" if metrics else ""
    body = f"横轴为百分位（按 1/(1−q) 取对数刻度，越往右越靠尾部）；点为中位数{whiskers}"
    caption = _caption(plan, body).replace("横轴为对数刻度；", "")
    return _figure(plan, "；".join(desc), caption)


class _Unit:
    """A stand-in so a given unit takes part in the mixed-unit check."""

    def __init__(self, unit: str) -> None:
        self.unit = unit


def timeseries_chart(
    title: str,
    series: list[tuple[str, list[float], list[float]]],
    unit: str,
    x_title: str = "时间（秒）",
    references: list[tuple[float, str]] | tuple = (),
    events: list[tuple[float, str]] | tuple = (),
    y_log: bool = False,
) -> str:
    """A value against seconds (latency while a worker is recycled): one line per series of
    (label, seconds, values); `events` are (second, label) pairs drawn as vertical lines."""
    if not series:
        raise ValueError(f"chart {title!r}: no series")
    for label, t, v in series:
        if not t or len(t) != len(v):
            raise ValueError(f"chart {title!r}: series {label!r} needs one value per time")
    plan = {
        "kind": "timeseries",
        "title": title,
        "unit": unit,
        "x_title": x_title,
        "series": [[label, [float(x) for x in t], [float(y) for y in v]] for label, t, v in series],
        "references": _references(references),
        "events": [[float(t), str(label)] for t, label in events],
        "y_log": y_log,
    }
    plan["magnitude"] = max(max(v) for _, _, v in plan["series"])
    if y_log:
        _check_log(title, [y for _, _, v in plan["series"] for y in v])
    desc = []
    for label, t, v in plan["series"]:
        peak = max(range(len(v)), key=v.__getitem__)
        desc.append(
            f"{label}：{len(v)} 个点，{t[0]:g}–{t[-1]:g} 秒，中位数 "
            f"{fmt(sorted(v)[len(v) // 2], unit)}，最大 {fmt(v[peak], unit)}（第 {t[peak]:g} 秒）"
        )
    desc += [f"事件 {label}：第 {t:g} 秒" for t, label in plan["events"]]
    desc += [f"参考线 {label}：{fmt(v, unit)}" for v, label in plan["references"]]
    body = "每条线为一次运行中随时间的读数" + ("；竖虚线标出事件" if plan["events"] else "")
    return _figure(plan, "；".join(desc), _caption(plan, body))


def grouped_bar_chart(
    title: str,
    groups: list[str],
    series: list[tuple[str, list[Metric]]],
    x_title: str = "",
    references: list[tuple[float, str]] | tuple = (),
) -> str:
    """Vertical bars, one group per condition and one bar per run inside it, each at the median
    with a whisker for the interval (several runs × several conditions)."""
    if not series or any(len(ms) != len(groups) for _, ms in series):
        raise ValueError(f"chart {title!r}: every series needs one metric per group")
    unit = _unit_of(title, [m for _, ms in series for m in ms])
    plan = {
        "kind": "grouped",
        "title": title,
        "unit": unit,
        "x_labels": [str(g) for g in groups],
        "x_title": x_title,
        "series": [[label, [_point(m) for m in ms]] for label, ms in series],
        "references": _references(references),
    }
    plan["magnitude"] = max(p[0] for _, pts in plan["series"] for p in pts)
    desc = [
        f"{label}：{_values_text(unit, plan['x_labels'], pts)}" for label, pts in plan["series"]
    ]
    desc += [f"参考线 {label}：{fmt(v, unit)}" for v, label in plan["references"]]
    return _figure(plan, "；".join(desc), _caption(plan, "柱为中位数，竖线为 95% 区间"))


# 以下只在缓存未命中时运行：才导入 matplotlib


def _draw(plan: dict) -> str:
    import warnings

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE), warnings.catch_warnings():
        # 缺中文字形的警告无关紧要：文字不由 matplotlib 画，版面也不靠它量
        warnings.simplefilter("ignore", UserWarning)
        draw = {
            "bar": _draw_bar,
            "line": _draw_xy,
            "percentiles": _draw_xy,
            "timeseries": _draw_xy,
            "grouped": _draw_grouped,
        }[plan["kind"]]
        fig = draw(Figure, plan)
        import io

        out = io.StringIO()
        fig.savefig(
            out,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    return _clean_svg(out.getvalue(), "c" + chart_cache.key(plan)[:8])


def _clean_svg(svg: str, prefix: str) -> str:
    """Inline-ready SVG: no prolog, metadata or global <style>, size from CSS, colours as CSS
    variables, no font family (the page's font stack applies), ids only where referenced."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", svg, flags=re.S)
    svg = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)
    svg = re.sub(r' version="1.1"| id="[^"]*"(?=[^>]*viewBox)', "", svg, count=2)
    svg = re.sub(r"font-family:[^;\"]*;?\s*", "", svg)
    svg = re.sub(r' transform="rotate\(-0 [^"]*\)"', "", svg)
    # 只留被引用的 id，并加上本图的前缀：一页上几张图的 id 不会相撞
    defined = set(re.findall(r' id="([^"]+)"', svg))
    used = defined & set(re.findall(r'#([\w-]+)["\)]', svg))
    svg = re.sub(r' id="([^"]+)"', lambda m: f' id="{prefix}-{m[1]}"' if m[1] in used else "", svg)
    svg = re.sub(
        r'#([\w-]+)(["\)])', lambda m: f"#{prefix}-{m[1]}{m[2]}" if m[1] in used else m[0], svg
    )
    for colour, css in CSS_COLOURS.items():
        svg = svg.replace(colour, css)
    svg = re.sub(r">\s+<", "><", svg)
    # 坐标保留两位小数就够了（百分之一像素），只改标签里的属性，不动文字
    svg = re.sub(r"<[^>]+>", lambda m: re.sub(r"(\d\.\d\d)\d+", r"\1", m[0]), svg)
    return svg.replace("\n", " ").strip()


def _formatter(unit: str, magnitude: float, log: bool):
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _pos=None) -> str:
        if value == 0:
            return "0"
        if log and unit == "" and float(value).is_integer():
            return f"{int(value):,}"  # 计数：10,000 而不是 1e+04
        if log:
            return fmt_tick(value, unit)
        return fmt(value, unit, like=magnitude)  # 15,000 而不是 1.5e+04

    return FuncFormatter(label)


def _legend_rows(labels: list[str], width: float) -> list[list[tuple[str, float]]]:
    """Legend entries laid out left to right, wrapping at the chart width."""
    rows: list[list[tuple[str, float]]] = [[]]
    x = 0.0
    for label in labels:
        need = 26 + text_width(label, SMALL) + 16
        if rows[-1] and x + need > width:
            rows.append([])
            x = 0.0
        rows[-1].append((label, x))
        x += need
    return rows


def _draw_legend(fig, labels: list[str], top: float, height: float, kind: str) -> None:
    for r, row in enumerate(_legend_rows(labels, WIDTH - 16)):
        y = (height - top + 14 - r * 22) / height
        for label, x in row:
            i = labels.index(label)
            colour = SERIES[i % SERIES_COLOURS]
            x0 = (8 + x) / WIDTH
            swatch = _swatch if kind == "bar" else _line_swatch
            fig.add_artist(swatch(fig, x0, y, colour))
            fig.text(x0 + 26 / WIDTH, y, label, fontsize=SMALL, color=FG, va="center")


def _swatch(fig, x0: float, y: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x0 + 4 / WIDTH, y - 6 / fig.bbox.height),
        14 / WIDTH,
        12 / fig.bbox.height,
        transform=fig.transFigure,
        facecolor=colour,
        alpha=0.85,
    )


def _line_swatch(fig, x0: float, y: float, colour: str):
    from matplotlib.lines import Line2D

    return Line2D(
        [x0, x0 + 20 / WIDTH],
        [y, y],
        transform=fig.transFigure,
        color=colour,
        marker="o",
        markevery=[1],
        markersize=4,
    )


def _legend_height(labels: list[str]) -> float:
    if len(labels) < 2:
        return 8
    return 22 * len(_legend_rows(labels, WIDTH - 16)) + 6


def _place_references(fig, ax, references: list[list], unit: str) -> None:
    """Dashed lines for quoted figures; labels staggered so that none covers another."""
    box = ax.get_window_extent()
    placed: list[tuple[float, float, float]] = []  # 已放下的标签：(y 像素, 左端, 右端)
    for value, label in references:
        ax.axhline(value, color=REFERENCE, linestyle=(0, (6, 4)), linewidth=1.4, zorder=1.5)
        y = ax.transData.transform((0, value))[1]
        width = text_width(label, SMALL)
        right = box.x1 - 4
        below = False
        # 几条参考线挨得近时（对数轴上常见），标签依次向左错开；左边放不下就放到线下
        for py, left, end in sorted(placed, key=lambda p: -p[2]):
            if abs(py - y) < 16 and right - width < end and right > left:
                right = left - 12
        if right - width < box.x0 + 4:
            right, below = box.x1 - 4, True
            for py, left, end in placed:
                if abs(py - (y - 16)) < 16 and right - width < end and right > left:
                    right = left - 12
        placed.append((y - 16 if below else y, right - width, right))
        fig.text(
            right / fig.bbox.width,
            (y + (-5 if below else 4)) / fig.bbox.height,
            label,
            fontsize=SMALL,
            color=REFERENCE,
            ha="right",
            va="top" if below else "bottom",
        )


def _y_axis(ax, plan: dict, lows: list[float], highs: list[float]) -> None:
    unit, log = plan["unit"], plan.get("y_log", False)
    refs = [v for v, _ in plan.get("references", [])]
    top = max(highs + refs) or 1.0
    if log:
        from matplotlib.ticker import LogLocator, NullFormatter

        # 上下取到整十倍，刻度落在 10 的整数次幂上
        bottom = 10 ** math.floor(math.log10(min(lows + refs)))
        top = 10 ** math.ceil(math.log10(top))
        if top == bottom:
            top = bottom * 10
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=range(2, 10), numticks=12))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        from matplotlib.ticker import MaxNLocator

        ax.set_ylim(0, top * 1.06)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(_formatter(unit, plan["magnitude"], log))


def _left_margin(ax, plan: dict) -> float:
    """Room for the y tick labels, from their text (never from matplotlib's font metrics)."""
    lo, hi = ax.get_ylim()
    formatter = ax.yaxis.get_major_formatter()
    ticks = [t for t in ax.yaxis.get_major_locator()() if min(lo, hi) <= t <= max(lo, hi)]
    return max([text_width(formatter(t), SMALL) for t in ticks] + [10]) + 14


def _frame(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, which="major", axis="both")
    ax.set_axisbelow(True)
    ax.tick_params(which="both", length=4)
    ax.tick_params(which="minor", length=2)


def _draw_xy(Figure, plan: dict):
    """Line, percentile and time-series charts: one axes, lines with optional whiskers."""
    kind = plan["kind"]
    labels = [s[0] for s in plan["series"]]
    legend = _legend_height(labels)
    x_title = plan.get("x_title", "")
    if kind == "percentiles":
        x_title = "百分位"
    plot_h = 230
    bottom = 34 + (22 if x_title else 0)
    height = legend + 10 + plot_h + bottom
    fig = Figure(figsize=(WIDTH / 72, height / 72), dpi=72)
    ax = fig.add_axes((0.2, bottom / height, 0.7, plot_h / height))
    _frame(ax)
    lows, highs, xs = [], [], []
    for i, (label, *data) in enumerate(plan["series"]):
        colour = SERIES[i % SERIES_COLOURS]
        if kind == "timeseries":
            t, v = data
            ax.plot(t, v, color=colour, linewidth=1.8, marker="o" if len(t) <= 30 else None,
                    markersize=3.5, label=label)  # fmt: skip
            lows += v
            highs += v
            xs += t
            continue
        if kind == "percentiles":
            row = data[0]
            x = [1 / (1 - p[0] / 100) for p in row]
            pts = [p[1:] for p in row]
        else:
            pts = data[0]
            x = plan["x_values"] or list(range(len(pts)))
        med = [p[0] for p in pts]
        ax.plot(x, med, color=colour, marker="o", markersize=5, label=label, zorder=3)
        ax.vlines(x, [p[1] for p in pts], [p[2] for p in pts], color=colour, linewidth=2,
                  zorder=3)  # fmt: skip
        lows += [min(p) for p in pts]
        highs += [max(p) for p in pts]
        xs += list(x)
    _y_axis(ax, plan, lows, highs)
    if kind == "timeseries":
        ax.set_xlim(min(xs), max(xs))
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    elif kind == "percentiles":
        from matplotlib.ticker import FixedLocator, NullLocator

        ax.set_xscale("log")
        lo, hi = min(xs), max(xs)
        ax.set_xlim(lo / 1.25, hi * 1.25)
        ticks = [q for q in PERCENTILE_TICKS if lo / 1.3 <= 1 / (1 - q / 100) <= hi * 1.3]
        ax.xaxis.set_major_locator(FixedLocator([1 / (1 - q / 100) for q in ticks]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([percentile_label(q) for q in ticks])
    elif plan["x_values"] is not None:
        from matplotlib.ticker import FixedLocator, NullLocator

        values = plan["x_values"]
        if plan["x_log"]:
            ax.set_xscale("log")
            span = (max(values) / min(values)) ** 0.06
            ax.set_xlim(min(values) / span, max(values) * span)
        else:
            pad = (max(values) - min(values)) * 0.06 or 1
            ax.set_xlim(min(values) - pad, max(values) + pad)
        ax.xaxis.set_major_locator(FixedLocator(values))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels(plan["x_labels"])
    else:
        n = len(plan["x_labels"])
        ax.set_xlim(-0.35, n - 0.65)
        ax.set_xticks(range(n), plan["x_labels"])
        ax.grid(False, axis="x")
    left = _left_margin(ax, plan)
    ax.set_position((left / WIDTH, bottom / height, (WIDTH - left - 16) / WIDTH, plot_h / height))
    if x_title:
        ax.set_xlabel(x_title, fontsize=SMALL, color=FG)
    if kind == "timeseries":
        _place_events(fig, ax, plan["events"])
    _place_references(fig, ax, plan.get("references", []), plan["unit"])
    if len(labels) > 1:
        _draw_legend(fig, labels, legend, height, "line")
    return fig


def _place_events(fig, ax, events: list[list]) -> None:
    """Vertical dotted lines at events (a worker recycled); close labels go to a second row."""
    box = ax.get_window_extent()
    last_end = {0: -math.inf, 1: -math.inf}
    for t, label in events:
        ax.axvline(t, color=MUTED, linestyle=(0, (2, 3)), linewidth=1.2, zorder=1.5)
        x = ax.transData.transform((t, 0))[0]
        width = text_width(label, SMALL)
        start = min(x + 4, box.x1 - width)
        row = 0 if start > last_end[0] + 6 else 1
        last_end[row] = start + width
        fig.text(start / fig.bbox.width, (box.y1 - 16 - row * 17) / fig.bbox.height, label,
                 fontsize=SMALL, color=MUTED, va="bottom")  # fmt: skip


def _draw_bar(Figure, plan: dict):
    """Label line above each bar, median at its right; a shared value axis at the bottom."""
    row, bottom, top_pad = 46, 30, 6
    n = len(plan["labels"])
    height = top_pad + row * n + bottom
    fig = Figure(figsize=(WIDTH / 72, height / 72), dpi=72)
    left, right = 10, 14
    plot_w = WIDTH - left - right
    ax = fig.add_axes((left / WIDTH, bottom / height, plot_w / WIDTH, row * n / height))
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.set_ylim(row * n, 0)
    ax.set_yticks([])
    pts = plan["points"]
    top = max(max(p) for p in pts) or 1.0
    ax.set_xlim(0, top * 1.04)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.xaxis.set_major_formatter(_formatter(plan["unit"], plan["magnitude"], False))
    ax.grid(True, axis="x")
    ax.set_axisbelow(True)
    ax.tick_params(length=4)
    unit = plan["unit"]
    divisor = scale_for(unit, plan["magnitude"])[0]
    for i, (label, (median, low, high)) in enumerate(zip(plan["labels"], pts, strict=True)):
        y = i * row
        ax.barh(y + 29, max(median, 0), height=16, color=SERIES[0], alpha=0.8, zorder=2)
        ax.errorbar(median, y + 29, xerr=[[median - low], [high - median]], fmt="none",
                    ecolor=FG, elinewidth=1.6, capsize=4, zorder=3)  # fmt: skip
        value = fmt(median, unit, like=divisor)
        ax.text(0, y + 16, label, color=FG, fontsize=FONT, va="baseline", ha="left")
        ax.text(top * 1.04, y + 16, value, color=FG, fontsize=FONT, va="baseline", ha="right",
                fontweight="bold")  # fmt: skip
    return fig


def _draw_grouped(Figure, plan: dict):
    """Groups (conditions) along x, one coloured bar per series inside each group."""
    labels = [s[0] for s in plan["series"]]
    legend = _legend_height(labels)
    x_title = plan.get("x_title", "")
    plot_h = 220
    bottom = 34 + (22 if x_title else 0)
    height = legend + 10 + plot_h + bottom
    fig = Figure(figsize=(WIDTH / 72, height / 72), dpi=72)
    ax = fig.add_axes((0.2, bottom / height, 0.7, plot_h / height))
    _frame(ax)
    ax.grid(False, axis="x")
    n, k = len(plan["x_labels"]), len(plan["series"])
    width = 0.8 / k
    highs = []
    for i, (label, pts) in enumerate(plan["series"]):
        x = [g - 0.4 + width * (i + 0.5) for g in range(n)]
        colour = SERIES[i % SERIES_COLOURS]
        ax.bar(x, [p[0] for p in pts], width=width * 0.9, color=colour, alpha=0.85, label=label,
               zorder=2)  # fmt: skip
        ax.errorbar(x, [p[0] for p in pts], yerr=[[p[0] - p[1] for p in pts],
                    [p[2] - p[0] for p in pts]], fmt="none", ecolor=FG, elinewidth=1.4,
                    capsize=3, zorder=3)  # fmt: skip
        highs += [max(p) for p in pts]
    _y_axis(ax, {**plan, "y_log": False}, [0.0], highs)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_xticks(range(n), plan["x_labels"])
    ax.tick_params(axis="x", length=0)
    left = _left_margin(ax, plan)
    ax.set_position((left / WIDTH, bottom / height, (WIDTH - left - 16) / WIDTH, plot_h / height))
    if x_title:
        ax.set_xlabel(x_title, fontsize=SMALL, color=FG)
    _place_references(fig, ax, plan.get("references", []), plan["unit"])
    if k > 1:
        _draw_legend(fig, labels, legend, height, "bar")
    return fig
