"""第二章 · 异步 I/O：用 run_in_executor 把阻塞调用挪进线程池，池子多大才够。

K 个阻塞调用（time.sleep，代表一个阻塞式数据库驱动的一次查询）从 asyncio 里同时发出，
经 ThreadPoolExecutor 执行；线程池大小取 1、K/4、K/2、K、2K，以及 asyncio 的默认线程池。
每批记录总耗时（吞吐 = K ÷ 总耗时）和每个调用从发出到拿到结果的延迟。

单独运行：python examples/ch2/async_executor.py --calls 32 --block 0.01 --batches 2
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait


def blocking_query(seconds: float) -> None:
    # 阻塞式驱动在等网络时释放 GIL；time.sleep 同样释放 GIL
    time.sleep(seconds)


# --8<-- [start:batch]
async def batch(pool: ThreadPoolExecutor | None, calls: int, block: float) -> tuple[float, list]:
    loop = asyncio.get_running_loop()
    issued = time.perf_counter()

    async def one() -> float:
        # 事件循环线程不阻塞：调用交给线程池，协程在这里等结果
        await loop.run_in_executor(pool, blocking_query, block)
        return time.perf_counter() - issued

    latencies = await asyncio.gather(*(one() for _ in range(calls)))
    return time.perf_counter() - issued, latencies


# --8<-- [end:batch]


def prestart(pool: ThreadPoolExecutor, size: int) -> None:
    # 线程池按需开线程；先让它开满，避免把开线程的时间算进第一批
    wait([pool.submit(time.sleep, 0.002) for _ in range(size)])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_pool(size: int | None, calls: int, block: float, batches: int) -> dict:
    loop = asyncio.get_running_loop()
    if size is None:
        # asyncio 的默认线程池：min(32, CPU 数 + 4) 个线程
        pool = None
        default = ThreadPoolExecutor()
        loop.set_default_executor(default)
        real_size = default._max_workers
        prestart(default, real_size)
    else:
        pool = ThreadPoolExecutor(max_workers=size)
        real_size = size
        prestart(pool, size)
    rps, latencies = [], []
    for _ in range(batches):
        elapsed, lat = await batch(pool, calls, block)
        rps.append(calls / elapsed)
        latencies += lat
    (pool or default).shutdown()
    return {"size": real_size, "rps": rps, "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=32, help="每批同时发出的阻塞调用数 K")
    parser.add_argument("--block", type=float, default=0.01, help="每个调用阻塞的秒数")
    parser.add_argument("--batches", type=int, default=2, help="每种线程池大小测几批")
    args = parser.parse_args()
    k = args.calls
    if k < 4:
        raise SystemExit("--calls must be at least 4 (pool sizes go down to K/4)")

    # 名字固定，标签里写出实际线程数
    pools = {
        "pool_1": (1, "线程池 1"),
        "pool_k4": (k // 4, f"线程池 {k // 4}（K/4）"),
        "pool_k2": (k // 2, f"线程池 {k // 2}（K/2）"),
        "pool_k": (k, f"线程池 {k}（K）"),
        "pool_2k": (2 * k, f"线程池 {2 * k}（2K）"),
        "pool_default": (None, "默认线程池（{size}）"),
    }
    metrics, info_pools = {}, {}
    for name, (size, label) in pools.items():
        r = asyncio.run(run_pool(size, k, args.block, args.batches))
        label = label.format(size=r["size"])
        lat = r["latencies"]
        p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
        metrics[f"rps_{name}"] = {
            "label": f"{label} · 吞吐（次/秒）",
            "unit": "",
            "values": r["rps"],
        }
        metrics[f"p50_{name}"] = {"label": f"{label} · 延迟 p50", "unit": "s", "values": [p50]}
        metrics[f"p99_{name}"] = {"label": f"{label} · 延迟 p99", "unit": "s", "values": [p99]}
        info_pools[name] = {"size": r["size"], "p50_s": p50, "p99_s": p99}
        print(
            f"{label}: {sum(r['rps']) / len(r['rps']):.0f} calls/s, p50 {p50 * 1e3:.1f} ms, "
            f"p99 {p99 * 1e3:.1f} ms",
            file=sys.stderr,
        )
    result = {
        "metrics": metrics,
        "info": {
            "calls": k,
            "block_s": args.block,
            "batches": args.batches,
            "ideal_rps": k / args.block,
            "cpus": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0],
            "pools": info_pools,
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
