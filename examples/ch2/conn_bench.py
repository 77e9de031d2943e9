"""第二章 · 并发连接：N 个空闲但“活着”的连接让服务器付出多少内存和上下文切换。

驱动程序（本文件）把服务器作为独立进程启动（127.0.0.1，端口 0，服务器打印实际端口），
再从本进程打开 N 个客户端连接，每个连接每秒发一次 ping；连接稳定后从 /proc 读取：
服务器的常驻内存（VmRSS）和所有线程上下文切换次数之和。

单独运行：python examples/ch2/conn_bench.py --server asyncio --conns 1000
         python examples/ch2/conn_bench.py --server go --go-binary /path/to/connserver
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVERS = {
    "asyncio": [sys.executable, str(HERE / "conn_asyncio_server.py")],
    "threads": [sys.executable, str(HERE / "conn_thread_server.py")],
}
SERVER_LABELS = {"asyncio": "asyncio 事件循环", "threads": "每连接一个线程", "go": "Go goroutine"}
PING = b"ping\n"
SLOTS = 100  # 把一秒切成 100 个时隙，连接的 ping 均匀错开，像彼此独立的客户端


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def raise_nofile() -> int:
    # 客户端这边同样要开 N 个套接字：软上限提到硬上限（本机为 20,000，2 万个连接放不下）
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def split_cpus() -> tuple[list[int] | None, list[int] | None]:
    """(服务器的 CPU, 客户端的 CPU)：至少两个 CPU 时互不重叠。"""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


# --8<-- [start:proc]
def status_bytes(pid: int, field: str = "VmRSS") -> int:
    # VmRSS：进程此刻占用的物理内存（不含内核里的套接字缓冲区）；VmSize：虚拟地址空间
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def thread_switches(pid: int) -> dict[str, tuple[int, float]]:
    """每个线程的（自愿 + 非自愿上下文切换次数, 读取时刻）。

    /proc/PID/status 里的计数只属于主线程；每连接一个线程的服务器在那里几乎是 0，
    必须逐个读 /proc/PID/task/*/status。
    """
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            text = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # 线程刚好退出
        count = sum(
            int(line.split()[1])
            for line in text.splitlines()
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
        )
        out[tid] = (count, time.monotonic())
    return out


def switch_rate(before: dict, after: dict, tids: list[str] | None = None) -> float:
    # 一万个线程的 status 要读几百毫秒：每个线程按自己的两次读取时刻求速率，再相加
    return sum(
        (after[t][0] - before[t][0]) / (after[t][1] - before[t][1])
        for t in (before.keys() & after.keys() if tids is None else tids)
    )


# --8<-- [end:proc]


def start_server(kind: str, go_binary: str | None, cpus: list[int] | None) -> subprocess.Popen:
    if kind == "go" and not go_binary:
        raise SystemExit("--server go needs --go-binary (the built go-examples/ch2/connserver)")
    cmd = [go_binary, "-port", "0"] if kind == "go" else [*SERVERS[kind], "--port", "0"]
    # 服务器与驱动同属一个进程组：引擎超时清理进程组时它也会被带走
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )


def read_port(proc: subprocess.Popen, timeout_s: float = 20.0) -> int:
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        raise RuntimeError(f"server did not announce its port (exit status {proc.poll()})")
    return int(line)


def stop_server(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


class Clients:
    """N 个非阻塞客户端连接，由一个 epoll 选择器驱动（客户端不能成为瓶颈）。"""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.socks: list[socket.socket] = []
        self.received = 0  # 收到的回显字节数

    def _pump(self, timeout: float) -> None:
        for key, _ in self.sel.select(timeout):
            data = key.fileobj.recv(4096)
            if not data:
                raise RuntimeError("server closed a connection")
            self.received += len(data)

    def _wait_echoes(self, expected: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.received < expected:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"only {self.received // len(PING)} of {expected // len(PING)} echoes arrived"
                )
            self._pump(min(left, 0.1))

    def connect(self, n: int, batch: int) -> None:
        # 分批建立连接，每批都等到回显再继续：保证服务器已接受并开始服务这些连接，
        # 也不会把 accept 队列（somaxconn）挤爆
        for start in range(0, n, batch):
            for _ in range(min(batch, n - start)):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.setblocking(False)
                s.send(PING)
                self.sel.register(s, selectors.EVENT_READ)
                self.socks.append(s)
            self._wait_echoes(len(self.socks) * len(PING), timeout_s=30)

    def steady(self, interval_s: float, clock: dict, until) -> None:
        """每个连接每 interval_s 秒发一次 ping，按时隙错开；直到 until() 为真。"""
        tick = interval_s / SLOTS
        while True:
            now = time.monotonic()
            while clock["next"] <= now:  # 落后时补发错过的时隙
                slot = clock["slot"]
                for s in self.socks[slot::SLOTS]:
                    s.send(PING)
                clock["sent"] += len(self.socks[slot::SLOTS])
                clock["slot"] = (slot + 1) % SLOTS
                clock["next"] += tick
            if until():
                return
            self._pump(max(0.0, min(clock["next"] - now, 0.05)))

    def close(self) -> None:
        for s in self.socks:
            self.sel.unregister(s)
            s.close()
        self.sel.close()
        self.socks.clear()


def sample(pid: int, clock: dict, clients: Clients) -> dict:
    """读服务器各线程的计数器：放在另一个进程里读，免得和客户端循环争抢本进程的 GIL。"""
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, __file__, "--sample-pid", str(pid)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return {
        "t": (start + time.monotonic()) / 2,
        "threads": {tid: tuple(v) for tid, v in json.loads(out).items()},
        "sent": clock["sent"],
        "received": clients.received,
    }


def measure_level(kind: str, n: int, args, server_cpus, go_binary) -> dict:
    proc = start_server(kind, go_binary, server_cpus)
    clients = None
    try:
        port = read_port(proc)
        time.sleep(0.2)  # 让服务器完成启动后的内存分配，再读基线
        base_rss = status_bytes(proc.pid, "VmRSS")
        clients = Clients(port)
        t = time.monotonic()
        clients.connect(n, args.batch)
        connect_s = time.monotonic() - t
        clock = {"next": time.monotonic(), "slot": 0, "sent": n}
        # 先跑一段（至少一个完整的 ping 周期）进入稳态，再开窗口计数
        settle_end = time.monotonic() + args.settle
        clients.steady(args.interval, clock, lambda: time.monotonic() >= settle_end)
        samples: list[dict] = []

        def sampler() -> None:
            samples.append(sample(proc.pid, clock, clients))
            time.sleep(args.window)
            samples.append(sample(proc.pid, clock, clients))
            # 连接仍然开着、仍在收发（驻留状态）时读 RSS
            samples[-1]["rss"] = status_bytes(proc.pid, "VmRSS")
            samples[-1]["vm_size"] = status_bytes(proc.pid, "VmSize")

        reader = threading.Thread(target=sampler)
        reader.start()
        clients.steady(args.interval, clock, lambda: not reader.is_alive())
        reader.join()
        if len(samples) != 2:
            raise RuntimeError("reading the server's counters failed")
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited during the measurement")
    finally:
        if clients is not None:
            clients.close()
        stop_server(proc)
    a, b = samples
    window = b["t"] - a["t"]
    r = {
        "pid": proc.pid,
        "rss": b["rss"],
        "base_rss": base_rss,
        "per_conn": (b["rss"] - base_rss) / n,
        "vm_size": b["vm_size"],
        "switches_per_s": switch_rate(a["threads"], b["threads"]),
        "main_thread_switches_per_s": switch_rate(a["threads"], b["threads"], [str(proc.pid)]),
        "threads": len(b["threads"]),
        "connect_s": connect_s,
        "window_s": window,
        "pings_per_s": (b["sent"] - a["sent"]) / window,
        "echoes_per_s": (b["received"] - a["received"]) / len(PING) / window,
    }
    log(
        f"{kind} n={n}: connect {connect_s:.2f} s, rss {r['rss'] / 2**20:.1f} MiB "
        f"(base {base_rss / 2**20:.1f}), {r['switches_per_s']:.0f} switches/s, "
        f"{r['threads']} threads, {r['pings_per_s']:.0f} pings/s, {r['echoes_per_s']:.0f} echoes/s"
    )
    return r


def level_name(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["asyncio", "threads", "go"], default="asyncio")
    parser.add_argument("--go-binary", help="go-examples/ch2/connserver 编译出的二进制")
    parser.add_argument("--conns", default="1000", help="连接数，逗号分隔，如 1000,10000")
    parser.add_argument("--interval", type=float, default=1.0, help="每个连接的 ping 间隔（秒）")
    parser.add_argument("--settle", type=float, default=1.0, help="开窗口前的稳定时间（秒）")
    parser.add_argument("--window", type=float, default=2.0, help="计数窗口（秒）")
    parser.add_argument("--batch", type=int, default=500, help="每批建立的连接数")
    parser.add_argument("--sample-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample_pid:
        # 内部用法：打印该进程各线程的切换计数（time.monotonic 是全系统共用的时钟）
        print(json.dumps(thread_switches(args.sample_pid)))
        return
    levels = [int(x) for x in args.conns.split(",")]

    nofile = raise_nofile()
    if max(levels) + 64 > nofile:
        raise SystemExit(f"{max(levels)} connections need more than RLIMIT_NOFILE={nofile}")
    server_cpus, client_cpus = split_cpus()
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)

    metrics, per_level = {}, {}
    label = SERVER_LABELS[args.server]
    for n in levels:
        r = measure_level(args.server, n, args, server_cpus, args.go_binary)
        name, shown = level_name(n), f"{n:,} 连接"
        per_level[name] = r
        metrics[f"rss_{name}"] = {"label": f"{shown} · 常驻内存", "unit": "B", "values": [r["rss"]]}
        metrics[f"per_conn_{name}"] = {
            "label": f"{shown} · 每连接内存增量",
            "unit": "B",
            "values": [r["per_conn"]],
        }
        metrics[f"switches_{name}"] = {
            "label": f"{shown} · 每秒上下文切换（全部线程）",
            "unit": "",
            "values": [r["switches_per_s"]],
        }
    result = {
        "metrics": metrics,
        "info": {
            "server": args.server,
            "server_label": label,
            "levels": levels,
            "interval_s": args.interval,
            "window_s": args.window,
            "server_cpus": server_cpus,
            "client_cpus": client_cpus,
            "nofile": nofile,
            "server_pids": [r["pid"] for r in per_level.values()],
            "per_level": per_level,
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
