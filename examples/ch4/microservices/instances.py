"""第四章 · 微服务的代价：一个实例要多少内存、多少 CPU、多久才能答出第一个请求。

同一个小服务（GET /json 调用下游，把自己的名字加在调用链前面）的四种实现之一，钉在服务器的 CPU 上；
下游是一个 Go 叶子服务，与压测端（wrk、vegeta）同在另一个 CPU 上：
  1. 启动：从启动进程到第一个正确回答（调用链 = [自己, leaf]）的秒数；
  2. 空闲：启动后静置一会儿，读整棵进程树的 RSS、USS 与这段时间的 CPU；Spring Boot 与 Go 另报
     运行时自己的堆；
  3. 热身兼最大吞吐：wrk 16 个连接压几秒；
  4. 固定到达速率（vegeta，开环）逐级发请求：每一级的 CPU 占用（占一个 CPU 的百分比）与延迟；
  5. 负载之后再读一次内存（“有负载时”）。
失败率超过 5% 的一级直接让实验失败，并报出是哪个服务。

单独运行：python examples/ch4/microservices/instances.py --runtime fastapi --go-binary BIN
         python examples/ch4/microservices/instances.py --runtime spring --go-binary BIN --jar JAR
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import metadata
from pathlib import Path

import common
from common import log, metric

from perflab import services
from perflab.errors import PerflabError

PACKAGES = {
    "fastapi": ["fastapi", "starlette", "uvicorn", "uvloop", "httptools", "aiohttp"],
    "flask": ["flask", "werkzeug", "gunicorn", "requests"],
}


def versions(runtime: str) -> dict[str, str]:
    out = {pkg: metadata.version(pkg) for pkg in PACKAGES.get(runtime, [])}
    out["wrk"] = services.wrk_version()
    out["vegeta"] = services.vegeta_version()
    return out


def read_memory(svc, runtime: str, when: str, metrics: dict, info: dict) -> None:
    mem = common.memory(svc)
    name = {"idle": "空闲", "loaded": "有负载后"}[when]
    metrics[f"{when}_rss_B"] = metric(f"RSS（{name}）", "B", mem["rss"])
    metrics[f"{when}_uss_B"] = metric(f"USS（{name}）", "B", mem["uss"])
    metrics[f"{when}_pss_B"] = metric(f"PSS（{name}）", "B", mem["pss"])
    info[f"{when}_memory"] = mem
    if runtime == "spring":
        # JVM 自己报告的堆：上限、已向系统申请的、正在用的
        heap = common.get_json(svc, "/heap")
        metrics[f"{when}_heap_used_B"] = metric(f"堆：在用（{name}）", "B", heap["used"])
        metrics[f"{when}_heap_committed_B"] = metric(
            f"堆：已申请（{name}）", "B", heap["committed"]
        )
        metrics["heap_max_B"] = metric("堆上限（JVM 的默认值）", "B", heap["max"])
        info[f"{when}_heap"] = heap
    if runtime == "go":
        # Go 运行时自己报告的堆（runtime.MemStats）：在用的 span、向系统要来的堆内存
        got = common.get_json(svc, "/info")
        metrics[f"{when}_heap_inuse_B"] = metric(f"堆：在用（{name}）", "B", got["heap_inuse"])
        metrics[f"{when}_heap_sys_B"] = metric(f"堆：向系统申请的（{name}）", "B", got["heap_sys"])
        info[f"{when}_heap"] = {k: got[k] for k in ("heap_inuse", "heap_sys")}
    log(f"{svc.name} {name}：RSS {mem['rss'] / 2**20:.0f} MiB，USS {mem['uss'] / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", choices=sorted(common.LABELS), required=True)
    parser.add_argument("--go-binary", required=True, help="go-examples/ch4/microservices 的二进制")
    parser.add_argument("--jar", default="", help="spring：Maven 打出的可执行 jar")
    parser.add_argument("--idle", type=float, default=1.0, help="启动后静置的秒数")
    parser.add_argument("--warm", type=int, default=2, help="wrk 热身（兼测最大吞吐）的整秒数")
    parser.add_argument("--rates", default="30,100,300", help="开环的到达速率（次/秒），逗号分隔")
    parser.add_argument("--open-duration", type=float, default=2.0, help="每一级开环的秒数")
    parser.add_argument("--timeout", type=int, default=2, help="客户端超时（秒）")
    args = parser.parse_args()
    if not Path(args.go_binary).is_file():
        raise SystemExit("instances: --go-binary must be the built go-examples/ch4/microservices")
    if args.runtime == "spring" and not Path(args.jar).is_file():
        raise SystemExit("instances: --runtime spring needs --jar (the built Spring Boot jar)")
    rates = common.parse_list(args.rates)
    server_cpus, load_cpus = services.split_cpus()
    metrics: dict[str, dict] = {}
    info: dict = {"runtime": args.runtime, "label": common.LABELS[args.runtime]}
    name = args.runtime

    # --8<-- [start:measure]
    with (
        common.service("go", "leaf", "", cpus=load_cpus, go_binary=args.go_binary) as leaf,
        common.service(
            args.runtime,
            name,
            leaf.url,
            ready=common.expect_chain([name, "leaf"]),
            cpus=server_cpus,
            go_binary=args.go_binary,
            jar=args.jar,
        ) as svc,
    ):
        metrics["startup_s"] = metric("启动到第一个正确回答", "s", svc.info["startup_s"])
        # 空闲：静置，量这段时间的 CPU（JIT、GC 的后台线程）与之后的内存
        cpu0, t0 = common.cpu_seconds(svc), time.monotonic()
        time.sleep(args.idle)
        idle_cpu = common.cpu_seconds(svc) - cpu0
        metrics["idle_cpu_pct"] = metric(
            "空闲时的 CPU（占一个 CPU）", "%", 100 * idle_cpu / (time.monotonic() - t0)
        )
        read_memory(svc, args.runtime, "idle", metrics, info)
        url = svc.url + "/json"
        services.verify(svc, common.expect_chain([name, "leaf"]))
        warm = services.wrk(
            url, target=name, connections=16, duration_s=args.warm, cpus=load_cpus
        ).check()
        metrics["rps_c16"] = metric("每秒成功请求（16 个连接）", "", warm.good_rps)
        info["runs"] = {"closed_c16": warm.summary()}
        for rate in rates:
            services.verify(svc, common.expect_chain([name, "leaf"]))
            cpu0, t0 = common.cpu_seconds(svc), time.monotonic()
            res = services.vegeta(
                url,
                target=name,
                rate=rate,
                duration_s=args.open_duration,
                timeout_s=args.timeout,
                cpus=load_cpus,
            ).check()  # 失败率超过 5%：实验失败
            spent, wall = common.cpu_seconds(svc) - cpu0, time.monotonic() - t0
            svc.check_alive()
            leaf.check_alive()
            metrics[f"cpu_r{rate}"] = metric(
                f"CPU（{rate} 次/秒，占一个 CPU）", "%", 100 * spent / wall
            )
            metrics[f"cpu_per_req_r{rate}_s"] = metric(
                f"每个请求的 CPU 时间（{rate} 次/秒）", "s", spent / max(res.good, 1)
            )
            for q in ("mean", "p50", "p99"):
                metrics[f"{q}_r{rate}_s"] = metric(
                    f"延迟 {q}（{rate} 次/秒）", "s", res.latency_s[q]
                )
            info["runs"][f"open_r{rate}"] = res.summary()
            p99_ms = res.latency_s["p99"] * 1e3
            log(f"{name} {rate}/s：CPU {100 * spent / wall:.1f}%，p99 {p99_ms:.1f} ms")
        read_memory(svc, args.runtime, "loaded", metrics, info)
    # --8<-- [end:measure]
    info.update(
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        rates=rates,
        open_duration_s=args.open_duration,
        warm_s=args.warm,
        idle_s=args.idle,
        versions=versions(args.runtime),
    )
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"instances: {exc}") from None
