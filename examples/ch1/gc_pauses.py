"""第一章 · 垃圾回收暂停：按代统计循环垃圾回收的停顿，以及它在请求耗时尾部留下的痕迹。

进程先建一个长寿的堆（模拟启动时加载的配置与缓存），边建边量一次完整回收要多久；
然后跑一个“请求循环”：每个请求建一棵带父子互指（循环引用）的小对象树，最近的结果放进
有界缓存、稍后被挤出成为垃圾。同一进程里轮流用三种设置各跑一轮：
  on      默认开启 GC；
  off     gc.disable()：没有停顿，但循环垃圾无人回收；
  frozen  预热后 gc.collect() + gc.freeze()：长寿堆移入“永久代”，回收时不再遍历它。
停顿用 gc.callbacks 记录（start/stop 两个时间点）；每个请求单独计时。

单独运行：python examples/ch1/gc_pauses.py --heap 100000 --requests 250 --width 500
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections import OrderedDict

MODES = ("on", "off", "frozen")
MODE_LABELS = {"on": "GC 开启", "off": "GC 关闭", "frozen": "冻结长寿堆"}
PAGE_SIZE = 4096
HEAP_STEPS = 3  # 长寿堆分三步建成，每步量一次完整回收


# --8<-- [start:pauses]
class PauseRecorder:
    """挂到 gc.callbacks 上：每次回收开始、结束各被调用一次，记下每代的停顿时长。"""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.recording = False
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.recording:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)


recorder = PauseRecorder()
gc.callbacks.append(recorder)
# --8<-- [end:pauses]


# --8<-- [start:workload]
class Node:
    def __init__(self, parent: Node | None, payload: int) -> None:
        self.parent = parent  # 子指向父、父的列表指向子：一个引用环，引用计数无法回收
        self.children: list[Node] = []
        self.attrs = {"id": payload, "name": f"n{payload}"}
        if parent is not None:
            parent.children.append(self)


def handle_request(rid: int, width: int, cache: OrderedDict, keep: int) -> int:
    root = Node(None, rid)
    for i in range(width):
        Node(Node(root, i), i)
    cache[rid] = root  # 最近的结果留在缓存里，活过几次年轻代回收后才被挤出
    if len(cache) > keep:
        cache.popitem(last=False)  # 被挤出的树成了环状垃圾，只有循环回收器能收
    return sum(len(child.children) for child in root.children)


def build_heap(records: int) -> list[dict]:
    # 长寿对象：进程启动时加载、之后一直存活（配置、路由表、本地缓存……）
    return [{"id": i, "roles": ["user", "reader"], "quota": i % 100} for i in range(records)]


# --8<-- [end:workload]


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE_SIZE


def percentile(sorted_values: list[float], q: int) -> float:
    """最近秩法（q 为整数百分位）：不插值，p99 就是排在 99% 位置上的那个真实样本。"""
    n = len(sorted_values)
    rank = min(max((q * n + 99) // 100, 1), n)
    return sorted_values[rank - 1]


def full_collect_times(repeat: int = 3) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - start)
    return times


# --8<-- [start:modes]
def run_mode(mode: str, requests: int, width: int, keep: int) -> dict:
    cache: OrderedDict = OrderedDict()
    gc.collect()
    if mode == "off":
        gc.disable()
    elif mode == "frozen":
        gc.freeze()  # 此刻存活的对象（长寿堆）移入永久代，之后的回收不再遍历它们
    latencies = []
    rss_before = rss_bytes()
    recorder.recording = True
    for rid in range(requests):
        start = time.perf_counter()
        handle_request(rid, width, cache, keep)
        latencies.append(time.perf_counter() - start)
    recorder.recording = False
    rss_growth = rss_bytes() - rss_before
    gc.enable()
    backlog = gc.collect()  # 循环结束时积压、尚未回收的环状垃圾有多少
    gc.unfreeze()
    return {"latencies": sorted(latencies), "rss_growth": rss_growth, "backlog": backlog}


# --8<-- [end:modes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heap", type=int, default=100_000, help="长寿堆的记录数")
    parser.add_argument("--requests", type=int, default=250, help="每种设置每轮的请求数")
    parser.add_argument("--width", type=int, default=500, help="每个请求的对象树宽度")
    parser.add_argument("--cache", type=int, default=10, help="缓存最近多少个请求的结果")
    parser.add_argument("--rounds", type=int, default=2, help="轮数（每轮三种设置各一次）")
    args = parser.parse_args()

    # 长寿堆分几步建成，每一步量几次完整回收：停顿随存活对象数增长
    heap: list[dict] = []
    full_collect: list[tuple[int, int, list[float]]] = []
    for step in range(1, HEAP_STEPS + 1):
        target = args.heap * step // HEAP_STEPS
        heap.extend(build_heap(target - len(heap)))
        full_collect.append((len(heap), len(gc.get_objects()), full_collect_times()))
        print(f"堆 {len(heap)} 条：完整回收 {full_collect[-1][2]} s", file=sys.stderr)

    # 预热：让缓存填满、代码路径走热，再开始计时
    run_mode("on", min(args.requests, 100), args.width, args.cache)

    metrics: dict[str, dict] = {}

    def add(name: str, label: str, unit: str, value: float) -> None:
        metrics.setdefault(name, {"label": label, "unit": unit, "values": []})
        metrics[name]["values"].append(value)

    # 每轮三种设置各跑一次；下面每个指标每轮记一个值
    for r in range(args.rounds):
        order = MODES[r % 3 :] + MODES[: r % 3]  # 每轮轮换先后
        for mode in order:
            recorder.pauses = {0: [], 1: [], 2: []}
            out = run_mode(mode, args.requests, args.width, args.cache)
            lat = out["latencies"]
            name = MODE_LABELS[mode]
            add(f"{mode}_latency_p50_s", f"{name}：请求耗时 p50", "s", percentile(lat, 50))
            add(f"{mode}_latency_p99_s", f"{name}：请求耗时 p99", "s", percentile(lat, 99))
            add(f"{mode}_latency_max_s", f"{name}：最慢的请求", "s", lat[-1])
            counts = [len(recorder.pauses[g]) for g in range(3)]
            print(
                f"{mode}: p99 {percentile(lat, 99) * 1e6:.0f} µs，最慢 {lat[-1] * 1e3:.2f} ms，"
                f"各代回收次数 {counts}",
                file=sys.stderr,
            )
            if mode == "off":
                add("off_collections", "GC 关闭：回收次数（三代合计）", "", sum(counts))
                add("off_rss_growth_bytes", "GC 关闭：常驻内存（RSS）增长", "B", out["rss_growth"])
            # 开启时三代都报；冻结时第 0、1 代与开启时相同，只报第 2 代
            for g in {"on": (0, 1, 2), "frozen": (2,), "off": ()}[mode]:
                done = sorted(recorder.pauses[g])
                if not done:
                    raise SystemExit(f"{name}时没有发生第 {g} 代回收：请加大 --requests 或 --width")
                add(f"{mode}_gen{g}_collections", f"{name}：第 {g} 代回收次数", "", len(done))
                for stat, text, value in (
                    ("p50", "中位数", percentile(done, 50)),
                    ("p99", " p99", percentile(done, 99)),
                    ("max", "最长", done[-1]),
                ):
                    add(f"{mode}_gen{g}_pause_{stat}_s", f"{name}：第 {g} 代停顿{text}", "s", value)
            if mode != "frozen":
                add(
                    f"{mode}_backlog_objects",
                    f"{name}：一轮结束时积压的环状垃圾对象",
                    "",
                    out["backlog"],
                )
    del heap

    for step, (records, _tracked, seconds) in enumerate(full_collect, 1):
        for value in seconds:
            add(f"full_collect_step{step}_s", f"长寿堆 {records:,} 条记录时的完整回收", "s", value)
    # 比值按轮配对：同一轮里相邻跑的两种设置
    for stat, label in (
        ("gen2_pause_p50", "第 2 代停顿中位数之比（开启 / 冻结）"),
        ("latency_p99", "请求耗时 p99 之比（开启 / 冻结）"),
        ("latency_max", "最慢请求之比（开启 / 冻结）"),
    ):
        on = metrics[f"on_{stat}_s"]["values"]
        frozen = metrics[f"frozen_{stat}_s"]["values"]
        for a, b in zip(on, frozen, strict=True):
            add(f"{stat}_on_vs_frozen", label, "×", a / b)

    result = {
        "metrics": metrics,
        "info": {
            "heap_records": args.heap,
            "requests_per_round": args.requests,
            "rounds": args.rounds,
            "width": args.width,
            "cache": args.cache,
            "nodes_per_request": 1 + 2 * args.width,
            "gc_threshold": list(gc.get_threshold()),
            "tracked_objects_by_step": [
                {"records": rec, "tracked": tracked, "full_collect_s": min(secs)}
                for rec, tracked, secs in full_collect
            ],
            "python": sys.version.split()[0],
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
