"""Every example runs on its own and prints the metrics the pages use; relations that must hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from book_helpers import ROOT, measured, run_example

CPUS = len(os.sched_getaffinity(0))


def test_gil_example_shape():
    out = run_example("examples/ch1/gil.py", "--n", "200000", "--rounds", "2", "--warmup", "0")
    expected = {
        "sequential_s", "threads_s", "processes_s",
        "threads_vs_sequential", "threads_speedup", "processes_speedup",
    }  # fmt: skip
    assert set(out["metrics"]) == expected
    for metric in out["metrics"].values():
        assert len(metric["values"]) == 2 and all(v > 0 for v in metric["values"])
    assert out["info"]["n"] == 200000


def test_two_cpu_bound_threads_are_not_close_to_twice_as_fast(built_site: Path):
    m = measured(built_site, "ch1.gil")
    assert m["python.threads_speedup"] < 1.3


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to run two processes in parallel")
def test_two_processes_beat_two_threads_on_two_cpus(built_site: Path):
    m = measured(built_site, "ch1.gil")
    assert m["python.processes_speedup"] > m["python.threads_speedup"] * 1.2
    assert m["go.goroutine_speedup"] > 1.3


# 注册表驱动：每个实验的每个实现，都像读者那样在仓库根目录单独运行一次（quick 档的参数），
# 图表与说法要读的指标它必须自己产出——不经过引擎的缓存与汇总


def _runs() -> list:
    from perflab import registry

    return [
        pytest.param(exp, run, id=f"{exp.id}:{run.name}")
        for exp in registry.load().values()
        for run in exp.runs
    ]


@pytest.mark.parametrize(("exp", "run"), _runs())
def test_every_example_runs_on_its_own_and_produces_what_its_pages_read(exp, run):
    from perflab import claims, plan, runner

    if run.optional:
        found = plan.interpreters.for_runs([run]).get(run.name, {})
        if not found.get("found", True):
            pytest.skip(f"optional interpreter not on this machine: {found.get('why')}")
    command = plan.command_for(run, "quick", f"standalone {exp.id} ({run.name})")
    done = runner.run_group(command, timeout_s=exp.timeout_s, cwd=ROOT)
    assert not done.timed_out and done.returncode == 0, done.stderr[-2000:]
    out = runner.parse_output(done.stdout, f"{exp.id} ({run.name})")
    produced = {f"{run.name}.{name}" for name in out["metrics"]}
    read = {key for chart in exp.charts for key in chart.metrics}
    read |= {key for c in claims.load() if c.experiment == exp.id for key in c.reads}
    read |= {key for r in exp.ratios for key in (r.numerator, r.denominator)}
    # 比值由引擎按轮配对算出，不由示例产出；它的分子分母已在上一行
    read -= {r.key for r in exp.ratios}
    wanted = {key for key in read if key.split(".", 1)[0] == run.name}
    assert wanted <= produced, f"missing: {sorted(wanted - produced)}"
