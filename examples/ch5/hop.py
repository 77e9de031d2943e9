"""第五章 · 混合部署：gRPC 这一跳本身值多少——空调用、推理调用，与进程内算一次模型的对照。

服务（钉在服务器的 CPU 上）：Python 模型服务（grpcio asyncio），以及作对照的 Go 模型服务。
客户端（钉在另一个 CPU 上）：Go（grpc-go）与 Node.js（@grpc/grpc-js），
逐个调用（前一个回来才发下一个），所以量到的是没有排队时一跳的往返；
再在进程内各算一次 numpy 版与 Go 版的模型，作为“模型本身”的代价。

单独运行：python examples/ch5/hop.py --go-binary /path/to/mixed --n 1000
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import deploy
from model import load

from perflab import services
from perflab.errors import PerflabError
from perflab.runner import run_command

# 客户端 → 服务：名字用于指标键
PAIRS = {
    "go_py": ("Go 客户端 → Python 模型服务", "go", "py"),
    "node_py": ("Node.js 客户端 → Python 模型服务", "node", "py"),
    "go_go": ("Go 客户端 → Go 模型服务（对照）", "go", "go"),
}


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def metric(label: str, unit: str, value: float) -> dict:
    return {"label": label, "unit": unit, "values": [value]}


def client_command(client: str, addr: str, args, setup, go_binary: str) -> list[str]:
    x = ",".join(repr(v) for v in setup.features)
    n, warm = str(args.n), str(args.warmup)
    if client == "go":
        return [go_binary, "-role", "hop", "-target", addr, "-n", n, "-warmup", warm, "-x", x]
    node = deploy.require_node()
    script = str(deploy.HERE / "mixed_front.js")
    return [node, script, "--hop", addr, "--n", n, "--warmup", warm, "--x", x]


# --8<-- [start:compute]
def numpy_compute_s(model, features, n: int, warmup: int) -> float:
    """进程内算一次模型的中位耗时（逐次计时，与客户端的计时方式相同）。"""
    samples = []
    for i in range(warmup + n):
        start = time.perf_counter()
        model.predict(features)
        if i >= warmup:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# --8<-- [end:compute]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--go-binary", required=True, help="go-examples/ch5/mixed 编译出的二进制")
    parser.add_argument("--n", type=int, default=2000, help="每种调用计时的次数")
    parser.add_argument("--warmup", type=int, default=200, help="计时前先调用的次数")
    args = parser.parse_args()
    if not Path(args.go_binary).is_file():
        raise SystemExit(f"hop: --go-binary {args.go_binary}: no such file")
    if args.n < 10 or args.warmup < 0:
        raise SystemExit("hop: --n must be ≥ 10 and --warmup ≥ 0")
    server_cpus, client_cpus = services.split_cpus()
    metrics: dict[str, dict] = {}
    raw: dict[str, dict] = {}
    with deploy.workdir() as tmp, contextlib.ExitStack() as stack:
        setup = deploy.prepare(tmp)
        servers = {
            "py": deploy.start_python_model(stack, "python gRPC model", setup, server_cpus),
            "go": deploy.start_go_model(stack, "go gRPC model", setup, args.go_binary, server_cpus),
        }
        for key, (label, client, server) in PAIRS.items():
            svc = servers[server]
            addr = f"{services.LOOPBACK}:{svc.port}"
            cmd = client_command(client, addr, args, setup, args.go_binary)
            out = run_command(cmd, label=f"hop {key}", timeout_s=120, cpus=client_cpus)
            svc.check_alive()
            try:
                found = json.loads(out)
                ping, predict = found["ping"], found["predict"]
            except (ValueError, KeyError) as exc:
                raise PerflabError(f"hop {key}: unreadable client output ({exc})") from None
            raw[key] = found
            for q in ("p50", "p99"):
                metrics[f"{key}_ping_{q}_s"] = metric(f"{label}：空调用 {q}", "s", ping[f"{q}_s"])
            metrics[f"{key}_predict_p50_s"] = metric(
                f"{label}：推理调用 p50", "s", predict["p50_s"]
            )
            log(
                f"{key}: 空调用 p50 {ping['p50_s'] * 1e6:.0f} µs,",
                f"推理 {predict['p50_s'] * 1e6:.0f} µs",
            )
        # 模型本身：进程内算一次（钉在客户端的 CPU 上，与客户端同样条件）
        if client_cpus:
            os.sched_setaffinity(0, client_cpus)
        model = load(setup.weights)
        py_compute = numpy_compute_s(model, setup.features, args.n, args.warmup)
        x = ",".join(repr(v) for v in setup.features)
        cmd = [args.go_binary, "-role", "compute", "-weights", str(setup.weights), "-x", x]
        cmd += ["-n", str(args.n), "-warmup", str(args.warmup)]
        go_compute = json.loads(run_command(cmd, label="hop compute", timeout_s=60))["compute"]
        metrics["numpy_compute_s"] = metric("进程内算一次模型：numpy", "s", py_compute)
        metrics["go_compute_s"] = metric("进程内算一次模型：Go", "s", go_compute["p50_s"])
        # 一次推理调用里，有多少是模型本身（其余是这一跳与 gRPC 框架）
        share = py_compute / metrics["go_py_predict_p50_s"]["values"][0]
        metrics["model_share_pct"] = metric(
            "Go → Python 推理调用中模型计算的占比", "%", 100 * share
        )
        info = {
            "n": args.n,
            "warmup": args.warmup,
            "server_cpus": server_cpus,
            "client_cpus": client_cpus,
            "labels": {k: v[0] for k, v in PAIRS.items()},
            "sizes": json.loads(setup.weights.read_text())["sizes"],
            "versions": deploy.versions(args.go_binary),
            "raw": raw,
        }
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"hop: {exc}") from None
