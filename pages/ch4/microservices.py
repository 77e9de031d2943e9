"""docs/ch4/microservices.md：微服务的代价（实验 ch4.microservices.*）。"""

from __future__ import annotations

import re
from html import escape

from perflab import book, render, units

INSTANCES = "ch4.microservices.instances"
HOPS = "ch4.microservices.hops"
TLS = "ch4.microservices.tls"
HEAP = "ch4.microservices.heap"
LIMITS = "ch4.microservices.limits"
RUNTIMES = {
    "fastapi": "FastAPI + uvicorn",
    "flask": "Flask + gunicorn",
    "go": "Go net/http",
    "spring": "Spring Boot",
}
# 引文的“每跳 15–30 ms”（秒）
QUOTED_HOP = (0.015, 0.030)
# 一次调用要几个网络往返：请求与响应 1 个；新建 TCP 连接多 1 个（SYN / SYN-ACK）；
# TLS 1.3 完整握手或恢复会话再多 1 个（ClientHello / ServerHello…Finished）
ROUND_TRIPS = {"reuse": 1, "new": 2, "tls_new": 3, "tls_resume": 3}


def _median(exp: str, key: str) -> float:
    return book.result(exp).metric(key).summary.median


def _has(exp: str, key: str) -> bool:
    return key in book.result(exp).metrics


def _rates() -> list[int]:
    return book.result(INSTANCES).info["go"]["rates"]


def _conns() -> list[int]:
    return book.result(HOPS).info["go"]["conns"]


def setup() -> str:
    """服务与压测端各用哪个 CPU（驱动程序在 info 里报告）。"""
    info = book.result(INSTANCES).info["go"]
    server, load = info["server_cpus"], info["load_cpus"]
    if not server:
        return "本机只有一个 CPU：服务、下游与压测端共用它，下面的数字偏高，相互比较仍可参考。"
    return (
        f"本次构建：被测的服务钉在 CPU {','.join(map(str, server))}；下游的 Go 叶子服务、"
        f"wrk、vegeta 与测量客户端钉在 CPU {','.join(map(str, load))}。固定速率每一级 "
        f"{info['open_duration_s']:g} 秒，热身 {info['warm_s']:g} 秒，静置 {info['idle_s']:g} 秒。"
    )


def versions() -> str:
    """各实现与工具的版本（驱动程序与引擎报告的）。"""
    seen: dict[str, str] = {}
    for run in RUNTIMES:
        seen.update(book.result(INSTANCES).info[run]["versions"])
    tools = book.result(INSTANCES).environment.get("tools", {})
    seen.update({k: v for k, v in tools.items() if k in ("java", "maven")})
    seen["nginx"] = book.result(TLS).info["sidecar"]["versions"]["nginx"]
    return "版本：" + "，".join(f"{k} {v}" for k, v in seen.items()) + "。"


def instance_table() -> str:
    """每个实例：启动时间、空闲与有负载后的 RSS / USS、空闲时的 CPU、16 个连接的吞吐。"""
    cols = {
        "startup_s": "启动到第一个正确回答",
        "idle_rss_B": "RSS（空闲）",
        "loaded_rss_B": "RSS（有负载后）",
        "loaded_uss_B": "USS（有负载后）",
        "idle_cpu_pct": "空闲时的 CPU",
        "rps_c16": "每秒成功请求（16 个连接）",
    }
    return book.grid(INSTANCES, "{row}.{col}", RUNTIMES, cols)


def jvm_heap() -> str:
    """Spring Boot 的堆：JVM 自己报告的上限（默认值）、已向系统申请的、正在用的，对照 RSS。"""
    row = {"spring": "Spring Boot"}
    cols = {
        "heap_max_B": "堆上限（默认）",
        "idle_heap_committed_B": "已申请（空闲）",
        "idle_heap_used_B": "在用（空闲）",
        "loaded_heap_committed_B": "已申请（有负载后）",
        "loaded_heap_used_B": "在用（有负载后）",
        "loaded_rss_B": "整个进程的 RSS（有负载后）",
    }
    table = book.grid(INSTANCES, "{row}.{col}", row, cols)
    ram = _median(HEAP, "jvm.seen_none_B")
    heap_max = _median(INSTANCES, "spring.heap_max_B")
    # 内存与堆上限来自两个实验，不能按轮配对：只能拿两个中位数相除，句子里写明
    return table + (
        f"\n\n这台机器有 {units.fmt(ram, 'B')} 内存，JVM 按它的四分之一给了 "
        f"{units.fmt(heap_max, 'B')} 的堆上限（占 {heap_max / ram:.0%}：内存与堆上限出自两个实验，"
        "这是两个中位数之比，没有区间）——但“上限”不是“占用”："
        "堆只在需要时向系统申请，真正常驻的是上表的 RSS。"
    )


