"""第二章 · 异步 I/O：就绪任务越多，事件循环里一个定时器被耽误得越久。

一个探测任务反复 `await asyncio.sleep(interval)`，记录实际醒来比预定晚了多少（延迟）；
同时有 N 个忙碌任务，每个做一小段 CPU 计算后 `await asyncio.sleep(0)` 让出。
N 取 0、100、1,000、10,000 时各测一段时间，报告延迟的 p50 / p99 / 最大值。

单独运行：python examples/ch2/async_lag.py --levels 0,100,1000 --duration 0.5
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time


def spin(work: int) -> int:
    # 一小段纯 Python 计算：代表处理一个请求时的解析、拼装等 CPU 工作
    total = 0
    for i in range(work):
        total += i
    return total


# --8<-- [start:tasks]
async def busy(work: int, stop: asyncio.Event) -> None:
    # 协作式调度：任务只在 await 处让出，两次 await 之间的计算谁也打断不了
    while not stop.is_set():
        spin(work)
        await asyncio.sleep(0)


async def probe(interval: float, duration: float) -> list[float]:
    # 定时器到期后，还要排在所有已就绪的任务后面才轮得到它
    lags = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        start = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(time.perf_counter() - start - interval)
    return lags


# --8<-- [end:tasks]


async def level(n: int, work: int, interval: float, duration: float) -> list[float]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(busy(work, stop)) for _ in range(n)]
    await asyncio.sleep(0)  # 让忙碌任务先全部跑起来
    await asyncio.sleep(0)
    lags = await probe(interval, duration)
    stop.set()
    await asyncio.gather(*tasks)
    return lags


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="0,100,1000,10000", help="忙碌任务数，逗号分隔")
    parser.add_argument("--work", type=int, default=100, help="每段 CPU 计算的循环次数")
    parser.add_argument("--interval", type=float, default=0.01, help="探测定时器的间隔（秒）")
    parser.add_argument("--duration", type=float, default=1.0, help="每一档的探测时长（秒）")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    # 单独计一段 CPU 计算的耗时，页面上用来解释延迟的量级
    t = time.perf_counter()
    for _ in range(1000):
        spin(args.work)
    slice_s = (time.perf_counter() - t) / 1000

    metrics, info_levels = {}, {}
    for n in levels:
        lags = asyncio.run(level(n, args.work, args.interval, args.duration))
        shown = f"{n:,} 个忙碌任务"
        stats = {
            "p50": percentile(lags, 0.5),
            "p99": percentile(lags, 0.99),
            "max": max(lags),
        }
        for stat, value in stats.items():
            metrics[f"{stat}_{n}"] = {
                "label": f"{shown} · 延迟 {stat}",
                "unit": "s",
                "values": [value],
            }
        info_levels[str(n)] = {"samples": len(lags), "mean_s": statistics.fmean(lags), **stats}
        print(
            f"n={n}: {len(lags)} samples, p50 {stats['p50'] * 1e3:.2f} ms, "
            f"p99 {stats['p99'] * 1e3:.2f} ms",
            file=sys.stderr,
        )
    result = {
        "metrics": metrics,
        "info": {
            "levels": levels,
            "work": args.work,
            "slice_s": slice_s,
            "interval_s": args.interval,
            "duration_s": args.duration,
            "python": sys.version.split()[0],
            "per_level": info_levels,
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
