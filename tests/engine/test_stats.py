"""The statistics the site prints, checked on data whose answer is known."""

import math

import pytest

from perflab.stats import median_interval, summarize


def test_median_of_odd_and_even_samples():
    assert summarize([5, 1, 3]).median == 3
    assert summarize([4, 1, 3, 2]).median == 2.5


@pytest.mark.parametrize(
    ("n", "ranks", "coverage"),
    [
        # 覆盖率 = 1 - 2·P(Bin(n, 1/2) <= j-1)，与二项分布表对照
        (5, (0, 4), 1 - 2 / 32),
        (6, (0, 5), 1 - 2 / 64),
        (10, (1, 8), 1 - 2 * 11 / 1024),
        (20, (5, 14), 1 - 2 * sum(math.comb(20, i) for i in range(6)) / 2**20),
    ],
)
def test_median_interval_ranks_match_binomial_table(n, ranks, coverage):
    lo, hi, achieved = median_interval(n)
    assert (lo, hi) == ranks
    assert achieved == pytest.approx(coverage)
    assert achieved >= 0.95 or (lo, hi) == (0, n - 1)


def test_small_samples_report_their_real_coverage():
    s = summarize([1.0, 2.0, 3.0])
    assert (s.low, s.high) == (1.0, 3.0)
    assert s.confidence == pytest.approx(0.75)
    assert not s.reaches_confidence


def test_interval_brackets_median_and_wide_flag():
    tight = summarize([100 + 0.1 * i for i in range(11)])
    assert tight.low <= tight.median <= tight.high
    assert not tight.wide
    noisy = summarize([50, 150, 80, 120, 100, 60, 140, 90, 110, 70, 130])
    assert noisy.wide


def test_summarize_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([1.0, float("nan")])
