"""第四章 · 微服务的代价：内存与 CPU 上限（Kubernetes 的 limits 落到 cgroup 上）对各运行时做了什么。

在本进程自己的 cgroup 之下建子 cgroup（v1 或 v2，用完删掉），把进程放进去：
  --part jvm        JVM 按它看到的内存自己定堆的上限：每个内存上限下读一次 MaxHeapSize
                    （java -XX:+PrintFlagsFinal，JVM 自己报告的值），另读一次不设上限时的；
                    建不了 cgroup 时改用 -XX:MaxRAM 告诉 JVM 同样多的内存（结果里注明）；
  --part instances  四种实现各在“内存上限 + CPU 配额”里启动：启动时间、运行时看到的 CPU 数与
                    堆/内存上限、固定到达速率下的延迟与 CPU、被节流的次数、内存峰值占上限的比例；
  --part gomem      Go 在内存上限里保持一批存活数据并不停换血：不设 GOMEMLIMIT 与设了各跑一次，
                    看谁被内核因超限杀掉。
建不了 cgroup 时（不是 root、只读挂载、v2 不肯下放控制器），instances 与 gomem 报告原因，不报数字。

单独运行：python examples/ch4/microservices/limits.py --part jvm
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

import common
from common import log, metric

from perflab import maven, services
from perflab.errors import PerflabError

MiB = 2**20


# --8<-- [start:jvm]
def jvm_max_heap(wrap: list[str], extra: list[str]) -> int:
    """JVM 自己报告的 MaxHeapSize（字节）：不给 -Xmx 时它按看到的内存算出的默认值。"""
    java = maven.require_java()  # 没装 JDK：一行错误，说出 Debian 包名
    cmd = [*wrap, java, *extra, "-XX:+PrintFlagsFinal", "-version"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r"^\s*size_t MaxHeapSize\s+=\s+(\d+)", done.stdout, re.M)
    if done.returncode != 0 or not m:
        raise PerflabError(f"java -XX:+PrintFlagsFinal failed (status {done.returncode})")
    return int(m.group(1))


# --8<-- [end:jvm]


def part_jvm(args, metrics: dict, info: dict) -> None:
    import psutil

    how = "cgroup"
    for mib in common.parse_list(args.mem_mib):
        try:
            with common.cgroup(f"jvm{mib}", memory_B=mib * MiB) as cg:
                heap = jvm_max_heap(cg.wrap(), [])
                info["cgroup_version"] = cg.version
        except common.NoCgroup as exc:
            # 退而求其次：-XX:MaxRAM 让 JVM 按这么多内存来算（同一条 ergonomics 规则）
            how, info["why_no_cgroup"], info["cgroup"] = "MaxRAM", str(exc), False
            heap = jvm_max_heap([], [f"-XX:MaxRAM={mib * MiB}"])
        metrics[f"heap_m{mib}_B"] = metric(f"默认堆上限（内存上限 {mib} MiB）", "B", heap)
        metrics[f"seen_m{mib}_B"] = metric(f"JVM 看到的内存（上限 {mib} MiB）", "B", mib * MiB)
        log(f"内存上限 {mib} MiB：MaxHeapSize = {heap / MiB:.0f} MiB")
    ram = psutil.virtual_memory().total
    heap = jvm_max_heap([], [])
    metrics["heap_none_B"] = metric("默认堆上限（不设上限，整机内存）", "B", heap)
    metrics["seen_none_B"] = metric("JVM 看到的内存（整机）", "B", ram)
    log(f"不设上限（整机 {ram / MiB:.0f} MiB）：MaxHeapSize = {heap / MiB:.0f} MiB")
    info["how"] = how


def what_it_sees(svc, runtime: str) -> dict:
    """运行时自己报告的 CPU 数与堆/内存上限。"""
    if runtime == "spring":
        heap = common.get_json(svc, "/heap")
        return {"cpus": heap["cpus"], "heap_max_B": heap["max"]}
    got = common.get_json(svc, "/info")
    if runtime == "go":
        return {"cpus": got["gomaxprocs"], "memlimit_B": got["memlimit"]}
    return {"cpus": got["cpu_count"]}


def part_instances(args, metrics: dict, info: dict) -> None:
    _, load_cpus = services.split_cpus()
    limit_B = args.limit_mib * MiB
    info.update(limit_B=limit_B, cpu_quota=args.cpu_quota, rate=args.rate, seen={}, stats={})
    with common.service("go", "leaf", "", cpus=load_cpus, go_binary=args.go_binary) as leaf:
        for runtime in common.parse_list(args.runtimes, str):
            name = f"{runtime}-limited"
            # --8<-- [start:limited]
            with (
                common.cgroup(runtime, memory_B=limit_B, cpus=args.cpu_quota) as cg,
                common.service(
                    runtime,
                    name,
                    leaf.url,
                    ready=common.expect_chain([name, "leaf"]),
                    # 不钉 CPU：让运行时只从 cgroup 的配额里得知自己能用多少 CPU
                    cpus=None,
                    go_binary=args.go_binary,
                    jar=args.jar,
                    wrap=cg.wrap(),
                ) as svc,
            ):
                # --8<-- [end:limited]
                seen = what_it_sees(svc, runtime)
                before = cg.stats()
                cpu0, t0 = common.cpu_seconds(svc), time.monotonic()
                res = services.vegeta(
                    svc.url + "/json",
                    target=name,
                    rate=args.rate,
                    duration_s=args.open_duration,
                    timeout_s=args.timeout,
                    cpus=load_cpus,
                ).check()
                spent, wall = common.cpu_seconds(svc) - cpu0, time.monotonic() - t0
                after = cg.stats()
                svc.check_alive()
                mem = common.memory(svc)
            r = runtime
            metrics[f"{r}_startup_s"] = metric(
                f"{r}：启动到第一个正确回答（受限）", "s", svc.info["startup_s"]
            )
            metrics[f"{r}_cpus_seen"] = metric(f"{r}：运行时看到的 CPU 数", "", seen["cpus"])
            metrics[f"{r}_p50_s"] = metric(f"{r}：延迟中位数（受限）", "s", res.latency_s["p50"])
            metrics[f"{r}_p99_s"] = metric(f"{r}：p99（受限）", "s", res.latency_s["p99"])
            metrics[f"{r}_cpu_pct"] = metric(
                f"{r}：CPU（占一个 CPU，受限）", "%", 100 * spent / wall
            )
            metrics[f"{r}_throttled"] = metric(
                f"{r}：压测期间被节流的周期数", "", after["nr_throttled"] - before["nr_throttled"]
            )
            metrics[f"{r}_rss_B"] = metric(f"{r}：RSS（受限）", "B", mem["rss"])
            metrics[f"{r}_peak_share"] = metric(
                f"{r}：cgroup 内存峰值 ÷ 上限", "%", 100 * after["memory_peak_B"] / limit_B
            )
            if "heap_max_B" in seen:
                metrics[f"{r}_heap_max_B"] = metric(
                    f"{r}：JVM 的堆上限（受限）", "B", seen["heap_max_B"]
                )
            info["seen"][r], info["stats"][r] = seen, after
            info["cgroup_version"] = cg.version
            log(f"{name}：看到 {seen['cpus']} 个 CPU，p99 {res.latency_s['p99'] * 1e3:.1f} ms")


def part_gomem(args, metrics: dict, info: dict) -> None:
    limit_B = args.hog_limit_mib * MiB
    # --8<-- [start:gomem]
    for label, env in (("default", {}), ("memlimit", {"GOMEMLIMIT": f"{int(limit_B * 0.85)}B"})):
        with common.cgroup(f"gomem-{label}", memory_B=limit_B) as cg:
            cmd = [*cg.wrap(), args.go_binary, "-role", "hog", "-live-mib", str(args.live_mib)]
            cmd += ["-duration", f"{args.hog_duration}s"]
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=120, env={**_env(), **env}
            )
            stats = cg.stats()
        # 被内核因超限杀掉：SIGKILL（-9），cgroup 记一次 oom_kill
        survived = done.returncode == 0
        # --8<-- [end:gomem]
        if not survived and done.returncode != -9:
            raise PerflabError(
                f"hog ({label}) failed with status {done.returncode}: {done.stderr[-200:]}"
            )
        out = json.loads(done.stdout) if survived else {}
        metrics[f"{label}_survived"] = metric(f"跑完没被杀（{label}）", "", float(survived))
        metrics[f"{label}_peak_B"] = metric(
            f"cgroup 内存峰值（{label}）", "B", stats["memory_peak_B"]
        )
        if survived:
            metrics[f"{label}_num_gc"] = metric(f"GC 次数（{label}）", "", out["num_gc"])
        info[label] = {"returncode": done.returncode, "stats": stats, "out": out, "env": env}
        peak_mib = stats["memory_peak_B"] / MiB
        log(f"Go {label}：{'跑完' if survived else '被杀'}，峰值 {peak_mib:.0f} MiB")
    info.update(limit_B=limit_B, live_mib=args.live_mib)


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("GOMEMLIMIT", "GOGC")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["jvm", "instances", "gomem"], required=True)
    parser.add_argument("--go-binary", default="", help="go-examples/ch4/microservices 的二进制")
    parser.add_argument("--jar", default="", help="instances：Spring Boot 的 jar")
    parser.add_argument("--mem-mib", default="512,1024,2048,4096", help="jvm：内存上限（MiB）")
    parser.add_argument("--runtimes", default="fastapi,flask,go,spring", help="instances：实现")
    parser.add_argument("--limit-mib", type=int, default=512, help="instances：内存上限（MiB）")
    parser.add_argument("--cpu-quota", type=float, default=0.5, help="instances：CPU 配额（个）")
    parser.add_argument("--rate", type=int, default=50, help="instances：开环到达速率（次/秒）")
    parser.add_argument("--open-duration", type=float, default=2.0, help="instances：开环秒数")
    parser.add_argument("--timeout", type=int, default=2, help="instances：客户端超时（秒）")
    parser.add_argument("--hog-limit-mib", type=int, default=256, help="gomem：内存上限（MiB）")
    parser.add_argument("--live-mib", type=int, default=160, help="gomem：存活数据（MiB）")
    parser.add_argument("--hog-duration", type=float, default=1.0, help="gomem：换血的秒数")
    args = parser.parse_args()
    if args.part != "jvm" and not Path(args.go_binary).is_file():
        raise SystemExit("limits: --go-binary must be the built go-examples/ch4/microservices")
    if args.part == "instances" and "spring" in args.runtimes and not Path(args.jar).is_file():
        raise SystemExit("limits: --runtimes with spring needs --jar (the built Spring Boot jar)")
    metrics: dict[str, dict] = {}
    info: dict = {"part": args.part}
    try:
        {"jvm": part_jvm, "instances": part_instances, "gomem": part_gomem}[args.part](
            args, metrics, info
        )
        info.setdefault("cgroup", True)
    except common.NoCgroup as exc:
        if args.part == "jvm":
            raise
        # 建不了 cgroup：如实报告，不编数字
        log(f"limits: {exc}")
        info.update(cgroup=False, why_no_cgroup=str(exc))
    metrics["cgroup_available"] = metric("能建 cgroup", "", float(info["cgroup"]))
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"limits: {exc}") from None
