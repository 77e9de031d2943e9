"""Quoted claims ([[claim]] tables in registry/*.toml) and verdicts computed from measurements.

A claim names what measures it and a rule; the verdict is computed, never typed by hand.
It reads either one metric (a claim whose conditions are all fixed) or a sweep: the same
quantity measured at several values of a condition the quote leaves open (message rate,
payload size, live heap). Over a sweep the verdict is 成立 / 不成立 only when every point
agrees and the curve through the medians never crosses the claim's band; otherwise
视情况而定, with the boundary where the median crosses the band, interpolated between the
two neighbouring points. A curve that jumps across the whole band between two points, with
every point outside it, still crosses it: that too is 视情况而定, with two boundaries.

Every rule states why its band is that wide (`why`), and a verdict in the full profile may
read only intervals with at least 95% coverage (checked by `check_coverage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from perflab import paths, registry, units
from perflab.errors import PerflabError
from perflab.results import Metric, Result
from perflab.stats import CONFIDENCE, Summary

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
    # 这条界线为什么这么宽（或为什么取这个阈值）：每条规则都要写
    why: str = ""

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

    def describe(self, fmt_value, confidence: float | None = None) -> str:
        """The rule in the page's words; `confidence` is the real coverage of the intervals
        it reads (the weakest point of a sweep), printed instead of a fixed "95%"."""
        # 中位数落在范围内即成立；整个区间都在范围外才算不成立，其余视情况而定
        interval = "区间" if confidence is None else f"区间（覆盖 {confidence:.0%}）"
        rest = f"；整个{interval}都在范围外才算不成立，否则视情况而定"
        if self.kind == "approx" and self.tolerance == 0:
            return f"实测中位数等于 {fmt_value(self.value)} 即成立{rest}"
        if self.kind == "approx":
            return f"实测中位数落在 {fmt_value(self.value)} ± {self.tolerance:.0%} 内即成立{rest}"
        if self.kind == "between":
            return (
                f"实测中位数落在 {fmt_value(self.low)} 到 {fmt_value(self.high)} 之间即成立{rest}"
            )
        side = "不高于" if self.kind == "at_most" else "不低于"
        beyond = "高于" if self.kind == "at_most" else "低于"
        return (
            f"实测{interval}整体{side} {fmt_value(self.value)} 即成立，"
            f"整体{beyond}它为不成立，跨过它为视情况而定"
        )


def verdict(rule: Rule, summary: Summary) -> str:
    """holds / does-not-hold / depends, from the median and the interval of one measurement."""
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
class Sweep:
    """The condition a quote leaves open, and the metric measured at each of its values."""

    condition: str  # 扫描的条件，如“每个连接每秒的消息数”
    unit: str  # 条件的单位（units.fmt 认识的 s / B，或任意文字如“条/秒”）
    at: tuple[float, ...]  # 条件的取值；为空时由 at_metrics 实测得到
    metrics: tuple[str, ...]
    # 插值找边界时横轴取对数（翻倍式的扫描点）
    log: bool = True
    # 条件本身由示例量出（如载荷的实际字节数）时，读这些指标的中位数作为取值
    at_metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    id: str
    page: str
    claim: str
    quoted: str
    source: str
    experiment: str
    unit: str
    rule: Rule
    # 判定时固定下来的条件（载荷、规模、核数……），首页的说法表逐条列出
    condition: str
    metric: str | None = None
    sweep: Sweep | None = None
    # 登记它的注册表文件（错误信息据此指出改哪个文件）
    registry_file: Path | None = None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics whose values are judged (one per sweep point)."""
        return self.sweep.metrics if self.sweep else (self.metric,)

    @property
    def reads(self) -> tuple[str, ...]:
        """Every metric the verdict needs: the judged ones and any measured condition values."""
        return self.metrics + (self.sweep.at_metrics if self.sweep else ())


@dataclass(frozen=True)
class Point:
    """One measured point of a claim: the condition's value (None without a sweep)."""

    at: float | None
    metric: Metric
    verdict: str
    inside: bool  # 中位数是否落在说法的范围内


@dataclass(frozen=True)
class Boundary:
    """Where the median crosses the claim's band: the claim holds above `at` or below it."""

    at: float
    holds_above: bool


