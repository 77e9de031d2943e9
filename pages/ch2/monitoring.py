"""docs/ch2/monitoring.md：Prometheus 估算的分位数、多 worker 的计数、埋点开销与告警
（实验 ch2.monitoring、ch2.monitoring.overhead、ch2.monitoring.workers、ch2.monitoring.alert）。"""

from __future__ import annotations

from perflab import book, units

EST, OVER, WORKERS, ALERT = (
    "ch2.monitoring",
    "ch2.monitoring.overhead",
    "ch2.monitoring.workers",
    "ch2.monitoring.alert",
)
QS = ("p50", "p95", "p99")
LAYOUTS = {"default": "默认桶", "fine": "细桶（每档 ×1.25）"}
# 文章的规则（照原文）：告警名 → (条件, 原文的 for)
QUOTED = {"HighLatencyP99": ("p99 > 800 ms", "1 分钟"), "HighErrorRate": ("错误率 > 1%", "5 分钟")}
# 引文告警规则里的 p99 阈值（秒），与 examples/ch2/monitoring/alerts.yml 的表达式一致
QUOTED_P99_THRESHOLD_S = 0.8


def _median(exp: str, key: str) -> float:
    return book.result(exp).metric(key).summary.median


def setup() -> str:
    """本次构建的条件：各组件版本、抓取与求值间隔、压测速率与时长、rate 的窗口。"""
    info = book.result(EST).info["estimate"]
    v = info["versions"]
    return (
        f"本次构建：Prometheus {v['prometheus']}、Alertmanager {v['alertmanager']}、"
        f"prometheus_client {v['prometheus-client']}、"
        f"Flask {v['flask']}、gunicorn {v['gunicorn']}；"
        f"抓取间隔与规则求值间隔都是 {info['interval_s']:g} 秒。"
        f"vegeta 以每秒 {info['rate']:g} 个请求的固定速率压 {info['duration_s']:g} 秒"
        f"（共 {info['requests']:,} 个请求），"
        f"Prometheus 的查询窗口是 `[{info['window_s']}s]`，盖住整段压测。"
    )


def estimates() -> str:
    """每个分位：压测端的真值，两种桶布局的估算与估算 ÷ 真值（中位数与区间）。"""
    head = "| 分位 | 压测端实测（真值） | 默认桶估算 | 默认桶 ÷ 真值 | 细桶估算 | 细桶 ÷ 真值 |"
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    for q in QS:
        cells = [book.value(EST, f"estimate.client_{q}_s")]
        for layout in LAYOUTS:
            cells.append(book.value(EST, f"estimate.{layout}_{q}_s"))
            cells.append(book.value(EST, f"estimate.{layout}_{q}_ratio"))
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + book.charts(EST)


def _bucket_around(value: float, bounds: list[float]) -> tuple[float, float]:
    low = 0.0
    for b in bounds:
        if value <= b:
            return low, b
        low = b
    return low, float("inf")


def buckets() -> str:
    """每个分位的真值落在默认桶和细桶的哪一档里，那一档有多宽。"""
    info = book.result(EST).info["estimate"]
    lines = ["| 分位 | 真值 | 默认桶里的那一档 | 细桶里的那一档 |", "|---|---:|---:|---:|"]
    for q in QS:
        truth = _median(EST, f"estimate.client_{q}_s")
        cells = []
        for layout in LAYOUTS:
            low, high = _bucket_around(truth, info["buckets"][layout])
            cells.append(f"{units.fmt(low, 's')} – {units.fmt(high, 's')}")
        lines.append(f"| {q} | {units.fmt(truth, 's')} | " + " | ".join(cells) + " |")
    n = {k: len(v) for k, v in info["buckets"].items()}
    return (
        "\n".join(lines)
        + f"\n\n默认桶共 {n['default']} 档，细桶共 {n['fine']} 档（都不算 `+Inf`）。"
    )


def threshold_bucket() -> str:
    """引文的 p99 告警阈值落在默认桶的哪两个边界之间（边界取自本次构建记录的桶布局）。"""
    bounds = book.result(EST).info["estimate"]["buckets"]["default"]
    low, high = _bucket_around(QUOTED_P99_THRESHOLD_S, bounds)
    t = units.fmt(QUOTED_P99_THRESHOLD_S, "s")
    where = (
        "恰好是一个桶边界"
        if QUOTED_P99_THRESHOLD_S in bounds
        else f"落在默认桶的 {units.fmt(low, 's')} 与 {units.fmt(high, 's')} 两个边界之间，"
        f"“p99 是否超过 {t}”在这一档里完全由插值决定"
    )
    return (
        f"这对告警意味着什么：引文的告警阈值 {t} {where}。"
        "想让阈值判断可信，就在阈值处放一个桶边界，并让分位数常落的那一段桶足够密。"
    )


