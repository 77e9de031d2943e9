"""docs/ch2/scaling.md：gunicorn 的 worker、预加载与回收，nginx 负载均衡，Redis 共享状态，集中日志，
Go 对照（实验 ch2.scaling.workers、.memory、.recycle、.lb、.state、.price、.logs、.go）。"""

from __future__ import annotations

from perflab import book, units

WORKERS, MEMORY, RECYCLE, LB = (
    "ch2.scaling.workers",
    "ch2.scaling.memory",
    "ch2.scaling.recycle",
    "ch2.scaling.lb",
)
STATE, PRICE, LOGS, GO = (
    "ch2.scaling.state",
    "ch2.scaling.price",
    "ch2.scaling.logs",
    "ch2.scaling.go",
)
KINDS = {"sync": "sync", "gthread": "gthread", "uvicorn": "uvicorn"}
COUNTS = {"1": "1 个 worker", "2": "2 个", "4": "4 个"}
MODES = {
    "none": "不回收",
    "max": "max_requests",
    "jitter": "max_requests + jitter",
    "preload": "max_requests + jitter + 预加载",
}
TARGETS = {
    "direct": "直连实例 A",
    "nginx": "经 nginx（复用上游连接）",
    "nginx_new": "经 nginx（每个请求新连上游）",
}
STORES = {"local": "进程内", "tcp": "Redis（TCP）", "unix": "Redis（Unix 套接字）"}


def _median(exp: str, key: str) -> float:
    return book.result(exp).metric(key).summary.median


def _info(exp: str, run: str) -> dict:
    return book.result(exp).info[run]


def setup() -> str:
    """本次构建的条件：各组件版本、CPU 的分配、每个请求的等待与计算、wrk 的连接数。"""
    info = _info(WORKERS, "gunicorn")
    v = info["versions"]
    state = _info(STATE, "state")
    lb = _info(LB, "lb")
    passes = info.get("passes", 1)
    best = f"，每个配置压 {passes} 遍、取吞吐最好的一遍" if passes > 1 else ""
    return (
        f"本次构建：gunicorn {v['gunicorn']}、Flask {v['flask']}、FastAPI {v['fastapi']}、"
        f"uvicorn {v['uvicorn']}、Redis {state['redis']}（Debian 的 redis-server）、"
        f"nginx {lb['nginx']}（Debian 的 nginx）、redis-py {v['redis']}、psutil {v['psutil']}。"
        f"被测服务钉在 {info['server_cpus']} 个 CPU 上，"
        f"wrk 在另一个 CPU 上用 {info['conns']} 个连接压"
        f" {info['duration_s']:g} 秒{best}；"
        f"`/api/work` 每个请求先等 {info['wait_ms']:g} ms"
        f"（代表一次数据库查询），再从 {info['catalog']:,} 件商品的表里取 20 件算总价；"
        f"gthread 每个 worker {info['threads']} 个线程。"
    )


def throughput() -> str:
    """每种 worker 类型 × worker 数：每秒成功请求与 p99（中位数与区间），以及两张折线图。"""
    rps = book.grid(WORKERS, "gunicorn.rps_{row}_w{col}", KINDS, COUNTS)
    p99 = book.grid(WORKERS, "gunicorn.p99_{row}_w{col}_s", KINDS, COUNTS)
    return "每秒成功请求：\n\n" + rps + "\n\np99 延迟：\n\n" + p99 + "\n\n" + book.charts(WORKERS)


def scaling_reading() -> str:
    """按实测说话：每种 worker 类型从 1 个到 4 个 worker 吞吐涨了几倍，谁先碰到 CPU 的上限。"""
    lines = []
    for kind in KINDS:
        s2 = _median(WORKERS, f"gunicorn.speedup_{kind}_w2")
        s4 = _median(WORKERS, f"gunicorn.speedup_{kind}_w4")
        lines.append(f"- **{kind}**：2 个 worker 是 1 个的 {s2:.2f} 倍，4 个是 {s4:.2f} 倍。")
    best1 = max(KINDS, key=lambda k: _median(WORKERS, f"gunicorn.rps_{k}_w1"))
    why = (
        "它在等待期间就能接着处理别的请求，不靠多开进程。"
        if best1 != "sync"
        else "这与等待期间能否处理别的请求无关，多半是别的开销占了上风。"
    )
    return "\n".join(lines) + f"\n\n只有 1 个 worker 时吞吐最高的是 **{best1}**：" + why