@dataclass(frozen=True)
class Judgement:
    claim: Claim
    verdict: str
    points: list[Point]
    boundaries: list[Boundary] = field(default_factory=list)

    @property
    def at(self) -> list[float | None]:
        """The condition's value at each point (measured or from the registry)."""
        return [p.at for p in self.points]


def _crossing(x0: float, y0: float, x1: float, y1: float, edge: float, log: bool) -> float:
    """x where the segment (x0, y0)–(x1, y1) reaches y = edge; log-log when `log` allows it."""
    if log and min(x0, x1, y0, y1, edge) > 0:
        lx0, lx1 = math.log(x0), math.log(x1)
        t = (math.log(edge) - math.log(y0)) / (math.log(y1) - math.log(y0))
        return math.exp(lx0 + t * (lx1 - lx0))
    t = (edge - y0) / (y1 - y0)
    return x0 + t * (x1 - x0)


def boundaries(rule: Rule, at: list[float], medians: list[float], log: bool) -> list[Boundary]:
    """Every place along a sweep where the median enters or leaves the claim's band.

    Between two neighbouring points on opposite sides of a band edge the crossing is
    interpolated (log-log for a doubling sweep). A jump from below the band to above it
    crosses both edges and gives two boundaries.
    """
    low, high = rule.band()
    found = []
    for i in range(len(at) - 1):
        (x0, y0), (x1, y1) = (at[i], medians[i]), (at[i + 1], medians[i + 1])
        inside0, inside1 = low <= y0 <= high, low <= y1 <= high
        if inside0 != inside1:
            outside = y1 if inside0 else y0
            edge = low if outside < low else high
            found.append(Boundary(_crossing(x0, y0, x1, y1, edge, log), holds_above=inside1))
        elif not inside0 and (y0 < low) != (y1 < low):
            # 一步从范围下方跳到上方（或反过来）：两条边都穿过，中间一小段成立
            first, second = (low, high) if y0 < low else (high, low)
            found.append(Boundary(_crossing(x0, y0, x1, y1, first, log), holds_above=True))
            found.append(Boundary(_crossing(x0, y0, x1, y1, second, log), holds_above=False))
    return found


def judge(claim: Claim, result: Result) -> Judgement:
    """The verdict on a claim from its experiment's result (every point of a sweep)."""
    low, high = claim.rule.band()
    at = sweep_positions(claim, result) if claim.sweep else [None]
    points = []
    for x, key in zip(at, claim.metrics, strict=True):
        metric = result.metric(key)
        s = metric.summary
        points.append(Point(x, metric, verdict(claim.rule, s), low <= s.median <= high))
    outcomes = {p.verdict for p in points}
    outcome = outcomes.pop() if len(outcomes) == 1 else DEPENDS
    found = []
    if claim.sweep:
        medians = [p.metric.summary.median for p in points]
        found = boundaries(claim.rule, at, medians, claim.sweep.log)
    if found:
        # 曲线在两点之间穿过范围（哪怕每个点都落在范围外）：说法在扫描范围里的一段成立
        outcome = DEPENDS
    return Judgement(claim, outcome, points, found)


def sweep_positions(claim: Claim, result: Result) -> list[float]:
    """The condition's value at each sweep point: given in the registry, or measured."""
    sweep = claim.sweep
    if sweep.at:
        return list(sweep.at)
    at = [result.metric(key).summary.median for key in sweep.at_metrics]
    if at != sorted(set(at)) or (sweep.log and at[0] <= 0):
        raise PerflabError(
            f"claim {claim.id}: the measured condition values {at} are not increasing"
            + (" and positive" if sweep.log else "")
        )
    return at


def check_coverage(judgement: Judgement, profile: str) -> None:
    """In the full profile a verdict may read only intervals with >= 95% coverage.

    Raises PerflabError naming the claim, the metric, its n and coverage.
    """
    if profile != "full":
        return
    for p in judgement.points:
        s = p.metric.summary
        if s.confidence < CONFIDENCE:
            raise PerflabError(
                f"claim {judgement.claim.id}: its verdict reads {p.metric.key} with n={s.n} "
                f"independent runs, whose interval covers only {s.confidence:.0%} "
                f"(< {CONFIDENCE:.0%}); raise repeats.full of experiment "
                f"{judgement.claim.experiment} to at least 6"
            )


