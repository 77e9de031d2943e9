"""Measure one experiment: warm up, then repeat every implementation in turn (interleaved)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable

from perflab import cache, env, gobuild, interpreters, paths, toolchain
from perflab.errors import PerflabError
from perflab.registry import GO_BINARY, Experiment, Run
from perflab.results import Metric, Result
from perflab.runner import parse_output, pick_cpus, run_command

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    pass


def expand_args(args: list[str], label: str) -> list[str]:
    """Replace {go:go-examples/pkg} with the path of that package's built binary.

    A Python example that drives a Go server (say) gets the binary without building it itself.
    """

    def binary(match: re.Match) -> str:
        return str(gobuild.build(paths.resolve(match.group(1)), label))

    return [GO_BINARY.sub(binary, arg) for arg in args]


def command_for(run: Run, profile: str, label: str) -> list[str]:
    """The command line of one run; a missing interpreter is a one-line PerflabError."""
    args = expand_args(run.args_for(profile), label)
    if run.lang == "go":
        return [str(gobuild.build(run.path, label)), *args]
    if run.interpreter is None:
        return [sys.executable, str(run.path), *args]
    found = interpreters.require(run.interpreter, label)
    # 其他解释器只运行标准库代码：-E -s 不读 PYTHON* 环境变量与用户 site-packages
    return [found.executable, "-E", "-s", str(run.path), *args]


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
    """Run the experiment afresh (no cache) and return the pooled samples of every run."""
    started = time.perf_counter()
    cpus = pick_cpus(exp.cpus)
    labels = {run.name: f"experiment {exp.id} ({run.name})" for run in exp.runs}
    used = interpreters.for_runs(exp.runs)
    # 可选运行的解释器不在本机：跳过，并把原因记进结果
    skipped = {
        run.name: used[run.name]["why"]
        for run in exp.runs
        if run.optional and run.name in used and not used[run.name]["found"]
    }
    runs = [run for run in exp.runs if run.name not in skipped]
    if not runs:
        raise PerflabError(f"experiment {exp.id}: every run was skipped (no interpreter found)")
    commands = {run.name: command_for(run, profile, labels[run.name]) for run in runs}

    def once(run: Run) -> dict:
        out = run_command(
            commands[run.name],
            label=labels[run.name],
            timeout_s=exp.timeout_s,
            cpus=cpus,
            cwd=run.path if run.lang == "go" else run.path.parent,
        )
        return parse_output(out, labels[run.name])

    result = Result(exp.id, exp.title, exp.page, profile, metrics={})
    for name, why in skipped.items():
        progress(f"跳过 {name}：{why}")
    for i in range(exp.warmup_for(profile)):
        progress(f"预热 {i + 1}/{exp.warmup_for(profile)}")
        for run in runs:
            once(run)
    repeats = exp.repeats_for(profile)
    for i in range(repeats):
        progress(f"第 {i + 1}/{repeats} 次")
        for run in runs:
            _merge(result, run, once(run))
    # 按注册表里的顺序记下被跳过的运行，页面据此说明哪些解释器没找到
    result.info = {
        run.name: {"skipped": skipped[run.name]} if run.name in skipped else result.info[run.name]
        for run in exp.runs
        if run.name in skipped or run.name in result.info
    }
    result.environment = env.capture(profile, exp.libraries)
    if exp.tools:
        result.environment["tools"] = {t: toolchain.tool_version(t) for t in exp.tools}
    if used:
        result.environment["interpreters"] = used
    result.environment["cpus_used"] = len(cpus) if cpus else len(env.cpus_available())
    result.duration_s = time.perf_counter() - started
    return result


def obtain(
    exp: Experiment, profile: str, *, refresh: bool = False, progress: Progress = _silent
) -> Result:
    """The cached result when still valid, else a fresh measurement (stored for next time)."""
    if not refresh:
        cached, why = cache.load(exp, profile)
        if cached is not None:
            return label_runs(add_ratios(cached, exp), exp)
        progress(f"需要测量：{why}")
    result = measure(exp, profile, progress)
    cache.store(exp, profile, result)
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


def add_ratios(result: Result, exp: Experiment) -> Result:
    """The experiment's declared ratios as metrics, each paired per round (derived, not cached:
    a new ratio needs no re-measurement). Ratios over a skipped optional run are left out."""
    for ratio in exp.ratios:
        parts = (ratio.numerator, ratio.denominator)
        if any(result.skipped(key) for key in parts):
            continue
        num, den = (result.metric(key) for key in parts)
        try:
            values = paired_ratios(num.values, den.values)
        except ValueError as exc:
            raise PerflabError(f"experiment {exp.id}, ratio {ratio.key}: {exc}") from None
        run, name = ratio.key.split(".", 1)
        result.metrics[ratio.key] = Metric(
            ratio.key, run, name, ratio.label, "×", values, [[v] for v in values]
        )
    return result


def label_runs(result: Result, exp: Experiment) -> Result:
    """Give each metric its run's display name from the registry (a presentation detail)."""
    labels = {run.name: run.label for run in exp.runs if run.label}
    for metric in result.metrics.values():
        metric.display = labels.get(metric.run, "")
    return result
