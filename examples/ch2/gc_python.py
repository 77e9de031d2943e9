"""第二章 · 垃圾回收与延迟（Python）：循环垃圾回收的停顿如何抬高请求的尾延迟。

一个稳定的“请求循环”：每个请求建一小张带循环引用的对象图，其中一部分进入有界的 LRU 缓存，
长期存活、不断被新条目替换。用 gc.callbacks 记下每次回收的停顿（按代），同时记下每个请求的耗时，
对比四种设置：默认开启、预热后 gc.freeze()、调高阈值（gc.set_threshold）、关闭（仅作参照）。

每种设置在一个新的子进程里跑（堆从零开始，互不干扰），多轮之间轮换顺序。
单独运行：python examples/ch2/gc_python.py --requests 40000 --cache 20000
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections import OrderedDict

MODES = ("on", "freeze", "threshold", "off")
MODE_LABELS = {
    "on": "GC 默认开启",
    "freeze": "预热后 gc.freeze()",
    "threshold": "调高阈值",
    "off": "关闭 GC（参照）",
}
# 调高后的阈值：只把第 0 代从 700 提到 1 万，其余两代的比例不变
RAISED_THRESHOLD = (10_000, 10, 10)


# --8<-- [start:request]
class Request:
    def __init__(self, rid: int, path: str) -> None:
        self.rid = rid
        self.path = path
        self.headers = {"user-agent": "bench", "x-request-id": str(rid)}
        self.items: list[Item] = []


class Item:
    def __init__(self, request: Request, sku: int, price: float) -> None:
        self.request = request  # 指回请求：请求 ↔ 条目构成循环引用，引用计数回收不了
        self.sku = sku
        self.price = price
        self.tags = [f"t{sku % 7}", f"c{sku % 13}"]


class LRU:
    """有界缓存：新条目放到末尾，超出容量时丢掉最老的。"""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.data: OrderedDict[int, Request] = OrderedDict()

    def put(self, key: int, value: Request) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)  # 被挤出的对象图带着循环，只能等循环回收器来收


def handle(rid: int, cache: LRU, keep_every: int) -> int:
    req = Request(rid, f"/orders/{rid % 1000}")
    for j in range(8):
        req.items.append(Item(req, rid * 8 + j, 9.5 + j))
    body = {"id": rid, "total": sum(i.price for i in req.items), "skus": [i.sku for i in req.items]}
    if rid % keep_every == 0:
        cache.put(rid // keep_every, req)  # 一部分请求的结果进入缓存，长期存活
    return len(body["skus"])


# --8<-- [end:request]


# --8<-- [start:callbacks]
class PauseRecorder:
    """gc.callbacks 在每次回收开始（start）和结束（stop）时被调用，两者之差就是这次停顿。"""

    def __init__(self) -> None:
        self.started = 0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def __call__(self, phase: str, info: dict) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self.started = now
        else:
            self.pauses[info["generation"]].append((now - self.started) / 1e9)


# --8<-- [end:callbacks]


def percentile(sorted_values: list[float], q: float) -> float:
    """最近秩法：不插值，结果总是一个真实出现过的样本。"""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(int(-(-q * len(sorted_values) // 1)), 1)  # ceil(q·n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux 上单位是 KiB


# --8<-- [start:modes]
def apply_mode(mode: str) -> None:
    """在预热（缓存已填满）之后、开始计时之前调用。"""
    if mode == "freeze":
        gc.freeze()  # 现存对象全部移入“永久代”，以后的回收不再遍历它们
    elif mode == "threshold":
        gc.set_threshold(*RAISED_THRESHOLD)
    elif mode == "off":
        gc.disable()  # 循环垃圾从此只增不减：仅作参照，不是建议


# --8<-- [end:modes]


def run_mode(mode: str, requests: int, cache_size: int, keep_every: int) -> dict:
    """在当前进程里跑一种设置，返回请求耗时与停顿的原始统计。"""
    cache = LRU(cache_size)
    # 预热：关着 GC 把缓存填满，再做一次完整回收，让长期存活的对象都进入第 2 代
    gc.disable()
    for rid in range(cache_size * keep_every):
        handle(rid, cache, keep_every)
    gc.collect()
    gc.enable()
    apply_mode(mode)
    recorder = PauseRecorder()
    gc.callbacks.append(recorder)
    latencies = [0.0] * requests
    clock = time.perf_counter_ns
    start = clock()
    base = cache_size * keep_every
    for n in range(requests):
        t0 = clock()
        handle(base + n, cache, keep_every)
        latencies[n] = (clock() - t0) / 1e9
    elapsed = (clock() - start) / 1e9
    gc.callbacks.remove(recorder)
    return {
        "latencies": latencies,
        "pauses": recorder.pauses,
        "elapsed_s": elapsed,
        "peak_rss_B": peak_rss_bytes(),
        "tracked_objects": len(gc.get_objects()),
        "frozen_objects": gc.get_freeze_count(),
        "threshold": list(gc.get_threshold()),
        "gc_enabled": gc.isenabled(),
    }


def summarize_mode(raw: dict) -> dict[str, float]:
    lat = sorted(raw["latencies"])
    out = {
        "req_p50_s": percentile(lat, 0.50),
        "req_p99_s": percentile(lat, 0.99),
        "req_p999_s": percentile(lat, 0.999),
        "req_max_s": lat[-1],
        "peak_rss_B": float(raw["peak_rss_B"]),
    }
    if raw["gc_enabled"] is False:
        return out  # 关闭 GC 时没有停顿可统计
    for gen, pauses in raw["pauses"].items():
        out[f"gen{gen}_count"] = float(len(pauses))
        if pauses:
            p = sorted(pauses)
            out[f"gen{gen}_p50_s"] = percentile(p, 0.50)
            if gen == 0:
                # 第 1、2 代每轮只回收几十次、几次，p99 就是最大值，不重复报
                out[f"gen{gen}_p99_s"] = percentile(p, 0.99)
            out[f"gen{gen}_max_s"] = p[-1]
    # 停顿总和占计时段的比例：GC 拿走了多少时间
    total_pause = sum(sum(p) for p in raw["pauses"].values())
    out["pause_share_pct"] = 100.0 * total_pause / raw["elapsed_s"]
    return out


METRIC_LABELS = {
    "req_p50_s": ("请求耗时 p50", "s"),
    "req_p99_s": ("请求耗时 p99", "s"),
    "req_p999_s": ("请求耗时 p99.9", "s"),
    "req_max_s": ("请求耗时最大值", "s"),
    "peak_rss_B": ("进程峰值内存（RSS）", "B"),
    "pause_share_pct": ("GC 停顿占计时段比例", "%"),
    **{f"gen{g}_count": (f"第 {g} 代回收次数", "") for g in range(3)},
    **{f"gen{g}_p50_s": (f"第 {g} 代停顿 p50", "s") for g in range(3)},
    **{f"gen{g}_p99_s": (f"第 {g} 代停顿 p99", "s") for g in range(3)},
    **{f"gen{g}_max_s": (f"第 {g} 代停顿最大值", "s") for g in range(3)},
}


def run_child(mode: str, args: argparse.Namespace) -> dict[str, float]:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        mode,
        "--requests",
        str(args.requests),
        "--cache",
        str(args.cache),
        "--keep-every",
        str(args.keep_every),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"gc_python: mode {mode} failed with status {proc.returncode}")
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40_000, help="每种设置计时的请求数")
    parser.add_argument("--cache", type=int, default=20_000, help="LRU 缓存容量（条）")
    parser.add_argument("--keep-every", type=int, default=4, help="每隔几个请求放一个进缓存")
    parser.add_argument("--rounds", type=int, default=1, help="每种设置跑几个子进程")
    parser.add_argument("--modes", default=",".join(MODES), help="逗号分隔：" + ",".join(MODES))
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.requests < 1000 or args.cache < 1 or args.keep_every < 1 or args.rounds < 1:
        parser.error("need --requests >= 1000 and positive --cache, --keep-every, --rounds")

    if args.child:
        # 子进程：只跑一种设置，把汇总后的数字交给父进程
        raw = run_mode(args.child, args.requests, args.cache, args.keep_every)
        summary = summarize_mode(raw)
        summary["_tracked_objects"] = raw["tracked_objects"]
        summary["_frozen_objects"] = raw["frozen_objects"]
        summary["_threshold"] = raw["threshold"]
        print(json.dumps(summary))
        return

    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    metrics: dict[str, dict] = {}
    info: dict[str, object] = {
        "python": sys.version.split()[0],
        "requests": args.requests,
        "cache": args.cache,
        "keep_every": args.keep_every,
        "default_threshold": list(gc.get_threshold()),
        "raised_threshold": list(RAISED_THRESHOLD),
        "modes": {},
    }
    for r in range(args.rounds):
        order = modes[r % len(modes) :] + modes[: r % len(modes)]
        for mode in order:
            summary = run_child(mode, args)
            info["modes"][mode] = {k[1:]: summary.pop(k) for k in list(summary) if k[0] == "_"}
            print(
                f"{mode}: p99 {summary['req_p99_s'] * 1e3:.3f} ms, "
                f"max {summary['req_max_s'] * 1e3:.3f} ms",
                file=sys.stderr,
            )
            for name, value in summary.items():
                label, unit = METRIC_LABELS[name]
                key = f"{mode}_{name}"
                entry = metrics.setdefault(
                    key, {"label": f"{MODE_LABELS[mode]} · {label}", "unit": unit, "values": []}
                )
                entry["values"].append(value)
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    main()
