"""Notebook pages get JupyterLab's stylesheet without the rules for widgets they do not have
(perflab/site/css_prune.py); pruning must not change how any element of the page looks."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.site import css_prune

CLASSES = {"jupyter-wrapper", "jp-Cell", "highlight-ipynb", "md-typeset"}


def test_a_rule_goes_only_when_it_needs_a_jupyterlab_class_the_page_lacks():
    assert css_prune.can_match(".jupyter-wrapper .jp-Cell pre", CLASSES)
    assert not css_prune.can_match(".jupyter-wrapper .bp3-button", CLASSES)
    assert not css_prune.can_match(".jp-Cell.jp-mod-active", CLASSES)
    # not JupyterLab's: set by other scripts (Material wraps tables at run time), kept
    assert css_prune.can_match(".jupyter-wrapper .md-typeset__scrollwrap", CLASSES)
    # classes inside :not() / :is() need not exist; escaped names are not judged
    assert css_prune.can_match(".jp-Cell:not(.jp-mod-active)", CLASSES)
    assert css_prune.can_match(":is(.jp-Toolbar, .jp-Cell) > pre", CLASSES)
    assert css_prune.can_match(".jp-icon\\:hover", CLASSES)
    assert css_prune.can_match("table tr:nth-child(odd)", CLASSES)


def test_prune_keeps_what_applies_and_the_licence():
    css = (
        "/*! licence notice */"
        ".jp-Cell{color:red}.bp3-button{color:blue}"
        ".jp-Toolbar,.jp-Cell pre{margin:0}"
        "@media (max-width:600px){.bp3-dialog{top:0}.jp-Cell{padding:0}}"
        "@media print{.lm-Widget{display:none}}"
        "@keyframes spin{from{opacity:0}to{opacity:1}}"
    )
    out = css_prune.prune(css, CLASSES)
    assert "/*! licence notice */" in out
    assert ".jp-Cell{color:red}" in out and ".jp-Toolbar,.jp-Cell pre{margin:0}" in out
    assert "bp3" not in out and "lm-Widget" not in out and "@media print" not in out
    assert "@media (max-width:600px){.jp-Cell{padding:0}}" in out
    assert "@keyframes spin" in out
    assert css_prune.page_classes('<div class="a b"><p class="c">') == {"a", "b", "c"}


# Computed style of every element in the notebook's article, as one JSON-able list.
STYLES = """() => {
    const props = ['display', 'color', 'background-color', 'font-size', 'font-family',
        'font-weight', 'font-style', 'margin-top', 'margin-left', 'padding-top', 'padding-left',
        'border-top-width', 'border-top-color', 'width', 'height', 'white-space', 'overflow-x',
        'position', 'line-height', 'text-align', 'visibility', 'opacity'];
    return [...document.querySelectorAll('article *')].map(el => {
        const style = getComputedStyle(el);
        return el.tagName + ' ' + props.map(p => style.getPropertyValue(p)).join('|');
    });
}"""


@pytest.mark.browser
def test_pruning_changes_no_element_of_a_notebook_page(
    browser, served_site: str, built_site: Path
) -> None:
    import mkdocs_jupyter

    full = (
        Path(mkdocs_jupyter.__file__).parent / "templates/mkdocs_html/assets/index.css"
    ).read_text(encoding="utf-8")
    (page_file, *_) = sorted(built_site.glob("labs/*/index.html"))
    path = page_file.parent.relative_to(built_site).as_posix() + "/"
    pruned = css_prune.prune(full, css_prune.page_classes(page_file.read_text(encoding="utf-8")))
    assert len(pruned) < len(full) / 2, "JupyterLab's stylesheet no longer shrinks much"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{served_site}/{path}", wait_until="load")
        # the page's own (already pruned) JupyterLab sheet out; the full one, then the pruned
        page.evaluate(
            """() => document.querySelectorAll('link[href*="stylesheets/inline/"]')
                .forEach(l => l.remove())"""
        )
        page.evaluate(
            "css => { const s = document.createElement('style'); s.id = 'jl';"
            " s.textContent = css; document.head.appendChild(s); }",
            full,
        )
        with_full = page.evaluate(STYLES)
        page.evaluate("css => { document.getElementById('jl').textContent = css; }", pruned)
        with_pruned = page.evaluate(STYLES)
    finally:
        context.close()
    assert len(with_full) > 100
    changed = [(a, b) for a, b in zip(with_full, with_pruned, strict=True) if a != b]
    assert not changed, f"/{path}: {len(changed)} elements look different, e.g. {changed[:3]}"
