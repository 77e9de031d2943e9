"""docs/ch1/gc.md：循环回收器的停顿（实验 ch1.gc.pauses）。"""

from __future__ import annotations

from perflab import book

EXP = "ch1.gc.pauses"
GENERATIONS = {"0": "第 0 代", "1": "第 1 代", "2": "第 2 代"}
MODES = {"on": "GC 开启", "off": "GC 关闭", "frozen": "冻结长寿堆"}


def _info() -> dict:
    return book.result(EXP).info["python"]


def params() -> str:
    """本次构建的规模与回收阈值（示例在 info 里报告）。"""
    i = _info()
    return (
        f"本次构建的规模：长寿堆 {i['heap_records']:,} 条记录；"
        f"每种设置每轮 {i['requests_per_round']} 个请求、共 {i['rounds']} 轮；"
        f"每个请求建 {i['nodes_per_request']} 个节点的对象树，缓存最近 {i['cache']} 个请求的结果；"
        f"回收阈值 `gc.get_threshold()` = `{tuple(i['gc_threshold'])}`。"
    )


def generations() -> str:
    """GC 开启时各代每轮回收次数与停顿分位。"""
    cols = {
        "collections": "每轮次数",
        "pause_p50_s": "停顿中位数",
        "pause_p99_s": "停顿 p99",
        "pause_max_s": "最长停顿",
    }
    return book.grid(EXP, "python.on_gen{row}_{col}", GENERATIONS, cols)


def heap() -> str:
    """长寿堆分步建成时被追踪的对象数，以及每一步之后完整回收的耗时。"""
    columns = [("records", "长寿堆记录数", ""), ("tracked", "GC 追踪的对象总数", "")]
    tracked = book.info_table(EXP, "python", "tracked_objects_by_step", columns)
    steps = [f"python.full_collect_step{n}_s" for n in (1, 2, 3)]
    return tracked + "\n\n" + book.table(EXP, steps)


def latency() -> str:
    """三种设置下请求耗时的 p50、p99 与最慢请求。"""
    cols = {"p50": "p50", "p99": "p99", "max": "最慢的请求"}
    return book.grid(EXP, "python.{row}_latency_{col}_s", MODES, cols)


# 引擎按进程算出的比例（registry/ch1/gc.toml）：每轮第 2 代回收次数 ÷ 每轮请求数
SHARE = "python.full_collection_share"


def full_collection_share() -> float:
    """完整回收落在多大比例的请求上（0 到 1）：引擎按进程算出的比例的中位数。"""
    return book.result(EXP).metric(SHARE).summary.median / 100


def share() -> str:
    """完整回收落在多少请求上（一句话，中位数与区间）。"""
    return (
        f"本次构建中，GC 开启时完整回收落在约 {book.value(EXP, SHARE)}的请求上"
        "（每轮完整回收次数 ÷ 每轮请求数，每个进程各算一次）。"
    )


def frozen() -> str:
    """冻结前后第 2 代回收的次数与停顿，以及冻结带来的比值。"""
    cols = {"collections": "每轮次数", "pause_p50_s": "停顿中位数", "pause_max_s": "最长停顿"}
    rows = {"on": MODES["on"], "frozen": MODES["frozen"]}
    ratios = [
        "python.gen2_pause_p50_on_vs_frozen",
        "python.latency_p99_on_vs_frozen",
        "python.latency_max_on_vs_frozen",
    ]
    grid = book.grid(EXP, "python.{row}_gen2_{col}", rows, cols)
    return grid + "\n\n" + book.table(EXP, ratios)


def off() -> str:
    """关闭 GC 时积压的环状垃圾与 RSS 增长（对照开启时的积压）。"""
    keys = [
        "python.off_collections",
        "python.off_backlog_objects",
        "python.on_backlog_objects",
        "python.off_rss_growth_bytes",
    ]
    return book.table(EXP, keys)