def cpu_table() -> str:
    """固定到达速率下每个实例的 CPU 占用，以及每个请求花的 CPU 时间。"""
    rates = {str(r): f"{r:,} 次/秒" for r in _rates()}
    cpu = book.grid(INSTANCES, "{row}.cpu_r{col}", RUNTIMES, rates)
    per_req = book.grid(INSTANCES, "{row}.cpu_per_req_r{col}_s", RUNTIMES, rates)
    return (
        "CPU 占用（占一个 CPU 的百分比）：\n\n"
        + cpu
        + "\n\n每个请求的 CPU 时间（含它调用下游的那一半：发请求、读回答、解析 JSON）：\n\n"
        + per_req
    )


def cpu_reading() -> str:
    """CPU 占用按每请求的 CPU 时间外推：到多大的速率，一个实例会用到引文的 18% 与 30%。"""
    top = _rates()[-1]
    parts = []
    for run, label in RUNTIMES.items():
        per_req = _median(INSTANCES, f"{run}.cpu_per_req_r{top}_s")
        low, high = 0.18 / per_req, 0.30 / per_req
        parts.append(f"{label} 约 {low:,.0f}–{high:,.0f} 次/秒")
    return (
        f"按 {top:,} 次/秒时每个请求的 CPU 时间外推，一个实例的 CPU 落在引文的 18–30% 时，"
        "每秒要处理的请求数是：" + "；".join(parts) + "。CPU 占用本身说明不了什么，"
        "要和请求速率放在一起看。"
    )


def latency_table() -> str:
    """固定到达速率下每个实例的平均延迟与 p99（含一次下游调用）。"""
    rates = {str(r): f"{r:,} 次/秒" for r in _rates()}
    mean = book.grid(INSTANCES, "{row}.mean_r{col}_s", RUNTIMES, rates)
    p99 = book.grid(INSTANCES, "{row}.p99_r{col}_s", RUNTIMES, rates)
    return "平均延迟：\n\n" + mean + "\n\np99：\n\n" + p99


def hop_table() -> str:
    """一次只发一个请求：每种实现、每种调用方式下，0 到 3 跳的延迟中位数与每跳的斜率。"""
    hops = book.result(HOPS).info["go"]["hops"]
    lines = [
        "| 实现与调用方式 | " + " | ".join(f"{k} 跳" for k in range(hops + 1)) + " | 每跳多出 |",
        "|---|" + "---:|" * (hops + 2),
    ]
    modes = {"reuse": "复用连接（keep-alive）", "new": "每次新建连接"}
    for run in ("fastapi", "go"):
        for mode, how in modes.items():
            cells = [
                render.value(book.result(HOPS).metric(f"{run}.p50_h{k}_{mode}_s"))
                for k in range(hops + 1)
            ]
            slope = render.value(book.result(HOPS).metric(f"{run}.hop_{mode}_s"))
            lines.append(f"| {RUNTIMES[run]}，{how} | " + " | ".join(cells) + f" | {slope} |")
    return "\n".join(lines)


def load_table() -> str:
    """有负载时（keep-alive）每跳多出的平均延迟，按同时在路上的请求数。"""
    cols = {str(c): f"{c} 个请求在路上" for c in _conns()}
    rows = {"fastapi": RUNTIMES["fastapi"], "go": RUNTIMES["go"]}
    return book.grid(HOPS, "{row}.hop_load_c{col}_s", rows, cols)


