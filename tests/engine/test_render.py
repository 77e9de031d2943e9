"""Rendering details readers depend on: links between pages, run names (charts: test_charts)."""

import pytest

from perflab.render import page_href


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


@pytest.mark.parametrize(
    ("run", "label"),
    [("python", "Python"), ("JVM", "JVM"), ("py312", "Python 3.12"), ("py313t", "Python 3.13t")],
)
def test_runs_are_named_for_readers(run, label):
    from perflab.results import run_label

    assert run_label(run) == label


def test_a_chart_is_held_while_a_site_is_built_and_inline_otherwise(monkeypatch):
    from perflab import book, slots

    monkeypatch.setattr(slots, "_held", None)
    session = book.start(profile="quick")
    exp_id = next(e for e, exp in session.experiments.items() if exp.charts)
    # 不测量：结果与画图都换成替身，只看图表走不走占位
    monkeypatch.setattr(session, "result", lambda _exp_id: None)
    monkeypatch.setattr(book.render, "chart_html", lambda _result, _charts: "<svg>图</svg>")
    assert session.chart_block(exp_id) == "<svg>图</svg>"
    slots.open_build()
    held = session.chart_block(exp_id)
    assert slots.PATTERN.fullmatch(held)
    assert slots.fill(f"<p>前</p>{held}") == "<p>前</p>" + slots.FILLED.format(html="<svg>图</svg>")
