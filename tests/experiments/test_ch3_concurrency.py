"""Section 3.1: the examples print the agreed shape at tiny sizes, clean up after themselves,
and the quick build's medians keep the relations the page relies on."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from book_helpers import ROOT, measured, run_example

EXAMPLE = "examples/ch3/concurrency.py"
EXP = "ch3.concurrency"


@pytest.mark.parametrize("kind", ["threads", "asyncio"])
def test_python_example_shape_and_cleanup(kind):
    out = run_example(EXAMPLE, "--kind", kind, "--n", "50", "--m", "1000", timeout=60)
    metrics = out["metrics"]
    # 线程另报虚拟地址空间的增量：预留的栈计在这里，而不在 RSS 里
    extra = {"vm_per_unit_50_B"} if kind == "threads" else set()
    assert set(metrics) == {"start_50_s", "rss_per_unit_50_B", "switch_s"} | extra
    assert metrics["rss_per_unit_50_B"]["unit"] == "B"
    assert all(v > 0 for v in metrics["start_50_s"]["values"] + metrics["switch_s"]["values"])
    assert out["info"]["leftover_units"] == 0


def test_go_example_shape_and_cleanup(tmp_path):
    go = shutil.which("go") or "/usr/local/go/bin/go"
    binary = tmp_path / "concurrency"
    subprocess.run(
        [go, "build", "-o", str(binary), "./ch3/concurrency"],
        cwd=ROOT / "go-examples",
        check=True,
        timeout=120,
    )
    proc = subprocess.run(
        [str(binary), "-n", "50", "-m", "1000"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out["metrics"]) == {
        "start_50_s",
        "rss_per_unit_50_B",
        "stack_per_unit_50_B",
        "switch_s",
    }
    assert out["info"]["leftover_units"] == 0
    # 每个 goroutine 至少有一份栈：运行时报告的增量为正
    assert out["metrics"]["stack_per_unit_50_B"]["values"][0] > 0


def test_goroutine_lighter_than_thread(built_site):
    m = measured(built_site, EXP)
    assert m["go.rss_per_unit_1000_B"] < m["threading.rss_per_unit_1000_B"]
    assert m["go.stack_per_unit_10000_B"] > 0


def test_switch_order(built_site):
    m = measured(built_site, EXP)
    # goroutine 最便宜是稳的；线程与 asyncio 的先后取决于两个线程是否同在一个 CPU 上，不作断言
    assert m["go.switch_s"] < m["threading.switch_s"]
    assert m["go.switch_s"] < m["asyncio.switch_s"]
