"""Human-readable numbers with units (seconds scaled to ms/µs, bytes to KiB/MiB)."""

from __future__ import annotations

import datetime as dt
import math

# 示例输出与说法可用的单位：国际单位制的基本单位（秒、字节）、倍数、百分比、无单位（次数）；
# 换算成 ms、MiB 是渲染的事
METRIC_UNITS = ("s", "B", "×", "%", "")


def allowed() -> str:
    """The allowed units as a reader types them: "s, B, ×, %, or '' (a count)"."""
    return ", ".join(METRIC_UNITS[:-1]) + " or '' (a count)"


_TIME_STEPS = [(1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")]
_BYTE_STEPS = [(2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B")]


def _significant(x: float, digits: int = 3) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(x))), 0)
    return f"{x:,.{decimals}f}"


def scale_for(unit: str, magnitude: float) -> tuple[float, str]:
    """(divisor, display unit) suited to a value of this magnitude."""
    steps = {"s": _TIME_STEPS, "B": _BYTE_STEPS}.get(unit)
    if not steps:
        return 1.0, unit
    for divisor, name in steps:
        if abs(magnitude) >= divisor:
            return divisor, name
    return steps[-1]


def fmt(value: float, unit: str, *, like: float | None = None) -> str:
    """`value` with its unit; `like` picks the scale (so an interval shares its median's unit)."""
    if unit == "" and math.isfinite(value) and float(value).is_integer():
        return f"{int(value):,}"  # 无单位的整数（次数、个数）不带小数
    divisor, shown = scale_for(unit, value if like is None else like)
    number = _significant(value / divisor)
    if shown in ("", "×", "%"):
        return f"{number}{shown}"
    return f"{number} {shown}"


def fmt_tick(value: float, unit: str) -> str:
    """An axis tick: its own scale and no padding zeros ("1 µs", "10 µs", "100 µs", "1 ms")."""
    divisor, shown = scale_for(unit, value)
    number = f"{value / divisor:,.3g}"
    return f"{number}{shown}" if shown in ("", "×", "%") else f"{number} {shown}"


def when(iso: str, unknown: str = "未知时间") -> str:
    """An ISO 8601 timestamp as "YYYY-MM-DD HH:MM UTC"; `unknown` when empty or unreadable."""
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return iso or unknown
