"""Chapter 5 · decision guide: its numbers come from the results it is given (they change when
the results change), and a missing result fails naming the experiment, the metric and the page."""

from __future__ import annotations

import re

import pytest

from pages.ch5 import guide
from perflab import book
from perflab.errors import PerflabError
from perflab.results import Metric, Result

# 每个输入一个可区分的假值：表里出现的数字只能由它们算出
FAKE = {
    "threads_cpu": 0.97,
    "procs_cpu": 1.93,
    "threads_io": 3.81,
    "gc_full": 0.0625,
    "gc_frozen": 0.0123,
    "gc_go": 0.000117,
    "rps_flask": 3700.0,
    "rps_fastapi": 10400.0,
    "rps_gin": 111000.0,
    "fastapi_vs_gin": 0.0937,  # 引擎按轮配对算出的比值
    "json_1k": 0.000022,
    "orjson_1k": 0.0000013,
    "hop": 0.000251,
    "model": 0.0000047,
    "gofront_vs_py": 0.875,  # 容量之比（引擎按轮配对算出的指标）
    "go_vs_py": 8.75,
}


def _results(values: dict[str, float]) -> dict[str, Result]:
    found: dict[str, Result] = {}
    for name, need in guide.INPUTS.items():
        result = found.setdefault(
            need.experiment, Result(need.experiment, "", need.page, "quick", metrics={})
        )
        run, metric_name = need.key.split(".", 1)
        unit = "s" if need.key.endswith("_s") else ""
        result.metrics[need.key] = Metric(need.key, run, metric_name, "", unit, [values[name]])
    return found


@pytest.fixture
def session():
    """A book session whose results are the fakes above (nothing is measured)."""
    before = book._current
    current = book.start(profile="quick", refresh=False)
    current.results.update(_results(FAKE))
    current.page = "ch5/guide.md"
    try:
        yield current
    finally:
        book._current = before


def test_the_table_reads_its_numbers_from_the_results(session):
    md = guide.table()
    assert "| 问题 |" in md and md.count("\n| ") == 7
    assert "0.97×" in md and "1.93×" in md and "3.81×" in md
    assert "62.5 ms" in md and "12.3 ms" in md and "117 µs" in md
    assert "10,400" in md and "111,000" in md
    assert "251 µs" in md and "4.70 µs" in md
    # 由输入算出的量：json 占比 = 22 µs ÷ (1/10,400 s + 22 µs)
    share = 0.000022 / (1 / 10400 + 0.000022)
    assert f"{share:.0%}" in md
    assert "0.88×" in md  # Go 前置 ÷ 全 Python 的容量
    assert "反而更慢" in md  # 0.88 < 1 时的说法
    assert "[测量页](../../ch2/gil/)" in md and "[测量页](../mixed/)" in md


def test_changed_results_change_the_guide(session):
    before = guide.table()
    session.results.update(_results({**FAKE, "gofront_vs_py": 1.5, "threads_cpu": 1.9}))
    after = guide.table()
    assert after != before
    assert "1.50×" in after and "反而更慢" not in after
    assert "没有 GIL 的限制" in after


def test_the_flow_is_mermaid_with_measured_thresholds(session):
    flow = guide.flow()
    assert flow.startswith("```mermaid\nflowchart TD") and flow.endswith("```")
    assert "62.5 ms" in flow and "251 µs" in flow and "10,400" in flow
    # Mermaid 的节点语法：每行的方括号与花括号成对
    for line in flow.splitlines()[2:-1]:
        assert line.count("[") == line.count("]") and line.count("{") == line.count("}"), line


def test_a_missing_metric_fails_naming_it(session):
    del session.results["ch2.gc.python"].metrics["python.on_gen2_max_s"]
    with pytest.raises(PerflabError) as err:
        guide.table()
    message = str(err.value)
    assert "ch2.gc.python / python.on_gen2_max_s" in message
    assert "docs/ch2/gc.md" in message and "\n" not in message


def test_a_missing_experiment_fails_before_anything_is_measured(session):
    del session.experiments["ch4.serialization"]
    session.results.clear()  # 若先去读（测）别的结果，这里就会开始测量
    with pytest.raises(
        PerflabError, match=re.escape("ch4.serialization / python.json_encode_1k_s")
    ):
        guide.flow()
    assert session.results == {}
