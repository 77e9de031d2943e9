"""第二章 · 延迟监控：真的 Prometheus 抓取埋点的 Flask 服务，算分位数、发告警。

驱动程序（本文件）经由 perflab.services 启动每一个真组件（gunicorn 上的 Flask 服务、
Prometheus、Alertmanager），都绑定 127.0.0.1 上运行时选出的空闲端口，结束或失败时全部停掉。
--part 选一部分：
  estimate  vegeta 以固定速率压 /api/items；Prometheus 用 histogram_quantile 从两种桶布局
            算 p50/p95/p99，放在压测端量出的真值旁边
  overhead  同一个不睡眠的接口，埋点与不埋点各一台服务器，wrk 交替压测
  workers   gunicorn 多 worker：不开多进程模式时每次抓取只看到一个 worker 的计数；开了以后一致
  alert     Prometheus 按缩短了 for 的规则求值，注入故障，Alertmanager 把通知投到本机 webhook

单独运行：python examples/ch2/monitoring.py --part estimate --duration 4
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from perflab import services  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402
from perflab.services import prom  # noqa: E402

sys.path.insert(0, str(HERE))
from monitoring_app import DEFAULT_BUCKETS, FINE_BUCKETS  # noqa: E402

PY = sys.executable
CONF = HERE / "monitoring"
ITEMS = services.Expect(
    path="/api/items", content_type="application/json", json_body={"items": [1, 2, 3]}
)
PING = services.Expect(path="/api/ping", content_type="application/json", json_body={"ok": True})
QUANTILES = (0.5, 0.95, 0.99)
LAYOUTS = {"default": "app_request_latency_seconds", "fine": "app_request_latency_fine_seconds"}
# 规则求值与抓取的间隔（秒）：页面上写明
INTERVAL_S = 1.0


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def metric(label: str, unit: str, value: float) -> dict:
    return {"label": label, "unit": unit, "values": [value]}


# --8<-- [start:app]
def app_command(workers: int, worker_class: str = "gthread", threads: int = 32) -> list[str]:
    """gunicorn 启动 monitoring_app；{port} 由 perflab.services 换成空闲端口。"""
    cmd = [PY, "-m", "gunicorn", "-k", worker_class, "-w", str(workers)]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    cmd += ["-c", str(CONF / "gunicorn_conf.py"), "--chdir", str(HERE)]
    return [*cmd, "-b", "127.0.0.1:{port}", "monitoring_app:app"]


# --8<-- [end:app]


def start_app(name: str, cpus, *, instrument="fixed", workers=1, kind="gthread", env=None):
    """一台被测服务：就绪 = /api/ping 答对。"""
    return services.start(
        name,
        app_command(workers, kind),
        ready=services.http_ready(PING),
        cpus=cpus,
        env={"MON_INSTRUMENT": instrument, **(env or {})},
    )


def versions() -> dict[str, str]:
    out = {pkg: metadata.version(pkg) for pkg in ("flask", "gunicorn", "prometheus-client")}
    out["prometheus"] = prom.version("prometheus")
    out["alertmanager"] = prom.version("prometheus-alertmanager")
    return out


def wait_until(what: str, check, timeout_s: float, svc=None):
    """轮询 check()，直到它返回非 None；超时则报出在等什么。"""
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got is not None:
            return got
        if time.monotonic() > deadline:
            message = f"timed out after {timeout_s:g} s waiting for {what}"
            raise svc.fail(message) if svc else PerflabError(message)
        time.sleep(0.2)


def scrape_total(svc, endpoint: str, metric_name: str = "app_requests_total") -> float:
    """直接抓一次 /metrics，把某个接口的计数（各状态码）加起来：一次抓取看到的就是这个数。"""
    body = services.get(svc, "/metrics").body.decode()
    pattern = re.compile(rf"^{metric_name}\{{([^}}]*)\}} ([0-9.e+]+)$", re.M)
    return sum(
        float(v) for labels, v in pattern.findall(body) if f'endpoint="{endpoint}"' in labels
    )


def prometheus_caught_up(pro, expr: str, want: float):
    """Prometheus 最近一次抓取的值已等于服务器此刻的值时返回它。"""

    def check():
        got = prom.scalar(pro, expr)
        return got if got is not None and got >= want else None

    return check


# --8<-- [start:quantile]
def estimate_expr(q: float, layout: str, window_s: int) -> str:
    # 与告警规则同一种写法：各桶的速率按 le 相加，再由 histogram_quantile 在桶内线性插值
    name = LAYOUTS[layout]
    rate = f'rate({name}_bucket{{endpoint="/api/items"}}[{window_s}s])'
    return f"histogram_quantile({q}, sum by (le) ({rate}))"


# --8<-- [end:quantile]


def part_estimate(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    with start_app("monitoring-app", server_cpus) as app:
        services.verify(app, ITEMS, tries=1)
        config = prom.scrape_config({"app": [f"127.0.0.1:{app.port}"]}, interval_s=INTERVAL_S)
        with prom.prometheus(config, cpus=load_cpus) as pro:
            wait_until("the first scrape", lambda: None if prom.targets_up(pro) else True, 20, pro)
            started = time.time()
            res = services.vegeta(
                app.url + "/api/items",
                target=app.name,
                rate=args.rate,
                duration_s=args.duration,
                timeout_s=5,
                cpus=load_cpus,
            ).check()
            app.check_alive()
            # 等 Prometheus 抓到压测结束时的计数，再让窗口盖住整段压测
            served = scrape_total(app, "/api/items")
            expr = 'sum(app_requests_total{endpoint="/api/items"})'
            wait_until("the last scrape", prometheus_caught_up(pro, expr, served), 15, pro)
            window = math.ceil(time.time() - started) + 5
            truth = {
                0.5: res.latency_s["p50"],
                0.95: res.latency_s["p95"],
                0.99: res.latency_s["p99"],
            }
            for layout in LAYOUTS:
                for q in QUANTILES:
                    est = prom.scalar(pro, estimate_expr(q, layout, window))
                    if est is None or math.isnan(est):
                        raise pro.fail(f"histogram_quantile({q}) for {layout} buckets is empty")
                    tag = f"p{round(q * 100)}"
                    metrics[f"{layout}_{tag}_s"] = metric(
                        f"Prometheus 估算 {tag}（{layout} 桶）", "s", est
                    )
                    metrics[f"{layout}_{tag}_ratio"] = metric(
                        f"估算 ÷ 真值 {tag}（{layout} 桶）", "×", est / truth[q]
                    )
                    log(f"{layout} {tag}: 估算 {est * 1e3:.1f} ms, 真值 {truth[q] * 1e3:.1f} ms")
            for q in QUANTILES:
                tag = f"p{round(q * 100)}"
                metrics[f"client_{tag}_s"] = metric(f"压测端实测 {tag}", "s", truth[q])
            info.update(
                requests=res.attempts,
                served=served,
                rate=args.rate,
                duration_s=args.duration,
                window_s=window,
                interval_s=INTERVAL_S,
                expr=estimate_expr(0.99, "default", window),
                buckets={"default": list(DEFAULT_BUCKETS), "fine": list(FINE_BUCKETS)},
                run=res.summary(),
            )


def part_overhead(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    rps: dict[str, list[float]] = {"on": [], "off": []}
    with (
        start_app("app-instrumented", server_cpus, kind="sync") as on,
        start_app("app-plain", server_cpus, instrument="off", kind="sync") as off,
    ):
        for svc in (on, off):
            services.verify(svc, PING)
            # 预热 1 秒，不计入：第一批请求里有导入与首次分配的开销
            services.wrk(svc.url + "/api/ping", target=svc.name, connections=8, duration_s=1)
        # 交替压测：机器的噪声均摊到两边
        for _ in range(args.rounds):
            for mode, svc in (("off", off), ("on", on)):
                res = services.wrk(
                    svc.url + "/api/ping",
                    target=svc.name,
                    connections=8,
                    duration_s=args.duration,
                    cpus=load_cpus,
                ).check()
                svc.check_alive()
                rps[mode].append(res.good_rps)
        body = services.get(on, "/metrics").body
        info["instrumented_has_metrics"] = b"app_requests_total" in body
    on_rps, off_rps = sum(rps["on"]) / len(rps["on"]), sum(rps["off"]) / len(rps["off"])
    log(f"埋点 {on_rps:.0f} 次/秒，不埋点 {off_rps:.0f} 次/秒")
    metrics["rps_on"] = metric("每秒请求（埋点）", "", on_rps)
    metrics["rps_off"] = metric("每秒请求（不埋点）", "", off_rps)
    metrics["cost_per_request_s"] = metric(
        "埋点让每个请求多花的时间", "s", 1 / on_rps - 1 / off_rps
    )
    metrics["slowdown"] = metric("吞吐：不埋点 ÷ 埋点", "×", off_rps / on_rps)
    info.update(rounds=args.rounds, duration_s=args.duration, rps=rps, worker="sync, 1 worker")


def drive(svc, path: str, n: int, threads: int = 4) -> None:
    """发 n 个请求（几个线程同时发）；每个都要答 200。"""
    errors: list[str] = []

    def one(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=10)
        try:
            for _ in range(count):
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(f"status {resp.status}")
        except OSError as exc:
            errors.append(str(exc))
        finally:
            conn.close()

    pool = [threading.Thread(target=one, args=(n // threads,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise svc.fail(f"{len(errors)} requests to {path} failed: {errors[0]}")


def part_workers(args, metrics: dict, info: dict) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    n = args.requests - args.requests % 4
    for mode in ("single", "multiproc"):
        env = {"PROMETHEUS_MULTIPROC_DIR": "{dir}/multiproc"} if mode == "multiproc" else {}
        # sync worker，每个新连接由内核交给某一个 worker：抓取同样如此
        with start_app(f"app-{mode}", cpus, workers=args.workers, kind="sync", env=env) as app:
            services.verify(app, PING)
            # /api/items 每个请求要睡十几毫秒：4 个并发请求必然分到不止一个 worker
            drive(app, "/api/items", n)
            seen = [scrape_total(app, "/api/items") for _ in range(args.scrapes)]
            pids = {
                json.loads(services.get(app, "/whoami").body)["pid"] for _ in range(args.scrapes)
            }
            app.check_alive()
        total = n  # verify 只请求 /api/ping，不算在内
        log(f"{mode}: 抓到的计数 {sorted(set(seen))}，真值 {total}")
        metrics[f"{mode}_min_share"] = metric(
            f"抓到的计数 ÷ 真值（最少，{mode}）", "×", min(seen) / total
        )
        metrics[f"{mode}_max_share"] = metric(
            f"抓到的计数 ÷ 真值（最多，{mode}）", "×", max(seen) / total
        )
        metrics[f"{mode}_distinct"] = metric(
            f"{args.scrapes} 次抓取得到的不同计数（{mode}）", "", len(set(seen))
        )
        info[mode] = {"seen": seen, "total": total, "pids_answering": len(pids)}
    info.update(workers=args.workers, scrapes=args.scrapes)


def short_rules(text: str, for_s: int, window_s: int) -> str:
    """把文章的规则换成实验用的短版本：for 与 rate 窗口缩短，表达式和阈值不变。"""
    text = re.sub(r"for: \d+m", f"for: {for_s}s", text)
    return re.sub(r"\[\d+m\]", f"[{window_s}s]", text)


class Load:
    """告警实验的背景负载：几个线程按固定节奏请求 /api/items，直到被叫停或到期。"""

    def __init__(self, svc, threads: int, per_thread_rps: float, limit_s: float) -> None:
        self.svc, self.stop_at = svc, time.monotonic() + limit_s
        self.gap = 1.0 / per_thread_rps
        self.stop = threading.Event()
        self.statuses: dict[int, int] = {}
        self.pool = [threading.Thread(target=self.loop, daemon=True) for _ in range(threads)]

    def loop(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.svc.port, timeout=10)
        while not self.stop.is_set() and time.monotonic() < self.stop_at:
            began = time.monotonic()
            try:
                conn.request("GET", "/api/items")
                resp = conn.getresponse()
                resp.read()
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.svc.port, timeout=10)
                self.statuses[0] = self.statuses.get(0, 0) + 1
            self.stop.wait(max(0.0, self.gap - (time.monotonic() - began)))
        conn.close()

    def __enter__(self):
        for t in self.pool:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.pool:
            t.join(timeout=15)


def active(pro) -> set[str]:
    """此刻处于 pending 或 firing 的告警名。"""
    return {a["labels"]["alertname"] for a in prom.alerts(pro)}


def part_alert(args, metrics: dict, info: dict) -> None:
    server_cpus, load_cpus = services.split_cpus()
    rules = short_rules((CONF / "alerts.yml").read_text(), args.for_s, args.window)
    names = re.findall(r"alert: (\w+)", rules)
    with (
        prom.webhook_receiver() as hook,
        start_app("monitoring-app", server_cpus, env={"MON_FAULT_FILE": "{dir}/fault.json"}) as app,
    ):
        services.verify(app, ITEMS, tries=1)
        am_config = (CONF / "alertmanager_local.yml").read_text().replace("{webhook_url}", hook.url)
        with prom.alertmanager(am_config, cpus=load_cpus) as am:
            config = prom.scrape_config(
                {"app": [f"127.0.0.1:{app.port}"]},
                interval_s=INTERVAL_S,
                rule_files=["alerts.yml"],
                alertmanager_port=am.port,
            )
            with prom.prometheus(config, rules={"alerts.yml": rules}, cpus=load_cpus) as pro:
                checked = {
                    "quoted": prom.promtool_check_rules(CONF / "alerts.yml"),
                    "short": prom.promtool_check_rules(pro.folder / "alerts.yml"),
                    "wechat": prom.amtool_check_config(CONF / "alertmanager_wechat.yml"),
                }
                loaded = prom.api(pro, "/api/v1/rules")["groups"]
                if sum(len(g["rules"]) for g in loaded) != len(names):
                    raise pro.fail(f"loaded {loaded!r}, expected rules {names}")
                wait_until(
                    "the first scrape", lambda: None if prom.targets_up(pro) else True, 20, pro
                )
                t0 = time.time()
                limit = args.baseline + args.max_wait + 5
                with Load(app, threads=8, per_thread_rps=8, limit_s=limit) as load:
                    # --8<-- [start:fault]
                    # 基线：同样的负载、没有故障，必须既不触发也不通知
                    time.sleep(args.baseline)
                    quiet = active(pro), len(hook.received)
                    fault_at = time.time()
                    fault = {"delay_s": args.delay, "error_share": args.error_share}
                    (app.folder / "fault.json").write_text(json.dumps(fault))
                    # 等两条告警的通知都到本机 webhook
                    wait_until(
                        "both notifications",
                        lambda: True if all(hook.firing(n) for n in names) else None,
                        args.max_wait,
                        am,
                    )
                    # --8<-- [end:fault]
                    notified = {n: hook.firing(n)[0][0] - fault_at for n in names}
                    state = prom.alerts(pro)
                    statuses_during = dict(load.statuses)
                t1 = time.time()
                app.check_alive()
                panels = dashboard(pro, t0, t1)
    # 面板的曲线交给引擎画图：时间相对基线开始，竖线标出故障与两条通知
    events = [[round(fault_at - t0, 2), "注入故障"]]
    events += [[round(d + fault_at - t0, 2), f"通知：{n}"] for n, d in notified.items()]
    for panel, lines in panels.items():
        unit = "s" if panel == "latency" else ""
        for label, data in lines.items():
            info["series"][f"{panel}_{label}"] = {
                "unit": unit,
                "t": data["t"],
                "values": data["v"],
                "events": events,
                "expr": data["expr"],
            }
    for n, delay in notified.items():
        log(f"{n}: 故障后 {delay:.1f} s 收到通知")
        metrics[f"notify_{n}_s"] = metric(f"从注入故障到收到通知（{n}）", "s", delay)
    metrics["baseline_firing"] = metric("无故障时触发（含 pending）的告警数", "", len(quiet[0]))
    metrics["baseline_notifications"] = metric("无故障时收到的通知数", "", quiet[1])
    info.update(
        rules=rules,
        names=names,
        for_s=args.for_s,
        window_s=args.window,
        interval_s=INTERVAL_S,
        baseline_s=args.baseline,
        fault=fault,
        fault_at_s=fault_at - t0,
        notified_at_s={n: d + fault_at - t0 for n, d in notified.items()},
        alerts=[{"name": a["labels"]["alertname"], "state": a["state"]} for a in state],
        statuses=statuses_during,
        notifications=len(hook.received),
        checked=checked,
        alertmanager_config={"group_wait": "1s", "group_interval": "1s"},
    )


# --8<-- [start:panels]
FINE = 'rate(app_request_latency_fine_seconds_bucket{endpoint="/api/items"}[5s])'
PANELS = {
    # 面板一：延迟分位数（细桶）
    "latency": {
        f"p{round(q * 100)}": f"histogram_quantile({q}, sum by (le) ({FINE}))" for q in QUANTILES
    },
    # 面板二：按状态码分的每秒请求
    "traffic": {
        "2xx": 'sum(rate(app_requests_total{status=~"2.."}[5s]))',
        "5xx": 'sum(rate(app_requests_total{status=~"5.."}[5s]))',
    },
}
# --8<-- [end:panels]


def dashboard(pro, t0: float, t1: float) -> dict:
    """Grafana 面板的数据：对同一段时间做范围查询，时间换成相对 t0 的秒数。"""
    out: dict = {}
    for panel, exprs in PANELS.items():
        out[panel] = {}
        for label, expr in exprs.items():
            result = prom.query_range(pro, expr, t0, t1, INTERVAL_S)
            points = [
                (round(float(t) - t0, 2), float(v))
                for series in result
                for t, v in series["values"]
                if v not in ("NaN", "+Inf", "-Inf")
            ]
            out[panel][label] = {
                "t": [p[0] for p in points],
                "v": [p[1] for p in points],
                "expr": expr,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--part", choices=("estimate", "overhead", "workers", "alert"), required=True
    )
    parser.add_argument("--rate", type=float, default=100, help="estimate：vegeta 的固定到达速率")
    parser.add_argument("--duration", type=float, default=8, help="estimate / overhead：压测秒数")
    parser.add_argument("--rounds", type=int, default=2, help="overhead：交替压测的轮数")
    parser.add_argument("--workers", type=int, default=3, help="workers：gunicorn worker 数")
    parser.add_argument("--requests", type=int, default=400, help="workers：发多少个请求")
    parser.add_argument("--scrapes", type=int, default=12, help="workers：抓几次 /metrics")
    parser.add_argument("--baseline", type=float, default=8, help="alert：无故障的秒数")
    parser.add_argument("--for-s", type=int, default=5, help="alert：规则的 for（秒）")
    parser.add_argument("--window", type=int, default=10, help="alert：rate 窗口（秒）")
    parser.add_argument("--delay", type=float, default=1.0, help="alert：故障给每个请求加的秒数")
    parser.add_argument("--error-share", type=float, default=0.05, help="alert：故障的失败比例")
    parser.add_argument("--max-wait", type=float, default=45, help="alert：最多等通知的秒数")
    args = parser.parse_args()
    metrics: dict[str, dict] = {}
    info: dict = {"part": args.part, "versions": versions()}
    series: dict[str, dict] = {}
    info["series"] = series
    {
        "estimate": part_estimate,
        "overhead": part_overhead,
        "workers": part_workers,
        "alert": part_alert,
    }[args.part](args, metrics, info)
    info.pop("series")
    print(json.dumps({"metrics": metrics, "info": info, "series": series}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"monitoring: {exc}") from None
