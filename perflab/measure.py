"""Measure one experiment from its plan: warm up, then repeat every run in turn (interleaved)."""

from __future__ import annotations

import time
from collections.abc import Callable

from perflab import cache, check
from perflab import plan as plan_mod
from perflab.errors import PerflabError
from perflab.plan import Plan
from perflab.registry import Experiment, Run, Term
from perflab.results import Metric, Result
from perflab.runner import parse_output, run_checked

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    pass


def _merge(result: Result, run: Run, output: dict) -> None:
    for name, raw in output["metrics"].items():
        key = f"{run.name}.{name}"
        if key not in result.metrics:
            result.metrics[key] = Metric(key, run.name, name, raw["label"], raw["unit"], [])
        result.metrics[key].add_process(raw["values"])
    if "info" in output:
        result.info[run.name] = output["info"]
    for name, series in output.get("series", {}).items():
        result.series[f"{run.name}.{name}"] = series


def measure(exp: Experiment, profile: str, progress: Progress = _silent) -> Result:
    """Run the experiment afresh (no cache): plan it, then measure the plan."""
    return run_plan(plan_mod.make(exp, profile), progress)


def run_plan(plan: Plan, progress: Progress = _silent) -> Result:
    """Warm up, then repeat every run in turn (interleaved); one value per metric per process."""
    started = time.perf_counter()
    exp, profile = plan.experiment, plan.profile

    # 每个计时进程运行期间其他进程占用的 CPU 数，按运行分开（perflab.contention）
    background: dict[str, list[float]] = {}

    def once(run: Run) -> dict:
        done = run_checked(
            plan.commands[run.name],
            label=plan.label(run),
            timeout_s=exp.timeout_s,
            cpus=plan.cpus,
            cwd=run.path if run.lang == "go" else run.path.parent,
        )
        if done.background_cpus is not None:
            background.setdefault(run.name, []).append(round(done.background_cpus, 3))
        return parse_output(done.stdout, plan.label(run))

    result = Result(exp.id, exp.title, exp.page, profile, metrics={})
    for name, why in plan.skipped.items():
        progress(f"跳过 {name}：{why}")
    for i in range(exp.warmup_for(profile)):
        progress(f"预热 {i + 1}/{exp.warmup_for(profile)}")
        for run in plan.runs:
            once(run)
    repeats = exp.repeats_for(profile)
    background.clear()  # 预热不算
    for i in range(repeats):
        progress(f"第 {i + 1}/{repeats} 次")
        for run in plan.runs:
            _merge(result, run, once(run))
    # 按注册表里的顺序记下被跳过的运行，页面据此说明哪些解释器没找到
    result.info = {
        run.name: {"skipped": plan.skipped[run.name]}
        if run.name in plan.skipped
        else result.info[run.name]
        for run in exp.runs
        if run.name in plan.skipped or run.name in result.info
    }
    result.environment = dict(plan.environment)
    if background:
        result.environment["background_cpus"] = background
    result.duration_s = time.perf_counter() - started
    return result


def obtain(
    exp: Experiment,
    profile: str,
    *,
    refresh: bool = False,
    progress: Progress = _silent,
    key: str | None = None,
) -> Result:
    """The cached result when still valid, else a fresh measurement (stored for next time).

    The cache key is computed once, before measuring (or given: the build works out every
    experiment's key once, up front), and a fresh result is stored under it.
    """
    key = key or cache.cache_key(exp, profile)
    if not refresh:
        cached, why = cache.load(exp, profile, key)
        if cached is not None:
            return finish(cached, exp)
        progress(f"需要测量：{why}")
    result = run_plan(plan_mod.make(exp, profile, key), progress)
    # 先存再查：注册表里的笔误改好之后不必重测（注册表的图表与说法不进缓存键）
    cache.store(exp, profile, result, key)
    return finish(result, exp)


def finish(result: Result, exp: Experiment) -> Result:
    """Check a result (measured, cached or merged from another machine) against the
    experiment's charts and ratios, then derive the ratios and name the runs."""
    check.require_valid(exp, [], result)
    return label_runs(add_ratios(result, exp), exp)


def paired_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """numerator[i] / denominator[i] for every round i (one value per process of each run).

    Raises ValueError when the rounds do not pair up or a denominator is zero.
    """
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} rounds against {len(denominator)}: cannot pair")
    if any(d == 0 for d in denominator):
        raise ValueError("a denominator is zero")
    return [n / d for n, d in zip(numerator, denominator, strict=True)]


def _side(terms: tuple[Term, ...], result: Result, rounds: int) -> list[float]:
    """One side of a ratio, round by round: the signed sum of its metrics' values in each round
    and its info numbers (the same in every round). ValueError names what is missing or unpaired."""
    side = [0.0] * rounds
    for term in terms:
        run, name = term.key.split(".", 1)
        if term.info:
            number = result.info.get(run, {}).get(name)
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise ValueError(f"run {run!r} reported no number {name!r} in its info")
            values = [float(number)] * rounds
        elif term.key in result.metrics:
            values = result.metrics[term.key].values
        else:
            raise ValueError(f"no metric {term.key!r} (it has: {', '.join(result.metrics)})")
        if len(values) != rounds:
            raise ValueError(f"{term.key} has {len(values)} rounds against {rounds}: cannot pair")
        side = [a + term.sign * b for a, b in zip(side, values, strict=True)]
    return side


def add_ratios(result: Result, exp: Experiment) -> Result:
    """The experiment's declared ratios as metrics, each paired per round (derived, not cached:
    a new ratio needs no re-measurement). Ratios over a skipped optional run are left out.

    Each side is the sum of its terms in each round: metrics, and info numbers that are the
    same in every round. Unit "%" gives the quotient × 100 (a share).
    """
    for ratio in exp.ratios:
        if any(result.skipped(term.key) for term in ratio.terms):
            continue
        try:
            # 轮数取自第一个指标项（注册表保证至少有一个）
            first = next(t.key for t in ratio.terms if not t.info)
            rounds = len(result.metrics[first].values) if first in result.metrics else 0
            values = paired_ratios(
                _side(ratio.numerator, result, rounds), _side(ratio.denominator, result, rounds)
            )
        except ValueError as exc:
            raise PerflabError(f"experiment {exp.id}, ratio {ratio.key}: {exc}") from None
        if ratio.unit == "%":
            values = [100 * v for v in values]
        run, name = ratio.key.split(".", 1)
        result.metrics[ratio.key] = Metric(
            ratio.key, run, name, ratio.label, ratio.unit, values, [[v] for v in values]
        )
    return result


def label_runs(result: Result, exp: Experiment) -> Result:
    """Give each metric its run's display name from the registry (a presentation detail)."""
    labels = {run.name: run.label for run in exp.runs if run.label}
    for metric in result.metrics.values():
        metric.display = labels.get(metric.run, "")
    return result