def _rule(raw: dict, claim_id: str) -> Rule:
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        raise PerflabError(f"claim {claim_id}: rule kind {kind!r} is not one of {RULE_KINDS}")
    needed = {"approx": ("value", "tolerance"), "between": ("low", "high")}.get(kind, ("value",))
    missing = [k for k in (*needed, "why") if not raw.get(k) and raw.get(k) != 0]
    if missing:
        raise PerflabError(
            f"claim {claim_id}: rule {kind} needs {', '.join(missing)} "
            "(why: the reason the band is that wide or the threshold is where it is)"
        )
    return Rule(
        kind=kind,
        value=raw.get("value"),
        tolerance=float(raw.get("tolerance", 0.0)),
        low=raw.get("low"),
        high=raw.get("high"),
        why=raw["why"],
    )


def _sweep(raw: dict, claim_id: str) -> Sweep:
    missing = [k for k in ("condition", "metrics") if k not in raw]
    if ("at" in raw) == ("at_metrics" in raw):
        missing.append("exactly one of at or at_metrics")
    if missing:
        raise PerflabError(f"claim {claim_id}: sweep needs {', '.join(missing)}")
    at, metrics = tuple(float(v) for v in raw.get("at", ())), tuple(raw["metrics"])
    at_metrics = tuple(raw.get("at_metrics", ()))
    if len(metrics) < 2 or len(at or at_metrics) != len(metrics) or list(at) != sorted(set(at)):
        raise PerflabError(
            f"claim {claim_id}: a sweep needs two or more increasing condition values "
            "and one metric for each"
        )
    log = bool(raw.get("log", True))
    if log and at and at[0] <= 0:
        raise PerflabError(f"claim {claim_id}: a log sweep needs positive condition values")
    return Sweep(raw["condition"], raw.get("unit", ""), at, metrics, log, at_metrics)


REQUIRED = ("id", "claim", "quoted", "source", "experiment", "condition", "unit", "rule")


def _claim(raw: dict, path) -> Claim:
    missing = [k for k in REQUIRED if k not in raw]
    if ("metric" in raw) == ("sweep" in raw):
        missing.append("exactly one of metric or sweep")
    if missing:
        raise PerflabError(f"claim {raw.get('id', '?')}: missing {', '.join(missing)}")
    if raw["unit"] not in units.METRIC_UNITS:
        raise PerflabError(
            f"claim {raw['id']}: unit {raw['unit']!r} is not one of "
            f"{units.allowed()} (the unit of the metric it reads, in which its rule is written)"
        )
    return Claim(
        id=raw["id"],
        page=paths.page_of(raw, path, f"claim {raw['id']}"),
        claim=raw["claim"],
        quoted=raw["quoted"],
        source=raw["source"],
        experiment=raw["experiment"],
        unit=raw["unit"],
        rule=_rule(raw["rule"], raw["id"]),
        condition=raw["condition"],
        metric=raw.get("metric"),
        sweep=_sweep(raw["sweep"], raw["id"]) if "sweep" in raw else None,
        registry_file=path,
    )


def load() -> list[Claim]:
    """Every [[claim]] in the registry files, checked for the fields a verdict needs.

    A problem is a PerflabError of one line naming the registry file and the claim.
    """
    claims, seen = [], set()
    for raw, path in registry.read_tables("claim"):
        try:
            claim = _claim(raw, path)
        except PerflabError as exc:
            raise PerflabError(registry.in_file(path, exc)) from None
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise PerflabError(
                registry.in_file(path, f"claim {raw.get('id', '?')}: malformed entry ({exc!r})")
            ) from None
        if claim.id in seen:
            raise PerflabError(registry.in_file(path, f"claim id {claim.id} appears twice"))
        seen.add(claim.id)
        claims.append(claim)
    return claims


def check_references(claims: list[Claim], experiment_ids: set[str]) -> None:
    """Every claim must point at a registered experiment (metrics are checked after measuring)."""
    for claim in claims:
        if claim.experiment not in experiment_ids:
            raise PerflabError(
                registry.in_file(
                    claim.registry_file,
                    f"claim {claim.id}: experiment {claim.experiment!r} is not registered",
                )
            )
