"""The background CPU reading: other processes count, the example's own process tree does not."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from engine_fixtures import TmpBook

from perflab import contention, measure, registry, render
from perflab.results import Result
from perflab.runner import run_group

pytestmark = pytest.mark.skipif(
    contention.machine_busy_s() is None, reason="needs Linux /proc/stat"
)

# 直到本进程用满 1 s CPU 才退出：不论机器多忙，它自己的 CPU 时间都至少 1 s
BURN_ONE_CPU_SECOND = "import time\nwhile time.process_time() < 1.0: pass"


def test_a_busy_process_outside_the_example_is_background():
    # 测试自己起一个占满一个 CPU 的进程，它不属于被测的进程组
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        done = run_group([sys.executable, "-c", "import time; time.sleep(1.0)"], timeout_s=30)
    finally:
        burner.kill()
        burner.wait()
    assert done.returncode == 0
    # 机器忙时别的进程只会更多：读数至少是这一个 CPU 的大半
    assert done.background_cpus is not None and done.background_cpus > 0.5


def own_cpu_seconds(code: str) -> float:
    """Run `python -c code` through the runner; the CPU-seconds it counted as the example's
    own: the whole machine's busy time over the run minus what it called background."""
    before_busy, before_wall = contention.machine_busy_s(), time.perf_counter()
    done = run_group([sys.executable, "-c", code], timeout_s=60)
    wall = time.perf_counter() - before_wall
    total = (contention.machine_busy_s() - before_busy) / wall
    assert done.returncode == 0 and done.background_cpus is not None
    return (total - done.background_cpus) * wall


def test_the_examples_own_cpu_is_not_background():
    # 示例自己用了 ≥ 1 s CPU；0.9 s 留给内核计时刻度（10 ms）的取整
    assert own_cpu_seconds(BURN_ONE_CPU_SECOND) >= 0.9


# 示例留下一个孤儿进程（像 multiprocessing 的 forkserver）：它烧满 1 s CPU 后一直睡，
# 示例等它烧完就退出，不等它结束
ORPHAN = BURN_ONE_CPU_SECOND + "\nprint(flush=True)\ntime.sleep(300)"
LEAVES_AN_ORPHAN = (
    "import subprocess, sys\n"
    f"child = subprocess.Popen([sys.executable, '-c', {ORPHAN!r}], stdout=subprocess.PIPE)\n"
    "child.stdout.readline()\n"
)


def test_an_orphan_the_example_leaves_behind_is_still_the_examples_cpu():
    # 孤儿被引擎收养并回收，它的 1 s CPU 记在示例名下，不算“其他进程”
    assert own_cpu_seconds(LEAVES_AN_ORPHAN) >= 0.9


def test_too_short_a_window_gives_no_reading():
    done = run_group([sys.executable, "-c", "pass"], timeout_s=30)
    assert done.returncode == 0
    assert done.background_cpus is None


def test_summary_and_note():
    quiet = {"background_cpus": {"python": [0.01, 0.02, 0.0], "go": [0.9]}}
    assert contention.summary(quiet, "python") == (0.01, 0.02)
    assert contention.summary(quiet) == (0.015, 0.9)
    assert contention.summary({}) is None
    assert contention.busy_note(quiet) is None
    busy = {"background_cpus": {"python": [0.8, 1.1, 0.9]}}
    note = contention.busy_note(busy)
    assert note is not None and "0.90" in note and "1.10" in note


def test_each_timed_process_gets_one_reading_and_warmup_none(
    tmp_book: TmpBook, monkeypatch: pytest.MonkeyPatch
):
    readings = iter([0.5, 0.1, 0.2, 0.3])  # 第一个属于预热
    monkeypatch.setattr(contention.Window, "background_cpus", lambda self: next(readings))
    exp = registry.get(registry.load(), "t.exp")
    result = measure.obtain(exp, "quick", refresh=True)
    assert result.environment["background_cpus"] == {"python": [0.1, 0.2, 0.3]}
    # 页面的出处行说出中位与最多
    line = render.provenance(result)
    assert "中位 0.20 个，最多 0.30 个" in line
    # 存进缓存再读回来，读数还在
    again = Result.from_dict(result.to_dict())
    assert contention.summary(again.environment) == (0.2, 0.3)
