"""Summaries of repeated measurements: median with a distribution-free 95% interval.

The interval for the median comes from order statistics (the binomial argument used by
benchstat-style reports), so it assumes nothing about the shape of the noise. With few
samples the best available interval is [min, max]; its real coverage is then reported
instead of pretending to 95%.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

CONFIDENCE = 0.95
# 区间宽度超过中位数的这个比例时，页面上会提示“波动大”
WIDE_RELATIVE_WIDTH = 0.20


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    confidence: float
    n: int

    @property
    def relative_width(self) -> float:
        if self.median == 0:
            return 0.0 if self.high == self.low else math.inf
        return (self.high - self.low) / abs(self.median)

    @property
    def wide(self) -> bool:
        return self.relative_width > WIDE_RELATIVE_WIDTH

    @property
    def reaches_confidence(self) -> bool:
        return self.confidence >= CONFIDENCE

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _binomial_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2**n


def median_interval(n: int, confidence: float = CONFIDENCE) -> tuple[int, int, float]:
    """0-based ranks (lo, hi) of the narrowest symmetric order-statistic interval for the median.

    Returns the achieved coverage too; for small n it can stay below the requested level.
    """
    if n < 1:
        raise ValueError("no samples")
    best = (0, n - 1, 1.0 - 2 * _binomial_cdf(0, n) if n > 1 else 0.0)
    # x(j) <= median <= x(n+1-j) (1-based) covers with probability 1 - 2·P(X <= j-1)
    for j in range(1, n // 2 + 1):
        coverage = 1.0 - 2 * _binomial_cdf(j - 1, n)
        if coverage >= confidence:
            best = (j - 1, n - j, coverage)
        else:
            break
    return best


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("no samples to summarize")
    if any(math.isnan(v) for v in data):
        raise ValueError("NaN among samples")
    lo, hi, coverage = median_interval(len(data), confidence)
    return Summary(
        median=statistics.median(data),
        low=data[lo],
        high=data[hi],
        confidence=coverage,
        n=len(data),
    )
