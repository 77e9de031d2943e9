"""docs/ch4/auth.md：JWT 认证服务的安全矩阵与压测（实验 ch4.auth）。"""

from __future__ import annotations

from perflab import book, units

EXP = "ch4.auth"
SERVERS = {
    "python": "Python（Flask + PyJWT）",
    "go": "Go（golang-jwt）",
    "article": "文章里的写法（Go）",
}
# 引文的两组数（引述，不是实测）：QPS 与平均延迟
QUOTED = {"python": (850, 45e-3), "go": (3200, 12e-3)}


def _info(run: str) -> dict:
    return book.result(EXP).info[run]


def _levels() -> list[int]:
    return _info("python")["levels"]


def _accepted_counts(run: str) -> list[float]:
    return book.result(EXP).metric(f"{run}.attacks_accepted").values


def matrix() -> str:
    """每个攻击用例在三台服务器上得到的状态码与结论（最后一次运行的记录）。"""
    rows = {run: {r["case"]: r for r in _info(run)["matrix"]} for run in SERVERS}
    head = "| 用例 | " + " | ".join(SERVERS.values()) + " |"
    lines = [head, "|---|" + "---|" * len(SERVERS)]
    for case in rows["python"].values():
        cells = []
        for run in SERVERS:
            r = rows[run][case["case"]]
            ctype = r["content_type"].split(";")[0]
            if case["case"] == "valid":
                word = "通过" if r["accepted"] else "**被拒**"
            else:
                word = "**放行**" if r["accepted"] else "拒绝"
            cells.append(f"{r['status']} {word}<br><small>`{ctype}`</small>")
        lines.append(f"| {case['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts() -> str:
    """每台服务器在全部运行里放行了几个攻击、哪几个（由安全矩阵算出）。"""
    parts = []
    for run, name in SERVERS.items():
        counts = _accepted_counts(run)
        runs = f"全部 {len(counts)} 次运行"
        if max(counts) == 0:
            parts.append(f"- **{name}**：{runs}都拒绝了每一个攻击。")
            continue
        through = [r["label"] for r in _info(run)["matrix"][1:] if r["accepted"]]
        same = "每次都一样" if min(counts) == max(counts) else "各次不同"
        parts.append(
            f"- **{name}**：放行了 {len(through)} 个攻击（{runs}里放行数{same}）："
            + "；".join(through)
            + "。"
        )
    return "\n".join(parts)


def setup() -> str:
    """压测的条件：工作进程数、各占几个 CPU、连接数、每档时长。"""
    py = _info("python")
    levels = "、".join(str(c) for c in py["levels"])
    return (
        f"本次构建里，gunicorn 开了 {py['workers']} 个 sync 工作进程"
        f"（每个服务器 CPU 一个，与第四章压测一节相同）；服务器占 {py['server_cpus']} 个 CPU，"
        f"wrk 占另外 {py['load_cpus']} 个；连接数取 {levels}，每档压 {py['duration_s']} 秒，"
        f"之前先以 {py['levels'][0]} 个连接预热 {py['warmup_s']} 秒；"
        f"签名算法是 {py['algorithm']}。"
    )


def load() -> str:
    """三台服务器在各档连接数下的吞吐、失败占比、平均延迟、p99，以及两条同轮配对的比值。"""
    cols = {str(c): f"{c} 个连接" for c in _levels()}
    rps = book.grid(EXP, "{row}.rps_c{col}", SERVERS, cols)
    errors = book.grid(EXP, "{row}.error_share_c{col}", SERVERS, cols)
    mean = book.grid(EXP, "{row}.mean_c{col}", SERVERS, cols)
    p99 = book.grid(EXP, "{row}.p99_c{col}", SERVERS, cols)
    ratios = book.grid(
        EXP,
        "{row}_c{col}",
        {"go.rps_vs_python": "QPS：Go ÷ Python", "python.mean_vs_go": "平均延迟：Python ÷ Go"},
        cols,
    )
    return "\n\n".join(
        [
            "每秒合格响应数（2xx 且没超时的响应；响应体对不对由计时前的核对确认，"
            "压测中只看状态码）：\n\n" + rps,
            f"失败占比（401 等非 2xx、超时、连接错误；超过 {_limit()} 实验就失败）：\n\n" + errors,
            "平均延迟：\n\n" + mean,
            "p99 延迟（wrk 闭环测得）：\n\n" + p99,
            "同一轮里配对相除的比值：\n\n" + ratios,
        ]
    )


def _limit() -> str:
    return f"{_info('python')['error_share_limit']:.0%}"


def littles_law() -> str:
    """闭环压测里 QPS × 平均延迟 ≈ 并发数：引文两组数对应的并发，与本次实测的对照。"""
    implied = {run: qps * mean for run, (qps, mean) in QUOTED.items()}
    result = book.result(EXP)
    mid = _levels()[len(_levels()) // 2]
    ours = {
        run: result.metric(f"{run}.rps_c{mid}").summary.median
        * result.metric(f"{run}.mean_c{mid}").summary.median
        for run in ("python", "go")
    }
    return (
        f"引文的两组数：850 × 45 ms ≈ {implied['python']:.0f}，3,200 × 12 ms ≈ "
        f"{implied['go']:.0f}——两边都相当于约 {round(sum(implied.values()) / 2)} 个请求同时在路上。"
        f"本次构建在 {mid} 个连接时：Python 的 QPS × 平均延迟 ≈ {units.fmt(ours['python'], '')}，"
        f"Go ≈ {units.fmt(ours['go'], '')}。"
    )
