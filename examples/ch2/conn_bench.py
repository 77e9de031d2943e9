"""第二章 · 并发连接：N 个“活着”的连接让服务器付出多少内存和上下文切换，随消息速率怎样变。

驱动程序（本文件）把服务器作为独立进程启动（127.0.0.1，端口 0，服务器打印实际端口），
从本进程打开 N 个客户端连接，然后在同一批连接上依次换几种消息速率（每个连接每秒几条 ping），
每种速率开一个计数窗口，从 /proc 读服务器所有线程的上下文切换次数之和；
每个连接数级别结束时读服务器的常驻内存（VmRSS）。连接数从小到大逐级追加，不重连。

单独运行：python examples/ch2/conn_bench.py --server threads --conns 1000 --rates 0.5,1,2
         python examples/ch2/conn_bench.py --server go --go-binary /path/to/connserver
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
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
TICK_S = 0.01  # 驱动程序每 10 ms 发一批：这一批里到期的连接各发一条
SWITCHES = re.compile(rb"^(?:non)?voluntary_ctxt_switches:\s+(\d+)$", re.MULTILINE)


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


def rate_name(rate: float) -> str:
    """指标名里的速率：0.25 → r0p25，1 → r1。"""
    return "r" + f"{rate:g}".replace(".", "p")


def level_name(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


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
            fd = os.open(f"/proc/{pid}/task/{tid}/status", os.O_RDONLY)
            try:
                text = os.read(fd, 16384)
            finally:
                os.close(fd)
        except (FileNotFoundError, ProcessLookupError):
            continue  # 线程刚好退出
        # 两行：voluntary_ctxt_switches 与 nonvoluntary_ctxt_switches
        out[tid] = (sum(int(v) for v in SWITCHES.findall(text)), time.monotonic())
    return out


def switch_rate(before: dict, after: dict, tids: list[str] | None = None) -> float:
    # 一万个线程的 status 要读上百毫秒：每个线程按自己的两次读取时刻求速率，再相加
    return sum(
        (after[t][0] - before[t][0]) / (after[t][1] - before[t][1])
        for t in (before.keys() & after.keys() if tids is None else tids)
    )


# --8<-- [end:proc]


def sampler_loop(pid: int) -> None:
    """内部用法（--sample-pid）：每从标准输入读到一行，就读一遍服务器各线程的计数，
    打印一行 JSON：读取的起止时刻、线程数、内存，以及与上一遍相比每秒切换多少次。
    放在另一个进程里读，免得和客户端循环争抢驱动进程的 GIL；上万个线程的计数也留在这里算。
    """
    previous = None
    for _ in sys.stdin:
        t0 = time.monotonic()
        now = thread_switches(pid)
        t1 = time.monotonic()
        reply = {
            "t0": t0,
            "t1": t1,
            "threads": len(now),
            "rss": status_bytes(pid, "VmRSS"),
            "vm_size": status_bytes(pid, "VmSize"),
        }
        if previous is not None:
            reply["switches_per_s"] = switch_rate(previous, now)
            main = [str(pid)] if str(pid) in now and str(pid) in previous else []
            reply["main_thread_switches_per_s"] = switch_rate(previous, now, main)
        previous = now
        print(json.dumps(reply), flush=True)


class Sampler:
    """驱动程序这一侧：向常驻的读取进程要一遍计数，同时记下客户端自己的收发计数。"""

    def __init__(self, pid: int) -> None:
        # 读取进程和驱动共用客户端的 CPU：让它的优先级低一些，别让驱动因它而晚发
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--sample-pid", str(pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.nice(10),
        )

    def sample(self, clients: Clients) -> dict:
        # 客户端的收发计数由收发循环在刚发完一批时记下，再请读取进程开始读：
        # 两端都对齐到“刚发完一批”，批与批之间的间隔不会算进或漏出窗口
        at = clients.snapshot()
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"counter reader exited (status {self.proc.poll()})")
        return {**json.loads(line), **at}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def start_server(kind: str, go_binary: str | None, cpus: list[int] | None) -> subprocess.Popen:
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
    """N 个非阻塞客户端连接，由一个 epoll 选择器驱动。"""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.socks: list[socket.socket] = []
        self.sent = 0  # 发出的 ping 条数
        self.received = 0  # 收到的回显条数
        self._partial = 0  # 收到但还不够一条的字节
        self._order: list[int] = []  # 轮流发送的顺序（下标）
        self._next = 0  # 轮到顺序里的第几个
        self._schedule = (0.0, 0.0, 0)  # (起点, 每秒总条数, 起点时已发条数)
        self._wanted = threading.Event()  # 读取线程要一份计数
        self._taken = threading.Event()
        self._snapshot: dict = {}

    def snapshot(self, timeout_s: float = 10.0) -> dict:
        """（读取线程调用）等收发循环发完下一批，取那一刻的时间和收发计数。"""
        self._taken.clear()
        self._wanted.set()
        if not self._taken.wait(timeout_s):
            raise RuntimeError("the client loop did not answer a snapshot request")
        return dict(self._snapshot)

    def _pump(self, timeout: float) -> None:
        for key, _ in self.sel.select(timeout):
            data = key.fileobj.recv(4096)
            if not data:
                raise RuntimeError("server closed a connection")
            count, self._partial = divmod(self._partial + len(data), len(PING))
            self.received += count

    def connect(self, total: int, batch: int) -> None:
        # 分批追加连接，每批都等到回显再继续：保证服务器已接受并开始服务这些连接，
        # 也不会把 accept 队列（somaxconn）挤爆
        while len(self.socks) < total:
            for _ in range(min(batch, total - len(self.socks))):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.setblocking(False)
                s.send(PING)
                self.sel.register(s, selectors.EVENT_READ)
                self.socks.append(s)
                self.sent += 1
            deadline = time.monotonic() + 30
            while self.received < self.sent:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {self.received} of {self.sent} echoes arrived")
                self._pump(0.1)
        # 发送顺序按黄金分割打散：服务器按接受连接的先后创建线程，读计数的进程也按这个先后读；
        # 若按连接顺序轮流发，发送的先后与读取的先后同步扫过，窗口里数到的条数会系统地偏多或偏少
        golden = (5**0.5 - 1) / 2
        self._order = sorted(range(len(self.socks)), key=lambda i: (i * golden) % 1.0)
        self._next = 0

    def set_rate(self, per_conn: float) -> None:
        """从此刻起每个连接每秒 per_conn 条：总速率 N × per_conn，按连接轮流发，间隔均匀。"""
        self._schedule = (time.monotonic(), per_conn * len(self.socks), self.sent)

    def run(self, until) -> None:
        """按当前速率收发，直到 until() 为真。落后时补发，保证总条数符合计划。"""
        start, total_rate, sent_at_start = self._schedule
        tick = start
        n = len(self.socks)
        while not until():
            now = time.monotonic()
            if now >= tick:
                due = sent_at_start + int((now - start) * total_rate) - self.sent
                for _ in range(max(due, 0)):
                    try:
                        self.socks[self._order[self._next]].send(PING)
                    except BlockingIOError:
                        raise RuntimeError(
                            "the server stopped reading (send buffer full)"
                        ) from None
                    self._next = (self._next + 1) % n
                self.sent += max(due, 0)
                tick = now + TICK_S
                if self._wanted.is_set():
                    self._wanted.clear()
                    self._snapshot = {
                        "t": time.monotonic(),
                        "sent": self.sent,
                        "received": self.received,
                    }
                    self._taken.set()
            self._pump(max(0.0, min(tick - time.monotonic(), 0.05)))

    def drain(self, timeout_s: float) -> None:
        """停发，直到发出的每条消息都收到回显。"""
        self.set_rate(0)
        deadline = time.monotonic() + timeout_s
        self.run(until=lambda: self.received >= self.sent or time.monotonic() > deadline)
        if self.received < self.sent:
            raise RuntimeError(
                f"{self.sent - self.received} echoes still missing after {timeout_s} s"
            )

    def close(self) -> None:
        for s in self.socks:
            self.sel.unregister(s)
            s.close()
        self.sel.close()
        self.socks.clear()


def measure_window(clients: Clients, sampler: Sampler, rate: float, args) -> dict:
    """一个速率的计数窗口：换速率 → 稳定 settle 秒 → 读计数 → window 秒 → 再读计数。"""
    clients.set_rate(rate)
    samples: list[dict] = []
    failure: list[BaseException] = []

    def timeline() -> None:
        try:
            time.sleep(args.settle)
            samples.append(sampler.sample(clients))
            time.sleep(args.window)
            samples.append(sampler.sample(clients))
        except BaseException as exc:  # 交给主线程抛出
            failure.append(exc)

    reader = threading.Thread(target=timeline, daemon=True)
    reader.start()
    clients.run(until=lambda: not reader.is_alive())
    reader.join()
    if failure:
        raise failure[0]
    a, b = samples
    span = b["t"] - a["t"]
    echoes = (b["received"] - a["received"]) / span
    return {
        "rate": rate,
        "rate_shown": f"{rate:g}",
        "target_msgs_per_s": rate * len(clients.socks),
        "pings_per_s": (b["sent"] - a["sent"]) / span,
        "echoes_per_s": echoes,
        "switches_per_s": b["switches_per_s"],
        "switches_per_msg": b["switches_per_s"] / echoes if echoes else float("nan"),
        "main_thread_switches_per_s": b["main_thread_switches_per_s"],
        "threads": b["threads"],
        "window_s": span,
        "read_s": b["t1"] - b["t0"],
        "rss": b["rss"],
        "vm_size": b["vm_size"],
    }


def rate_error(kind: str, n: int, w: dict, tolerance: float) -> str | None:
    """达到的回显速率偏离目标超过容差时，说明偏了多少；否则 None。"""
    off = w["echoes_per_s"] / w["target_msgs_per_s"] - 1
    if abs(off) <= tolerance:
        return None
    return (
        f"{kind} server, {n} connections at {w['rate']:g}/s each: "
        f"{w['echoes_per_s']:.0f} echoes/s against a target of {w['target_msgs_per_s']:.0f} "
        f"({off:+.0%}, tolerance ±{tolerance:.0%}; the driver sent {w['pings_per_s']:.0f}/s)"
    )


def measure_rate(clients, sampler, kind: str, n: int, rate: float, args) -> dict:
    """一个速率点。回显速率偏离目标超过容差的窗口不能按目标速率标注：先停发，
    等服务器把积压的消息回显完（机器上别的负载让它停顿过，落后后等 GIL 的线程会越积越多），
    再重测；次数用完仍偏离就失败。"""
    for attempt in range(1, args.attempts + 1):
        w = measure_window(clients, sampler, rate, args)
        w["attempt"] = attempt
        error = rate_error(kind, n, w, args.tolerance)
        again = error is not None and attempt < args.attempts
        log(
            f"{kind} n={n} rate={rate:g}/s: {w['switches_per_s']:.0f} switches/s, "
            f"{w['pings_per_s']:.0f} pings/s, {w['echoes_per_s']:.0f} echoes/s "
            f"(target {w['target_msgs_per_s']:.0f}), {w['switches_per_msg']:.2f} switches/msg, "
            f"{w['threads']} threads, window {w['window_s']:.2f} s, read {w['read_s']:.2f} s"
            + (" — off target: draining, then measuring again" if again else "")
        )
        if error is None:
            return w
        if again:
            clients.drain(timeout_s=10)
            time.sleep(0.2 * attempt)  # 别的负载往往持续一阵：每次多等一会儿
    raise SystemExit(f"{error} in {args.attempts} windows")


def measure(kind: str, levels: list[int], rates: dict[int, list[float]], args, cpus) -> dict:
    server_cpus, _ = cpus
    proc = start_server(kind, args.go_binary, server_cpus)
    clients = sampler = None
    per_level = {}
    try:
        port = read_port(proc)
        time.sleep(0.2)  # 让服务器完成启动后的内存分配，再读基线
        base_rss = status_bytes(proc.pid, "VmRSS")
        clients = Clients(port)
        sampler = Sampler(proc.pid)
        for n in levels:
            t = time.monotonic()
            clients.connect(n, args.batch)
            connect_s = time.monotonic() - t
            windows = [measure_rate(clients, sampler, kind, n, r, args) for r in rates[n]]
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited during the measurement")
            last = windows[-1]  # 连接仍然开着、仍在收发（驻留状态）时读的 RSS
            per_level[level_name(n)] = {
                "connections": n,
                "connect_s": connect_s,
                "base_rss": base_rss,
                "rss": last["rss"],
                "per_conn": (last["rss"] - base_rss) / n,
                "vm_size": last["vm_size"],
                "threads": last["threads"],
                "by_rate": {rate_name(w["rate"]): w for w in windows},
            }
            log(
                f"{kind} n={n}: connect {connect_s:.2f} s, rss {last['rss'] / 2**20:.1f} MiB "
                f"(base {base_rss / 2**20:.1f})"
            )
    finally:
        if sampler is not None:
            sampler.close()
        if clients is not None:
            clients.close()
        stop_server(proc)
    return {"pid": proc.pid, "sampler_pid": sampler.proc.pid, "per_level": per_level}


def parse_rates(text: str) -> list[float]:
    rates = sorted({float(x) for x in text.split(",")})
    if not rates or rates[0] <= 0:
        raise SystemExit("--rates must be positive numbers, e.g. 0.25,0.5,1,2,4")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["asyncio", "threads", "go"], default="asyncio")
    parser.add_argument("--go-binary", help="go-examples/ch2/connserver 编译出的二进制")
    parser.add_argument("--conns", default="1000", help="连接数，逗号分隔，如 1000,10000")
    parser.add_argument("--rates", default="0.25,0.5,1,2,4", help="每个连接每秒几条消息，逗号分隔")
    parser.add_argument(
        "--max-msgs",
        type=float,
        default=None,
        help="总消息速率上限（条/秒）：超过它的（连接数, 速率）组合不测，并在输出里注明",
    )
    parser.add_argument("--settle", type=float, default=0.1, help="换速率后到开窗口前（秒）")
    parser.add_argument("--window", type=float, default=0.5, help="每个速率的计数窗口（秒）")
    parser.add_argument(
        "--tolerance", type=float, default=0.05, help="回显速率与目标速率允许的相对偏差"
    )
    parser.add_argument(
        "--attempts", type=int, default=5, help="一个速率点最多测几个窗口（偏离目标时重测）"
    )
    parser.add_argument("--batch", type=int, default=500, help="每批建立的连接数")
    parser.add_argument("--sample-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample_pid:
        sampler_loop(args.sample_pid)
        return
    if args.server == "go" and not args.go_binary:
        raise SystemExit("--server go needs --go-binary (the built go-examples/ch2/connserver)")
    levels = sorted({int(x) for x in args.conns.split(",")})
    sweep = parse_rates(args.rates)
    rates = {n: [r for r in sweep if not args.max_msgs or n * r <= args.max_msgs] for n in levels}
    not_measured = [
        {"connections": n, "rate": r, "msgs_per_s": n * r}
        for n in levels
        for r in sweep
        if r not in rates[n]
    ]

    nofile = raise_nofile()
    if max(levels) + 64 > nofile:
        raise SystemExit(f"{max(levels)} connections need more than RLIMIT_NOFILE={nofile}")
    cpus = split_cpus()
    if cpus[1]:
        os.sched_setaffinity(0, cpus[1])

    try:
        r = measure(args.server, levels, rates, args, cpus)
    except RuntimeError as exc:
        raise SystemExit(f"{args.server} server: {exc}") from None
    metrics = {}
    for n in levels:
        name, shown = level_name(n), f"{n:,} 连接"
        lv = r["per_level"][name]
        metrics[f"rss_{name}"] = {
            "label": f"{shown} · 常驻内存",
            "unit": "B",
            "values": [lv["rss"]],
        }
        metrics[f"per_conn_{name}"] = {
            "label": f"{shown} · 每连接内存增量",
            "unit": "B",
            "values": [lv["per_conn"]],
        }
        for key, w in lv["by_rate"].items():
            at = f"{shown} · 每连接 {w['rate']:g} 条/秒"
            metrics[f"switches_{name}_{key}"] = {
                "label": f"{at} · 每秒上下文切换（全部线程）",
                "unit": "",
                "values": [w["switches_per_s"]],
            }
            metrics[f"switches_per_msg_{name}_{key}"] = {
                "label": f"{at} · 每条消息的上下文切换",
                "unit": "",
                "values": [w["switches_per_msg"]],
            }
    result = {
        "metrics": metrics,
        "info": {
            "server": args.server,
            "server_label": SERVER_LABELS[args.server],
            "levels": levels,
            "rates": sweep,
            "not_measured": not_measured,
            "max_msgs_per_s": args.max_msgs,
            "tick_s": TICK_S,
            "settle_s": args.settle,
            "window_s": args.window,
            "tolerance": args.tolerance,
            "attempts": args.attempts,
            "server_cpus": cpus[0],
            "client_cpus": cpus[1],
            "nofile": nofile,
            "server_pid": r["pid"],
            "sampler_pid": r["sampler_pid"],
            "per_level": r["per_level"],
            # 每个窗口一行：目标速率、实际发出与收到的速率、切换次数（页面上列成表）
            "windows": [
                {"connections": lv["connections"], **w}
                for lv in r["per_level"].values()
                for w in lv["by_rate"].values()
            ],
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
