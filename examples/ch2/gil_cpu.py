"""第二章 · GIL：同一份 CPU 密集的工作分给 1、2、4 个线程或进程，看谁变快。

单独运行：python examples/ch2/gil_cpu.py --n 4000000 --workers 1,2,4 --rounds 4
只用标准库，可以交给任何 CPython 3.10+ 运行（包括自由线程版 3.13t）。
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.pool
import os
import platform
import sys
import sysconfig
import time


# --8<-- [start:work]
def count(n: int) -> int:
    # 纯 Python 循环：执行每条字节码都要持有 GIL
    total = 0
    for i in range(n):
        total += i
    return total


def timed_count(n: int) -> float:
    # 返回这一份工作实际占用的 CPU 时间（只算本线程，等 GIL 的时间不算）
    start = time.thread_time()
    count(n)
    return time.thread_time() - start


def split_work(pool, workers: int, total: int) -> tuple[float, float]:
    # 总工作量固定，平均分给 workers 份；只计 map 的耗时，池子事先建好
    start = time.perf_counter()
    cpu = pool.map(timed_count, [total // workers] * workers, chunksize=1)
    wall = time.perf_counter() - start
    # 各份 CPU 时间之和 ÷ 墙钟时间 = 平均有几个核在同时算
    return wall, sum(cpu) / wall


# --8<-- [end:work]


# --8<-- [start:pools]
def make_pools(workers: list[int]) -> dict[tuple[str, int], multiprocessing.pool.Pool]:
    # forkserver：工作进程从一个干净的服务进程分叉，不继承本进程的线程
    ctx = multiprocessing.get_context("forkserver")
    pools = {}
    for k in workers:
        pools[("processes", k)] = ctx.Pool(k)
        pools[("threads", k)] = multiprocessing.pool.ThreadPool(k)
    for pool in pools.values():
        # 先让每个工作者都跑过一次，计时里不含启动与导入
        pool.map(timed_count, [1000] * 8, chunksize=1)
    return pools


# --8<-- [end:pools]

LABELS = {"threads": "线程", "processes": "进程"}


Samples = dict[tuple[str, int], list[tuple[float, float]]]


def measure(total: int, workers: list[int], rounds: int) -> Samples:
    """(墙钟耗时, 同时在算的核数) per round, for each (kind, workers)."""
    pools = make_pools(workers)
    try:
        configs = list(pools)
        samples: Samples = {c: [] for c in configs}
        for r in range(rounds):
            # 正序、倒序交替（ABBA）：机器负载随时间漂移时，不偏向先跑或后跑的一方
            for config in configs if r % 2 == 0 else configs[::-1]:
                samples[config].append(split_work(pools[config], config[1], total))
        return samples
    finally:
        for pool in pools.values():
            pool.terminate()
            pool.join()


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def metrics(samples: Samples, workers: list[int]) -> dict:
    out = {}
    for kind in ("threads", "processes"):
        wall = {k: [w for w, _ in samples[(kind, k)]] for k in workers}
        for k in workers:
            out[f"{kind}_{k}_s"] = {
                "label": f"{k} 个{LABELS[kind]}：耗时",
                "unit": "s",
                "values": wall[k],
            }
        for k in workers:
            if k == 1:
                continue
            # 同一轮里的 1 个工作者耗时 ÷ k 个工作者耗时
            pairs = zip(wall[1], wall[k], strict=True)
            out[f"{kind}_{k}_speedup"] = {
                "label": f"{k} 个{LABELS[kind]}：加速比（对 1 个）",
                "unit": "×",
                "values": [one / many for one, many in pairs],
            }
        for k in workers:
            if k == 1:
                continue
            out[f"{kind}_{k}_cores"] = {
                "label": f"{k} 个{LABELS[kind]}：平均同时在算的核数",
                "unit": "",
                "values": [cores for _, cores in samples[(kind, k)]],
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4_000_000, help="总循环次数（平均分给各工作者）")
    parser.add_argument("--workers", default="1,2,4", help="工作者数，逗号分隔，必须含 1")
    parser.add_argument(
        "--rounds", type=int, default=4, help="计时轮数（正序、倒序交替，取偶数为宜）"
    )
    args = parser.parse_args()
    workers = sorted({int(w) for w in args.workers.split(",")})
    if 1 not in workers:
        parser.error("--workers 必须包含 1（加速比以 1 个工作者为基准）")

    samples = measure(args.n, workers, args.rounds)
    result = {
        "metrics": metrics(samples, workers),
        "info": {
            "n": args.n,
            "workers": workers,
            "cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "gil_enabled": gil_enabled(),
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