def memory() -> str:
    """4 个 worker：预加载与否、刚启动与压测之后，每个 worker 的 USS；压测之后的 RSS 与总 PSS。"""
    # 列的键是 (前缀, 后缀)：指标名是 gunicorn.<量>_<类型>_w4[_preload]
    uss = book.grid(
        MEMORY,
        "gunicorn.uss_{col[0]}{row}_w4{col[1]}",
        KINDS,
        {
            ("idle_", ""): "刚启动",
            ("", ""): "压测之后",
            ("idle_", "_preload"): "刚启动（预加载）",
            ("", "_preload"): "压测之后（预加载）",
        },
    )
    totals = book.grid(
        MEMORY,
        "gunicorn.{col[0]}_{row}_w4{col[1]}",
        KINDS,
        {
            ("rss", ""): "RSS",
            ("rss", "_preload"): "RSS（预加载）",
            ("pss_total", ""): "PSS 之和",
            ("pss_total", "_preload"): "PSS 之和（预加载）",
        },
    )
    return (
        "每个 worker 独占的内存 USS（各 worker 的平均）：\n\n"
        + uss
        + "\n\n压测之后每个 worker 的 RSS，与主进程加 4 个 worker 的 PSS 之和：\n\n"
        + totals
        + "\n\n"
        + book.charts(MEMORY)
    )


def memory_reading() -> str:
    """预加载省下多少；压测之后预加载的 worker 独占内存涨了多少（引用计数把共享页写成私有页）。"""
    parts = []
    for kind in KINDS:
        plain = _median(MEMORY, f"gunicorn.uss_{kind}_w4")
        pre_idle = _median(MEMORY, f"gunicorn.uss_idle_{kind}_w4_preload")
        pre = _median(MEMORY, f"gunicorn.uss_{kind}_w4_preload")
        total = _median(MEMORY, f"gunicorn.pss_total_{kind}_w4")
        total_pre = _median(MEMORY, f"gunicorn.pss_total_{kind}_w4_preload")
        parts.append(
            f"- **{kind}**：每个 worker 独占 {units.fmt(plain, 'B')} → 预加载后 "
            f"{units.fmt(pre, 'B')}（刚启动时 {units.fmt(pre_idle, 'B')}，压测之后多出 "
            f"{units.fmt(max(pre - pre_idle, 0), 'B')}）；四个 worker 加主进程共占 "
            f"{units.fmt(total, 'B')} → {units.fmt(total_pre, 'B')}。"
        )
    return "\n".join(parts)


def recycle() -> str:
    """四种设置的 p99、最慢的请求、最长空窗与新起的 worker 数；回收的两段时间；时间序列。"""
    info = _info(RECYCLE, "recycle")
    latency = book.grid(
        RECYCLE,
        "recycle.{col[0]}_{row}{col[1]}",
        MODES,
        {
            ("p99", "_s"): "p99",
            ("max", "_s"): "最慢的请求",
            ("gap", "_s"): "最长的无响应空窗",
            ("restarts", ""): "新起的 worker",
        },
    )
    recycled = {mode: label for mode, label in MODES.items() if mode != "none"}
    halves = book.grid(
        RECYCLE,
        "recycle.{col}_{row}_s",
        recycled,
        {"exit": "旧 worker 退出", "boot": "新 worker 启动"},
    )
    m = info["max_requests"]
    return (
        latency
        + "\n\n"
        + halves
        + f"\n\nsync worker {info['workers']} 个，`max_requests={m}`，jitter 取 `{m // 2}`；"
        f"{info['clients']} 个客户端线程不停地请求 `/api/work`，"
        f"每种设置 {info['duration_s']:g} 秒。“旧 worker 退出”是它最后一个响应到被主进程回收，"
        "“新 worker 启动”是它出现到第一个响应（另一个线程每 5 ms 看一次主进程的子进程），"
        "都是这一轮里各次回收的平均。"
        f"时间序列按完成时刻每 {info['bin_s'] * 1e3:g} ms 一格，竖线是新 worker 第一次答话的时刻"
        "（下面的图是最后一轮）。\n\n" + book.charts(RECYCLE)
    )


