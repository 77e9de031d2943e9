"""docs/ch5/mixed.md：四种部署的开环压测（ch5.mixed）与一跳的代价（ch5.mixed.hop）。"""

from __future__ import annotations

from perflab import book, units
from perflab.claims import VERDICT_LABELS

EXP, HOP = "ch5.mixed", "ch5.mixed.hop"
DEPLOYMENTS = {
    "py": "全 Python（FastAPI + numpy）",
    "gofront": "Go 前置 → Python gRPC 模型",
    "nodefront": "Node.js 前置 → Python gRPC 模型",
    "go": "全 Go",
}
SHARED = {"25": "25%", "50": "50%", "75": "75%"}
LADDER = ("py", "gofront", "nodefront")
# 引文的表（照原文）：P99 与工作量都是引文；工作量在构建时无法测量，只作引文列出
ARTICLE = [
    ("全 Go 重写", "go", "45 ms", "18 人周", None),
    ("Python 模型 + gRPC", "gofront", "68 ms", "8 人周", "ch5.mixed.grpc-vs-go"),
    ("Node.js 中间层", "nodefront", "110 ms", "6 人周", "ch5.mixed.node-vs-go"),
]


def _info(exp: str = EXP, run: str = "load") -> dict:
    return book.result(exp).info[run]


def _median(key: str, exp: str = EXP) -> float:
    return book.result(exp).metric(key).summary.median


def setup() -> str:
    """CPU 分配、时长、超时与速率刻度（驱动程序在 info 里报告）。"""
    info = _info()
    server, load = info["server_cpus"], info["load_cpus"]
    cpus = (
        f"四种部署的全部进程钉在 CPU {','.join(map(str, server))}，"
        f"wrk 与 vegeta 钉在 CPU {','.join(map(str, load))}"
        if server
        else "本机只有一个 CPU：服务与压测端共用它，绝对数字偏低，同一轮里的比较仍可参考"
    )
    slowest = DEPLOYMENTS[info["slowest"]]
    return (
        f"本次构建：{cpus}；容量用 wrk 以 {info['conns']} 个连接压 {info['duration_s']:g} 秒，"
        f"每档开环压 {info['open_duration_s']:g} 秒，客户端超时 {info['timeout_s']:g} 秒。"
        f"这一次最慢的是 {slowest}，共同速率刻度以它的容量为 100%。"
    )


def versions() -> str:
    """各服务、gRPC 库与压测端的版本（驱动程序从已安装的包、Go 二进制与 node_modules 里读出）。"""
    found = _info()["versions"]
    return "版本：" + "，".join(f"{k} {v}" for k, v in found.items()) + "。"


def capacity() -> str:
    """每种部署的闭环容量，以及每档共同速率的绝对值。"""
    lines = ["| 部署 | 闭环最大吞吐（次/秒） |", "|---|---:|"]
    for d, label in DEPLOYMENTS.items():
        lines.append(f"| {label} | {book.value(EXP, f'load.{d}_cap_rps')} |")
    rates = "、".join(
        f"{pct}：每秒 {units.fmt(round(_median(f'load.rate_s{k}')), '')} 个请求"
        for k, pct in SHARED.items()
    )
    return "\n".join(lines) + f"\n\n共同速率（各轮中位数）：{rates}。"


def latency() -> str:
    """同样的到达速率下，四种部署的 p50、p99、每秒成功响应与失败占比。"""
    return (
        "p50：\n\n"
        + book.grid(EXP, "load.{row}_p50_s{col}_s", DEPLOYMENTS, SHARED)
        + "\n\np99：\n\n"
        + book.grid(EXP, "load.{row}_p99_s{col}_s", DEPLOYMENTS, SHARED)
        + "\n\n每秒成功响应（跟得上时等于到达速率，跟不上时落在它下面）：\n\n"
        + book.grid(EXP, "load.{row}_good_s{col}", DEPLOYMENTS, SHARED)
        + "\n\n失败占比：\n\n"
        + book.grid(EXP, "load.{row}_err_s{col}", DEPLOYMENTS, SHARED)
    )


def ratios() -> str:
    """同样负载下的 P99 之比（按轮配对）。"""
    rows = {
        "gofront_vs_go": "Go 前置 + Python gRPC ÷ 全 Go",
        "nodefront_vs_go": "Node.js 前置 + Python gRPC ÷ 全 Go",
        "nodefront_vs_gofront": "Node.js 前置 ÷ Go 前置",
        "py_vs_go": "全 Python ÷ 全 Go",
    }
    return book.grid(EXP, "load.{row}_p99_s{col}", rows, SHARED)


