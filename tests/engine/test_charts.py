"""Charts drawn by matplotlib: text stays text, values in the alt text, log ticks at decades,
quoted figures drawn, the new kinds from the registry, and a cached chart draws nothing."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perflab import chart_cache, charts, registry, render
from perflab.results import Metric, Result

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def chart_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def metric(key: str, unit: str, values: list[float]) -> Metric:
    run, name = key.split(".")
    return Metric(key, run, name, name, unit, values)


def texts(html: str) -> list[str]:
    return re.findall(r"<text\b[^>]*>([^<]*)</text>", html)


def test_text_is_text_and_no_font_or_third_party_reference():
    html = charts.bar_chart("两线程与两进程", [metric("python.线程", "s", [0.1, 0.2])])
    assert "Python · 线程" in texts(html)
    # 没有把字形画成路径，没有嵌入字体，没有写死字体族（由页面的字体栈决定）
    assert "<text" in html and "@font-face" not in html and "font-family" not in html
    assert "glyph" not in html.lower() and "base64" not in html
    assert "<?xml" not in html and "DOCTYPE" not in html and "<metadata" not in html
    assert "<style" not in html  # matplotlib 的全局 *{…} 样式会作用到整页，已去掉
    hosts = set(re.findall(r"https?://[^\s\"')]+", html))
    assert hosts <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, hosts


def test_bar_chart_names_every_bar_with_its_median_and_interval_in_the_alt_text():
    html = charts.bar_chart(
        "耗时", [metric("python.a", "s", [0.1, 0.2, 0.3]), metric("go.b", "s", [0.03])]
    )
    assert html.count("<path") >= 2
    desc = re.search(r"<desc>(.*?)</desc>", html)[1]
    assert "Python · a：中位数 200 ms，95% 区间 100 ms – 300 ms" in desc
    assert "Go · b：中位数 30.0 ms" in desc
    assert 'role="img" aria-label="耗时"' in html and "<title>耗时</title>" in html
    assert "<figcaption>" in html and "单位 ms" in html
    assert "200 ms" in texts(html)  # 每个条形旁写着中位数


def test_chart_refuses_to_mix_units():
    with pytest.raises(ValueError, match="mixes units"):
        charts.bar_chart("混合", [metric("python.a", "s", [1.0]), metric("python.b", "B", [1.0])])


def test_line_chart_draws_one_line_per_series_with_values_in_the_alt_text():
    threads = [metric(f"python.t{i}", "s", [1.0, 1.1]) for i in (1, 2, 4)]
    procs = [metric(f"python.p{i}", "s", [v, v]) for i, v in ((1, 1.0), (2, 0.5), (4, 0.5))]
    html = charts.line_chart(
        "耗时随工作者数", ["1", "2", "4"], [("线程", threads), ("进程", procs)], "工作者数"
    )
    labels = texts(html)
    assert {"线程", "进程", "工作者数", "1", "2", "4"} <= set(labels)  # 图例、轴标题、刻度
    assert "进程：1 1.00 s，2 500 ms，4 500 ms" in html
    assert "var(--perflab-s0" in html and "var(--perflab-s1" in html  # 两条线两种颜色
    assert "var(--perflab-grid" in html  # 浅色网格线


def test_line_chart_needs_one_metric_per_x_value():
    with pytest.raises(ValueError, match="one metric per x value"):
        charts.line_chart("缺点", ["1", "2"], [("线程", [metric("python.a", "s", [1.0])])])


def test_boundary_map_draws_the_quoted_figures_on_a_log_axis_with_decade_ticks():
    points = [metric(f"python.e{i}", "s", [v, v]) for i, v in enumerate((30e-6, 300e-6, 3e-3))]
    html = charts.line_chart(
        "编码耗时", ["1 KB", "10 KB", "100 KB"], [("json", points)], "载荷",
        references=[(150e-6, "引文：json 150 µs"), (170e-6, "引文：另一篇 170 µs")], y_log=True,
    )  # fmt: skip
    labels = texts(html)
    assert "引文：json 150 µs" in labels and "引文：另一篇 170 µs" in labels
    assert "参考线 引文：json 150 µs：150 µs" in html  # 替代文字里也有参考线
    assert html.count("var(--perflab-reference") >= 4  # 两条虚线、两个标签
    assert [t for t in labels if t[0].isdigit() and t.endswith("s")] == [
        "10 µs",
        "100 µs",
        "1 ms",
        "10 ms",
    ]
    assert "纵轴为对数刻度" in html


def test_close_reference_labels_do_not_overlap():
    points = [metric(f"python.e{i}", "", [v, v]) for i, v in enumerate((700, 900))]
    html = charts.line_chart(
        "切换", ["a", "b"], [("s", points)], references=[(800, "引文甲：800"), (805, "引文乙：805")]
    )
    boxes = []
    for m in re.finditer(r'<text[^>]* x="([\d.]+)" y="([\d.]+)"[^>]*>(引文[^<]*)</text>', html):
        right, y, label = float(m[1]), float(m[2]), m[3]  # 右对齐：x 是右端
        boxes.append((right - charts.text_width(label, charts.SMALL), right, y))
    assert len(boxes) == 2
    (l1, r1, y1), (l2, r2, y2) = boxes
    assert abs(y1 - y2) >= 14 or r2 <= l1 or r1 <= l2, boxes


def test_log_axis_refuses_non_positive_values():
    with pytest.raises(ValueError, match="positive"):
        charts.line_chart(
            "零", ["a", "b"],
            [("x", [metric("python.a", "", [0.0]), metric("python.b", "", [1.0])])], y_log=True,
        )  # fmt: skip


def test_numeric_sweep_on_a_log_x_axis_ticks_at_its_values():
    points = [metric(f"python.c{i}", "", [v]) for i, v in enumerate((10, 40, 90))]
    html = charts.line_chart(
        "吞吐随并发", ["1", "10", "100"], [("吞吐", points)], "并发连接数",
        x_values=[1, 10, 100], x_log=True,
    )  # fmt: skip
    assert {"1", "10", "100", "并发连接数"} <= set(texts(html))
    assert "横轴为对数刻度" in html


def test_percentile_plot_puts_the_tail_on_a_log_axis():
    html = charts.percentile_chart(
        "延迟分布",
        [("Python", [(50, 0.002), (99, 0.01), (99.9, 0.05), (99.99, 0.2)])],
        unit="s",
        references=[(0.1, "引文：100 ms")],
    )
    labels = texts(html)
    assert [t for t in labels if t.startswith("p")] == ["p50", "p90", "p99", "p99.9", "p99.99"]
    assert "Python：p50 2.00 ms，p99 10.0 ms，p99.9 50.0 ms，p99.99 200 ms" in html
    assert "引文：100 ms" in labels
    # 横轴按 1/(1-q) 取对数：p90、p99、p99.9 的刻度等距
    ticks = [float(x) for x in re.findall(r'<text[^>]* x="([\d.]+)"[^>]*>p9[^<]*</text>', html)]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(gaps) == 3 and max(gaps) - min(gaps) < 0.5, ticks


def test_timeseries_draws_values_against_seconds_with_events():
    t = [i * 0.5 for i in range(40)]
    v = [0.01 + (0.09 if 10 <= x < 12 else 0.0) for x in t]
    html = charts.timeseries_chart(
        "回收 worker 时的延迟", [("p99", t, v)], "s", events=[(10, "worker 重启")]
    )
    assert "worker 重启" in texts(html) and "时间（秒）" in texts(html)
    assert "p99：40 个点，0–19.5 秒" in html and "最大 100 ms（第 10 秒）" in html
    assert "事件 worker 重启：第 10 秒" in html


def test_grouped_bars_one_colour_per_run_with_intervals():
    html = charts.grouped_bar_chart(
        "停顿",
        ["32 MiB", "128 MiB"],
        [("G1", [metric("g1.a", "s", [1e-3, 2e-3]), metric("g1.b", "s", [3e-3])]),
         ("ZGC", [metric("z.a", "s", [1e-4]), metric("z.b", "s", [2e-4])])],
    )  # fmt: skip
    assert {"32 MiB", "128 MiB", "G1", "ZGC"} <= set(texts(html))
    assert "G1：32 MiB 1.50 ms，128 MiB 3.00 ms" in html
    assert "var(--perflab-s0" in html and "var(--perflab-s1" in html


def test_charts_on_one_page_do_not_share_ids():
    a = charts.line_chart(
        "甲", ["1", "2"], [("x", [metric("p.a", "", [1]), metric("p.b", "", [2])])]
    )
    b = charts.line_chart(
        "乙", ["1", "2"], [("x", [metric("p.a", "", [3]), metric("p.b", "", [4])])]
    )
    ids_a = set(re.findall(r' id="([^"]+)"', a))
    ids_b = set(re.findall(r' id="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b
    for ref in re.findall(r'#([\w-]+)"', a):
        assert ref in ids_a  # 每个引用都指向本图里定义的 id


def test_same_chart_is_byte_identical_and_cached(chart_cache_dir: Path, monkeypatch):
    args = ("耗时", [metric("python.a", "s", [0.1, 0.2])])
    first = charts.bar_chart(*args)
    assert len(list((chart_cache_dir / "charts").glob("*.svg"))) == 1
    # 第二次命中缓存：不再画图
    monkeypatch.setattr(charts, "_draw", lambda plan: pytest.fail("drew a cached chart"))
    assert charts.bar_chart(*args) == first
    # 数据变了，键就变了
    monkeypatch.undo()
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(chart_cache_dir))
    charts.bar_chart("耗时", [metric("python.a", "s", [0.1, 0.3])])
    assert len(list((chart_cache_dir / "charts").glob("*.svg"))) == 2


def test_drawing_is_byte_identical_between_processes(tmp_path: Path):
    code = textwrap.dedent(
        """
        import sys
        from perflab import charts
        from perflab.results import Metric
        m = Metric("python.a", "python", "a", "a", "s", [0.1, 0.2, 0.3])
        html = charts.line_chart("t", ["1"], [("x", [m])], y_log=True)
        print("matplotlib" in sys.modules)
        sys.stdout.write(html)
        """
    )
    outputs = []
    for cache in ("c1", "c2", "c2"):
        env = {**os.environ, "PERFLAB_CACHE_DIR": str(tmp_path / cache)}
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        imported, html = done.stdout.split("\n", 1)
        outputs.append((imported, html))
    # 两个空缓存各画一次，结果逐字节相同；第三次命中缓存，连 matplotlib 都没导入
    assert outputs[0][1] == outputs[1][1] == outputs[2][1]
    assert [o[0] for o in outputs] == ["True", "True", "False"]


def test_cache_key_follows_the_matplotlib_version(monkeypatch):
    plan = {"kind": "bar", "title": "x"}
    before = chart_cache.key(plan)
    monkeypatch.setattr(chart_cache, "matplotlib_version", lambda: "0.0")
    assert chart_cache.key(plan) != before


# 注册表里的新图类型


def load_charts(tmp_book, toml: str) -> list[registry.Chart]:
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    registry_file.write_text(registry_file.read_text() + textwrap.dedent(toml))
    return registry.get(registry.load(), "t.exp").charts


def result_with(metrics: list[Metric], series: dict | None = None) -> Result:
    return Result(
        "t.exp", "测试", "t.md", "quick", {m.key: m for m in metrics}, series=series or {}
    )


def test_registry_percentiles_chart(tmp_book):
    (chart,) = load_charts(
        tmp_book,
        """
        [[experiment.chart]]
        kind = "percentiles"
        title = "延迟分位"
        percentiles = [50, 99, 99.9]
        series = [{ label = "Python", metrics = ["python.p50", "python.p99", "python.p999"] }]
        """,
    )
    assert chart.kind == "percentiles" and chart.x_values == (50.0, 99.0, 99.9)
    ms = [
        metric(f"python.{k}", "s", [v]) for k, v in (("p50", 1e-3), ("p99", 5e-3), ("p999", 2e-2))
    ]
    html = render.chart_html(result_with(ms), [chart])
    assert "Python：p50 1.00 ms，p99 5.00 ms，p99.9 20.0 ms" in html


def test_registry_grouped_chart(tmp_book):
    (chart,) = load_charts(
        tmp_book,
        """
        [[experiment.chart]]
        kind = "grouped"
        title = "两种条件"
        x = ["小", "大"]
        series = [
          { label = "Python", metrics = ["python.s", "python.l"] },
          { label = "Go", metrics = ["go.s", "go.l"] },
        ]
        """,
    )
    ms = [
        metric(k, "s", [v])
        for k, v in (("python.s", 1), ("python.l", 2), ("go.s", 0.1), ("go.l", 0.2))
    ]
    html = render.chart_html(result_with(ms), [chart])
    assert "Go：小 100 ms，大 200 ms" in html and "<figure" in html


def test_registry_timeseries_chart(tmp_book):
    (chart,) = load_charts(
        tmp_book,
        """
        [[experiment.chart]]
        kind = "timeseries"
        title = "回收时的延迟"
        series = [{ label = "p99", key = "python.latency" }]
        """,
    )
    series = {"python.latency": {"unit": "s", "t": [0, 1, 2], "values": [0.01, 0.2, 0.01],
                                 "events": [[1, "重启"]]}}  # fmt: skip
    html = render.chart_html(result_with([], series), [chart])
    assert "最大 200 ms（第 1 秒）" in html and "重启" in texts(html)


def test_registry_refuses_an_unknown_kind_and_a_log_x_without_numbers(tmp_book):
    from perflab.errors import PerflabError

    with pytest.raises(PerflabError, match="kind 'pie'"):
        load_charts(tmp_book, '[[experiment.chart]]\nkind = "pie"\ntitle = "饼"\n')
    tmp_book.write_registry()
    with pytest.raises(PerflabError, match="numeric x values"):
        load_charts(
            tmp_book,
            '[[experiment.chart]]\nkind = "line"\ntitle = "对数"\nx = ["a", "b"]\n'
            'x_scale = "log"\nseries = [{ label = "s", metrics = ["python.a", "python.b"] }]\n',
        )