def recycle_reading() -> str:
    """四种设置的最长空窗，以及三种回收设置里空窗最短、最长的各是哪一种（按本次构建的中位数）。"""
    gap = {mode: _median(RECYCLE, f"recycle.gap_{mode}_s") for mode in MODES}
    listed = "，".join(f"{label} {units.fmt(gap[mode], 's')}" for mode, label in MODES.items())
    recycled = sorted(("max", "jitter", "preload"), key=gap.get)
    boot = {mode: _median(RECYCLE, f"recycle.boot_{mode}_s") for mode in ("jitter", "preload")}
    # 最长空窗 ÷ 不回收时的空窗：引擎按轮配对算出（registry/ch2/scaling.toml）
    worst = book.times(RECYCLE, f"recycle.gap_{recycled[-1]}_vs_none", 0)
    return (
        f"本次构建里最长的无响应空窗：{listed}。三种回收设置里，"
        f"**{MODES[recycled[0]]}** 的空窗最短，**{MODES[recycled[-1]]}** 的最长；"
        f"最长的是不回收时的 {worst}。"
        f"预加载把新 worker 的启动从 {units.fmt(boot['jitter'], 's')} 变成 "
        f"{units.fmt(boot['preload'], 's')}，旧 worker 的退出它管不着。"
    )


def lb() -> str:
    """直连、经 nginx 复用上游连接、经 nginx 不复用：1 个连接的 p50，16 个连接的吞吐与 p99。"""
    info = _info(LB, "lb")
    n = info["conns"]
    table = book.grid(
        LB,
        "lb.{col[0]}_{row}{col[1]}",
        TARGETS,
        {
            ("lat", "_s"): "p50（1 个连接）",
            ("rps", ""): f"每秒成功请求（{n} 个连接）",
            ("p99", "_s"): f"p99（{n} 个连接）",
        },
    )
    return (
        table + f"\n\n多一跳：复用上游连接时 p50 多 {book.value(LB, 'lb.hop_s')}，"
        f"每个请求新连上游时多 {book.value(LB, 'lb.hop_new_s')}。"
        f"经 nginx 的 {info['spread']} 个请求里，实例 A 处理了 {book.value(LB, 'lb.share_a')}"
        "（其余给了实例 B：nginx 默认轮流转发）。\n\n" + book.charts(LB)
    )


def state() -> str:
    """1、2、4 个 worker：进程内与 Redis 的陈旧读比例、丢失会话比例，以及两张折线图。"""
    info = _info(STATE, "state")
    table = book.grid(
        STATE,
        "state.{col}_w{row}",
        {"1": "1 个 worker", "2": "2 个", "4": "4 个"},
        {
            "stale_local": "陈旧读：进程内缓存",
            "stale_redis": "陈旧读：Redis",
            "lost_local": "丢失会话：进程内",
            "lost_redis": "丢失会话：Redis",
        },
    )
    seen = ", ".join(
        f"{w} 个 worker 时 {len(info['runs'][f'local_w{w}']['cache']['pids'])} 个"
        for w in (1, 2, 4)
    )
    return (
        table + f"\n\n每个配置：{info['rounds']} 轮写入，"
        f"每轮确认之后由 {info['clients']} 个客户端线程并发读 {info['reads']} 次"
        f"（共 {info['rounds'] * info['reads']} 次读）；登录一次之后带着 cookie 请求 "
        f"{info['requests']} 次。每个请求都是一个新连接，由内核交给某一个空闲的 worker。"
        f"最后一轮里，进程内缓存那一组的读由几个不同的 worker 答：{seen}。\n\n" + book.charts(STATE)
    )


