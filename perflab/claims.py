"""Quoted claims ([[claim]] tables in registry/*.toml) and verdicts computed from measurements.

A claim names the experiment and metric that measure it and a rule; the verdict is computed
from the metric's median and interval, never typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from perflab import registry
from perflab.errors import PerflabError
from perflab.stats import Summary

HOLDS = "holds"
FAILS = "does-not-hold"
DEPENDS = "depends"
VERDICT_LABELS = {HOLDS: "成立", FAILS: "不成立", DEPENDS: "视情况而定"}
RULE_KINDS = ("approx", "at_most", "at_least", "between")


@dataclass(frozen=True)
class Rule:
    kind: str
    value: float | None = None
    tolerance: float = 0.0
    low: float | None = None
    high: float | None = None

    def band(self) -> tuple[float, float]:
        """The range of measured values that agree with the claim."""
        if self.kind == "approx":
            spread = abs(self.value) * self.tolerance
            return self.value - spread, self.value + spread
        if self.kind == "between":
            return self.low, self.high
        if self.kind == "at_most":
            return float("-inf"), self.value
        return self.value, float("inf")

    def describe(self, fmt_value) -> str:
        if self.kind == "approx":
            return f"实测中位数落在 {fmt_value(self.value)} ± {self.tolerance:.0%} 内即成立"
        if self.kind == "between":
            return f"实测中位数落在 {fmt_value(self.low)} 到 {fmt_value(self.high)} 之间即成立"
        if self.kind == "at_most":
            return f"实测 95% 区间整体不高于 {fmt_value(self.value)} 即成立"
        return f"实测 95% 区间整体不低于 {fmt_value(self.value)} 即成立"


def verdict(rule: Rule, summary: Summary) -> str:
    """holds / does-not-hold / depends, from the median and the interval of the measurement."""
    low, high = rule.band()
    interval_inside = low <= summary.low and summary.high <= high
    interval_outside = summary.high < low or summary.low > high
    if rule.kind in ("at_most", "at_least"):
        if interval_inside:
            return HOLDS
        return FAILS if interval_outside else DEPENDS
    if low <= summary.median <= high:
        return HOLDS
    return FAILS if interval_outside else DEPENDS


@dataclass(frozen=True)
class Claim:
    id: str
    page: str
    claim: str
    quoted: str
    source: str
    experiment: str
    metric: str
    unit: str
    rule: Rule


def _rule(raw: dict, claim_id: str) -> Rule:
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        raise PerflabError(f"claim {claim_id}: rule kind {kind!r} is not one of {RULE_KINDS}")
    needed = {"approx": ("value", "tolerance"), "between": ("low", "high")}.get(kind, ("value",))
    missing = [k for k in needed if k not in raw]
    if missing:
        raise PerflabError(f"claim {claim_id}: rule {kind} needs {', '.join(missing)}")
    return Rule(
        kind=kind,
        value=raw.get("value"),
        tolerance=float(raw.get("tolerance", 0.0)),
        low=raw.get("low"),
        high=raw.get("high"),
    )


REQUIRED = ("id", "page", "claim", "quoted", "source", "experiment", "metric", "rule")


def load() -> list[Claim]:
    """Every [[claim]] in the registry files, checked for the fields a verdict needs."""
    claims, seen = [], set()
    for raw, path in registry.read_tables("claim"):
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise PerflabError(
                f"claim {raw.get('id', '?')} in {path}: missing {', '.join(missing)}"
            )
        if raw["id"] in seen:
            raise PerflabError(f"claim id {raw['id']} appears twice in {path}")
        seen.add(raw["id"])
        claims.append(
            Claim(
                id=raw["id"],
                page=raw["page"],
                claim=raw["claim"],
                quoted=raw["quoted"],
                source=raw["source"],
                experiment=raw["experiment"],
                metric=raw["metric"],
                unit=raw.get("unit", ""),
                rule=_rule(raw["rule"], raw["id"]),
            )
        )
    return claims


def check_references(claims: list[Claim], experiment_ids: set[str]) -> None:
    """Every claim must point at a registered experiment (metrics are checked after measuring)."""
    for claim in claims:
        if claim.experiment not in experiment_ids:
            raise PerflabError(
                f"claim {claim.id} refers to experiment {claim.experiment!r}, "
                "which is not registered"
            )
