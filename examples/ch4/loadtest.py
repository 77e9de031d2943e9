"""第四章 · 压测：同一个 JSON 接口在 Flask、FastAPI、Gin、net/http 上能扛多少、多快。

驱动程序（本文件）用 perflab.services 启动一个真正的服务器（gunicorn、uvicorn、Werkzeug 开发服务器，
或 Go 二进制），钉在自己的 CPU 上，压测端（wrk、vegeta）在另一个 CPU 上：
  1. 先验证：状态码、Content-Type、响应体都对，才开始计时；
  2. 预热，然后闭环（wrk）逐级扫连接数，只数 2xx 且没超时的响应；
  3. 开环（vegeta）：以固定到达速率发请求，看 p99。速率取这台服务器刚测出的最大吞吐的几个比例
     （--fractions），或几个绝对速率（--rates：Go 服务器的最大吞吐远超 vegeta 在一个 CPU 上
     发得出的速率）。
失败率超过 5% 的一轮直接让实验失败，并报出是哪个服务器。

单独运行：python examples/ch4/loadtest.py --server fastapi --conns 16,256 --duration 1
         python examples/ch4/loadtest.py --server gin --go-binary /path/to/loadtest
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from perflab import services  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402

HELLO = {"message": "Hello, World!"}
PY = sys.executable
# 对的回答：200、application/json、响应体正是这个对象
EXPECT = services.Expect(path="/json", content_type="application/json", json_body=HELLO)
LABELS = {
    "flask": "Flask + gunicorn（sync）",
    "flaskdev": "Flask 开发服务器（threaded）",
    "fastapi": "FastAPI + uvicorn",
    "gin": "Gin",
    "nethttp": "Go net/http",
    "static": "校准：Go 常量响应",
}
GO_SERVERS = ("gin", "nethttp", "static")
CALIBRATION = "static"
PACKAGES = {
    "flask": ["flask", "werkzeug", "gunicorn"],
    "flaskdev": ["flask", "werkzeug"],
    "fastapi": ["fastapi", "starlette", "uvicorn", "uvloop", "httptools"],
}


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


# --8<-- [start:commands]
def server_command(name: str, workers: int, go_binary: str) -> tuple[list[str], dict[str, str]]:
    """(命令行, 环境变量)：{port} 由 perflab.services 换成运行时选出的空闲端口。"""
    if name == "flask":
        # gunicorn 同步 worker：一个 worker 进程同一时刻只处理一个请求
        cmd = [PY, "-m", "gunicorn", "-k", "sync", "-w", str(workers), "--backlog", "2048"]
        return [*cmd, "-b", "127.0.0.1:{port}", "--chdir", str(HERE), "loadtest_flask:app"], {}
    if name == "flaskdev":
        # 文章的写法：app.run(threaded=True)，Werkzeug 开发服务器，每个连接一个线程
        return [PY, str(HERE / "loadtest_flask.py"), "--port", "{port}"], {}
    if name == "fastapi":
        cmd = [PY, "-m", "uvicorn", "loadtest_fastapi:app", "--app-dir", str(HERE)]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        cmd += ["--workers", str(workers), "--backlog", "2048"]
        return [*cmd, "--host", "127.0.0.1", "--port", "{port}"], {}
    # Go：GOMAXPROCS 与 worker 数对应（1 个 CPU 对 1 个 worker）
    return [go_binary, "-server", name, "-port", "{port}"], {"GOMAXPROCS": str(workers)}


# --8<-- [end:commands]


def versions(name: str, go_binary: str) -> dict[str, str]:
    out = {pkg: metadata.version(pkg) for pkg in PACKAGES.get(name, [])}
    if name == "gin":
        out["gin"] = services.go_module_version(go_binary, "github.com/gin-gonic/gin")
    out["wrk"] = services.wrk_version()
    out["vegeta"] = services.vegeta_version()
    return out


def open_levels(best: float, fractions: list[float], rates: list[int]) -> list[tuple]:
    """开环的各级：(指标键里的名字, 到达速率, 说明)。比例按这台服务器刚测出的最大吞吐折算。"""
    levels = [(f"f{round(f * 100)}", f * best, f"最大吞吐的 {round(f * 100)}%") for f in fractions]
    return levels + [(f"r{r}", r, f"{r} 次/秒") for r in rates]


def open_loop(svc, url, levels, args, load_cpus, metrics, runs) -> None:
    """开环：以固定到达速率发请求，不管前面的请求回没回来（没有协同遗漏）。"""
    for key, rate, what in levels:
        # 先验证一次：前一级闭环留在接收队列里的请求处理完，这个请求才会被答复
        services.verify(svc, EXPECT)
        res = services.vegeta(
            url,
            target=svc.name,
            rate=rate,
            duration_s=args.open_duration,
            timeout_s=args.timeout,
            cpus=load_cpus,
        )
        if args.server != CALIBRATION:
            res.check()  # 失败率超过 5%：实验失败（校准服务器的失败算压测端的，不判它）
        svc.check_alive()
        lat = res.latency_s
        log(f"{svc.name} 开环 {what}: 实发 {res.sent_rate:.0f}/s, p99 {lat['p99'] * 1e3:.1f} ms")
        metrics[f"ol_p99_{key}_s"] = metric(f"开环 p99（{what}）", "s", lat["p99"])
        metrics[f"ol_p50_{key}_s"] = metric(f"开环 p50（{what}）", "s", lat["p50"])
        metrics[f"ol_err_{key}"] = metric(f"开环失败占比（{what}）", "%", 100 * res.error_share)
        metrics[f"ol_rate_{key}"] = metric(f"开环到达速率（{what}，次/秒）", "", rate)
        sent = res.sent_rate / rate
        metrics[f"ol_sent_{key}"] = metric(f"vegeta 实发 ÷ 目标（{what}）", "×", sent)
        runs[f"open_{key}"] = res.summary()


def metric(label: str, unit: str, value: float) -> dict:
    return {"label": label, "unit": unit, "values": [value]}


def parse_list(text: str, kind=int) -> list:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"loadtest: bad list {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=sorted(LABELS), required=True)
    parser.add_argument("--go-binary", default="", help="go-examples/ch4/loadtest 编译出的二进制")
    parser.add_argument("--workers", type=int, default=1, help="worker 进程数 / GOMAXPROCS")
    parser.add_argument("--conns", default="16,100,300,1000", help="闭环的连接数，逗号分隔")
    parser.add_argument("--duration", type=int, default=2, help="每一级闭环压测的秒数")
    parser.add_argument("--warmup", type=int, default=1, help="预热秒数（不计入）")
    parser.add_argument("--fractions", default="0.25,0.5,0.75", help="开环速率：最大吞吐的比例")
    parser.add_argument(
        "--rates", default="", help="开环的绝对速率（次/秒）：最大吞吐超出 vegeta 能力的服务器用它"
    )
    parser.add_argument("--open-duration", type=float, default=2.0, help="每一级开环压测的秒数")
    parser.add_argument("--timeout", type=int, default=2, help="客户端超时（秒）")
    args = parser.parse_args()
    if args.server in GO_SERVERS and not Path(args.go_binary).is_file():
        raise SystemExit(
            f"loadtest: --server {args.server} needs --go-binary (the built Go package)"
        )
    conns = parse_list(args.conns)
    fractions = parse_list(args.fractions, float)
    rates = parse_list(args.rates)
    if fractions and len(conns) < 2:
        raise SystemExit("loadtest: --fractions needs at least two --conns levels (max first)")

    server_cpus, load_cpus = services.split_cpus()
    if args.workers > 1 and server_cpus:
        # 多个 worker：服务器可用全部 CPU，压测端仍在后一半上——两者此时在争抢
        server_cpus = sorted(os.sched_getaffinity(0))
    cmd, env = server_command(args.server, args.workers, args.go_binary)
    expect = EXPECT
    metrics: dict[str, dict] = {}
    runs: dict[str, dict] = {}
    with services.start(
        args.server,
        cmd,
        env=env,
        cpus=server_cpus,
        ready=services.http_ready(expect),
        version=json.dumps(versions(args.server, args.go_binary)),
    ) as svc:
        # --8<-- [start:measure]
        services.verify(svc, expect)  # 答错了就不计时，实验失败
        url = svc.url + "/json"
        if args.warmup > 0:
            services.wrk(
                url, target=svc.name, connections=64, duration_s=args.warmup, cpus=load_cpus
            )
        best = 0.0
        # 最多连接的一级放在开环之后：它在服务器的接收队列里留下的积压，不该算进开环的延迟
        *before, last = sorted(conns)
        for n in [*before, "open", last]:
            if n == "open":
                levels = open_levels(best, fractions, rates)
                open_loop(svc, url, levels, args, load_cpus, metrics, runs)
                continue
            res = services.wrk(
                url,
                target=svc.name,
                connections=n,
                duration_s=args.duration,
                timeout_s=args.timeout,
                cpus=load_cpus,
            ).check()  # 失败率超过 5%：实验失败
            svc.check_alive()
            best = max(best, res.good_rps)
            lat = res.latency_s
            log(f"{svc.name} c={n}: {res.good_rps:.0f} 次/秒, p99 {lat['p99'] * 1e3:.1f} ms")
            metrics[f"rps_c{n}"] = metric(f"每秒成功请求（{n} 连接）", "", res.good_rps)
            for q in ("mean", "p50", "p90", "p99", "p999", "max"):
                metrics[f"{q}_c{n}_s"] = metric(f"延迟 {q}（{n} 连接）", "s", lat[q])
            metrics[f"err_c{n}"] = metric(f"失败占比（{n} 连接）", "%", 100 * res.error_share)
            runs[f"closed_c{n}"] = res.summary()
        # --8<-- [end:measure]
        metrics["rps_max"] = metric("最大每秒成功请求（各连接数中最高）", "", best)
        info = {
            "server": args.server,
            "label": LABELS[args.server],
            "workers": args.workers,
            "server_cpus": server_cpus,
            "load_cpus": load_cpus,
            "conns": conns,
            "fractions": fractions,
            "rates": rates,
            "open_duration_s": args.open_duration,
            "duration_s": args.duration,
            "timeout_s": args.timeout,
            "error_share_limit": services.ERROR_SHARE_LIMIT,
            "versions": json.loads(svc.version),
            "runs": runs,
        }
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"loadtest: {exc}") from None
