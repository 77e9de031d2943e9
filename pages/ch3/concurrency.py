"""docs/ch3/concurrency.md：goroutine、线程与 asyncio 任务的启动、内存与切换。

实验 ch3.concurrency。
"""

from __future__ import annotations

from perflab import book

EXP = "ch3.concurrency"
UNITS = {"go": "goroutine", "asyncio": "asyncio 任务", "threading": "Python 线程"}


def grid() -> str:
    """三种单位的启动耗时、每个单位的 RSS 增量与一次切换。"""
    cols = {
        "start_1000_s": "启动 1,000 个的耗时",
        "rss_per_unit_1000_B": "每个单位的 RSS 增量（N=1,000）",
        "switch_s": "一次切换",
    }
    return book.grid(EXP, "{row}.{col}", UNITS, cols)


def stack() -> str:
    """goroutine 的 StackInuse 与 RSS 增量，以及线程 ÷ goroutine 的 RSS 增量之比。"""

    def v(key: str) -> str:
        return book.value(EXP, key)

    return (
        f"本次测得：每个 goroutine 的 `StackInuse` 增量为 {v('go.stack_per_unit_10000_B')}"
        f"（N=10,000），RSS 增量为 {v('go.rss_per_unit_10000_B')}；"
        "N=1,000 时一个 Python 线程的 RSS 增量是一个 goroutine 的 "
        f"{v('threading.rss_per_unit_vs_go_1000')}（每轮配对相除）。"
    )


def reserve() -> str:
    """本机线程栈的预留大小与每个线程的虚拟地址空间增量。"""
    rlimit = book.info(EXP, "threading", "stack_rlimit_soft_B", "B")
    vm = book.value(EXP, "threading.vm_per_unit_1000_B")
    return (
        f"本机新线程的默认栈取 `ulimit -s` 的软上限：{rlimit}；"
        f"每个挂起的线程让虚拟地址空间增加 {vm}（N=1,000），常驻内存却只增加上面表里那么一点。"
    )
