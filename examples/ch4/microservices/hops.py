"""第四章 · 微服务的代价：每多一跳（一次跨服务调用）多出多少延迟。

一条调用链 r3 → r2 → r1 → leaf（同一种实现，全钉在服务器的 CPU 上）：从 leaf 进入是 0 跳，
从 r_k 进入是 k 跳。测量客户端（Go，在另一个 CPU 上）同一时刻只发一个请求，每个回答都核对调用链：
  1. 每种调用方式（reuse：keep-alive 复用连接；new：每次调用新建连接）× 每个跳数：延迟的中位数；
     每跳的代价 = 中位数对跳数的斜率（Theil–Sen）；
  2. 有负载时：同一个客户端以 c 个并发连接（closed loop，keep-alive）压每个跳数，
     每跳的代价 = 平均延迟对跳数的斜率。
链上任何一个服务答错或中途退出，实验失败并报出是哪一个；无论成败所有服务都会停掉。

单独运行：python examples/ch4/microservices/hops.py --runtime go --go-binary BIN
         （--runtime spring 另要 --jar，且只有 reuse：Spring Boot 版总是复用到下游的连接）
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
from importlib import metadata
from pathlib import Path

import common
from common import log, metric

from perflab import services
from perflab.errors import PerflabError

PACKAGES = {
    "fastapi": ["fastapi", "uvicorn", "uvloop", "httptools", "aiohttp"],
    "flask": ["flask", "gunicorn", "requests"],
}
RUNTIMES = ("fastapi", "flask", "go", "spring")


def chain_names(hops: int) -> list[str]:
    """0 跳：["leaf"]；k 跳：["r{k}", ..., "r1", "leaf"]。"""
    return [f"r{i}" for i in range(hops, 0, -1)] + ["leaf"]


# --8<-- [start:chain]
@contextlib.contextmanager
def chain(
    runtime: str, hops: int, go_binary: str, cpus, jar: str = ""
) -> dict[int, services.Service]:
    """从链尾起逐个启动：r_k 的下游是 r_(k-1)，每个都要答出它自己那段正确的调用链才算就绪。"""
    with contextlib.ExitStack() as stack:
        started: dict[int, services.Service] = {}
        for k in range(hops + 1):
            names = chain_names(k)
            next_url = started[k - 1].url if k else ""
            started[k] = stack.enter_context(
                common.service(
                    runtime,
                    names[0],
                    next_url,
                    ready=common.expect_chain(names),
                    cpus=cpus,
                    go_binary=go_binary,
                    jar=jar,
                )
            )
        yield started


# --8<-- [end:chain]


def name_the_dead(started: dict[int, services.Service], exc: PerflabError) -> PerflabError:
    """链上的请求失败时：哪个服务已经退出了？报出它的名字；都活着就原样报错。"""
    for svc in started.values():
        try:
            svc.check_alive("mid-chain")
        except PerflabError as dead:
            return dead
    return exc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", choices=RUNTIMES, required=True)
    parser.add_argument("--go-binary", required=True, help="go-examples/ch4/microservices 的二进制")
    parser.add_argument("--jar", default="", help="spring：Maven 打出的可执行 jar")
    parser.add_argument("--hops", type=int, default=3, help="最多几跳")
    parser.add_argument("--modes", default="reuse,new", help="调用方式：reuse、new")
    parser.add_argument("--probe-duration", type=float, default=0.5, help="每个点计时的秒数")
    parser.add_argument("--warmup", type=int, default=30, help="每个点不计时的请求数")
    parser.add_argument("--conns", default="1,4,16,64", help="有负载时同时在路上的请求数，逗号分隔")
    parser.add_argument(
        "--kill", default="", help="故障演练：链起来之后杀掉这个服务（如 r1），看实验是否报出它"
    )
    args = parser.parse_args()
    if not Path(args.go_binary).is_file():
        raise SystemExit("hops: --go-binary must be the built go-examples/ch4/microservices")
    if args.hops < 1:
        raise SystemExit("hops: --hops must be at least 1")
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - {"reuse", "new"}:
        raise SystemExit(f"hops: --modes takes reuse and new, got {args.modes!r}")
    if args.runtime == "spring" and not Path(args.jar).is_file():
        raise SystemExit("hops: --runtime spring needs --jar (the built Spring Boot jar)")
    if args.runtime == "spring" and "new" in modes:
        raise SystemExit("hops: the Spring Boot service always reuses its downstream connection")
    conns = common.parse_list(args.conns)
    server_cpus, load_cpus = services.split_cpus()
    metrics: dict[str, dict] = {}
    points: dict[str, dict] = {}
    hops = list(range(args.hops + 1))
    with chain(args.runtime, args.hops, args.go_binary, server_cpus, args.jar) as started:
        if args.kill:
            victim = next((s for s in started.values() if s.name == args.kill), None)
            if victim is None:
                raise SystemExit(f"hops: --kill {args.kill}: no such service in the chain")
            os.killpg(victim.pid, signal.SIGKILL)
            victim.proc.wait()
        try:
            # --8<-- [start:probe]
            for mode in modes:
                p50s = []
                for k in hops:
                    st = common.probe(
                        args.go_binary,
                        started[k].url,
                        mode=mode,
                        expect=chain_names(k),
                        duration_s=args.probe_duration,
                        warmup=args.warmup,
                        cpus=load_cpus,
                    )
                    p50s.append(st["p50_s"])
                    points[f"{mode}_h{k}"] = st
                    metrics[f"p50_h{k}_{mode}_s"] = metric(
                        f"延迟中位数（{k} 跳，{mode}）", "s", st["p50_s"]
                    )
                    metrics[f"p99_h{k}_{mode}_s"] = metric(
                        f"p99（{k} 跳，{mode}）", "s", st["p99_s"]
                    )
                per_hop = common.slope(hops, p50s)
                metrics[f"hop_{mode}_s"] = metric(
                    f"每跳多出的延迟（{mode}，中位数对跳数的斜率）", "s", per_hop
                )
                log(f"{args.runtime} {mode}：每跳 {per_hop * 1e3:.3f} ms")
            # --8<-- [end:probe]
            # 有负载时：closed loop，c 个请求同时在路上（keep-alive），每个跳数都测，同样取斜率
            for c in conns:
                means = []
                for k in hops:
                    st = common.probe(
                        args.go_binary,
                        started[k].url,
                        mode="reuse",
                        expect=chain_names(k),
                        duration_s=args.probe_duration,
                        warmup=args.warmup,
                        cpus=load_cpus,
                        conns=c,
                    )
                    means.append(st["mean_s"])
                    points[f"load_h{k}_c{c}"] = st
                    metrics[f"mean_h{k}_c{c}_s"] = metric(
                        f"平均延迟（{k} 跳，{c} 个请求在路上）", "s", st["mean_s"]
                    )
                    metrics[f"rps_h{k}_c{c}"] = metric(
                        f"每秒成功请求（{k} 跳，{c} 个请求在路上）", "", st["rps"]
                    )
                per_hop = common.slope(hops, means)
                metrics[f"hop_load_c{c}_s"] = metric(
                    f"每跳多出的平均延迟（{c} 个请求在路上）", "s", per_hop
                )
                log(f"{args.runtime} {c} 个请求在路上：每跳 {per_hop * 1e3:.2f} ms")
            for svc in started.values():
                svc.check_alive()
        except PerflabError as exc:
            raise name_the_dead(started, exc) from None
        pids = {svc.name: svc.pid for svc in started.values()}
    info = {
        "runtime": args.runtime,
        "label": common.LABELS[args.runtime],
        "hops": args.hops,
        "modes": modes,
        "conns": conns,
        "server_cpus": server_cpus,
        "load_cpus": load_cpus,
        "probe_duration_s": args.probe_duration,
        "pids": pids,
        "points": points,
        "versions": {pkg: metadata.version(pkg) for pkg in PACKAGES.get(args.runtime, [])},
    }
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"hops: {exc}") from None
