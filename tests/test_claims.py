"""Verdicts are computed from the median and interval; claims that point nowhere fail loudly."""

from __future__ import annotations

import pytest
from engine_fixtures import TmpBook

from perflab import book
from perflab.claims import DEPENDS, FAILS, HOLDS, Rule, verdict
from perflab.errors import PerflabError
from perflab.stats import Summary


def s(median: float, low: float, high: float) -> Summary:
    return Summary(median=median, low=low, high=high, confidence=0.95, n=11)


@pytest.mark.parametrize(
    ("rule", "summary", "expected"),
    [
        (Rule("approx", value=1.0, tolerance=0.15), s(1.05, 0.95, 1.2), HOLDS),
        (Rule("approx", value=1.0, tolerance=0.15), s(1.9, 1.8, 2.0), FAILS),
        (Rule("approx", value=1.0, tolerance=0.15), s(1.25, 1.1, 1.4), DEPENDS),
        (Rule("at_most", value=0.001), s(0.0004, 0.0003, 0.0006), HOLDS),
        (Rule("at_most", value=0.001), s(0.004, 0.002, 0.006), FAILS),
        (Rule("at_most", value=0.001), s(0.0009, 0.0005, 0.0015), DEPENDS),
        (Rule("at_least", value=2.0), s(3.0, 2.5, 3.5), HOLDS),
        (Rule("at_least", value=2.0), s(1.0, 0.9, 1.1), FAILS),
        (Rule("between", low=0.015, high=0.030), s(0.0002, 0.0001, 0.0003), FAILS),
        (Rule("between", low=0.015, high=0.030), s(0.02, 0.01, 0.04), HOLDS),
    ],
)
def test_verdict_on_known_values(rule, summary, expected):
    assert verdict(rule, summary) == expected


CLAIM = """
[[claim]]
id = "t.claim"
page = "t.md"
claim = "说法"
quoted = "约 1.0"
source = "测试"
experiment = "{experiment}"
metric = "{metric}"
rule = {{ kind = "approx", value = 1.0, tolerance = 0.1 }}
"""


def test_claim_on_a_missing_experiment_fails(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="gone", metric="python.t_s")
    )
    with pytest.raises(PerflabError, match=r"claim t\.claim refers to experiment 'gone'"):
        book.start()


def test_claim_on_a_metric_never_produced_fails(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="t.exp", metric="python.nope")
    )
    session = book.start()
    with pytest.raises(
        PerflabError, match=r"claim t\.claim: experiment t\.exp produced no metric 'python\.nope'"
    ):
        session.measure_all(report=lambda _: None)


def test_claim_renders_with_computed_verdict(tmp_book: TmpBook):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        CLAIM.format(experiment="t.exp", metric="python.ratio")
    )
    book.start()
    text = book.claims("t.exp")
    assert "约 1.0" in text and "1.02×" in text
    assert "perflab-holds" in text and "成立" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[claim]]\nid = "x"\n', "missing page"),
        (CLAIM.replace('kind = "approx"', 'kind = "roughly"'), "rule kind 'roughly'"),
        (CLAIM.replace("value = 1.0, tolerance = 0.1", "value = 1.0"), "needs tolerance"),
    ],
)
def test_malformed_claims_are_rejected(tmp_book: TmpBook, body: str, message: str):
    (tmp_book.root / "registry" / "claims.toml").write_text(
        body.format(experiment="t.exp", metric="python.ratio")
    )
    with pytest.raises(PerflabError, match=message):
        book.start()
