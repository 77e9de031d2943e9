"""Every example runs on its own and prints the metrics the pages use; relations that must hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from perflab.runner import parse_output

CPUS = len(os.sched_getaffinity(0))


def run_example(path: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(ROOT / path), *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return parse_output(proc.stdout, path)


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


def measured(built_site: Path, exp_id: str) -> dict[str, float]:
    doc = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))
    (exp,) = [e for e in doc["experiments"] if e["id"] == exp_id]
    return {m["key"]: m["median"] for m in exp["metrics"]}


def test_two_cpu_bound_threads_are_not_close_to_twice_as_fast(built_site: Path):
    m = measured(built_site, "ch1.gil")
    assert m["python.threads_speedup"] < 1.3


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to run two processes in parallel")
def test_two_processes_beat_two_threads_on_two_cpus(built_site: Path):
    m = measured(built_site, "ch1.gil")
    assert m["python.processes_speedup"] > m["python.threads_speedup"] * 1.2
    assert m["go.goroutine_speedup"] > 1.3
