"""docs/ch4/loadtest.md：四种服务器的压测（实验 ch4.loadtest、ch4.loadtest.cores）。"""

from __future__ import annotations

from perflab import book, units

EXP, CORES = "ch4.loadtest", "ch4.loadtest.cores"
SERVERS = {
    "flask": "Flask + gunicorn",
    "flaskdev": "Flask 开发服务器",
    "fastapi": "FastAPI + uvicorn",
    "gin": "Gin",
    "nethttp": "Go net/http",
}
GO = ("gin", "nethttp")
# wrk 对常量服务器的吞吐 ÷ 被测服务器的吞吐：低于它，这一行可能有一部分是压测端的上限
HEADROOM_OK = 1.5
# 引文的四组数字（照原文）：由它们推算，不是实测
QUOTED = {"flask": (1850, 0.054, 0.210), "gin": (12400, 0.008, 0.045)}


def _conns() -> dict[str, str]:
    conns = book.result(EXP).info["gin"]["conns"]
    return {str(n): f"{n:,} 连接" for n in conns}


def _median(exp: str, key: str) -> float:
    return book.result(exp).metric(key).summary.median


def split() -> str:
    """服务器与压测端各用哪个 CPU（驱动程序在 info 里报告）。"""
    info = book.result(EXP).info["gin"]
    server, load = info["server_cpus"], info["load_cpus"]
    if not server:
        return "本机只有一个 CPU：服务器与压测端共用它，下面的数字偏低，比值仍可参考。"
    return (
        f"本次构建：服务器钉在 CPU {','.join(map(str, server))}，"
        f"wrk 与 vegeta 钉在 CPU {','.join(map(str, load))}；"
        f"客户端超时 {info['timeout_s']:g} 秒，失败率上限 {info['error_share_limit']:.0%}，"
        f"每一级闭环压测 {info['duration_s']:g} 秒。"
    )


def versions() -> str:
    """每台服务器与两个压测端的版本（驱动程序从已安装的包与 Go 二进制里读出）。"""
    seen: dict[str, str] = {}
    for run in SERVERS:
        seen.update(book.result(EXP).info[run]["versions"])
    return "版本：" + "，".join(f"{k} {v}" for k, v in seen.items()) + "。"


def little() -> str:
    """由引文自己的数字按利特尔法则推出它用了多少并发连接（不是实测）。"""
    parts = [
        f"{name} {qps:,} × {mean * 1e3:g} ms ≈ {qps * mean:.0f}"
        for name, (qps, mean, _) in (("Flask", QUOTED["flask"]), ("Gin", QUOTED["gin"]))
    ]
    return "由引文推算：" + "；".join(parts) + "。"


def headline() -> str:
    """1,000 个连接：每台服务器的吞吐、平均、p50、p99、最大延迟与失败占比。"""
    cols = {
        "rps_c1000": "每秒成功请求",
        "mean_c1000_s": "平均",
        "p50_c1000_s": "p50",
        "p99_c1000_s": "p99",
        "max_c1000_s": "最大",
        "err_c1000": "失败占比",
    }
    return book.grid(EXP, "{row}.{col}", SERVERS, cols)


def ratios() -> str:
    """引文的三个比值在每个连接数下的实测（按轮配对）。"""
    rows = {
        "gin.vs_flask_rps": "吞吐 Gin ÷ Flask（gunicorn）",
        "gin.vs_flaskdev_rps": "吞吐 Gin ÷ Flask 开发服务器",
        "flask.vs_gin_mean": "平均延迟 Flask ÷ Gin",
        "flask.vs_gin_max": "最大延迟 Flask ÷ Gin",
    }
    return book.grid(EXP, "{row}_c{col}", rows, _conns())


def errors() -> str:
    """各连接数下每台服务器的失败占比。"""
    return book.grid(EXP, "{row}.err_c{col}", SERVERS, _conns())


def _cell(exp: str, key: str) -> str:
    """One median in bold with its 95% interval below, as book.grid draws a cell."""
    metric = book.result(exp).metric(key)
    summary = metric.summary
    median = summary.median
    low, high = (units.fmt(x, metric.unit, like=median) for x in (summary.low, summary.high))
    return f"**{units.fmt(median, metric.unit)}**<br><small>{low} – {high}</small>"


