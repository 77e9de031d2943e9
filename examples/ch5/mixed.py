"""第五章 · 混合部署：同一个模型的四种部署，在同样的开环负载下的 P50 / P99 / 吞吐与拐点。

四种部署（examples/ch5/deploy.py）：全 Python（FastAPI + numpy）、Go 前置 → Python gRPC 模型、
Node.js 前置 → Python gRPC 模型、全 Go。每种部署的全部进程共用服务器的 CPU，压测端在另一个 CPU 上。
每一轮（一个驱动进程）：
  1. 验证：每个前置对同一条输入答出与 numpy 相同的概率，才开始计时；
  2. 容量：wrk 闭环压 1 秒，得到每种部署的最大吞吐；最慢的那个定下共同的速率刻度；
  3. 同样的负载：vegeta 以“最慢者容量”的 25/50/75% 这几档固定到达速率，轮流压四种部署；
  4. 拐点：三种带 Python 的部署各自按自己容量的 50/80/100/120% 再压一遍，找出还跟得上的最高一档
     （最高一档也跟得上时，拐点只是下限：info 的 knees[部署]["top_reached"]、指标 *_knee_top）；
     全 Go 的容量远在 vegeta 一个 CPU 能按时发出的速率之上，只在 --max-rate（默认 5,000/秒）压一次。
服务死在半路（包括模型服务）时实验失败并报出是哪一个；无论成败，所有服务都会停掉。

单独运行：python examples/ch5/mixed.py --go-binary /path/to/mixed
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import deploy
from deploy import LABELS

from perflab import services
from perflab.errors import PerflabError

ORDER = ("py", "gofront", "nodefront", "go")
LADDER = ("py", "gofront", "nodefront")  # 拐点在 vegeta 的量程之内的三种
# 拐点：还“跟得上”的一档要同时满足（理由见页面）
KNEE_ERRORS = 0.01  # 失败 ≤ 1%
KNEE_P50_FACTOR = 5.0  # p50 ≤ 最低一档共同速率下 p50 的 5 倍（排队让中位数也抬起来）
SENT_SHARE = 0.95  # vegeta 实发 ≥ 目标的 95%，否则这一档是压测端跟不上
SETTLE_S = 20.0


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def metric(label: str, unit: str, value: float) -> dict:
    return {"label": label, "unit": unit, "values": [value]}


def parse_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"mixed: bad list {text!r}") from None


def check_alive(group: list[services.Service]) -> None:
    # 先查模型服务：它死了，前置只会回 502，报出真正的原因
    for svc in reversed(group):
        svc.check_alive()


def settle(group: list[services.Service], expect: services.Expect) -> None:
    """过载之后等积压处理完：直到前置又能及时答对（最多 SETTLE_S 秒）；其间有服务退出即失败。"""
    svc = group[0]
    deadline = time.monotonic() + SETTLE_S
    while True:
        check_alive(group)
        try:
            answer = services.get(svc, expect.path, timeout_s=2.0)
            if expect.problem(answer) is None:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise svc.fail(f"still not answering right {SETTLE_S:g} s after an overloaded level")
        time.sleep(0.1)


def open_level(group, url, rate, args, load_cpus, expect):
    front = group[0]
    settle(group, expect)
    res = services.vegeta(
        url,
        target=front.name,
        rate=rate,
        duration_s=args.open_duration,
        timeout_s=args.timeout,
        cpus=load_cpus,
    )
    check_alive(group)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--go-binary", required=True, help="go-examples/ch5/mixed 编译出的二进制")
    parser.add_argument("--duration", type=int, default=1, help="容量（wrk 闭环）的秒数")
    parser.add_argument("--conns", type=int, default=32, help="容量测量的连接数")
    parser.add_argument("--warmup", type=int, default=1, help="每种部署预热的秒数（不计入）")
    parser.add_argument("--shared", default="0.25,0.5,0.75", help="共同速率：最慢者容量的比例")
    parser.add_argument("--ladder", default="0.5,0.8,1.0,1.2", help="拐点：自己容量的比例")
    parser.add_argument("--max-rate", type=float, default=5000, help="开环速率的上限（次/秒）")
    parser.add_argument("--open-duration", type=float, default=1.0, help="每档开环的秒数")
    parser.add_argument("--timeout", type=float, default=2.0, help="客户端超时（秒）")
    parser.add_argument(
        "--fault", choices=["kill-model"], help="测试用：开环前杀掉 Go 前置背后的模型服务"
    )
    args = parser.parse_args()
    if not Path(args.go_binary).is_file():
        raise SystemExit(f"mixed: --go-binary {args.go_binary}: no such file")
    shared, ladder = parse_list(args.shared), parse_list(args.ladder)
    if not shared or sorted(shared) != shared or max(shared) >= 1:
        raise SystemExit("mixed: --shared must be ascending fractions below 1")
    server_cpus, load_cpus = services.split_cpus()
    metrics: dict[str, dict] = {}
    runs: dict[str, dict] = {}
    info: dict = {}
    deploy.require_node()
    with deploy.workdir() as tmp, contextlib.ExitStack() as stack:
        setup = deploy.prepare(tmp)
        groups = deploy.start_deployments(stack, setup, args.go_binary, server_cpus)
        expect = setup.expect()
        urls = {d: groups[d][0].url + expect.path for d in ORDER}
        for d in ORDER:
            services.verify(groups[d][0], expect)  # 答错了就不计时
        if args.warmup > 0:
            for d in ORDER:
                services.wrk(urls[d], target=d, connections=args.conns, duration_s=args.warmup,
                             cpus=load_cpus)  # fmt: skip
        # --8<-- [start:capacity]
        caps = {}
        for d in ORDER:
            settle(groups[d], expect)
            res = services.wrk(
                urls[d],
                target=d,
                connections=args.conns,
                duration_s=args.duration,
                timeout_s=args.timeout,
                cpus=load_cpus,
            ).check()
            check_alive(groups[d])
            caps[d] = res.good_rps
            runs[f"{d}_capacity"] = res.summary()
            metrics[f"{d}_cap_rps"] = metric(f"{LABELS[d]}：闭环最大吞吐", "", res.good_rps)
            log(f"{d}: 容量 {res.good_rps:.0f} 次/秒")
        slowest = min(caps.values())
        # --8<-- [end:capacity]
        if args.fault == "kill-model":
            os.kill(groups["gofront"][1].pid, signal.SIGKILL)
        # --8<-- [start:shared]
        # 同样的负载：每一档按同一个到达速率轮流压四种部署
        for f in shared:
            pct = round(f * 100)
            rate = f * slowest
            metrics[f"rate_s{pct}"] = metric(f"共同到达速率（最慢者容量的 {pct}%）", "", rate)
            for d in ORDER:
                res = open_level(groups[d], urls[d], rate, args, load_cpus, expect).check()
                lat = res.latency_s
                log(
                    f"{d} @ {rate:.0f}/s: p50 {lat['p50'] * 1e3:.2f} ms,",
                    f"p99 {lat['p99'] * 1e3:.2f} ms",
                )
                name = f"{LABELS[d]}，{pct}%"
                metrics[f"{d}_p50_s{pct}_s"] = metric(f"{name}：p50", "s", lat["p50"])
                metrics[f"{d}_p99_s{pct}_s"] = metric(f"{name}：p99", "s", lat["p99"])
                metrics[f"{d}_good_s{pct}"] = metric(f"{name}：每秒成功响应", "", res.good_rps)
                metrics[f"{d}_err_s{pct}"] = metric(f"{name}：失败占比", "%", 100 * res.error_share)
                runs[f"{d}_s{pct}"] = res.summary()
        # --8<-- [end:shared]
        base_p50 = {d: metrics[f"{d}_p50_s{round(shared[0] * 100)}_s"]["values"][0] for d in ORDER}
        knees = {}
        # --8<-- [start:knee]
        for d in LADDER:
            knee, limited, still = 0.0, False, True
            for f in ladder:
                pct = round(f * 100)
                rate = min(f * caps[d], args.max_rate)
                res = open_level(groups[d], urls[d], rate, args, load_cpus, expect)
                # 压测端没能按时发出，或速率被压到上限：这一档说明不了服务
                limited |= rate < f * caps[d] or res.sent_rate < SENT_SHARE * rate
                p50, p99 = res.latency_s["p50"], res.latency_s["p99"]
                # 开环里过载不会马上变成失败（请求排着队，直到超时），先变长的是延迟
                ok = res.error_share <= KNEE_ERRORS and p50 <= KNEE_P50_FACTOR * base_p50[d]
                # 拐点前的每一档都要跟得上：中途掉队过，后面偶然跟上的一档不算
                still = still and ok
                if still:
                    knee = rate
                log(f"{d} 拐点 {pct}% = {rate:.0f}/s: p99 {p99 * 1e3:.1f} ms, 跟得上 {ok}")
                name = f"{LABELS[d]}，自身容量的 {pct}%"
                metrics[f"{d}_p50_f{pct}_s"] = metric(f"{name}：p50", "s", p50)
                metrics[f"{d}_p99_f{pct}_s"] = metric(f"{name}：p99", "s", p99)
                metrics[f"{d}_err_f{pct}"] = metric(f"{name}：失败占比", "%", 100 * res.error_share)
                runs[f"{d}_f{pct}"] = {**res.summary(), "keeps_up": ok}
            # 最高一档仍跟得上：阶梯没压到它的拐点，拐点只是下限
            knees[d] = {"knee_rps": knee, "generator_limited": limited, "top_reached": still}
            metrics[f"{d}_knee_rps"] = metric(
                f"{LABELS[d]}：拐点（还跟得上的最高到达速率）", "", knee
            )
            metrics[f"{d}_knee_top"] = metric(
                f"{LABELS[d]}：阶梯最高一档仍跟得上（1 是，0 否）", "", float(still)
            )
        # --8<-- [end:knee]
        # 全 Go：容量远在 vegeta 一个 CPU 能按时发出的速率之上，只在 --max-rate 这一档压一次
        top = min(args.max_rate, caps["go"])
        res = open_level(groups["go"], urls["go"], top, args, load_cpus, expect)
        metrics["go_top_rps"] = metric("全 Go：最高一档的到达速率", "", top)
        metrics["go_p99_top_s"] = metric("全 Go：最高一档的 p99", "s", res.latency_s["p99"])
        metrics["go_p50_top_s"] = metric("全 Go：最高一档的 p50", "s", res.latency_s["p50"])
        metrics["go_err_top"] = metric("全 Go：最高一档的失败占比", "%", 100 * res.error_share)
        metrics["go_sent_top"] = metric(
            "全 Go：最高一档 vegeta 实发 ÷ 目标", "×", res.sent_rate / top
        )
        runs["go_top"] = res.summary()
        info = {
            "labels": LABELS,
            "server_cpus": server_cpus,
            "load_cpus": load_cpus,
            "conns": args.conns,
            "duration_s": args.duration,
            "open_duration_s": args.open_duration,
            "timeout_s": args.timeout,
            "shared": shared,
            "ladder": ladder,
            "max_rate": args.max_rate,
            "slowest": min(caps, key=caps.get),
            "knees": knees,
            "knee_rule": {
                "errors": KNEE_ERRORS,
                "p50_factor": KNEE_P50_FACTOR,
                "sent": SENT_SHARE,
            },
            "features": setup.features,
            "expected_score": setup.expected,
            "versions": deploy.versions(args.go_binary),
            "runs": runs,
        }
    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except PerflabError as exc:
        raise SystemExit(f"mixed: {exc}") from None
