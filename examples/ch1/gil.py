"""第一章 · GIL 初探：同一段 CPU 密集的计数循环，顺序跑两次、两个线程、两个进程。

单独运行：python examples/ch1/gil.py --n 2000000 --rounds 3
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time


# --8<-- [start:count]
def count(n: int) -> int:
    # 纯 Python 循环：每执行一步字节码都要持有 GIL
    total = 0
    for i in range(n):
        total += i
    return total


# --8<-- [end:count]


# --8<-- [start:variants]
def sequential(n: int) -> None:
    count(n)
    count(n)


def two_threads(n: int) -> None:
    # 两个线程同时开跑，但同一时刻只有一个能执行 Python 字节码
    workers = [threading.Thread(target=count, args=(n,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def two_processes(n: int) -> None:
    # 每个进程有自己的解释器和 GIL；计时包含创建进程的开销
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=count, args=(n,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


# --8<-- [end:variants]

VARIANTS = {"sequential": sequential, "threads": two_threads, "processes": two_processes}


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return time.perf_counter() - start


def measure(n: int, rounds: int, warmup: int) -> dict[str, list[float]]:
    names = list(VARIANTS)
    for _ in range(warmup):
        for name in names:
            timed(VARIANTS[name], n)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        # 每轮轮换顺序，避免总是同一个变体先跑
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(timed(VARIANTS[name], n))
    return samples


def gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000, help="每个任务的循环次数")
    parser.add_argument("--rounds", type=int, default=3, help="计时轮数")
    parser.add_argument("--warmup", type=int, default=1, help="预热轮数（不计入结果）")
    args = parser.parse_args()

    s = measure(args.n, args.rounds, args.warmup)
    seq, thr, proc = s["sequential"], s["threads"], s["processes"]
    result = {
        "metrics": {
            "sequential_s": {"label": "两次顺序执行", "unit": "s", "values": seq},
            "threads_s": {"label": "两个线程", "unit": "s", "values": thr},
            "processes_s": {"label": "两个进程", "unit": "s", "values": proc},
            "threads_vs_sequential": {
                "label": "两线程耗时 / 两次顺序耗时",
                "unit": "×",
                "values": [t / q for t, q in zip(thr, seq, strict=True)],
            },
            "threads_speedup": {
                "label": "线程加速比（顺序/线程）",
                "unit": "×",
                "values": [q / t for t, q in zip(thr, seq, strict=True)],
            },
            "processes_speedup": {
                "label": "进程加速比（顺序/进程）",
                "unit": "×",
                "values": [q / p for p, q in zip(proc, seq, strict=True)],
            },
        },
        "info": {
            "n": args.n,
            "cpus": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0],
            "gil_enabled": gil_enabled(),
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