def _open_level(run: str) -> tuple[str, str]:
    """The open-loop level a server's row shows: 75% of its own maximum where vegeta was asked
    for it (the Python servers), else the highest absolute rate it was given (the Go servers)."""
    info = book.result(EXP).info[run]
    if 0.75 in info["fractions"]:
        return "f75", "75%"
    rate = max(info["rates"])
    share = rate / _median(EXP, f"{run}.rps_max")
    return f"r{rate}", f"{share:.0%}"


def open_vs_closed() -> str:
    """Each server in one row: closed-loop p99 at 1,000 connections beside its open-loop p99."""
    head = (
        "| | 闭环 p99（wrk，1,000 连接） | 开环到达速率（次/秒） | ÷ 最大吞吐 "
        "| 开环 p99（vegeta） | 开环失败占比 |"
    )
    lines = [head, "|---|" + "---:|" * 5]
    for run, label in SERVERS.items():
        key, share = _open_level(run)
        cells = [
            _cell(EXP, f"{run}.p99_c1000_s"),
            _cell(EXP, f"{run}.ol_rate_{key}"),
            share,
            _cell(EXP, f"{run}.ol_p99_{key}_s"),
            _cell(EXP, f"{run}.ol_err_{key}"),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def open_levels() -> str:
    """Which arrival rates each server got in the open loop, and why the Go servers differ."""
    info = book.result(EXP).info
    by_share = [SERVERS[run] for run in SERVERS if info[run]["fractions"]]
    fractions = "、".join(f"{f:.0%}" for f in info[next(iter(SERVERS))]["fractions"])
    rates = sorted({r for run in GO for r in info[run]["rates"]})
    shares = [r / _median(EXP, f"{run}.rps_max") for run in GO for r in rates]
    return (
        f"{'、'.join(by_share)} 按各自刚测出的最大吞吐的 {fractions} 发请求；"
        f"{' 与 '.join(SERVERS[r] for r in GO)} 按固定的每秒 "
        f"{' 与 '.join(f'{r:,}' for r in rates)} 个请求，"
        f"只是它们各自最大吞吐的 {min(shares):.0%}–{max(shares):.0%}："
        f"{_vegeta_reach()}，表里 Go 两行的开环 p99 是轻载下的数字，"
        "不能和 Python 的 75% 那一级比排队。"
        "没有 90% 一级：离饱和太近，一次调度停顿就能让 p99 翻几倍，要更长的压测才测得稳。"
    )


def _vegeta_reach() -> str:
    rates = book.result(CORES).info["static"]["rates"]
    kept = [r for r in rates if _median(CORES, f"static.ol_sent_r{r}") >= 0.95]
    if not kept:
        return f"vegeta 在一个 CPU 上连每秒 {min(rates):,} 个请求都没能按时发出"
    return f"vegeta 在一个 CPU 上按时发出的最高一档是每秒 {max(kept):,} 个请求"


def _headroom() -> tuple[float, str, float]:
    """(wrk's good responses per second from the constant Go server, fastest server, its max)."""
    static = _median(CORES, "static.rps_max")
    best_run = max(SERVERS, key=lambda r: _median(EXP, f"{r}.rps_max"))
    return static, best_run, _median(EXP, f"{best_run}.rps_max")


def _headroom_text() -> str:
    static, best_run, best = _headroom()
    near = [SERVERS[r] for r in SERVERS if static / _median(EXP, f"{r}.rps_max") < HEADROOM_OK]
    rows = " 与 ".join(near)
    head = (
        f"wrk 从只回常量的 Go 服务器拿到每秒 {units.fmt(static, '')} 个成功请求，"
        f"是被测服务器中最快的 {SERVERS[best_run]}（每秒 {units.fmt(best, '')}）的 "
        f"{static / best:.2f} 倍（两个实验各自的中位数之比，不是按轮配对的）"
    )
    if static < best:
        return (
            f"{head}——wrk 从一台什么都不做的服务器拿到的，还不如从被测服务器拿到的多："
            f"**{rows} 的吞吐受压测端所限（generator-bound）**，测到的是 wrk 在一个 CPU 上的上限，"
            "不是服务器的；它们真实的吞吐更高，拿它们去除 Python 服务器得到的倍数只是下限。"
        )
    if near:
        return (
            f"{head}——余量不到 {HEADROOM_OK:g} 倍：{rows} 的吞吐里可能有一部分是压测端的上限，"
            "拿它们去除 Python 服务器得到的倍数只是下限：真实的差距只会更大，不会更小。"
        )
    return f"{head}——余量足够，被测服务器的吞吐不是压测端的上限。"


def generator_bound() -> str:
    """Right under the headline: whether the fastest rows measure the servers or wrk itself."""
    return "压测端的余量（校准，见下文）：" + _headroom_text()


def calibration() -> str:
    """压测端的余量：wrk 对常量服务器的吞吐 ÷ 被测服务器里最快的一台；vegeta 跟得上的最高速率。"""
    return (
        f"校准：{_headroom_text()}"
        f"{_vegeta_reach()}；Go 服务器的最大吞吐远在这之上，所以它们的开环只能按固定的低速率测。"
    )


def calibration_summary() -> str:
    """For the methodology page: the CPU split and both generators' headroom, from 4.2's runs."""
    return "\n".join(
        [
            f"- **CPU 划分**：{split()}",
            f"- **wrk（闭环）**：{_headroom_text()}",
            f"- **vegeta（开环）**：{_vegeta_reach()}；速率超过它的，开环延迟测的是压测端。",
        ]
    )


def cores() -> str:
    """1 个与 2 个 worker（GOMAXPROCS）在 1,000 个连接下的吞吐，以及按轮配对的倍数。"""
    names = {
        "flask": "Flask + gunicorn",
        "fastapi": "FastAPI + uvicorn",
        "gin": "Gin",
        "nethttp": "net/http",
    }
    table = book.grid(
        CORES,
        "{row}{col}",
        names,
        {"1.rps_c1000": "1 个 CPU", "2.rps_c1000": "2 个 CPU", "2.vs_one": "2 个 ÷ 1 个"},
    )
    return table + "\n\n" + book.charts(CORES)


def _little() -> dict[tuple[str, int], float]:
    conns = book.result(EXP).info["gin"]["conns"]
    return {
        (run, n): _median(EXP, f"{run}.rps_c{n}") * _median(EXP, f"{run}.mean_c{n}_s") / n
        for run in SERVERS
        for n in conns
    }


def little_check() -> str:
    """实测的吞吐 × 平均延迟 ÷ 连接数：闭环里它应接近 1，明显大于 1 说明延迟统计不可信。"""
    conns = book.result(EXP).info["gin"]["conns"]
    ratio = _little()
    head = "| | " + " | ".join(f"{n:,} 连接" for n in conns) + " |"
    lines = [head, "|---|" + "---:|" * len(conns)]
    for run, label in SERVERS.items():
        cells = [f"{ratio[run, n]:.2f}" for n in conns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def little_reading() -> str:
    """按上表说话：哪些格子偏离 1，偏向哪边，各意味着什么。"""
    ratio = _little()
    high = [f"{SERVERS[r]}（{n:,} 连接）" for (r, n), x in ratio.items() if x > 1.3]
    low = [f"{SERVERS[r]}（{n:,} 连接）" for (r, n), x in ratio.items() if x < 0.7]
    parts = []
    if not high and not low:
        parts.append("每一格都在 0.7–1.3 之间：吞吐与延迟彼此印证。")
    if high:
        parts.append(
            "明显大于 1 的格子：" + "、".join(high) + "——平均延迟比利特尔法则允许的还大，"
            "这些格子的延迟统计不可信（多半是压测端自己被挤占、读响应晚了），只宜看量级。"
        )
    if low:
        parts.append(
            "明显小于 1 的格子：" + "、".join(low) + "——并不是每个连接都有请求在服务器上："
            "连接卡在服务器的监听队列里还没被接受，"
            "或压测结束时请求还没答复、没有计入（wrk 只统计答复了的）。"
            "这正是连接数超过服务器接得住的数量时的样子。"
        )
    return "".join(parts)
