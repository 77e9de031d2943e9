"""How much CPU other processes took from the machine while one example ran.

A timing measured while something else runs on the machine is slower than the machine can
do, and a ratio of two such timings (two processes against two threads) can look like the
machine has one CPU fewer. The engine cannot stop other processes, but it can say how busy
the machine was: the CPU time the whole machine spent during the example (Linux
`/proc/stat`: user, nice, system, irq, softirq and steal, the last being time the hypervisor
gave to other guests) minus the CPU time of the example's own process tree and of this
process (`getrusage`), divided by the wall time. The result is in CPUs: 0.0 is a quiet
machine, 1.0 means on average one whole CPU was busy with something else.

Off Linux (no `/proc/stat`) every reading is None.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
# /proc/stat 的列：user nice system idle iowait irq softirq steal guest guest_nice；
# guest 已计入 user，idle 与 iowait 是空闲
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_s() -> float | None:
    """CPU-seconds all CPUs of the machine have spent busy since boot, or None off Linux."""
    try:
        first = PROC_STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if first[:1] != ["cpu"]:
        return None
    ticks = [int(v) for v in first[1:]]
    return sum(ticks[i] for i in _BUSY_COLUMNS if i < len(ticks)) / _TICKS_PER_S


def own_cpu_s() -> float:
    """CPU-seconds of this process plus every child it has waited for (user + system)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass(frozen=True)
class Window:
    """A reading taken when an example starts; `background_cpus()` after it was waited for."""

    wall: float
    busy: float | None
    own: float

    @classmethod
    def open(cls) -> Window:
        return cls(time.perf_counter(), machine_busy_s(), own_cpu_s())

    def background_cpus(self) -> float | None:
        """Average CPUs used by other processes since open() (≥ 0), or None off Linux or
        for a window too short for the kernel's tick counters (under 0.2 s)."""
        wall = time.perf_counter() - self.wall
        busy = machine_busy_s()
        if self.busy is None or busy is None or wall < 0.2:
            return None
        others = (busy - self.busy) - (own_cpu_s() - self.own)
        return max(others, 0.0) / wall


# 其他进程平均占用不到四分之一个 CPU 时算安静：构建本身的 Python 进程、内核线程与偶发的
# 系统任务在本机（2 核）空闲时合计约 0.01–0.05 个 CPU，四分之一个 CPU 已足以让两核并行
# 的比值偏低一成以上
QUIET_CPUS = 0.25


def summary(environment: dict, run: str | None = None) -> tuple[float, float] | None:
    """(median, max) of the background CPUs recorded for one run of a result, or over all its
    runs when `run` is None; None when nothing was recorded (off Linux, an older result)."""
    recorded = environment.get("background_cpus") or {}
    values = sorted(v for name, vs in recorded.items() if run is None or name == run for v in vs)
    if not values:
        return None
    return statistics.median(values), values[-1]


def busy_note(environment: dict) -> str | None:
    """A one-line warning when other processes took more than QUIET_CPUS during a
    measurement (its figures are then slower than this machine can do), else None."""
    busy = summary(environment)
    if busy is None or busy[0] <= QUIET_CPUS:
        return None
    return (
        f"注意，测量期间其他进程平均占用 {busy[0]:.2f} 个 CPU（最多 {busy[1]:.2f} 个），"
        "数字比本机空闲时慢；机器安静后可用 --refresh 重测"
    )
