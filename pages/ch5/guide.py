"""docs/ch5/guide.md：决策指南——门槛与数字都从本书这次构建的实测结果里读出。

每个输入登记在 INPUTS 里：哪个实验、哪个指标、在哪一页测的。任何一个缺了（实验没登记、
指标没产出），构建失败并指出缺的是哪一个结果、该去哪一页找，而不是悄悄少一行。
"""

from __future__ import annotations

from dataclasses import dataclass

from perflab import book, render, units
from perflab.errors import PerflabError


@dataclass(frozen=True)
class Need:
    experiment: str
    key: str
    page: str  # 测它的页面（docs/ 下的路径）
    what: str  # 它是什么（错误信息里用）


INPUTS = {
    "threads_cpu": Need(
        "ch2.gil.cpu", "python.threads_2_speedup", "ch2/gil.md", "CPU 密集：2 个线程的加速比"
    ),
    "procs_cpu": Need(
        "ch2.gil.cpu", "python.processes_2_speedup", "ch2/gil.md", "CPU 密集：2 个进程的加速比"
    ),
    "threads_io": Need(
        "ch2.gil.io", "python.socket_threads_4_speedup", "ch2/gil.md", "I/O 密集：4 个线程的加速比"
    ),
    "gc_full": Need(
        "ch2.gc.python", "python.on_gen2_max_s", "ch2/gc.md", "Python 第 2 代回收的最长停顿"
    ),
    "gc_frozen": Need(
        "ch2.gc.python",
        "python.freeze_gen2_max_s",
        "ch2/gc.md",
        "gc.freeze() 之后第 2 代回收的最长停顿",
    ),
    "gc_go": Need("ch2.gc.go", "go.default_pause_max_s", "ch2/gc.md", "Go 的最长 GC 停顿"),
    "rps_flask": Need(
        "ch4.loadtest", "flask.rps_max", "ch4/loadtest.md", "Flask + gunicorn 单核最大吞吐"
    ),
    "rps_fastapi": Need(
        "ch4.loadtest", "fastapi.rps_max", "ch4/loadtest.md", "FastAPI + uvicorn 单核最大吞吐"
    ),
    "rps_gin": Need("ch4.loadtest", "gin.rps_max", "ch4/loadtest.md", "Gin 单核最大吞吐"),
    "fastapi_vs_gin": Need(
        "ch4.loadtest",
        "fastapi.vs_gin_rps_max",
        "ch4/loadtest.md",
        "单核最大吞吐 FastAPI ÷ Gin（按轮配对）",
    ),
    "json_1k": Need(
        "ch4.serialization", "python.json_encode_1k_s", "ch4/serialization.md", "json 编码约 1 KB"
    ),
    "orjson_1k": Need(
        "ch4.serialization",
        "python.orjson_encode_1k_s",
        "ch4/serialization.md",
        "orjson 编码约 1 KB",
    ),
    "hop": Need(
        "ch5.mixed.hop", "hop.go_py_ping_p50_s", "ch5/mixed.md", "Go → Python 的一次 gRPC 空调用"
    ),
    "model": Need(
        "ch5.mixed.hop", "hop.numpy_compute_s", "ch5/mixed.md", "numpy 在进程内算一次本书的模型"
    ),
    # 同一实验的两个量之比由引擎按轮配对算出（registry/ch5/mixed.toml），不在这里拿中位数相除
    "gofront_vs_py": Need(
        "ch5.mixed",
        "load.gofront_vs_py_cap",
        "ch5/mixed.md",
        "容量之比：Go 前置 + Python gRPC ÷ 全 Python",
    ),
    "go_vs_py": Need(
        "ch5.mixed", "load.go_vs_py_cap", "ch5/mixed.md", "容量之比：全 Go ÷ 全 Python"
    ),
}


def _fail(need: Need, why: str) -> PerflabError:
    return PerflabError(
        f"decision guide: needs result {need.experiment} / {need.key} ({need.what}, measured on "
        f"docs/{need.page}), {why}"
    )


def values() -> dict[str, float]:
    """Every input's median; a PerflabError naming the first one this build lacks.

    The registry is checked for all of them before any result is read, so a missing
    experiment fails at once, without measuring the others first.
    """
    session = book.current()
    for need in INPUTS.values():
        if need.experiment not in session.experiments:
            raise _fail(need, "but no experiment with that id is registered")
    found = {}
    for name, need in INPUTS.items():
        result = session.result(need.experiment)
        if need.key not in result.metrics:
            raise _fail(need, "which this build's result does not have")
        found[name] = result.metric(need.key).summary.median
    return found


def _link(page: str, text: str) -> str:
    return f"[{text}]({render.page_href(page, book.current().page)})"


def _t(seconds: float) -> str:
    return units.fmt(seconds, "s")


def _n(count: float) -> str:
    return units.fmt(round(count), "")


