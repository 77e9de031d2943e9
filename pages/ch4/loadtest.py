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
PYTHON = ("flask", "fastapi")  # 开环只测这两台（开发服务器只做闭环，省时间）
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


def open_vs_closed() -> str:
    """Python 服务器：闭环 p99（各连接数）与开环 p99（最大吞吐的 25/50/75%）并排。"""
    conns = _conns()
    closed = book.grid(EXP, "{row}.p99_c{col}_s", {k: SERVERS[k] for k in PYTHON}, conns)
    fractions = {"25": "25%", "50": "50%", "75": "75%"}
    rows = {k: SERVERS[k] for k in PYTHON}
    opened = book.grid(EXP, "{row}.ol_p99_f{col}_s", rows, fractions)
    return (
        "闭环（wrk）的 p99，按连接数：\n\n"
        + closed
        + "\n\n开环（vegeta）的 p99，到达速率为这台服务器最大吞吐的：\n\n"
        + opened
    )


def calibration() -> str:
    """压测端的余量：wrk 对常量服务器的吞吐 ÷ 被测服务器里最快的一台；vegeta 跟得上的最高速率。"""
    static = _median(CORES, "static.rps_max")
    best_run = max(SERVERS, key=lambda r: _median(EXP, f"{r}.rps_max"))
    best = _median(EXP, f"{best_run}.rps_max")
    rates = [4000, 8000, 16000]
    kept = [r for r in rates if _median(CORES, f"static.ol_sent_r{r}") >= 0.95]
    vegeta = (
        f"vegeta 在一个 CPU 上按时发出的最高一档是每秒 {max(kept):,} 个请求"
        if kept
        else "vegeta 在一个 CPU 上连每秒 4,000 个请求都没能按时发出"
    )
    return (
        f"校准：wrk 从只回常量的 Go 服务器拿到每秒 {units.fmt(static, '')} 个成功请求，"
        f"是被测服务器中最快的 {SERVERS[best_run]}（每秒 {units.fmt(best, '')}）的 "
        f"{static / best:.1f} 倍——"
        + (
            "压测端不是瓶颈。"
            if static / best >= 1.5
            else "余量不大，Go 服务器的吞吐里有一部分是压测端的上限，"
            "所以 Go ÷ Python 的吞吐倍数只是下限：真实的差距只会更大，不会更小。"
        )
        + f"{vegeta}；Go 服务器的最大吞吐远在这之上，所以开环只测 Python 服务器。"
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
