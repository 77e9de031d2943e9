"""docs/ch2/gil.md：CPU 密集与 I/O 密集下的线程和进程（实验 ch2.gil.*）。"""

from __future__ import annotations

from perflab import book, render

CPU, IO, INTERPRETERS, SWITCH = (
    "ch2.gil.cpu",
    "ch2.gil.io",
    "ch2.gil.interpreters",
    "ch2.gil.switch",
)
KINDS = {"threads": "线程", "processes": "进程"}
WORKERS = {"1": "1 个", "2": "2 个", "4": "4 个"}


def cpu() -> str:
    """CPU 密集：1、2、4 个线程或进程完成同一份计算的耗时。"""
    grid = book.grid(CPU, "python.{row}_{col}_s", KINDS, WORKERS)
    return "完成同一份计算的耗时：\n\n" + grid


def cpu_ratios() -> str:
    """CPU 密集：加速比与平均同时在算的核数。"""
    cols = {
        "2_speedup": "2 个：加速比",
        "4_speedup": "4 个：加速比",
        "2_cores": "2 个：同时在算的核数",
        "4_cores": "4 个：同时在算的核数",
    }
    return book.grid(CPU, "python.{row}_{col}", KINDS, cols)


def cpu_cores() -> str:
    """可用 CPU 数与 2 个、4 个进程的加速比（一句话）。"""
    cpus = book.result(CPU).environment["cpus_used"]
    p2, p4 = (book.value(CPU, f"python.processes_{k}_speedup") for k in (2, 4))
    return f"本次构建可用 CPU {cpus} 个：2 个进程的加速比 {p2}，4 个进程 {p4}。"


def io() -> str:
    """I/O 密集：sleep 与 TCP 往返的耗时，以及对 1 个工作者的加速比。"""
    rows = {
        "sleep_threads": "sleep · 线程",
        "sleep_processes": "sleep · 进程",
        "socket_threads": "TCP 往返 · 线程",
        "socket_processes": "TCP 往返 · 进程",
    }
    times = book.grid(IO, "python.{row}_{col}_s", rows, WORKERS)
    speedups = book.grid(IO, "python.{row}_{col}_speedup", rows, {"2": "2 个", "4": "4 个"})
    return "处理同样多请求的耗时：\n\n" + times + "\n\n加速比（对 1 个工作者）：\n\n" + speedups


def interpreters_found() -> str:
    """本次构建找到与没找到的 CPython 版本。"""
    return render.interpreters_table(book.result(INTERPRETERS))


def interpreters() -> str:
    """找到的每个 CPython 上的耗时、加速比与核数，再接实验的图表。"""
    info = book.result(INTERPRETERS).info
    found = {name: name for name, run in info.items() if "skipped" not in run}
    cols = {
        "threads_1_s": "1 个线程：耗时",
        "threads_2_speedup": "2 个线程：加速比",
        "threads_2_cores": "2 个线程：同时在算的核数",
        "processes_2_speedup": "2 个进程：加速比",
    }
    grid = book.grid(INTERPRETERS, "{row}.{col}", found, cols)
    return grid + "\n\n" + book.charts(INTERPRETERS)


def switch_default() -> str:
    """本次构建所用 CPython 的默认切换间隔。"""
    interval_s = book.result(SWITCH).info["python"]["default_interval_s"]
    return (
        f"本次构建所用 CPython 的默认切换间隔：{interval_s * 1e3:g} ms"
        "（`sys.getswitchinterval()`）。"
    )
