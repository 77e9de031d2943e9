"""docs/ch2/async.md：事件循环延迟与一万个连接（实验 ch2.async.lag、ch2.async.conn）。

模块名带下划线：async 是 Python 关键字，`from pages.ch2 import async` 无法写出（PEP 8 的约定）。
"""

from __future__ import annotations

from perflab import book, units

LAG, CONN = "ch2.async.lag", "ch2.async.conn"
SERVERS = ("asyncio", "threads", "go")


def lag_slice() -> str:
    """忙碌任务一段计算的平均耗时（示例在 info 里报告）。"""
    slice_s = book.result(LAG).info["python"]["slice_s"]
    return f"（本次构建中，忙碌任务的一段计算平均耗时 {units.fmt(slice_s, 's')}。）"


def _threads() -> dict:
    return book.result(CONN).info["threads"]


def conn_not_measured() -> str:
    """超过总速率上限、本次构建没有测的连接数 × 速率组合。"""
    info = _threads()
    if not info["not_measured"]:
        return "无。"
    points = "；".join(
        f"{p['connections']:,} 个连接 × 每连接 {p['rate']:g} 条/秒"
        f"（合计 {p['msgs_per_s']:,.0f} 条/秒）"
        for p in info["not_measured"]
    )
    return points + f"——上限是每秒 {info['max_msgs_per_s']:,.0f} 条。"


def conn_rates() -> str:
    """每连接一个线程的服务器在最后一次重复里每个计数窗口的速率与切换。"""
    columns = [
        ("connections", "连接数", ""),
        ("rate_shown", "每个连接 条/秒"),
        ("target_msgs_per_s", "目标 条/秒", ""),
        ("pings_per_s", "发出 条/秒", ""),
        ("echoes_per_s", "回显 条/秒", ""),
        ("switches_per_s", "切换 次/秒", ""),
        ("switches_per_msg", "每条消息的切换", ""),
        ("attempt", "第几次测", ""),
    ]
    tick = units.fmt(_threads()["tick_s"], "s")
    return (
        book.info_table(CONN, "threads", "windows", columns)
        + f"\n\n驱动程序的发送节拍是 {tick}：每 {tick} 发一批，这一批里到期的连接各发一条。"
    )


def conn_main_thread() -> str:
    """全部线程的切换合计与只读主线程计数的对照（10,000 个连接、每连接每秒 1 条）。"""
    level = _threads()["per_level"]["10k"]
    w = level["by_rate"]["r1"]
    return (
        "为什么必须把所有线程加起来：在最后一次重复里，每连接一个线程的服务器"
        f"在 {level['connections']:,} 个连接、每连接每秒 {w['rate_shown']} 条消息时"
        f"有 {w['threads']:,} 个线程，"
        f"每秒切换合计 {w['switches_per_s']:,.0f} 次；"
        "只读 `/proc/PID/status`（那是主线程一个人的计数）得到的却是"
        f"每秒 {w['main_thread_switches_per_s']:,.0f} 次——主线程一直阻塞在 `accept` 上，几乎不动。"
    )


def switches_per_message() -> tuple[float, float]:
    """每连接一个线程的服务器各扫描点上“每条消息的切换”中位数的最小与最大值。"""
    metrics = book.result(CONN).metrics
    medians = sorted(
        m.summary.median for k, m in metrics.items() if k.startswith("threads.switches_per_msg_")
    )
    return medians[0], medians[-1]


def conn_per_msg() -> str:
    """每条消息引起的切换次数的范围（一句话）。"""
    low, high = switches_per_message()
    return (
        "本次构建中，每连接一个线程的服务器在全部扫描点上"
        f"每条消息引起 {low:.2f} 到 {high:.2f} 次切换"
        "（各点中位数的最小与最大值，95% 区间见上表）。"
    )


def conn_connect() -> str:
    """三台服务器从 1,000 个连接追加到 10,000 个的用时（最后一次重复）。"""
    info = book.result(CONN).info
    times = "；".join(
        f"{info[r]['server_label']} {units.fmt(info[r]['per_level']['10k']['connect_s'], 's')}"
        for r in SERVERS
    )
    return "从 1,000 个连接追加到 10,000 个用时（最后一次重复）：" + times + "。"


def conn_vm() -> str:
    """一万线程的进程：虚拟地址空间对照常驻内存。"""
    level = _threads()["per_level"]["10k"]
    return (
        "作为对照：同一次测量中，这个一万线程的进程的虚拟地址空间（`VmSize`）是 "
        f"{units.fmt(level['vm_size'], 'B')}，而常驻内存（`VmRSS`）只有 "
        f"{units.fmt(level['rss'], 'B')}。"
    )
