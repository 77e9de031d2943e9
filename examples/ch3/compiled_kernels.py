"""第三章 3.2 的 Python 部分：与 Go、C 版相同的三个 CPU 密集内核（朴素循环、n 体模拟、词频统计）。

只用标准库：同一个文件交给本机找得到的每个 CPython 版本运行。计时按 timeit 的规则：
先按试测耗时定下循环次数，使一次取样不短于 --min-time 秒，取样期间关掉循环垃圾回收，
测 --rounds 轮，每轮三个内核轮流各测一次（每轮换个起点）。
--once 只把一个内核跑一遍并打印校验值：驱动程序据此量整个进程的峰值常驻内存。

单独运行：python examples/ch3/compiled_kernels.py --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import sys
import time
from collections import Counter


# --8<-- [start:add]
def add(a, b):
    return a + b


def sum_loop(n):
    # 每次迭代都是一次真正的函数调用：CPython 不内联
    total = 0
    for i in range(n):
        total = add(total, i % 7)
    return total


# --8<-- [end:add]

# --8<-- [start:nbody]
SOLAR_MASS = 4 * math.pi * math.pi
DAYS_PER_YEAR = 365.24


def planets():
    d, m = DAYS_PER_YEAR, SOLAR_MASS
    # 每个天体：[x, y, z, vx, vy, vz, 质量]
    return [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, m],
        [4.84143144246472090e00, -1.16032004402742839e00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * d, 7.69901118419740425e-03 * d,
         -6.90460016972063023e-05 * d, 9.54791938424326609e-04 * m],
        [8.34336671824457987e00, 4.12479856412430479e00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * d, 4.99852801234917238e-03 * d,
         2.30417297573763929e-05 * d, 2.85885980666130812e-04 * m],
        [1.28943695621391310e01, -1.51111514016986312e01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * d, 2.37847173959480950e-03 * d,
         -2.96589568540237556e-05 * d, 4.36624404335156298e-05 * m],
        [1.53796971148509165e01, -2.59193146099879641e01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * d, 1.62824170038242295e-03 * d,
         -9.51592254519715870e-05 * d, 5.15138902046611451e-05 * m],
    ]  # fmt: skip


def nbody(steps):
    """模拟 steps 步（每步 0.01 年），返回系统的总能量；运算顺序与 Go、C 版相同。"""
    bs = planets()
    px = py = pz = 0.0
    for b in bs:
        px += b[3] * b[6]
        py += b[4] * b[6]
        pz += b[5] * b[6]
    bs[0][3], bs[0][4], bs[0][5] = -px / SOLAR_MASS, -py / SOLAR_MASS, -pz / SOLAR_MASS
    pairs = [(bs[i], bs[j]) for i in range(len(bs)) for j in range(i + 1, len(bs))]
    dt = 0.01
    for _ in range(steps):
        for bi, bj in pairs:
            dx, dy, dz = bi[0] - bj[0], bi[1] - bj[1], bi[2] - bj[2]
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * math.sqrt(d2))
            mi, mj = bi[6], bj[6]
            bi[3] -= dx * mj * mag
            bi[4] -= dy * mj * mag
            bi[5] -= dz * mj * mag
            bj[3] += dx * mi * mag
            bj[4] += dy * mi * mag
            bj[5] += dz * mi * mag
        for b in bs:
            b[0] += dt * b[3]
            b[1] += dt * b[4]
            b[2] += dt * b[5]
    e = 0.0
    for i, bi in enumerate(bs):
        e += 0.5 * bi[6] * (bi[3] * bi[3] + bi[4] * bi[4] + bi[5] * bi[5])
        for bj in bs[i + 1 :]:
            dx, dy, dz = bi[0] - bj[0], bi[1] - bj[1], bi[2] - bj[2]
            e -= bi[6] * bj[6] / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


# --8<-- [end:nbody]


def make_text(n, vocab):
    """n 个以空格分隔的词，与 Go、C 版用同一个 64 位线性同余序列挑词。"""
    x, words = 42, []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        words.append(f"w{(x >> 33) % vocab}")
    return " ".join(words)


# --8<-- [start:words]
def word_count(text):
    # Counter 的计数循环是 C 写的：这正是 Python 程序常见的写法
    counts = Counter(text.split())
    return len(counts), max(counts.values(), default=0)


# --8<-- [end:words]

LABELS = {"loop": "朴素循环", "nbody": "n 体模拟", "words": "词频统计"}


def per_call(fn, loops):
    """与 timeit 相同，取样期间关掉循环垃圾回收。"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return (time.perf_counter() - start) / loops
    finally:
        if was_enabled:
            gc.enable()


def calibrate(fn, min_time):
    """先跑一次（预热），再按试测耗时放大循环次数，使一次取样不短于 min_time 秒。"""
    fn()
    n = 1
    while True:
        elapsed = per_call(fn, n) * n
        if elapsed >= min_time / 4:
            return max(1, math.ceil(n * min_time / elapsed))
        n = max(n * 2, math.ceil(n * min_time / 4 / max(elapsed, 1e-9)))


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux 上以 KiB 计


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-n", type=int, default=200_000)
    parser.add_argument("--nbody-steps", type=int, default=2000)
    parser.add_argument("--words-n", type=int, default=50_000)
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--kernels", default="loop,nbody,words")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-time", type=float, default=0.02)
    parser.add_argument("--once", choices=sorted(LABELS), help="只把这个内核跑一遍（量峰值内存用）")
    args = parser.parse_args()
    names = [k for k in args.kernels.split(",") if k]
    unknown = [k for k in names if k not in LABELS]
    if unknown or args.rounds < 1 or args.min_time <= 0 or args.words_n < 1 or args.vocab < 1:
        parser.error(f"unknown kernels {unknown}" if unknown else "sizes must be positive")

    # 只准备要跑的内核的输入：量峰值内存时，进程里不该有别的内核的数据
    needed = [args.once] if args.once else names
    text = make_text(args.words_n, args.vocab) if "words" in needed else ""
    calls = {
        "loop": lambda: sum_loop(args.loop_n),
        "nbody": lambda: nbody(args.nbody_steps),
        "words": lambda: word_count(text),
    }
    checks = {
        "loop": lambda: sum_loop(args.loop_n),
        "nbody": lambda: f"{nbody(args.nbody_steps):.12f}",
        "words": lambda: list(word_count(text)),
    }
    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "loop_n": args.loop_n,
        "nbody_steps": args.nbody_steps,
        "words_n": args.words_n,
        "vocab": args.vocab,
        "checksums": {k: checks[k]() for k in needed},
    }
    if args.once:
        info.update(kernel=args.once, peak_rss_B=peak_rss())
        label = f"峰值常驻内存（{LABELS[args.once]}跑一遍）"
        metrics = {"peak_rss_B": {"label": label, "unit": "B", "values": [peak_rss()]}}
        json.dump({"metrics": metrics, "info": info}, sys.stdout, ensure_ascii=False)
        return

    loops = {k: calibrate(calls[k], args.min_time) for k in names}
    samples = {k: [] for k in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for k in order:
            samples[k].append(per_call(calls[k], loops[k]))
    info.update(loops=loops, min_time_s=args.min_time, rounds=args.rounds, peak_rss_B=peak_rss())
    metrics = {
        f"{k}_s": {"label": f"Python：{LABELS[k]}，每次调用", "unit": "s", "values": samples[k]}
        for k in names
    }
    json.dump({"metrics": metrics, "info": info}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
