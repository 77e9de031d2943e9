"""docs/ch1/index.md：三大瓶颈一览与阻塞 I/O 一节。"""

from __future__ import annotations

from perflab import book

GIL, GC, BLOCKING = "ch1.gil", "ch1.gc.pauses", "ch1.blocking"


def summary() -> str:
    """三大瓶颈一览：症状与对策，各配一列实测值（中位数与 95% 区间）。"""
    v = book.value
    gil = (
        "| GIL | CPU 密集的代码开多线程并不更快 "
        "| 多进程；或把热点移出解释器（C 扩展、独立的 Go 服务） "
        f"| 两个线程的加速比 {v(GIL, 'python.threads_speedup')} "
        f"| 两个进程的加速比 {v(GIL, 'python.processes_speedup')} |"
    )
    gc = (
        "| GC | 偶发的长停顿抬高尾延迟，堆越大停得越久 | 少制造循环引用；预热后 `gc.freeze()` "
        f"| GC 开启：请求耗时 p99 {v(GC, 'python.on_latency_p99_s')}，"
        f"最慢 {v(GC, 'python.on_latency_max_s')} "
        f"| 冻结长寿堆：p99 {v(GC, 'python.frozen_latency_p99_s')}，"
        f"最慢 {v(GC, 'python.frozen_latency_max_s')} |"
    )
    blocking = (
        "| 阻塞 I/O | 请求排队等下游，CPU 闲着、吞吐上不去 | 让等待重叠：线程池或 asyncio "
        f"| 顺序处理：总耗时 {v(BLOCKING, 'python.sequential_s')} "
        f"| 线程池 {v(BLOCKING, 'python.threads_s')}；asyncio {v(BLOCKING, 'python.asyncio_s')} |"
    )
    head = "| 瓶颈 | 症状 | 对策 | 实测：症状 | 实测：对策的效果 |\n|---|---|---|---|---|"
    return "\n".join([head, gil, gc, blocking])


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:g} ms"


def blocking_params() -> str:
    """阻塞 I/O 实验的规模，以及三种做法只算等待时的下限。"""
    i = book.result(BLOCKING).info["python"]
    return (
        f"本次构建：N = {i['requests']} 个请求，下游每次等待 {_ms(i['wait_s'])}，"
        f"线程池 {i['threads']} 个线程。"
        f"只算等待，顺序处理至少要 N × 等待 = {_ms(i['sequential_floor_s'])}，"
        f"线程池至少 ⌈N ÷ 线程数⌉ × 等待 = {_ms(i['threads_floor_s'])}，asyncio 至少一次等待。"
    )
