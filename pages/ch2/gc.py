"""docs/ch2/gc.md：Python、Go 与 JVM 的回收停顿（实验 ch2.gc.python、ch2.gc.go、ch2.gc.jvm）。"""

from __future__ import annotations

from perflab import book

PYTHON, GO, JVM = "ch2.gc.python", "ch2.gc.go", "ch2.gc.jvm"
# 调整 GC 的三种设置（关闭 GC 没有回收，不算比例）
TUNED = ("on", "freeze", "threshold")


def collection_shares() -> dict[str, float]:
    """每种设置下赶上回收的请求比例（0–1，中位数）：注册表里的比值，每个进程各算一次。"""
    result = book.result(PYTHON)
    return {
        mode: result.metric(f"python.{mode}_collection_share").summary.median / 100
        for mode in TUNED
    }


def python_share() -> str:
    """三种设置下赶上回收的请求比例（中位数与 95% 区间，一句话）。"""
    share = {mode: book.value(PYTHON, f"python.{mode}_collection_share") for mode in TUNED}
    return f"默认设置 {share['on']}；freeze {share['freeze']}；调高阈值 {share['threshold']}。"


def go_buckets() -> str:
    """Go 停顿直方图相邻桶边界之比，按模式列出（示例在 info 里报告）。"""
    modes = book.result(GO).info["go"]["modes"]
    widths = "，".join(f"`{m}` 模式 {v['pause_bucket_width_ratio']:.0%}" for m, v in modes.items())
    return widths + "。"


def _jvm() -> dict:
    return book.result(JVM).info["JVM"]


def jvm_setup() -> str:
    """JVM 实验的设置：版本、常驻数据与堆、计时段、线程，以及 G1 的 MaxGCPauseMillis。"""
    i = _jvm()
    heaps = "、".join(f"{live} MiB → 堆 {heap} MiB" for live, heap in i["heap_mib"].items())
    pause = i["g1_max_gc_pause_millis"]
    return (
        f"OpenJDK `{i['java']}`；常驻数据 {heaps}"
        f"（堆 = {i['heap_factor']:g} × 常驻 + {i['heap_margin_mib']} MiB，-Xms = -Xmx）；"
        f"计时段替换常驻条目的 {i['turnover']:.0%}，至少 {i['min_seconds']:g} 秒，"
        f"之前预热 {i['warmup_s']:g} 秒；{i['threads']} 个分配线程，机器上 {i['cpus']} 个 CPU。"
        f"G1 的 MaxGCPauseMillis：{pause['value']}（来历：`{pause['origin']}`）。"
    )


def jvm_pauses() -> str:
    """四种收集器在每个常驻数据量上的停顿最大值，再接实验的图表。"""
    i = _jvm()
    cols = {str(n): f"常驻 {n} MiB" for n in i["live_mib"]}
    grid = book.grid(JVM, "JVM.{row}_live{col}_pause_max_s", i["names"], cols)
    return grid + "\n" + book.charts(JVM)


def jvm_kinds() -> str:
    """每个点上最长的那次停顿属于哪一类（最后一个测量进程的日志），每种收集器一行。"""
    i = _jvm()
    lines = []
    for collector, points in i["points"].items():
        kinds = "；".join(
            f"{live} MiB `{p['longest_pause_kind'] or '计时段内无停顿'}`"
            for live, p in points.items()
        )
        lines.append(f"- **{i['names'][collector]}**：" + kinds)
    return "\n".join(lines)


def jvm_detail() -> str:
    """中间那个常驻数据量上的全部指标。"""
    result = book.result(JVM)
    marker = f"_live{result.info['JVM']['detail_live_mib']}_"
    return book.table(JVM, [k for k in result.metrics if marker in k])