def knees() -> str:
    """拐点：每种带 Python 的部署还跟得上的最高到达速率，对照它的闭环容量；全 Go 的最高一档。"""
    info = _info()
    rule = info["knee_rule"]
    lines = [
        "| 部署 | 闭环容量（次/秒） | 拐点（次/秒） | 拐点 ÷ 容量 |",
        "|---|---:|---:|---:|",
    ]
    partly = []
    for d in LADDER:
        cap, knee = _median(f"load.{d}_cap_rps"), _median(f"load.{d}_knee_rps")
        # 拐点 ÷ 容量：引擎按轮配对算出（registry/ch5/mixed.toml）
        share = book.value(EXP, f"load.{d}_knee_share") if knee > 0 else "—"
        shown = units.fmt(round(knee), "") if knee > 0 else "最低一档就没跟上"
        # 阶梯最高一档也跟得上的轮：那一轮的拐点在阶梯之上，表里的数只是下限
        top = book.result(EXP).metric(f"load.{d}_knee_top").values
        if knee > 0 and all(top):
            shown, share = f"≥ {shown}（最高一档仍跟得上）", f"≥ {share}"
        elif any(top):
            partly.append(f"{DEPLOYMENTS[d]}（{len(top)} 轮中 {sum(map(bool, top))} 轮）")
        lines.append(f"| {DEPLOYMENTS[d]} | {units.fmt(round(cap), '')} | {shown} | {share} |")
    top, cap = _median("load.go_top_rps"), _median("load.go_cap_rps")
    p50, p99 = _median("load.go_p50_top_s"), _median("load.go_p99_top_s")
    sent = _median("load.go_sent_top")
    limited = [d for d in LADDER if info["knees"][d]["generator_limited"]]
    note = (
        f"\n\n“跟得上”的标准：失败不超过 "
        f"{rule['errors']:.0%}、p50 不超过最低一档共同速率下自己的 p50 的 "
        f"{rule['p50_factor']:g} 倍（排队一旦积起来，连中位数都会抬高），"
        "并且此前的每一档都跟得上；表中是各轮的中位数。"
        f"全 Go 的闭环容量是每秒 {units.fmt(round(cap), '')} 个请求，"
        + (
            f"高于开环速率的上限，所以只在每秒 {units.fmt(round(top), '')} 这一档压了一次："
            if top < cap
            else "开环只在它自己的容量这一档压了一次："
        )
        + f"p50 {units.fmt(p50, 's')}，p99 {units.fmt(p99, 's')}"
        + (
            ("——它的拐点在这之上，这里量不到。" if top < cap else "。")
            if sent >= rule["sent"]
            else f"；但 vegeta 只按时发出了目标的 {sent:.0%}，"
            "这一档量到的是压测端的上限，不是全 Go 的。"
        )
    )
    if limited:
        names = "、".join(DEPLOYMENTS[d] for d in limited)
        note += (
            f"{names}的拐点阶梯里有几档超出了开环速率的上限或 vegeta 没能按时发出，"
            "那几档说明不了服务，拐点只是下限。"
        )
    if partly:
        note += (
            f"{'、'.join(partly)}在部分轮里连阶梯最高一档都跟得上，"
            "那些轮的拐点在阶梯之上，表中的中位数偏低。"
        )
    return "\n".join(lines) + note


def hop_reading() -> str:
    """一跳的代价对照模型本身：空调用、推理调用与进程内计算的中位数。"""
    ping = _median("hop.go_py_ping_p50_s", HOP)
    go_ping = _median("hop.go_go_ping_p50_s", HOP)
    node_ping = _median("hop.node_py_ping_p50_s", HOP)
    numpy = _median("hop.numpy_compute_s", HOP)
    go = _median("hop.go_compute_s", HOP)
    share = _median("hop.model_share_pct", HOP)
    sizes = "→".join(str(n) for n in book.result(HOP).info["hop"]["sizes"])
    return (
        f"这个 {sizes} 的模型在进程内算一次：numpy {units.fmt(numpy, 's')}，"
        f"Go {units.fmt(go, 's')}。"
        f"而 Go 客户端对 Python 模型服务的一次空调用（什么也不算）就要 {units.fmt(ping, 's')}，"
        f"是 numpy 算一次模型的 {book.times(HOP, 'hop.ping_vs_numpy', 0)}；"
        f"Node.js 客户端的空调用 {units.fmt(node_ping, 's')}，"
        f"同一个 Go 客户端对 Go 模型服务的空调用 {units.fmt(go_ping, 's')}"
        + (
            "——同样走回环，换成 Go 服务端就省下一半以上，一跳的代价大半在服务端的 gRPC 框架里。"
            if _median("hop.go_vs_py_server_ping", HOP) < 0.5
            else "——换成 Go 服务端省得不多，一跳的代价主要在回环网络与客户端上。"
        )
        + f"一次推理调用里，模型计算只占约 {share:.1f}%。"
    )


def article_table() -> str:
    """文章的表：引文的 P99 与工作量（引文），旁边是同样负载下实测的 P99、对全 Go 的比值与判定。"""
    judged = {c.id: book.current().judge(c) for c in book.current().claims_for(experiment=EXP)}
    head = (
        "| 方案（引文） | 引文 P99 | 引文工作量 | 实测 P99（最慢者容量的 50%） "
        "| 实测 ÷ 全 Go（50%） | 判定 |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---|"]
    for name, d, p99, effort, claim_id in ARTICLE:
        measured = book.value(EXP, f"load.{d}_p99_s50_s")
        if claim_id is None:
            ratio, verdict = "1（基准）", "—"
        else:
            key = "gofront_vs_go" if d == "gofront" else "nodefront_vs_go"
            ratio = book.value(EXP, f"load.{key}_p99_s50")
            verdict = VERDICT_LABELS[judged[claim_id].verdict] + "（比值，见下方说法表）"
        lines.append(
            f"| {name} | {p99} | {effort}（引文，未测） | {measured} | {ratio} | {verdict} |"
        )
    py = book.value(EXP, "load.py_p99_s50_s")
    return (
        "\n".join(lines)
        + f"\n\n文章的表里没有的一行——全 Python（FastAPI 进程内调用 numpy）：同样负载下 p99 {py}。"
    )
