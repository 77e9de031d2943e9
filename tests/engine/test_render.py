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


def test_a_chart_placeholder_without_its_chart_fails_loudly(monkeypatch):
    from perflab import book
    from perflab.errors import PerflabError

    session = book.start(profile="quick")
    session.chart_slots = {"0123456789abcdef": "<svg>图</svg>"}
    page = f"<p>前</p>{book.CHART_SLOT.format(key='0123456789abcdef')}<p>后</p>"
    assert book.fill_chart_slots(page) == "<p>前</p><svg>图</svg><p>后</p>"
    with pytest.raises(PerflabError, match="placeholder fedcba9876543210 has no chart"):
        book.fill_chart_slots(book.CHART_SLOT.format(key="fedcba9876543210"))