def reading() -> str:
    """按实测说话：p99 上哪种桶离真值更近，偏差各多大。"""
    off = {k: _median(EST, f"estimate.{k}_p99_ratio") - 1 for k in LAYOUTS}
    better = min(off, key=lambda k: abs(off[k]))
    worse = "fine" if better == "default" else "default"
    # 偏差之比由引擎按轮算出：(较差的估算 - 真值) ÷ (较好的估算 - 真值)；两者同号时为正
    key = f"estimate.p99_off_{worse}_vs_{better}"
    ratio = book.result(EST).metric(key).summary
    times = (
        book.times(EST, key)
        if ratio.low > 0
        else f"{abs(ratio.median):.1f} 倍（一个高估、一个低估：取按轮比值中位数的绝对值）"
    )
    return (
        f"本次构建的 p99：默认桶的估算偏离真值 {off['default']:+.1%}，细桶偏离 {off['fine']:+.1%}；"
        f"{LAYOUTS[better]}更近，{LAYOUTS[worse]}的偏差是它的 {times}。"
    )


def overhead() -> str:
    """埋点与不埋点的吞吐、每个请求多花的时间、以及吞吐之比。"""
    info = book.result(OVER).info["overhead"]
    lines = ["| | 中位数与 95% 区间 |", "|---|---:|"]
    for key, label in (
        ("rps_off", "每秒请求：不埋点"),
        ("rps_on", "每秒请求：埋点"),
        ("cost_per_request_s", "每个请求多花的时间"),
        ("slowdown", "吞吐：不埋点 ÷ 埋点"),
    ):
        lines.append(f"| {label} | {book.value(OVER, f'overhead.{key}')} |")
    return (
        "\n".join(lines)
        + f"\n\n两台服务器都是 gunicorn 同步 worker、各 1 个进程，钉在同一个 CPU 上；"
        f"wrk 用 8 个连接交替压它们，每轮 {info['duration_s']:g} 秒、{info['rounds']} 轮。"
    )


def workers() -> str:
    """多 worker 时每次抓取读到的计数：不开多进程模式与开了以后。"""
    info = book.result(WORKERS).info["workers"]
    lines = [
        "| 模式 | 真实请求数 | 各次抓取读到的计数（去重） | 读到 ÷ 真值 |",
        "|---|---:|---|---:|",
    ]
    for mode, label in (("single", "默认（每个 worker 一份）"), ("multiproc", "多进程模式")):
        seen = info[mode]["seen"]
        total = info[mode]["total"]
        distinct = ", ".join(f"{x:,.0f}" for x in sorted(set(seen)))
        # 读到 ÷ 真值：示例每个进程报告的最少、最多两个比值（各进程的中位数），不在这里再除
        low, high = (_median(WORKERS, f"workers.{mode}_{end}_share") for end in ("min", "max"))
        share = f"{low:.0%} – {high:.0%}"
        lines.append(f"| {label} | {total:,} | {distinct} | {share} |")
    return (
        "\n".join(lines)
        + f"\n\ngunicorn 同步 worker，{info['workers']} 个进程；每种模式抓取 `/metrics` "
        f"{info['scrapes']} 次（每次一个新连接，和 Prometheus 一样）。"
    )


def alert_timing() -> str:
    """两条规则：原文的 for、实验里的 for 与窗口，从注入故障到收到通知的时间。"""
    info = book.result(ALERT).info["alert"]
    lines = [
        "| 规则 | 条件（原文） | 原文的 for | 实验的 for / rate 窗口 | 从注入故障到收到通知 |",
        "|---|---|---|---|---:|",
    ]
    for name in info["names"]:
        cond, quoted_for = QUOTED[name]
        value = book.value(ALERT, f"alert.notify_{name}_s")
        lines.append(
            f"| `{name}` | {cond} | {quoted_for} | {info['for_s']} 秒 / {info['window_s']} 秒 "
            f"| {value} |"
        )
    fault = info["fault"]
    quiet = _median(ALERT, "alert.baseline_firing") + _median(ALERT, "alert.baseline_notifications")
    return (
        "\n".join(lines) + f"\n\n故障：每个请求多睡 {fault['delay_s']:g} 秒，"
        f"{fault['error_share']:.0%} 的请求抛异常。"
        f"故障之前有 {info['baseline_s']:g} 秒同样负载的基线："
        + (
            "没有告警进入 pending 或 firing，也没有收到通知。"
            if quiet == 0
            else "⚠ 基线里就有告警或通知。"
        )
        + f"抓取与求值间隔 {info['interval_s']:g} 秒，Alertmanager 的 group_wait 为 "
        f"{info['alertmanager_config']['group_wait']}。"
    )


def dashboard() -> str:
    """两块面板（延迟分位数、按状态码的每秒请求）：告警实验里 Prometheus 范围查询的结果。"""
    return book.charts(ALERT)


def checks() -> str:
    """promtool 与 amtool 在本次构建里对规则文件和两份 Alertmanager 配置的输出。"""
    info = book.result(ALERT).info["alert"]
    parts = []
    for key, what in (
        ("quoted", "`promtool check rules alerts.yml`（原文的规则）"),
        ("short", "`promtool check rules`（实验用的短版本）"),
        ("wechat", "`amtool check-config alertmanager_wechat.yml`（企业微信接收方）"),
    ):
        text = info["checked"][key].strip()
        parts.append(f"{what}：\n\n```text\n{text}\n```")
    return "\n\n".join(parts)
