"""第一章（GIL 初探、内存去向、垃圾回收暂停、阻塞 I/O 与概览表）：
示例单独运行的输出形状，以及必然成立的关系。

关系优先读 quick 档整站构建的 data/results.json（built_site），不重复测量。
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from book_helpers import best, experiment, measured, run_example, skip_if_busy

from perflab import render
from perflab.errors import PerflabError
from perflab.results import Metric, Result

CPUS = len(os.sched_getaffinity(0))


def page_text(built_site: Path, rel: str) -> str:
    html = (built_site / rel).read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", "", html)


# 示例单独运行：小规模，输出形状正确


def test_memory_example_shape():
    out = run_example(
        "examples/ch1/memory.py", "--rows", "300", "--requests", "2", "--rounds", "2",
        "--warmup", "0", "--top", "3",
    )  # fmt: skip
    m = out["metrics"]
    assert set(m) == {
        "slow_peak_bytes", "fixed_peak_bytes", "slow_live_blocks", "fixed_live_blocks",
        "slow_time_s", "fixed_time_s", "peak_ratio", "blocks_ratio", "speedup",
    }  # fmt: skip
    assert m["slow_peak_bytes"]["unit"] == "B" and m["slow_time_s"]["unit"] == "s"
    assert len(m["slow_time_s"]["values"]) == len(m["fixed_time_s"]["values"]) == 2
    assert all(v > 0 for metric in m.values() for v in metric["values"])
    # tracemalloc 的数字对同一输入是确定的：改进版分配得更少
    assert m["fixed_peak_bytes"]["values"][0] < m["slow_peak_bytes"]["values"][0]
    info = out["info"]
    assert info["rows"] == 300
    for key in ("top_slow", "top_fixed"):
        sites = info[key]
        assert len(sites) == 3
        assert all(set(s) == {"where", "code", "size", "count"} for s in sites)
        assert [s["size"] for s in sites] == sorted((s["size"] for s in sites), reverse=True)
        # 分配位置指向处理函数自己的行或它调用的库，而不是测量代码
        assert any(s["where"].startswith("examples/ch1/memory.py:") for s in sites)
        assert not any("tracemalloc" in s["where"] for s in sites)


def test_gc_example_shape():
    out = run_example(
        "examples/ch1/gc_pauses.py", "--heap", "3000", "--requests", "300", "--width", "200",
        "--cache", "5", "--rounds", "1",
    )  # fmt: skip
    m = out["metrics"]
    for mode in ("on", "off", "frozen"):
        for stat in ("p50", "p99", "max"):
            assert len(m[f"{mode}_latency_{stat}_s"]["values"]) == 1
    for g in (0, 1, 2):
        for stat in ("p50", "p99", "max"):
            assert m[f"on_gen{g}_pause_{stat}_s"]["unit"] == "s"
        assert m[f"on_gen{g}_collections"]["values"][0] >= 1
    assert m["frozen_gen2_collections"]["values"][0] >= 1
    assert m["off_collections"]["values"] == [0]
    assert {f"full_collect_step{i}_s" for i in (1, 2, 3)} <= set(m)
    steps = out["info"]["tracked_objects_by_step"]
    assert [s["records"] for s in steps] == [1000, 2000, 3000]
    assert steps[0]["tracked"] < steps[1]["tracked"] < steps[2]["tracked"]


def test_blocking_example_shape():
    out = run_example(
        "examples/ch1/blocking.py", "--requests", "6", "--wait", "0.02", "--threads", "3",
        "--rounds", "1", "--warmup", "0",
    )  # fmt: skip
    m = out["metrics"]
    assert set(m) == {
        "sequential_s", "threads_s", "asyncio_s", "sequential_rps", "threads_rps",
        "asyncio_rps", "threads_speedup", "asyncio_speedup",
    }  # fmt: skip
    # 顺序处理必须一个接一个地等：总耗时不可能少于 N × 等待
    assert m["sequential_s"]["values"][0] >= 6 * 0.02
    assert out["info"]["sequential_floor_s"] == pytest.approx(0.12)


# 页面用到的通用渲染小件


def _metric(key: str, unit: str, values: list[float]) -> Metric:
    run, name = key.split(".", 1)
    return Metric(key, run, name, name, unit, values)


def test_value_grid_and_records_render_from_results():
    result = Result(
        "x", "x", "x.md", "quick",
        metrics={
            k: _metric(k, "s", [0.001, 0.002, 0.003])
            for k in ("python.a_p50_s", "python.a_max_s", "python.b_p50_s", "python.b_max_s")
        },
    )  # fmt: skip
    assert render.value(result.metric("python.a_p50_s")).startswith("**2.00 ms**（95% 区间")
    grid = render.grid(
        result, "python.{row}_{col}_s", {"a": "甲", "b": "乙"}, {"p50": "中", "max": "大"}
    )
    lines = grid.splitlines()
    assert lines[0] == "| | 中 | 大 |" and len(lines) == 4
    assert lines[2].startswith("| 甲 | **2.00 ms**")
    with pytest.raises(PerflabError):
        render.grid(result, "python.{row}_{col}_s", {"c": "丙"}, {"p50": "中"})
    table = render.records(
        [{"where": "a.py:1", "code": 'x = "|".join(y)', "size": 2048, "count": 3}],
        [("where", "位置"), ("code", "代码", "code"), ("size", "大小", "B"), ("count", "块", "")],
    )
    row = table.splitlines()[2]
    # 代码里的竖线不能把表格切开；整数个数不带小数
    assert row.count("|") == 5 and "&#124;" in row
    assert "2.00 KiB" in row and "| 3 |" in row


# 整站构建（quick 档）的结果：必然成立的关系


def test_fixed_handler_allocates_less(built_site: Path):
    m = measured(built_site, "ch1.memory")
    assert m["python.fixed_peak_bytes"] < m["python.slow_peak_bytes"]
    assert m["python.fixed_live_blocks"] < m["python.slow_live_blocks"]
    assert m["python.peak_ratio"] > 1


def test_gc_relations(built_site: Path):
    exp = experiment(built_site, "ch1.gc.pauses")
    m = measured(built_site, "ch1.gc.pauses")
    # 完整回收遍历整个堆，它最长的一次不会短于一次年轻代回收的中位数
    assert m["python.on_gen2_pause_max_s"] >= m["python.on_gen0_pause_p50_s"]
    # 关闭 GC 时一次回收也没有，环状垃圾一直积压
    off = next(x for x in exp["metrics"] if x["key"] == "python.off_collections")
    assert set(off["values"]) == {0.0}
    assert m["python.off_backlog_objects"] > m["python.on_backlog_objects"]
    steps = exp["info"]["python"]["tracked_objects_by_step"]
    assert steps[0]["tracked"] < steps[-1]["tracked"]
    assert m["python.full_collect_step3_s"] > m["python.full_collect_step1_s"]


def test_blocking_io_overlaps_with_threads_and_asyncio(built_site: Path):
    exp = experiment(built_site, "ch1.blocking")
    m = measured(built_site, "ch1.blocking")
    info = exp["info"]["python"]
    assert m["python.sequential_s"] >= info["requests"] * info["wait_s"]
    # 线程池与 asyncio 让等待重叠：明显少于顺序处理
    assert m["python.threads_s"] < m["python.sequential_s"] / 2
    assert m["python.asyncio_s"] < m["python.sequential_s"] / 2


def test_chapter_pages_show_measured_tables(built_site: Path):
    memory = page_text(built_site, "ch1/memory/index.html")
    assert "json/decoder.py:" in memory and "examples/ch1/memory.py:" in memory
    assert "def handle_slow" in memory and "def handle_fixed" in memory
    gc_page = page_text(built_site, "ch1/gc/index.html")
    assert "第 2 代" in gc_page and "冻结长寿堆" in gc_page
    for text in (memory, gc_page):
        assert "--8<--" not in text
    overview_html = (built_site / "ch1/index.html").read_text(encoding="utf-8")
    overview = re.sub(r"<[^>]+>", "", overview_html)
    assert "施工中" not in overview
    assert 'class="perflab-diagram"' in overview_html
    # 汇总表：三行瓶颈，每行的实测列都是构建时生成的数字
    rows = re.findall(r"<tr>(.*?)</tr>", overview_html, re.S)
    summary = [r for r in rows if re.search(r"<td>(?:GIL|GC|阻塞 I/O)</td>", r)]
    assert len(summary) == 3
    for row in summary:
        assert len(re.findall(r"<strong>[\d.,]+ ?(?:×|s|ms|µs)</strong>", row)) >= 1


# GIL 初探（ch1.gil）


def test_gil_example_shape():
    out = run_example("examples/ch1/gil.py", "--n", "200000", "--rounds", "2", "--warmup", "0")
    expected = {
        "sequential_s", "threads_s", "processes_s",
        "threads_vs_sequential", "threads_speedup", "processes_speedup",
    }  # fmt: skip
    assert set(out["metrics"]) == expected
    for metric in out["metrics"].values():
        assert len(metric["values"]) == 2 and all(v > 0 for v in metric["values"])
    assert out["info"]["n"] == 200000


def test_two_cpu_bound_threads_are_not_close_to_twice_as_fast(built_site: Path):
    m = measured(built_site, "ch1.gil")
    assert m["python.threads_speedup"] < 1.3


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to run two processes in parallel")
def test_two_processes_beat_two_threads_on_two_cpus(built_site: Path):
    skip_if_busy(built_site, "ch1.gil")
    # 各取最快的一轮：别的进程只会拖慢某一轮，最快的一轮最接近两核能做到的
    m = best(built_site, "ch1.gil")
    assert m["python.processes_speedup"] > m["python.threads_speedup"] * 1.2
    assert m["go.goroutine_speedup"] > 1.3
