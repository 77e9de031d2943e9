"""第三章 3.1：操作系统线程与 asyncio 任务的启动耗时、每个单位的内存、一次切换的代价。

每个 N 在一个新的子进程里测（本脚本以 --child 重新运行自己），基线不受上一个 N 的影响。
内存取 /proc/self/status 的 VmRSS：全部单位都挂起时读一次，减去启动前的基线，再除以 N。
同时读 VmSize（虚拟地址空间）：线程的栈是预留的虚拟内存，用多少才计入常驻内存。

单独运行：python examples/ch3/concurrency.py --kind threads --n 1000 --m 5000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import queue
import resource
import subprocess
import sys
import threading
import time


def vm_rss(field: str = "VmRSS") -> int:
    """当前进程的常驻内存（字节）；field="VmSize" 给虚拟地址空间。"""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


# --8<-- [start:threads]
def park_threads(n: int) -> dict:
    """启动 n 个线程，每个都阻塞在自己的一把锁上；全部挂起后读内存，再逐个放行、逐个 join。"""
    gc.collect()
    base, base_vm = vm_rss(), vm_rss("VmSize")
    arrived = queue.SimpleQueue()
    # 每个线程一把锁，而不是共用一个 Event：放行时才能一个一个来（见下）
    gates = [threading.Lock() for _ in range(n)]
    for gate in gates:
        gate.acquire()

    def body(gate: threading.Lock) -> None:
        arrived.put(None)
        gate.acquire()  # 在内核里等待，不占 CPU

    threads = [threading.Thread(target=body, args=(gate,)) for gate in gates]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for _ in range(n):
        arrived.get()  # 等每个线程都走到 gate.acquire() 之前
    elapsed = time.perf_counter() - t0
    time.sleep(0.005)
    rss, vm = vm_rss(), vm_rss("VmSize")
    # 一个一个放行并等它退出：一次全放行，一万个线程会在 GIL 上排成长队，拖上几十秒
    for gate, t in zip(gates, threads, strict=True):
        gate.release()
        t.join()
    left = threading.active_count() - 1
    return {"start_s": elapsed, "rss_delta": rss - base, "vm_delta": vm - base_vm, "leftover": left}


# --8<-- [end:threads]


# --8<-- [start:tasks]
async def park_tasks(n: int) -> dict:
    """创建 n 个任务，每个都 await 同一个 Future；全部挂起后读内存，再放行并等它们结束。"""
    gc.collect()
    base = vm_rss()
    loop = asyncio.get_running_loop()
    gate = loop.create_future()
    started = 0

    async def body() -> None:
        nonlocal started
        started += 1
        await gate  # 挂起：任务只是事件循环里的一个对象

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(body()) for _ in range(n)]
    while started < n:
        await asyncio.sleep(0)  # 让出一次，事件循环把就绪的任务各跑到第一个 await
    elapsed = time.perf_counter() - t0
    rss = vm_rss()
    gate.set_result(None)
    await asyncio.gather(*tasks)
    left = len(asyncio.all_tasks()) - 1
    return {"start_s": elapsed, "rss_delta": rss - base, "leftover": left}


# --8<-- [end:tasks]


# --8<-- [start:pingpong_threads]
def pingpong_threads(m: int) -> float:
    """两个线程用两把锁来回交接 m 次（锁可由另一个线程释放，相当于二值信号量）。"""
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()

    def other() -> None:
        for _ in range(m):
            ping.acquire()  # 等对方“发球”
            pong.release()

    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    for _ in range(m):
        ping.release()
        pong.acquire()
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed / (2 * m)  # 一次往返是两次切换


# --8<-- [end:pingpong_threads]


# --8<-- [start:pingpong_tasks]
async def pingpong_tasks(m: int) -> float:
    """两个任务经两个 asyncio.Queue 来回传递 m 次。"""
    ping, pong = asyncio.Queue(), asyncio.Queue()

    async def other() -> None:
        for _ in range(m):
            await ping.get()
            pong.put_nowait(None)

    t = asyncio.create_task(other())
    t0 = time.perf_counter()
    for _ in range(m):
        ping.put_nowait(None)
        await pong.get()
    elapsed = time.perf_counter() - t0
    await t
    return elapsed / (2 * m)


# --8<-- [end:pingpong_tasks]

NAMES = {"threads": "个线程", "asyncio": "个 asyncio 任务"}


def child(kind: str, n: int) -> dict:
    if kind == "threads":
        return park_threads(n)
    return asyncio.run(park_tasks(n))


def measure_in_child(kind: str, n: int) -> dict:
    cmd = [sys.executable, __file__, "--kind", kind, "--child", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind", choices=sorted(NAMES), default="threads")
    ap.add_argument("--n", default="1000,10000", help="要启动的单位数，逗号分隔")
    ap.add_argument("--m", type=int, default=20000, help="乒乓往返次数")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.kind, args.child)))
        return

    sizes = [int(s) for s in args.n.split(",")]
    metrics: dict[str, dict] = {}

    def add(key: str, label: str, unit: str, value: float) -> None:
        metrics.setdefault(key, {"label": label, "unit": unit, "values": []})["values"].append(
            value
        )

    children = []
    noun = NAMES[args.kind]
    for _ in range(args.rounds):
        for n in sizes:
            r = measure_in_child(args.kind, n) | {"n": n}
            children.append(r)
            print(
                f"{args.kind} n={n} start={r['start_s']:.4f}s rss/unit={r['rss_delta'] / n:.0f}B",
                file=sys.stderr,
            )
            add(f"start_{n}_s", f"启动 {n} {noun}", "s", r["start_s"])
            add(f"rss_per_unit_{n}_B", f"每个单位的 RSS 增量（N={n}）", "B", r["rss_delta"] / n)
            if "vm_delta" in r:
                label = f"每个线程的虚拟地址空间增量（N={n}）"
                add(f"vm_per_unit_{n}_B", label, "B", r["vm_delta"] / n)
        if args.kind == "threads":
            switch = pingpong_threads(args.m)
        else:
            switch = asyncio.run(pingpong_tasks(args.m))
        add("switch_s", "一次切换（乒乓往返 ÷ 2）", "s", switch)
    info = {
        "kind": args.kind,
        "round_trips": args.m,
        "leftover_units": max(c["leftover"] for c in children),
        "children": children,
        "python": sys.version.split()[0],
        # 新线程的默认栈大小：threading.stack_size() 为 0 时由 glibc 取 ulimit -s 的软上限
        "thread_stack_size_setting": threading.stack_size(),
        "stack_rlimit_soft_B": resource.getrlimit(resource.RLIMIT_STACK)[0],
    }
    print(json.dumps({"metrics": metrics, "info": info}))


if __name__ == "__main__":
    main()
