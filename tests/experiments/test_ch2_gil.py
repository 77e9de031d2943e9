"""第二章 · GIL：examples/ch2/gil_*.py run on their own with tiny sizes, and relations that must
hold on the quick build's measurements (read from data/results.json, not re-measured)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from book_helpers import best, experiment, measured, run_example, skip_if_busy
from conftest import ROOT

CPUS = len(os.sched_getaffinity(0))


def assert_samples(out: dict, names: set[str], count: int) -> None:
    assert set(out["metrics"]) == names
    for metric in out["metrics"].values():
        assert len(metric["values"]) == count and all(v > 0 for v in metric["values"])
        assert metric["unit"] in ("s", "×", "%", "") and metric["label"]


def test_cpu_example_shape():
    out = run_example(
        "examples/ch2/gil_cpu.py", "--n", "200000", "--workers", "1,2,4", "--rounds", "2"
    )
    names = {f"{kind}_{k}_s" for kind in ("threads", "processes") for k in (1, 2, 4)}
    names |= {
        f"{kind}_{k}_{what}"
        for kind in ("threads", "processes")
        for k in (2, 4)
        for what in ("speedup", "cores")
    }
    assert_samples(out, names, 2)
    for k in (2, 4):
        # 有 GIL 时，线程的 CPU 时间之和不会明显超过墙钟时间
        if out["info"]["gil_enabled"]:
            assert max(out["metrics"][f"threads_{k}_cores"]["values"]) < 1.2
    assert out["info"]["workers"] == [1, 2, 4] and out["info"]["n"] == 200000
    assert out["info"]["gil_enabled"] in (True, False)


def test_cpu_example_needs_one_worker_as_baseline():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples/ch2/gil_cpu.py"), "--workers", "2,4"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "--workers" in proc.stderr and proc.stdout == ""


def test_io_example_shape_and_the_server_is_stopped():
    out = run_example(
        "examples/ch2/gil_io.py",
        *("--requests", "4", "--delay", "0.005", "--workers", "1,2", "--rounds", "1"),
    )
    names = {
        f"{mode}_{kind}_{suffix}"
        for mode in ("sleep", "socket")
        for kind in ("threads", "processes")
        for suffix in ("1_s", "2_s", "2_speedup", "2_efficiency")
    }
    assert_samples(out, names, 1)
    # 加速比 ÷ 工作者数：同一轮的加速比除以 2，写成百分数
    for name in names:
        if name.endswith("_efficiency"):
            speedup = out["metrics"][name.replace("efficiency", "speedup")]["values"]
            assert out["metrics"][name]["values"] == pytest.approx([100 * v / 2 for v in speedup])
    # 4 个请求、每个 5 ms：1 个工作者至少要等 20 ms
    assert out["metrics"]["sleep_threads_1_s"]["values"][0] >= 0.02
    assert out["metrics"]["socket_threads_1_s"]["values"][0] >= 0.02


def test_switch_example_shape():
    out = run_example("examples/ch2/gil_switch.py", "--intervals", "0.0005,0.005", "--samples", "3")
    assert set(out["metrics"]) == {"idle_delay_s", "delay_500us_s", "delay_5ms_s"}
    for metric in out["metrics"].values():
        assert len(metric["values"]) == 3 and metric["unit"] == "s"
    assert out["info"]["intervals_s"] == [0.0005, 0.005]


# --- relations on the quick build's results ------------------------------------------------


def test_two_cpu_bound_threads_are_not_close_to_twice_as_fast(built_site: Path):
    m = measured(built_site, "ch2.gil.cpu")
    assert m["python.threads_2_speedup"] < 1.3
    # 同时在算的核数不受机器上其他负载抬高：有 GIL 的线程不会超过一个核
    assert m["python.threads_2_cores"] < 1.2
    assert m["python.threads_4_cores"] < 1.2


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to run two processes in parallel")
def test_two_processes_beat_two_threads_on_cpu_bound_work(built_site: Path):
    skip_if_busy(built_site, "ch2.gil.cpu")
    m = best(built_site, "ch2.gil.cpu")  # 最快的一轮最接近两核能做到的（见 book_helpers.best）
    assert m["python.processes_2_speedup"] > m["python.threads_2_speedup"]


def test_io_bound_threads_overlap(built_site: Path):
    m = measured(built_site, "ch2.gil.io")
    for mode in ("sleep", "socket"):
        # 4 个线程明显快于 1 个：等待重叠了（CPU 密集时做不到）
        assert m[f"python.{mode}_threads_4_s"] < m[f"python.{mode}_threads_1_s"] / 2
        assert m[f"python.{mode}_threads_4_speedup"] > 2


def test_interpreters_found_run_and_missing_ones_are_reported(built_site: Path):
    exp = experiment(built_site, "ch2.gil.interpreters")
    used = exp["environment"]["interpreters"]
    runs_with_metrics = {m["run"] for m in exp["metrics"]}
    assert used and runs_with_metrics
    for name, entry in used.items():
        if entry["found"]:
            assert name in runs_with_metrics
            assert exp["info"][name]["python"] == entry["version"]
        else:
            assert name not in runs_with_metrics
            assert exp["info"][name] == {"skipped": entry["why"]}
    m = {x["key"]: x["median"] for x in exp["metrics"]}
    for name in runs_with_metrics:
        if used[name]["gil_enabled"]:
            assert m[f"{name}.threads_2_cores"] < 1.2, name
    page = (built_site / "ch2/gil/index.html").read_text(encoding="utf-8")
    for name in used:
        assert f"<td>{name}</td>" in page


def test_longer_switch_interval_keeps_the_io_thread_waiting_longer(built_site: Path):
    m = measured(built_site, "ch2.gil.switch")
    assert m["python.idle_delay_s"] < m["python.delay_50ms_s"]
    assert m["python.delay_500us_s"] < m["python.delay_50ms_s"]
