"""第二章 · 横向扩展：gunicorn 的 worker、nginx 负载均衡、Redis 共享状态、集中日志。

驱动程序（本文件）经由 perflab.services 启动每一个真组件（gunicorn 与它的 worker、Debian 的
nginx 与 redis-server、Go 版服务），都在 127.0.0.1 运行时选出的空闲端口或临时目录里的 Unix
套接字上，结束或失败时全部停掉。--part 选一部分：
  workers  1、2、4 个 worker × sync / gthread / uvicorn：吞吐、延迟、每个 worker 的 RSS 与 USS
  memory   4 个 worker，预加载（--preload）与不预加载：fork 共享省下多少内存
  recycle  max_requests 回收 worker 时的延迟尖峰（细粒度时间序列），加不加 max_requests_jitter
  lb       nginx 在两个实例前做负载均衡：多一跳的延迟与吞吐，复用与不复用上游连接
  state    进程内缓存与会话 vs Redis：客户端经端口看到的陈旧读与丢失的会话（1、2、4 个 worker）
  price    Redis 的代价：进程内、Redis 经 TCP、Redis 经 Unix 套接字，每个请求多花多少
  logs     所有 worker 把 JSON 日志发到同一个收集端，按请求 ID 跟踪一个跨 worker 的请求；日志的开销
  go       Go 对照：一个进程、互斥锁保护的进程内缓存；再起第二个实例时同样读到旧值

单独运行：python examples/ch2/scaling.py --part state --rounds 4
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from perflab import services  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402
from perflab.services import memory, nginx, redis_server  # noqa: E402

PY = sys.executable
APP_DIR = HERE / "scaling"
PING = services.Expect(path="/api/ping", json_body={"ok": True})


def _work_body(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return f"GET /api/work answered a body that is not JSON: {body[:60]!r}"
    return None if data.get("count") == 20 else f"GET /api/work answered {data!r}"


WORK = services.Expect(path="/api/work", body_check=_work_body)


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def metric(label: str, unit: str, value: float) -> dict:
    return {"label": label, "unit": unit, "values": [value]}


# --8<-- [start:gunicorn]
# worker 类型 → (gunicorn 的 -k, 应用)：uvicorn worker 跑 ASGI 应用，另两种跑 WSGI 应用
CLASSES = {
    "sync": ("sync", "wsgi_app:app"),
    "gthread": ("gthread", "wsgi_app:app"),
    "uvicorn": ("uvicorn.workers.UvicornWorker", "asgi_app:app"),
}


def gunicorn_command(
    kind: str,
    workers: int,
    *,
    threads: int = 4,
    preload: bool = False,
    max_requests: int = 0,
    jitter: int = 0,
) -> list[str]:
    """gunicorn 的命令行；{port} 由 perflab.services 换成空闲端口。"""
    worker_class, app = CLASSES[kind]
    cmd = [PY, "-m", "gunicorn", "-k", worker_class, "-w", str(workers)]
    if kind == "gthread":
        cmd += ["--threads", str(threads)]
    if preload:
        cmd.append("--preload")  # 主进程先导入应用，再 fork 出 worker
    if max_requests:
        cmd += ["--max-requests", str(max_requests), "--max-requests-jitter", str(jitter)]
    return [*cmd, "--chdir", str(APP_DIR), "-b", "127.0.0.1:{port}", app]


# --8<-- [end:gunicorn]


def start_app(name: str, kind: str, workers: int, cpus, env=None, **options):
    """一个 gunicorn 实例：就绪 = /api/ping 答对（端口恰好被别人占了时 perflab 换一个再起）。"""
    cmd = gunicorn_command(kind, workers, **options)
    ready = services.http_ready(PING)
    return services.start(name, cmd, ready=ready, cpus=cpus, env=env, startup_timeout_s=30)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict
    pid: str


def http_send(port: int) -> Callable[..., Reply]:
    """send(method, path, body=None, headers=None)：每个请求一个新连接（像许多不同的客户端）。"""

    def send(method: str, path: str, body: str | None = None, headers=None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
            cookie = resp.getheader("Set-Cookie", "")
            data = json.loads(raw) if raw else {}
            if cookie:
                data["_cookie"] = cookie.split(";", 1)[0]
            return Reply(resp.status, data, resp.getheader("X-Worker-Pid", ""))
        finally:
            conn.close()

    return send


def fan_out(call: Callable[[], Reply], n: int, threads: int) -> list[Reply]:
    """n 次 call()，threads 个线程同时发；threads = 1 时按顺序。"""
    if threads <= 1:
        return [call() for _ in range(n)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: call(), range(n)))


# --8<-- [start:stale]
def stale_reads(send, rounds: int, reads: int, threads: int = 4) -> dict:
    """每一轮：写入新值并等它确认，再并发读 reads 次；读到的不是刚确认的值，就是一次陈旧读。"""
    stale = total = 0
    pids: Counter[str] = Counter()
    for r in range(1, rounds + 1):
        value = str(r)
        if (w := send("PUT", "/item/price", value)).status != 200:
            raise PerflabError(f"PUT /item/price answered {w.status}")
        for reply in fan_out(lambda: send("GET", "/item/price"), reads, threads):
            if reply.status != 200:
                raise PerflabError(f"GET /item/price answered {reply.status}")
            total += 1
            pids[reply.pid] += 1
            stale += reply.body["value"] != value
    return {"stale": stale, "reads": total, "pids": dict(pids)}


# --8<-- [end:stale]


# --8<-- [start:lost]
def lost_sessions(send, requests: int, threads: int = 4) -> dict:
    """登录一次，再带着会话 cookie 请求 requests 次：答 401 的就是会话丢了。"""
    login = send("POST", "/login?user=reader")
    if login.status != 200 or "_cookie" not in login.body:
        raise PerflabError(f"POST /login answered {login.status} without a session cookie")
    cookie = {"Cookie": login.body["_cookie"]}
    lost = 0
    pids: Counter[str] = Counter()
    for reply in fan_out(lambda: send("GET", "/me", headers=cookie), requests, threads):
        if reply.status not in (200, 401):
            raise PerflabError(f"GET /me answered {reply.status}")
        lost += reply.status == 401
        pids[reply.pid] += 1
    return {"lost": lost, "requests": requests, "pids": dict(pids)}


# --8<-- [end:lost]


def wait_all_workers(svc, workers: int, timeout_s: float = 30.0) -> set[str]:
    """就绪检查只说明有一个 worker 在答；这里并发请求，直到每个 worker 都答过（也算预热）。"""
    send = http_send(svc.port)
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while True:
        want = {str(pid) for pid in memory.children(svc)}
        got = fan_out(lambda: send("GET", "/api/work"), 4 * workers, 2 * workers)
        seen |= {r.pid for r in got if r.status == 200}
        if len(want) == workers and want <= seen:
            return want
        svc.check_alive("while its workers started")
        if time.monotonic() > deadline:
            raise svc.fail(f"only {len(seen & want)} of {workers} workers answered")
        time.sleep(0.05)


def injected(args, *running) -> None:
    """测试用：所有组件都起来之后故意失败，检查它们是否全部被停掉、临时目录是否删掉。"""
    if args.inject_failure:
        names = ", ".join(svc.name for svc in running)
        raise PerflabError(f"injected failure while running {names}")


def versions() -> dict[str, str]:
    pkgs = ("flask", "gunicorn", "fastapi", "uvicorn", "redis", "psutil")
    return {pkg: metadata.version(pkg) for pkg in pkgs}


def memory_summary(mem: dict) -> dict:
    """每个 worker 的平均 USS、RSS，以及主进程加全部 worker 的 PSS 之和（真实的总占用）。"""
    workers = mem["workers"]
    return {
        "uss": statistics.fmean(w["uss"] for w in workers),
        "rss": statistics.fmean(w["rss"] for w in workers),
        "pss_total": mem["master"]["pss"] + sum(w["pss"] for w in workers),
    }


# ---------------------------------------------------------------- workers


def configs(args) -> list[tuple[str, int, bool]]:
    """(worker 类型, worker 数, 是否预加载)。

    workers：每种类型 1、2、4 个 worker，不预加载；memory：每种类型 --mem-workers 个 worker，
    不预加载与预加载各一份。
    """
    kinds = args.classes.split(",")
    if args.part == "memory":
        return [(k, args.mem_workers, preload) for k in kinds for preload in (False, True)]
    return [(k, int(w), False) for k in kinds for w in args.workers.split(",")]


def part_workers(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    rows = []
    for kind, w, preload in configs(args):
        tag = f"{kind}_w{w}" + ("_preload" if preload else "")
        how = f"{kind}，{w} 个 worker" + ("，预加载" if preload else "")
        name = f"gunicorn-{tag}"
        with start_app(name, kind, w, server_cpus, threads=args.threads, preload=preload) as app:
            services.verify(app, WORK, tries=1)
            wait_all_workers(app, w)
            idle = memory_summary(memory.workers_memory(app, w))
            url = app.url + "/api/work"
            if args.warmup:
                services.wrk(
                    url, target=name, connections=args.conns, duration_s=args.warmup, cpus=load_cpus
                )
            # 同一台服务器压几遍，取吞吐最好的一遍：机器上别的负载只会压低吞吐，
            # 一阵干扰（连压测端都没轮上 CPU 的一秒）不该带偏 worker 数之间的比值
            passes = [
                services.wrk(
                    url, target=name, connections=args.conns, duration_s=args.duration,
                    cpus=load_cpus,
                )
                for _ in range(args.passes)
            ]  # fmt: skip
            res = max(passes, key=lambda r: r.good_rps).check()
            # 压测之后再读一次：请求读过的对象被改了引用计数，fork 共享的页随之被复制
            mem = memory_summary(memory.workers_memory(app, w))
            app.check_alive()
        metrics[f"rps_{tag}"] = metric(f"每秒成功请求（{how}）", "", res.good_rps)
        metrics[f"p50_{tag}_s"] = metric(f"p50（{how}）", "s", res.latency_s["p50"])
        metrics[f"p99_{tag}_s"] = metric(f"p99（{how}）", "s", res.latency_s["p99"])
        metrics[f"uss_idle_{tag}"] = metric(
            f"每个 worker 的 USS，刚启动（{how}）", "B", idle["uss"]
        )
        metrics[f"uss_{tag}"] = metric(f"每个 worker 的 USS，压测之后（{how}）", "B", mem["uss"])
        metrics[f"rss_{tag}"] = metric(f"每个 worker 的 RSS，压测之后（{how}）", "B", mem["rss"])
        metrics[f"pss_total_{tag}"] = metric(
            f"主进程与全部 worker 的 PSS 之和，压测之后（{how}）", "B", mem["pss_total"]
        )
        rows.append({"kind": kind, "workers": w, "preload": preload, **res.summary()})
        log(f"{tag}: {res.good_rps:.0f} 次/秒, p99 {res.latency_s['p99'] * 1e3:.1f} ms, "
            f"USS {idle['uss'] / 2**20:.1f} → {mem['uss'] / 2**20:.1f} MiB, "
            f"PSS 合计 {mem['pss_total'] / 2**20:.1f} MiB")  # fmt: skip
    info.update(
        runs=rows,
        conns=args.conns,
        duration_s=args.duration,
        warmup_s=args.warmup,
        passes=args.passes,
        threads=args.threads,
        wait_ms=float(os.environ.get("SCALE_WAIT_MS", "5")),
        catalog=int(os.environ.get("SCALE_CATALOG", "60000")),
        server_cpus=len(server_cpus or []),
    )


# ---------------------------------------------------------------- recycle


# --8<-- [start:recorder]
class Recorder:
    """固定几个客户端线程不停地请求，记下每个请求的开始、结束时刻与答它的 worker。"""

    def __init__(self, port: int, threads: int) -> None:
        self.port, self.threads = port, threads
        self.records: list[tuple[float, float, str]] = []
        self.errors = 0
        self.stop = threading.Event()

    def loop(self) -> None:
        send = http_send(self.port)
        while not self.stop.is_set():
            began = time.perf_counter()
            try:
                reply = send("GET", "/api/work")
                ok = reply.status == 200
            except OSError:
                ok = False
            if ok:
                self.records.append((began, time.perf_counter(), reply.pid))
            else:
                self.errors += 1

    def run(self, seconds: float) -> float:
        pool = [threading.Thread(target=self.loop) for _ in range(self.threads)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        self.stop.wait(seconds)
        self.stop.set()
        for t in pool:
            t.join(timeout=15)
        return t0


# --8<-- [end:recorder]


class Watcher:
    """每 5 ms 看一眼 gunicorn 主进程有哪些子进程：记下每个 worker 出现与消失（被回收）的时刻。"""

    def __init__(self, svc) -> None:
        self.svc = svc
        self.born: dict[str, float] = {}
        self.gone: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="watcher")

    def loop(self) -> None:
        while not self.stop.is_set():
            now = time.perf_counter()
            kids = {str(pid) for pid in memory.children(self.svc)}
            for pid in kids - set(self.born):
                self.born[pid] = now
            for pid in set(self.born) - kids - set(self.gone):
                self.gone[pid] = now
            self.stop.wait(0.005)

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def phases(records, watcher: Watcher, initial: set[str]) -> tuple[list[float], list[float]]:
    """回收的两段：旧 worker 从最后一个响应到被主进程回收（退出），
    新 worker 从出现到第一个响应（启动）。"""
    last: dict[str, float] = {}
    first: dict[str, float] = {}
    for _, ended, pid in records:
        last[pid] = max(last.get(pid, ended), ended)
        first[pid] = min(first.get(pid, ended), ended)
    exits = [gone - last[pid] for pid, gone in watcher.gone.items() if pid in last]
    boots = [
        first[pid] - born
        for pid, born in watcher.born.items()
        if pid not in initial and pid in first
    ]
    return exits, boots


def timeline(records, t0: float, bin_s: float) -> dict:
    """按完成时刻分箱：每箱里最慢的请求；每个新 worker 第一次答话的时刻；最长的空窗。"""
    records = sorted(records, key=lambda r: r[1])
    bins: dict[int, float] = {}
    for began, ended, _ in records:
        k = int((ended - t0) / bin_s)
        bins[k] = max(bins.get(k, 0.0), ended - began)
    first_seen: dict[str, float] = {}
    for _, ended, pid in records:
        first_seen.setdefault(pid, ended - t0)
    ends = [r[1] for r in records]
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    lat = sorted(r[1] - r[0] for r in records)
    return {
        "t": [round((k + 0.5) * bin_s, 3) for k in sorted(bins)],
        "values": [bins[k] for k in sorted(bins)],
        "first_seen": first_seen,
        "longest_gap_s": max(gaps) if gaps else 0.0,
        "p50_s": lat[len(lat) // 2],
        "p99_s": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "max_s": lat[-1],
        "count": len(lat),
    }


def part_recycle(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)  # 客户端线程不与服务器抢 CPU
    m = args.max_requests
    modes = {
        "none": {"label": "不回收", "max_requests": 0, "jitter": 0, "preload": False},
        "max": {"label": f"max_requests={m}", "max_requests": m, "jitter": 0, "preload": False},
        "jitter": {"label": f"max_requests={m}，jitter={m // 2}", "max_requests": m,
                   "jitter": m // 2, "preload": False},
        "preload": {"label": f"max_requests={m}，jitter={m // 2}，预加载", "max_requests": m,
                    "jitter": m // 2, "preload": True},
    }  # fmt: skip
    summary = {}
    w = args.recycle_workers
    for mode in args.modes.split(","):
        opts = modes[mode]
        name = f"gunicorn-recycle-{mode}"
        with start_app(
            name,
            "sync",
            w,
            server_cpus,
            preload=opts["preload"],
            max_requests=opts["max_requests"],
            jitter=opts["jitter"],
        ) as app:
            initial = wait_all_workers(app, w)
            rec = Recorder(app.port, args.clients)
            with Watcher(app) as watcher:
                t0 = rec.run(args.duration)
            app.check_alive()
        if rec.errors:
            raise app.fail(f"{rec.errors} requests failed while workers were recycled")
        tl = timeline(rec.records, t0, args.bin)
        restarts = sorted(t for pid, t in tl["first_seen"].items() if pid not in initial)
        events = [[round(t, 2), "新 worker"] for t in restarts]
        info["series"][f"latency_{mode}"] = {
            "unit": "s", "t": tl["t"], "values": tl["values"], "events": events,
        }  # fmt: skip
        label = opts["label"]
        metrics[f"p50_{mode}_s"] = metric(f"p50（{label}）", "s", tl["p50_s"])
        metrics[f"p99_{mode}_s"] = metric(f"p99（{label}）", "s", tl["p99_s"])
        metrics[f"max_{mode}_s"] = metric(f"最慢的请求（{label}）", "s", tl["max_s"])
        metrics[f"gap_{mode}_s"] = metric(f"最长的无响应空窗（{label}）", "s", tl["longest_gap_s"])
        metrics[f"restarts_{mode}"] = metric(f"新起的 worker 数（{label}）", "", len(restarts))
        exits, boots = phases(rec.records, watcher, initial)
        if opts["max_requests"]:
            if not exits or not boots:
                raise app.fail(
                    f"no worker was recycled and back within {args.duration:g} s "
                    f"(exits seen: {len(exits)}, new workers answering: {len(boots)}); "
                    "lengthen --duration or lower --max-requests"
                )
            metrics[f"exit_{mode}_s"] = metric(
                f"旧 worker 从最后一个响应到退出（{label}）", "s", statistics.fmean(exits)
            )
            metrics[f"boot_{mode}_s"] = metric(
                f"新 worker 从 fork 到第一个响应（{label}）", "s", statistics.fmean(boots)
            )
        summary[mode] = {"requests": tl["count"], "restarts_at_s": restarts, **opts}
        log(f"{mode}: {tl['count']} 个请求，重启 {len(restarts)} 次，"
            f"p99 {tl['p99_s'] * 1e3:.1f} ms，最慢 {tl['max_s'] * 1e3:.1f} ms，"
            f"最长空窗 {tl['longest_gap_s'] * 1e3:.1f} ms")  # fmt: skip
    info.update(
        modes=summary,
        workers=w,
        clients=args.clients,
        duration_s=args.duration,
        bin_s=args.bin,
        max_requests=m,
    )


# ---------------------------------------------------------------- lb


def part_lb(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    with (
        start_app("instance-a", "gthread", 1, server_cpus, threads=args.threads) as a,
        start_app("instance-b", "gthread", 1, server_cpus, threads=args.threads) as b,
    ):
        upstreams = [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
        with (
            nginx.nginx(upstreams, ready=PING, keepalive=32, cpus=load_cpus) as keep,
            nginx.nginx(upstreams, ready=PING, keepalive=0, cpus=load_cpus) as fresh,
        ):
            targets = {"direct": a, "nginx": keep, "nginx_new": fresh}
            injected(args, a, b, keep, fresh)
            for svc in targets.values():
                services.verify(svc, PING)
            got = {tag: {"lat": [], "rps": [], "p99": []} for tag in targets}
            # 三个目标轮流压，几轮取平均：机器的噪声均摊到三边
            for _ in range(args.rounds):
                for tag, svc in targets.items():
                    one = services.wrk(
                        svc.url + "/api/ping", target=svc.name, connections=1,
                        duration_s=args.duration, cpus=load_cpus,
                    ).check()  # fmt: skip
                    many = services.wrk(
                        svc.url + "/api/ping", target=svc.name, connections=args.conns,
                        duration_s=args.duration, cpus=load_cpus,
                    ).check()  # fmt: skip
                    # 1 个连接时取中位数：机器上别的负载造成的零星长尾不进“多一跳”的估计
                    got[tag]["lat"].append(one.latency_s["p50"])
                    got[tag]["rps"].append(many.good_rps)
                    got[tag]["p99"].append(many.latency_s["p99"])
            for tag, g in got.items():
                lat, rps, p99 = (statistics.fmean(g[k]) for k in ("lat", "rps", "p99"))
                metrics[f"lat_{tag}_s"] = metric(f"p50，1 个连接（{tag}）", "s", lat)
                metrics[f"rps_{tag}"] = metric(
                    f"每秒成功请求，{args.conns} 个连接（{tag}）", "", rps
                )
                metrics[f"p99_{tag}_s"] = metric(f"p99，{args.conns} 个连接（{tag}）", "s", p99)
            # 请求经 nginx 分到了哪个实例：看答话的进程号
            send = http_send(keep.port)
            answered = Counter(send("GET", "/api/ping").pid for _ in range(args.spread))
            a_pids = {str(p) for p in memory.children(a)}
            for svc in (a, b, keep, fresh):
                svc.check_alive()
    share_a = sum(n for pid, n in answered.items() if pid in a_pids) / args.spread
    lat = {k: metrics[f"lat_{k}_s"]["values"][0] for k in targets}
    metrics["hop_s"] = metric(
        "经 nginx 多出的延迟（复用上游连接）", "s", lat["nginx"] - lat["direct"]
    )
    metrics["hop_new_s"] = metric(
        "经 nginx 多出的延迟（每个请求新连上游）", "s", lat["nginx_new"] - lat["direct"]
    )
    metrics["share_a"] = metric("经 nginx 的请求里由实例 A 处理的份额", "%", share_a * 100)
    info.update(
        nginx=nginx.version(),
        conns=args.conns,
        duration_s=args.duration,
        rounds=args.rounds,
        threads=args.threads,
        spread=args.spread,
        answered=dict(answered),
    )
    log(f"直连 {lat['direct'] * 1e6:.0f} µs，经 nginx {lat['nginx'] * 1e6:.0f} µs，"
        f"不复用 {lat['nginx_new'] * 1e6:.0f} µs；实例 A 份额 {share_a:.0%}")  # fmt: skip


# ---------------------------------------------------------------- state


@contextlib.contextmanager
def scratch_dir(prefix: str):
    """驱动程序自己的临时目录（文件数据库、收集端的套接字）：无论成败都删掉。"""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def store_env(store: str, redis_url: str, db_dir: Path) -> dict:
    return {
        "SCALE_CACHE": store,
        "SCALE_SESSIONS": store,
        "SCALE_REDIS_URL": redis_url,
        "SCALE_DB_DIR": str(db_dir),
    }


def part_state(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)
    seen: dict = {}
    with (
        scratch_dir("perflab-scaling-db-") as db_dir,
        redis_server.redis_server(cpus=load_cpus) as red,
    ):
        for store in ("local", "redis"):
            for w in (int(x) for x in args.workers.split(",")):
                env = store_env(store, redis_server.url(red, "tcp"), db_dir)
                with start_app(f"gunicorn-{store}-{w}", "sync", w, server_cpus, env=env) as app:
                    wait_all_workers(app, w)
                    injected(args, red, app)
                    send = http_send(app.port)
                    cache = stale_reads(send, args.rounds, args.reads, args.clients)
                    sessions = lost_sessions(send, args.requests, args.clients)
                    app.check_alive()
                redis_server.client(red).flushall()
                tag = f"{store}_w{w}"
                how = "进程内" if store == "local" else "Redis"
                metrics[f"stale_{tag}"] = metric(
                    f"陈旧读的比例（{how}缓存，{w} 个 worker）", "%",
                    100 * cache["stale"] / cache["reads"],
                )  # fmt: skip
                metrics[f"lost_{tag}"] = metric(
                    f"丢失会话的比例（{how}会话，{w} 个 worker）", "%",
                    100 * sessions["lost"] / sessions["requests"],
                )  # fmt: skip
                seen[tag] = {"cache": cache, "sessions": sessions}
                log(f"{tag}: 陈旧读 {cache['stale']}/{cache['reads']}，"
                    f"丢失会话 {sessions['lost']}/{sessions['requests']}，"
                    f"答话的 worker {len(cache['pids'])}")  # fmt: skip
        info.update(redis=red.version)
    info.update(
        runs=seen,
        rounds=args.rounds,
        reads=args.reads,
        requests=args.requests,
        clients=args.clients,
    )


# ---------------------------------------------------------------- price


PLACES = {"local": "进程内", "tcp": "Redis（TCP）", "unix": "Redis（Unix 套接字）"}


def part_price(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    stores = {"local": ("local", "tcp"), "tcp": ("redis", "tcp"), "unix": ("redis", "unix")}
    got: dict[str, dict[str, list[float]]] = {t: {"item": [], "rps": [], "me": []} for t in stores}
    with (
        scratch_dir("perflab-scaling-db-") as db_dir,
        redis_server.redis_server(cpus=load_cpus) as red,
        contextlib.ExitStack() as stack,
    ):
        # 三台服务器同时起着（闲着的不占 CPU），每一轮依次压三台：机器的噪声均摊到三边
        apps, cookies = {}, {}
        for tag, (store, via) in stores.items():
            env = store_env(store, redis_server.url(red, via), db_dir)
            app = stack.enter_context(
                start_app(f"gunicorn-price-{tag}", "sync", 1, server_cpus, env=env)
            )
            send = http_send(app.port)
            send("PUT", "/item/price", "42")
            cookies[tag] = {"Cookie": send("POST", "/login?user=reader").body["_cookie"]}
            services.verify(
                app, services.Expect(path="/item/price", json_body={"key": "price", "value": "42"})
            )
            apps[tag] = app
        for _ in range(args.rounds):
            for tag, app in apps.items():
                item = app.url + "/item/price"
                lat = services.wrk(
                    item, target=app.name, connections=1, duration_s=args.duration, cpus=load_cpus
                ).check()
                thr = services.wrk(
                    item, target=app.name, connections=args.conns,
                    duration_s=args.duration, cpus=load_cpus,
                ).check()  # fmt: skip
                me = services.wrk(
                    app.url + "/me", target=app.name, connections=1,
                    duration_s=args.duration, cpus=load_cpus, headers=cookies[tag],
                ).check()  # fmt: skip
                got[tag]["item"].append(lat.latency_s["p50"])
                got[tag]["rps"].append(thr.good_rps)
                got[tag]["me"].append(me.latency_s["p50"])
        for app in apps.values():
            app.check_alive()
        info.update(redis=red.version)
    for tag, where in PLACES.items():
        item, rps, me = (statistics.fmean(got[tag][k]) for k in ("item", "rps", "me"))
        metrics[f"lat_item_{tag}_s"] = metric(f"读缓存的 p50，1 个连接（{where}）", "s", item)
        metrics[f"rps_item_{tag}"] = metric(
            f"读缓存的每秒成功请求，{args.conns} 个连接（{where}）", "", rps
        )
        metrics[f"lat_me_{tag}_s"] = metric(f"查会话的 p50，1 个连接（{where}）", "s", me)
        log(f"{tag}: 读缓存 {item * 1e6:.0f} µs，{rps:.0f} 次/秒；查会话 {me * 1e6:.0f} µs")
    for tag in ("tcp", "unix"):
        for what in ("item", "me"):
            extra = (
                metrics[f"lat_{what}_{tag}_s"]["values"][0]
                - metrics[f"lat_{what}_local_s"]["values"][0]
            )
            metrics[f"extra_{what}_{tag}_s"] = metric(
                f"每个请求多花的时间（{'读缓存' if what == 'item' else '查会话'}，{tag}）",
                "s",
                extra,
            )
    info.update(
        conns=args.conns, duration_s=args.duration, rounds=args.rounds, worker="sync, 1 worker"
    )


# ---------------------------------------------------------------- logs


# --8<-- [start:collector]
class Collector:
    """实验自己的日志收集端：一个 Unix 数据报套接字，每个数据报是一行 syslog，正文是 JSON。"""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.lines: list[dict] = []
        self.bad = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="collector", daemon=True)

    def loop(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            # syslog 的前缀（"<14>"、nginx 的 "<190>时间 nginx: "）之后是 JSON
            text = data.decode(errors="replace").rstrip("\x00\n")
            try:
                self.lines.append(json.loads(text[text.index("{") :]))
            except ValueError:
                self.bad += 1

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


# --8<-- [end:collector]


# --8<-- [start:join]
def join_by_request_id(lines: list[dict]) -> dict[str, list[dict]]:
    """把所有来源的日志行按请求 ID 归组，组内按时间排序。"""
    groups: dict[str, list[dict]] = {}
    for line in lines:
        if line.get("request_id"):
            groups.setdefault(line["request_id"], []).append(line)
    return {rid: sorted(group, key=lambda x: x["ts"]) for rid, group in groups.items()}


# --8<-- [end:join]


def trace_complete(group: list[dict]) -> bool:
    """一次 /checkout 的完整足迹：nginx 两行（外层与内层请求），应用两行，来自两个不同的 worker。"""
    nginx_paths = sorted(x["path"] for x in group if x["source"] == "nginx")
    app_lines = [x for x in group if x["source"] == "app"]
    app_paths = sorted(x["path"] for x in app_lines)
    return (
        nginx_paths == ["/checkout", "/inventory"]
        and app_paths == ["/checkout", "/inventory"]
        and len({x["pid"] for x in app_lines}) == 2
    )


def part_logs(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    with (
        scratch_dir("perflab-scaling-logs-") as folder,
        Collector(folder / "collector.sock") as col,
    ):
        upstream_file = folder / "upstream.txt"
        env = {"SCALE_LOG": str(col.path), "SCALE_UPSTREAM_FILE": str(upstream_file)}
        with (
            start_app("instance-a", "sync", 2, server_cpus, env=env) as a,
            start_app("instance-b", "sync", 2, server_cpus, env=env) as b,
        ):
            upstreams = [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
            with nginx.nginx(
                upstreams, ready=PING, syslog_socket=str(col.path), cpus=load_cpus
            ) as lb:
                upstream_file.write_text(lb.url)
                injected(args, a, b, lb)
                col.lines.clear()  # 就绪检查留下的行不算
                send = http_send(lb.port)
                for _ in range(args.traces):
                    if (reply := send("GET", "/checkout")).status != 200:
                        raise lb.fail(f"GET /checkout answered {reply.status}")
                deadline = time.monotonic() + 10
                while len(col.lines) < 4 * args.traces and time.monotonic() < deadline:
                    time.sleep(0.05)
                for svc in (a, b, lb):
                    svc.check_alive()
        lines = list(col.lines)
        groups = join_by_request_id(lines)
        complete = [g for g in groups.values() if trace_complete(g)]
        if not complete:
            raise PerflabError(f"logs: no complete trace among {len(groups)} request ids")
        example = complete[0]
        t_first = example[0]["ts"]
        trace = [
            {
                "after_ms": round((x["ts"] - t_first) * 1e3, 2),
                "source": "nginx" if x["source"] == "nginx" else f"worker {x['pid']}",
                "path": x["path"],
                "status": x["status"],
                "duration_ms": round(float(x["duration_s"]) * 1e3, 2),
            }
            for x in example
        ]
        sources = Counter(x["source"] for x in lines)
        pids = {x["pid"] for x in lines if x["source"] == "app"}
        metrics["complete_share"] = metric(
            "能按请求 ID 拼出完整足迹的请求比例", "%", 100 * len(complete) / args.traces
        )
        metrics["workers_logging"] = metric("往收集端写过日志的 worker 数", "", len(pids))
        # 日志的开销：同样的实例，写日志与不写日志，wrk 交替压测
        cost_env = {"SCALE_LOG": str(col.path)}
        rps: dict[str, list[float]] = {"on": [], "off": []}
        with (
            start_app("logging-on", "sync", 1, server_cpus, env=cost_env) as on,
            start_app("logging-off", "sync", 1, server_cpus) as off,
        ):
            for _ in range(args.rounds):
                for mode, svc in (("off", off), ("on", on)):
                    res = services.wrk(
                        svc.url + "/api/ping", target=svc.name, connections=args.conns,
                        duration_s=args.duration, cpus=load_cpus,
                    ).check()  # fmt: skip
                    rps[mode].append(res.good_rps)
            on.check_alive()
            off.check_alive()
    on_rps, off_rps = statistics.fmean(rps["on"]), statistics.fmean(rps["off"])
    metrics["rps_log_on"] = metric("每秒成功请求（写 JSON 日志）", "", on_rps)
    metrics["rps_log_off"] = metric("每秒成功请求（不写日志）", "", off_rps)
    metrics["log_cost_s"] = metric("写日志让每个请求多花的时间", "s", 1 / on_rps - 1 / off_rps)
    info.update(
        trace=trace,
        traces=args.traces,
        request_ids=len(groups),
        lines=len(lines),
        unparsed=col.bad,
        sources=dict(sources),
        rounds=args.rounds,
        duration_s=args.duration,
        conns=args.conns,
        nginx=nginx.version(),
    )
    log(f"完整足迹 {len(complete)}/{args.traces}，{len(pids)} 个 worker 写过日志；"
        f"写日志 {on_rps:.0f} 次/秒，不写 {off_rps:.0f} 次/秒")  # fmt: skip


# ---------------------------------------------------------------- go


def start_go(name: str, binary: str, db_dir: Path, cpus):
    return services.start(
        name,
        [binary, "-addr", "127.0.0.1:{port}", "-db", str(db_dir)],
        ready=services.http_ready(PING),
        cpus=cpus,
        env={"GOMAXPROCS": str(len(cpus or [1]))},
    )


def part_go(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)
    with scratch_dir("perflab-scaling-go-") as db_dir:
        env = store_env("local", "", db_dir)
        singles = {
            "go": lambda: start_go("go-single", args.go_binary, db_dir, server_cpus),
            "python": lambda: start_app(
                "python-single", "gthread", 1, server_cpus, env=env, threads=args.threads
            ),
        }  # fmt: skip
        for tag, starter in singles.items():
            with starter() as svc:
                cache = stale_reads(http_send(svc.port), args.rounds, args.reads, args.clients)
                res = services.wrk(
                    svc.url + "/item/price", target=svc.name, connections=args.conns,
                    duration_s=args.duration, cpus=load_cpus,
                ).check()  # fmt: skip
                rss = memory.process_memory(svc.pid)["rss"]
                if tag == "python":
                    rss += sum(memory.process_memory(p)["rss"] for p in memory.children(svc))
                svc.check_alive()
            who = "Go，一个进程" if tag == "go" else "Python gthread，一个 worker"
            metrics[f"stale_{tag}_single"] = metric(
                f"陈旧读的比例（{who}）", "%", 100 * cache["stale"] / cache["reads"]
            )
            metrics[f"rps_{tag}_single"] = metric(
                f"读缓存的每秒成功请求（{who}）", "", res.good_rps
            )
            metrics[f"p99_{tag}_single_s"] = metric(
                f"读缓存的 p99（{who}）", "s", res.latency_s["p99"]
            )
            metrics[f"rss_{tag}_single"] = metric(f"常驻内存 RSS（{who}）", "B", rss)
            log(f"{tag} 单进程：陈旧读 {cache['stale']}/{cache['reads']}，{res.good_rps:.0f} 次/秒")
        # 同一个 Go 程序起两个实例，nginx 在前面轮流转发：各自的缓存又会读到旧值
        with (
            start_go("go-a", args.go_binary, db_dir, server_cpus) as a,
            start_go("go-b", args.go_binary, db_dir, server_cpus) as b,
        ):
            upstreams = [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]
            with nginx.nginx(upstreams, ready=PING, cpus=load_cpus) as lb:
                two = stale_reads(http_send(lb.port), args.rounds, args.reads, args.clients)
                for svc in (a, b, lb):
                    svc.check_alive()
    metrics["stale_go_two"] = metric(
        "陈旧读的比例（Go，两个实例经 nginx）", "%", 100 * two["stale"] / two["reads"]
    )
    log(f"go 两个实例：陈旧读 {two['stale']}/{two['reads']}")
    info.update(
        rounds=args.rounds,
        reads=args.reads,
        clients=args.clients,
        conns=args.conns,
        duration_s=args.duration,
        gomaxprocs=len(server_cpus or [1]),
        two_instances=two,
        nginx=nginx.version(),
    )


PARTS = {
    "workers": part_workers,
    "memory": part_workers,
    "recycle": part_recycle,
    "lb": part_lb,
    "state": part_state,
    "price": part_price,
    "logs": part_logs,
    "go": part_go,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=tuple(PARTS), required=True)
    parser.add_argument(
        "--classes", default="sync,gthread,uvicorn", help="workers / memory：worker 类型"
    )
    parser.add_argument("--mem-workers", type=int, default=4, help="memory：worker 数")
    parser.add_argument("--workers", default="1,2,4", help="workers / state：worker 数")
    parser.add_argument("--threads", type=int, default=4, help="gthread 每个 worker 的线程数")
    parser.add_argument("--conns", type=int, default=16, help="wrk 的连接数")
    parser.add_argument("--duration", type=float, default=1, help="每次压测的秒数")
    parser.add_argument("--warmup", type=float, default=0, help="workers：每个配置先压几秒不计入")
    parser.add_argument(
        "--passes", type=int, default=1, help="workers / memory：每个配置压几遍，取吞吐最好的一遍"
    )
    parser.add_argument("--max-requests", type=int, default=100, help="recycle：max_requests")
    parser.add_argument(
        "--modes", default="none,max,jitter,preload", help="recycle：比较哪几种设置"
    )
    parser.add_argument("--recycle-workers", type=int, default=2, help="recycle：worker 数")
    parser.add_argument("--clients", type=int, default=4, help="并发的客户端线程数")
    parser.add_argument("--bin", type=float, default=0.05, help="recycle：时间序列的分箱（秒）")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="state / go：写入的轮数；lb / price / logs：交替压测的轮数",
    )
    parser.add_argument("--reads", type=int, default=20, help="state / go：每轮读几次")
    parser.add_argument("--requests", type=int, default=40, help="state：登录后带会话请求几次")
    parser.add_argument("--spread", type=int, default=100, help="lb：数实例份额用的请求数")
    parser.add_argument("--traces", type=int, default=10, help="logs：发几个 /checkout")
    parser.add_argument("--go-binary", help="go：编译好的 go-examples/ch2/scaling")
    parser.add_argument(
        "--inject-failure", action="store_true", help="测试用：组件都起来之后故意失败"
    )
    args = parser.parse_args()
    if args.part == "go" and not args.go_binary:
        parser.error("--part go needs --go-binary")
    metrics: dict[str, dict] = {}
    info: dict = {"part": args.part, "versions": versions(), "series": {}}
    PARTS[args.part](args, metrics, info)
    series = info.pop("series")
    print(json.dumps({"metrics": metrics, "info": info, "series": series}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"scaling: {exc}") from None
