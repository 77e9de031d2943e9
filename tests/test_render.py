"""Rendering details readers depend on: links between pages and honest charts."""

import pytest

from perflab.charts import bar_chart, line_chart
from perflab.render import page_href
from perflab.results import Metric


@pytest.mark.parametrize(
    ("target", "source", "href"),
    [
        ("ch1/gil.md", "index.md", "ch1/gil/"),
        ("ch1/gil.md", "data.md", "../ch1/gil/"),
        ("ch1/index.md", "ch1/gil.md", "../"),
        ("labs/gil.ipynb", "index.md", "labs/gil/"),
    ],
)
def test_links_from_exec_output_point_at_built_pages(target, source, href):
    assert page_href(target, source) == href


def metric(key: str, unit: str, values: list[float]) -> Metric:
    run, name = key.split(".")
    return Metric(key, run, name, name, unit, values)


def test_chart_keeps_text_as_text_and_labels_every_bar():
    svg = bar_chart(
        "两线程与两进程", [metric("python.a", "s", [0.1, 0.2]), metric("go.b", "s", [0.3])]
    )
    assert svg.count("<rect") == 2
    assert "<text" in svg and "两线程与两进程" in svg
    assert "Python · a" in svg and "Go · b" in svg


def test_chart_refuses_to_mix_units():
    with pytest.raises(ValueError, match="mixes units"):
        bar_chart("混合", [metric("python.a", "s", [1.0]), metric("python.b", "B", [1.0])])


@pytest.mark.parametrize(
    ("run", "label"),
    [("python", "Python"), ("JVM", "JVM"), ("py312", "Python 3.12"), ("py313t", "Python 3.13t")],
)
def test_runs_are_named_for_readers(run, label):
    from perflab.results import run_label

    assert run_label(run) == label


def test_line_chart_draws_one_line_per_series_with_whiskers():
    threads = [metric(f"python.t{i}", "s", [1.0, 1.1]) for i in (1, 2, 4)]
    procs = [metric(f"python.p{i}", "s", [v, v]) for i, v in ((1, 1.0), (2, 0.5), (4, 0.5))]
    svg = line_chart(
        "耗时随工作者数", ["1", "2", "4"], [("线程", threads), ("进程", procs)], "工作者数"
    )
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 6
    assert "线程" in svg and "进程" in svg and "工作者数" in svg
    assert "进程：1 1.00 s，2 500 ms，4 500 ms" in svg  # 替代文字里有每个点的数值


def test_line_chart_needs_one_metric_per_x_value():
    with pytest.raises(ValueError, match="one metric per x value"):
        line_chart("缺点", ["1", "2"], [("线程", [metric("python.a", "s", [1.0])])])


def test_boundary_map_draws_the_quoted_figure_on_a_log_axis():
    # 实测曲线从 30 µs 到 3 ms，引文 150 µs：参考线画在两点之间，刻度是 10 的整数次幂
    points = [metric(f"python.e{i}", "s", [v, v]) for i, v in enumerate((30e-6, 300e-6, 3e-3))]
    svg = line_chart(
        "编码耗时", ["1 KB", "10 KB", "100 KB"], [("json", points)], "载荷",
        references=[(150e-6, "引文：json 150 µs")], y_log=True,
    )  # fmt: skip
    assert svg.count('class="perflab-reference"') == 1 and "引文：json 150 µs" in svg
    assert "参考线 引文：json 150 µs：150 µs" in svg  # 替代文字里也有参考线
    for tick in ("10 µs", "100 µs", "1 ms", "10 ms"):
        assert f">{tick}</text>" in svg
    assert "纵轴为对数刻度" in svg


def test_log_axis_refuses_non_positive_values():
    with pytest.raises(ValueError, match="positive"):
        line_chart(
            "零",
            ["a", "b"],
            [("x", [metric("python.a", "", [0.0]), metric("python.b", "", [1.0])])],
            y_log=True,
        )