def rtt_condition() -> str:
    """反推：网络往返时延（RTT）要多大，每跳才会多出引文的 15–30 ms（按每次调用的往返次数）。"""
    cases = [
        ("Go，复用连接（keep-alive）", HOPS, "go.hop_reuse_s", "reuse"),
        ("Go，每次新建 TCP 连接", HOPS, "go.hop_new_s", "new"),
        ("Go，双向 TLS，每次完整握手", TLS, "direct.mtls_new_hop_s", "tls_new"),
        ("FastAPI，复用连接（keep-alive）", HOPS, "fastapi.hop_reuse_s", "reuse"),
    ]
    lines = [
        "| 调用方式 | 回环上实测的每跳代价 | 每次调用的网络往返 "
        "| 每跳到 15 ms 需要的 RTT | 到 30 ms 需要的 RTT |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, exp, key, kind in cases:
        local = _median(exp, key)
        trips = ROUND_TRIPS[kind]
        need = [max(0.0, (q - local) / trips) for q in QUOTED_HOP]
        lines.append(
            f"| {label} | {units.fmt(local, 's')} | {trips} | "
            f"{units.fmt(need[0], 's')} | {units.fmt(need[1], 's')} |"
        )
    return "\n".join(lines)


def tls_table() -> str:
    """Go 服务自己做 TLS：每种安全方式与调用方式下，0 跳的延迟与每跳多出的延迟。"""
    rows = [
        ("plain", "reuse", "明文，复用连接"),
        ("plain", "new", "明文，每次新连接"),
        ("tls", "reuse", "TLS，复用连接"),
        ("tls", "new", "TLS，每次完整握手"),
        ("mtls", "reuse", "双向 TLS，复用连接"),
        ("mtls", "resume", "双向 TLS，新连接 + 恢复会话"),
        ("mtls", "new", "双向 TLS，每次完整握手"),
    ]
    r = book.result(TLS)
    lines = ["| 安全方式与调用方式 | 0 跳 | 每跳多出 |", "|---|---:|---:|"]
    for sec, mode, label in rows:
        zero = render.value(r.metric(f"direct.{sec}_{mode}_h0_s"))
        hop = render.value(r.metric(f"direct.{sec}_{mode}_hop_s"))
        lines.append(f"| {label} | {zero} | {hop} |")
    for setup, label in (("keep", "边车，复用连接与会话"), ("new", "边车，每次完整握手")):
        zero = render.value(r.metric(f"sidecar.sidecar_{setup}_h0_s"))
        hop = render.value(r.metric(f"sidecar.sidecar_{setup}_hop_s"))
        lines.append(f"| {label} | {zero} | {hop} |")
    return "\n".join(lines)


def refusals() -> str:
    """双向 TLS 拒绝了谁、怎么拒绝的（Go 服务与 nginx 边车各自的原话）。"""
    info = book.result(TLS).info
    who = {"no_certificate": "不出示证书的客户端", "other_ca": "出示别的 CA 签发的证书的客户端"}
    lines = ["| 客户端 | Go 服务（双向 TLS） | nginx 边车 |", "|---|---|---|"]
    for key, label in who.items():
        go = info["direct"]["refused"][key].split(": ", 1)[-1]
        # nginx 在握手之后用一个 400 页面拒绝：取页面标题
        raw = info["sidecar"]["refused"][key]
        title = re.search(r"<title>([^<]*)</title>", raw)
        nginx = title.group(1) if title else raw.split(": ", 1)[-1]
        lines.append(f"| {label} | <code>{escape(go)}</code> | <code>{escape(nginx)}</code> |")
    return "\n".join(lines)


def certificates() -> str:
    """本次运行生成了哪些证书文件，用完是否已删掉。"""
    info = book.result(TLS).info["direct"]
    files = info["certificates"]["files"]
    removed = all(
        book.result(TLS).info[run]["certificates_removed"] for run in ("direct", "sidecar")
    )
    return (
        f"本次构建在临时目录里生成了 {len(files)} 个文件（{info['key_type']}）："
        + "、".join(f"`{f}`" for f in files)
        + "。"
        + ("实验结束时目录已删掉，仓库里没有任何证书。" if removed else "实验结束时目录没能删掉！")
    )


def sidecar_memory() -> str:
    """一个 nginx 边车占多少内存，对照它护着的 Go 服务（比值由引擎按轮配对算出）。"""
    sidecar = _median(TLS, "sidecar.sidecar_rss_B")
    app = _median(TLS, "sidecar.app_rss_B")
    return (
        f"一个边车（nginx 的 master 加一个 worker）常驻 {units.fmt(sidecar, 'B')}，"
        f"它护着的 Go 服务常驻 {units.fmt(app, 'B')}：每个实例旁边多出的内存是服务本身的 "
        f"{book.times(TLS, 'sidecar.sidecar_vs_app_rss')}。"
    )


def limits_table() -> str:
    """各实现在内存上限与 CPU 配额里：看到的 CPU 数、堆或内存上限、延迟、CPU、节流、内存峰值。"""
    r = book.result(LIMITS)
    info = r.info["instances"]
    if not info.get("cgroup", False):
        return f"本机建不了 cgroup，这一节没有数字：{info.get('why_no_cgroup', '原因不明')}。"
    limit, quota = info["limit_B"], info["cpu_quota"]
    lines = [
        f"每个实例在一个内存上限 {units.fmt(limit, 'B')}、CPU 配额 {quota:g} 个的 cgroup "
        f"（v{info['cgroup_version']}）里启动，以每秒 {info['rate']} 个请求的固定速率压：",
        "",
        "| 实现 | 看到的 CPU 数 | 堆 / 内存上限 | 启动到第一个正确回答 | p50 | p99 | CPU "
        "| 被节流的周期 | 内存峰值 ÷ 上限 |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run, label in RUNTIMES.items():
        seen = info["seen"][run]
        if "heap_max_B" in seen:
            ceiling = f"JVM 堆上限 {units.fmt(seen['heap_max_B'], 'B')}"
        elif "memlimit_B" in seen:
            ceiling = (
                "GOMEMLIMIT 未设（不看 cgroup）"
                if seen["memlimit_B"] >= 2**62
                else units.fmt(seen["memlimit_B"], "B")
            )
        else:
            ceiling = "无（Python 不看 cgroup）"
        cells = [
            f"{seen['cpus']}",
            ceiling,
            *(
                render.value(r.metric(f"instances.{run}_{k}"))
                for k in ("startup_s", "p50_s", "p99_s", "cpu_pct", "throttled", "peak_share")
            ),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gomemlimit() -> str:
    """Go 在内存上限里：不设 GOMEMLIMIT 被杀，设了活下来（以及代价：GC 次数）。"""
    info = book.result(LIMITS).info["gomem"]
    if not info.get("cgroup", False):
        return f"本机建不了 cgroup，这一节没有数字：{info.get('why_no_cgroup', '原因不明')}。"
    limit, live = info["limit_B"], info["live_mib"]
    out = []
    for label, how in (("default", "不设 GOMEMLIMIT"), ("memlimit", "设 GOMEMLIMIT = 上限的 85%")):
        survived = _median(LIMITS, f"gomem.{label}_survived")
        peak = _median(LIMITS, f"gomem.{label}_peak_B")
        fate = "跑完" if survived == 1 else "被内核因超出内存上限杀掉"
        text = f"{how}：{fate}，cgroup 内存峰值 {units.fmt(peak, 'B')}"
        if _has(LIMITS, f"gomem.{label}_num_gc"):
            text += f"，期间 GC {units.fmt(_median(LIMITS, f'gomem.{label}_num_gc'), '')} 次"
        out.append(text)
    return (
        f"存活数据 {live} MiB、内存上限 {units.fmt(limit, 'B')}（不到存活数据的两倍）：\n\n"
        + "\n".join(f"- {t}。" for t in out)
    )


def latency_reading() -> str:
    """哪些（实现, 速率）的平均延迟够到了引文的 45 ms：够到的就是在排队。"""
    rates = _rates()
    reached = [
        f"{label} 在 {rate:,} 次/秒时（{units.fmt(mean, 's')}）"
        for run, label in RUNTIMES.items()
        for rate in rates
        if (mean := _median(INSTANCES, f"{run}.mean_r{rate}_s")) >= 0.045
    ]
    if not reached:
        return (
            "上表没有一格的平均延迟够到引文的 45 ms：回环网络上、速率低于一个实例的处理能力时，"
            "一次请求加一次下游调用用不了这么久。"
        )
    return (
        "平均延迟够到引文 45 ms 的只有："
        + "；".join(reached)
        + "。这几格里请求在排队：要么速率逼近了这台机器上这个实例的处理能力，"
        "要么实例还没热（JVM 的 JIT 还在编译热点，先到的请求等它）；其余各格都远在 45 ms 之下。"
    )


def tls_reading() -> str:
    """TLS 贵在哪里：复用连接时 TLS 比明文多多少，完整握手与恢复会话各多多少（每跳）。"""

    def hop(key: str) -> float:
        return _median(TLS, f"direct.{key}_hop_s")

    plain = hop("plain_reuse")
    parts = [
        f"复用连接时，双向 TLS 每跳比明文多 {units.fmt(hop('mtls_reuse') - plain, 's')}",
        f"每次完整握手时多 {units.fmt(hop('mtls_new') - plain, 's')}",
        f"恢复会话时多 {units.fmt(hop('mtls_resume') - plain, 's')}",
    ]
    return "按上表（每跳的斜率之差）：" + "，".join(parts) + "。"


def limits_reading() -> str:
    """配额里各运行时以为自己有几个 CPU，对照机器的 CPU 数与配额。"""
    r = book.result(LIMITS)
    info = r.info["instances"]
    if not info.get("cgroup", False):
        return "本机建不了 cgroup，无从比较。"
    machine = r.environment["cpus_used"]
    seen = info["seen"]
    py = seen["fastapi"]["cpus"]
    return (
        f"配额是 {info['cpu_quota']:g} 个 CPU，这台机器有 {machine} 个。"
        f"JVM 以为自己有 {seen['spring']['cpus']} 个（它读配额），"
        f"Go 的 GOMAXPROCS 是 {seen['go']['cpus']}（Go 1.25 起按配额调低，但不低于 2），"
        f"Python 的 os.cpu_count() 是 {py}（只看机器）：按“CPU 数 × 2 + 1”的惯例，"
        f"gunicorn 会在这个配额里开 {2 * py + 1} 个 worker。"
    )
