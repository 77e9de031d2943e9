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