def price() -> str:
    """进程内、Redis（TCP）、Redis（Unix 套接字）：读缓存与查会话的 p50、吞吐、每个请求多花多少。"""
    info = _info(PRICE, "price")
    table = book.grid(
        PRICE,
        "price.{col[0]}_{row}{col[1]}",
        STORES,
        {
            ("lat_item", "_s"): "读缓存 p50（1 个连接）",
            ("rps_item", ""): f"读缓存每秒成功请求（{info['conns']} 个连接）",
            ("lat_me", "_s"): "查会话 p50（1 个连接）",
        },
    )
    extra = (
        f"与进程内相比，读缓存每个请求多 {book.value(PRICE, 'price.extra_item_tcp_s')}（TCP）/ "
        f"{book.value(PRICE, 'price.extra_item_unix_s')}（Unix 套接字）；"
        f"吞吐之比（进程内 ÷ Redis）为 {book.value(PRICE, 'price.rps_local_vs_tcp')}（TCP）/ "
        f"{book.value(PRICE, 'price.rps_local_vs_unix')}（Unix 套接字）。"
    )
    return table + "\n\n" + extra + "\n\n" + book.charts(PRICE)


def trace() -> str:
    """一次 /checkout 在收集端留下的全部日志行（按请求 ID 拼起来，按时间排序）。"""
    info = _info(LOGS, "logs")
    rows = info["trace"]
    head = "| 相对第一行 | 来源 | 路径 | 状态码 | 自报耗时 |"
    lines = [head, "|---:|---|---|---:|---:|"]
    for x in rows:
        lines.append(
            f"| {x['after_ms']:.2f} ms | {x['source']} | `{x['path']}` | {x['status']} "
            f"| {x['duration_ms']:.2f} ms |"
        )
    sources = info["sources"]
    return (
        "\n".join(lines) + f"\n\n{info['traces']} 个 `/checkout` 里，"
        "能拼出完整足迹（nginx 两行、两个不同 worker 各一行）的"
        f"占 {book.value(LOGS, 'logs.complete_share')}；收集端共收到 {info['lines']} 行"
        f"（应用 {sources.get('app', 0)} 行、nginx {sources.get('nginx', 0)} 行，"
        f"解析失败 {info['unparsed']} 行），"
        f"来自 {book.value(LOGS, 'logs.workers_logging')} 个 worker。"
    )


def log_cost() -> str:
    """写 JSON 日志与不写：每秒成功请求与每个请求多花的时间（差别在噪声之内时照实说）。"""
    info = _info(LOGS, "logs")
    cost = book.result(LOGS).metric("logs.log_cost_s").summary
    if cost.low > 0:
        reading = "接口本身几乎什么都不做，所以这是日志开销份额的上界。"
    else:
        reading = "这次构建没有量出写日志的开销（区间下沿不大于 0）：它小于机器上的噪声。"
    return (
        f"同一个接口 `/api/ping`，一台服务器每个请求写一行 JSON 日志到收集端，一台不写，"
        f"各 1 个 sync worker、钉在同一个 CPU 上，wrk {info['conns']} 个连接交替压 "
        f"{info['rounds']} 轮、每轮 {info['duration_s']:g} 秒：写日志 "
        f"{book.value(LOGS, 'logs.rps_log_on')} 次/秒，"
        f"不写 {book.value(LOGS, 'logs.rps_log_off')} 次/秒，"
        f"每个请求多花 {book.value(LOGS, 'logs.log_cost_s')}。"
        + reading
        + "\n\n"
        + book.charts(LOGS)
    )


def go() -> str:
    """Go 一个进程与 Python 一个 worker 的陈旧读、吞吐、p99、RSS；Go 两个实例时的陈旧读。"""
    info = _info(GO, "go")
    table = book.grid(
        GO,
        "go.{col[0]}_{row}_single{col[1]}",
        {
            "go": f"Go，一个进程（GOMAXPROCS={info['gomaxprocs']}）",
            "python": "Python gthread，一个 worker",
        },
        {
            ("stale", ""): "陈旧读",
            ("rps", ""): "读缓存每秒成功请求",
            ("p99", "_s"): "读缓存 p99",
            ("rss", ""): "常驻内存 RSS",
        },
    )
    return (
        table + f"\n\n同一个 Go 程序起两个实例、nginx 在前面轮流转发时，陈旧读占 "
        f"{book.value(GO, 'go.stale_go_two')}。"
        f"读缓存的吞吐之比（Go ÷ Python）：{book.value(GO, 'go.go_vs_python_rps')}；"
        f"wrk {info['conns']} 个连接。陈旧读用与上一节相同的写读序列（{info['rounds']} 轮，"
        f"每轮并发读 {info['reads']} 次）。\n\n" + book.charts(GO)
    )