def table() -> str:
    """The guide as a table: each question, what the book measured, the threshold it gives."""
    v = values()
    # 4.2 的 FastAPI 接口每个请求的 CPU 时间是 1 ÷ 单核吞吐；再加上编码约 1 KB 的 JSON。
    # 吞吐与编码耗时出自两个实验（ch4.loadtest、ch4.serialization），不能按轮配对：
    # 只能拿两个中位数相除，句子里写明没有区间
    per_request = 1.0 / v["rps_fastapi"]
    json_share = v["json_1k"] / (per_request + v["json_1k"])
    orjson_share = v["orjson_1k"] / (per_request + v["orjson_1k"])
    rows = [
        (
            "CPU 密集，想用多线程提速？",
            f"2 个线程 {v['threads_cpu']:.2f}×，2 个进程 {v['procs_cpu']:.2f}×",
            "线程加速比接近 1：GIL 下线程不分摊计算"
            if v["threads_cpu"] < 1.3
            else "线程也分摊了计算：这个解释器没有 GIL 的限制",
            "按核数开进程（gunicorn / multiprocessing），或把热点换成 Go",
            "ch2/gil.md",
        ),
        (
            "主要在等 I/O？",
            f"4 个线程等网络 {v['threads_io']:.2f}×",
            "等待期间 GIL 会释放：线程与 asyncio 都能并发"
            if v["threads_io"] > 2
            else "线程没能并发地等：先查是不是在持有 GIL 的代码里等",
            "留在 Python：asyncio 或线程池",
            "ch2/gil.md",
        ),
        (
            "P99 预算很紧？",
            f"Python 完整回收最长 {_t(v['gc_full'])}，gc.freeze() 后 {_t(v['gc_frozen'])}；"
            f"Go 最长 GC 停顿 {_t(v['gc_go'])}",
            f"预算低于 {_t(v['gc_full'])} 时，Python 的完整回收会直接落进尾延迟",
            "先 gc.freeze() / 调阈值；仍不够，热路径换 Go",
            "ch2/gc.md",
        ),
        (
            "每核每秒要处理多少请求？",
            f"单核：Flask {_n(v['rps_flask'])}，FastAPI {_n(v['rps_fastapi'])}，"
            f"Gin {_n(v['rps_gin'])}（最简单的 JSON 接口）",
            f"超过每核 {_n(v['rps_fastapi'])} 次/秒，单核 Python 框架本身就不够；"
            f"同样的量 Gin 只要 FastAPI 所需核数的 {v['fastapi_vs_gin']:.0%}",
            "Python：按目标 ÷ 单核吞吐开进程；框架开销占大头时才值得换 Go",
            "ch4/loadtest.md",
        ),
        (
            "序列化占了多少？",
            f"约 1 KB JSON：json 编码 {_t(v['json_1k'])}，orjson {_t(v['orjson_1k'])}",
            f"给 4.2 的 FastAPI 请求再加上编码约 1 KB：json 约占每个请求 CPU 时间的 "
            f"{json_share:.0%}，orjson 约 {orjson_share:.0%}"
            "（吞吐与编码耗时出自两个实验，这是中位数之比，没有区间）",
            "载荷越大占比越高：先换 orjson / msgspec，不必换语言",
            "ch4/serialization.md",
        ),
        (
            "把模型拆成独立服务？",
            f"一次 gRPC 空调用 {_t(v['hop'])}，进程内算一次本书的模型 {_t(v['model'])}",
            f"模型单次计算远大于 {_t(v['hop'])} 时，这一跳才可忽略",
            "小模型留在进程内；大模型（耗时远超一跳）才值得单独部署、单独扩容",
            "ch5/mixed.md",
        ),
        (
            "只把前置换成 Go？",
            f"同一个 CPU 上：Go 前置 + Python 模型的容量是全 Python 的 "
            f"{v['gofront_vs_py']:.2f}×，全 Go 是 {v['go_vs_py']:.1f}×（按轮配对）",
            "前置换 Go 反而更慢：多一跳，两个进程抢同一个 CPU"
            if v["gofront_vs_py"] < 1
            else "前置换 Go 有收益，但模型仍在 Python，远不及全 Go",
            "瓶颈在模型时换前置收效有限；要换就连热点一起换",
            "ch5/mixed.md",
        ),
    ]
    lines = ["| 问题 | 本书的实测 | 由实测得出的门槛 | 建议 | 出处 |", "|---|---|---|---|---|"]
    for question, measured, threshold, advice, page in rows:
        link = _link(page, "测量页")
        lines.append(f"| {question} | {measured} | {threshold} | {advice} | {link} |")
    return "\n".join(lines)


def flow() -> str:
    """The decision flow as a Mermaid diagram, its thresholds filled in from the same results."""
    v = values()
    return "\n".join(
        [
            "```mermaid",
            "flowchart TD",
            '    S["服务慢了"] --> M{"先测量：时间花在哪里？"}',
            '    M -->|"等 I/O"| IO["asyncio 或线程池<br/>'
            f'4 个线程等网络：{v["threads_io"]:.1f}×"]',
            f'    M -->|"CPU 计算"| CPU{{"要并行？<br/>2 个线程只有 {v["threads_cpu"]:.2f}×"}}',
            f'    CPU -->|"是"| P["按核数开进程<br/>2 个进程 {v["procs_cpu"]:.2f}×"]',
            f'    M -->|"尾延迟"| GC{{"P99 预算 < {_t(v["gc_full"])}？"}}',
            '    GC -->|"是"| F["gc.freeze() / 调阈值"]',
            f'    F -->|"仍不够"| GO["热路径换 Go<br/>最长 GC 停顿 {_t(v["gc_go"])}"]',
            '    M -->|"序列化"| J["换 orjson / msgspec<br/>'
            f'约 1 KB：{_t(v["json_1k"])} → {_t(v["orjson_1k"])}"]',
            f'    P --> Q{{"每核要超过 {_n(v["rps_fastapi"])} 次/秒？"}}',
            '    Q -->|"是"| H{"热点集中在少数接口？"}',
            '    Q -->|"否"| OK["Python 够用"]',
            f'    H -->|"是"| MIX{{"热点的计算远大于一跳 {_t(v["hop"])}？"}}',
            '    MIX -->|"是"| SPLIT["热点单独成服务<br/>Python 与 Go 混合部署"]',
            '    MIX -->|"否"| INPROC["留在进程内，或整段换 Go"]',
            '    H -->|"否"| ALL["评估整体迁移的成本"]',
            "```",
        ]
    )
