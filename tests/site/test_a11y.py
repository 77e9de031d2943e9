"""What the pages give assistive technology: names, row headers, colour contrast, link styling.

Lighthouse checks three built pages in a browser (tests/site/test_lighthouse.py); these check
the rules themselves on every page of the built site and on the stylesheet, without a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perflab.site import a11y

ROOT = Path(__file__).resolve().parents[2]
EXTRA_CSS = ROOT / "docs/assets/stylesheets/extra.css"
# WCAG 2.x AA for normal-size text
AA = 4.5

TABLE = """<table>
<thead>
<tr>
<th></th>
<th style="text-align: right;">32 MiB</th>
</tr>
</thead>
<tbody>
<tr>
<td>Serial</td>
<td style="text-align: right;"><strong>58.6 ms</strong></td>
</tr>
<tr>
<td style="text-align: left;">G1</td>
<td style="text-align: right;">1 ms</td>
</tr>
</tbody>
</table>"""


def test_first_cells_become_row_headers_when_the_corner_is_empty():
    out = a11y.row_headers(f"<p>x</p>{TABLE}<p>y</p>")
    assert '<th scope="row">Serial</th>' in out
    assert '<th scope="row" style="text-align: left;">G1</th>' in out
    assert '<td style="text-align: right;"><strong>58.6 ms</strong></td>' in out
    assert out.count("<td") == 2  # only the first cell of each row changed
    labelled = TABLE.replace("<th></th>", "<th>收集器</th>")
    assert a11y.row_headers(labelled) == labelled


def test_the_search_dialog_takes_the_search_box_name():
    page = (
        '<div class="md-search" data-md-component="search" role="dialog">'
        '<input type="text" class="md-search__input" name="query" aria-label="搜索"></div>'
    )
    out = a11y.name_search_dialog(page)
    assert out.startswith('<div class="md-search" aria-label="搜索" data-md-component="search"')
    assert a11y.name_search_dialog(out) == out
    assert a11y.name_search_dialog("<p>no search</p>") == "<p>no search</p>"


def _luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    assert re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", digits), hex_colour
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_on_known_pairs():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#080", "#f5f5f5") == pytest.approx(contrast("#008800", "#f5f5f5"))


def material_code_background() -> str:
    import material

    css_dir = Path(material.__file__).parent / "templates/assets/stylesheets"
    (main,) = css_dir.glob("main.*.min.css")
    found = re.search(r"--md-code-bg-color:(#[0-9a-fA-F]{6})", main.read_text(encoding="utf-8"))
    assert found, "Material's stylesheet no longer declares --md-code-bg-color as a colour"
    return found[1]


def test_every_highlighted_token_colour_passes_aa_on_the_code_background():
    css = EXTRA_CSS.read_text(encoding="utf-8")
    tokens = dict(re.findall(r"--md-code-hl-([a-z]+)-color:\s*(#[0-9a-fA-F]{6})", css))
    # every token colour the theme defines for the light scheme is set here
    expected = {"number", "special", "function", "constant", "keyword", "string"}
    expected |= {"operator", "punctuation", "comment", "generic", "variable"}
    assert set(tokens) >= expected, sorted(expected - set(tokens))
    background = material_code_background()
    weak = {name: round(contrast(c, background), 2) for name, c in tokens.items()}
    assert all(ratio >= AA for ratio in weak.values()), weak


def test_links_in_text_are_underlined():
    css = EXTRA_CSS.read_text(encoding="utf-8")
    rule = re.search(r"\.md-typeset a:not\(\.headerlink\)[^{]*\{([^}]*)\}", css)
    assert rule and "text-decoration: underline" in rule[1]


@pytest.mark.site
def test_built_pages_name_the_search_and_head_their_rows(built_site: Path):
    for file in built_site.rglob("*.html"):
        html = file.read_text(encoding="utf-8")
        rel = file.relative_to(built_site).as_posix()
        dialog = re.search(r'<div class="md-search"[^>]*>', html)
        if dialog:
            assert 'aria-label="' in dialog[0], f"{rel}: {dialog[0]}"
        for table in re.findall(r"<table\b.*?</table>", html, re.S):
            if re.search(r"<thead>\s*<tr>\s*<th(?:\s[^>]*)?>\s*</th>", table):
                rows = re.findall(r"<tbody>.*?</tbody>", table, re.S)[0]
                assert not re.search(r"<tr>\s*<td", rows), f"{rel}: a row without its header"


def _declarations(block: str) -> dict[str, str]:
    return {k: v.strip() for k, v in re.findall(r"--([\w-]+):\s*([^;]+)", block)}


def notebook_colours() -> dict[str, str]:
    """The light-scheme custom properties notebook pages get: mkdocs-jupyter's, then ours."""
    import mkdocs_jupyter

    css = (
        Path(mkdocs_jupyter.__file__).parent / "templates/mkdocs_html/assets/index.css"
    ).read_text(encoding="utf-8")
    values: dict[str, str] = {}
    for block in re.findall(r"(?<=[};])\.jupyter-wrapper\{([^}]*)\}", css):
        values.update(_declarations(block))
    ours = re.search(r"body \.jupyter-wrapper \{([^}]*)\}", EXTRA_CSS.read_text(encoding="utf-8"))
    assert ours, "extra.css no longer adjusts the notebook highlight colours"
    values.update(_declarations(ours[1]))
    return values


def resolve(value: str, values: dict[str, str]) -> str:
    while (ref := re.fullmatch(r"var\(--([\w-]+)\)", value)) is not None:
        value = values[ref[1]]
    return value


@pytest.mark.site
def test_notebook_code_colours_pass_aa(built_site: Path):
    values = notebook_colours()
    background = resolve(values["jp-cell-editor-background"], values)
    used = set()
    for page in built_site.glob("labs/*/index.html"):
        html = page.read_text(encoding="utf-8")
        used |= set(re.findall(r"\.highlight-ipynb \.\w+ \{ color: var\(--([\w-]+)\)", html))
    assert used, "no notebook page with highlighted code"
    ratios = {name: contrast(resolve(values[name], values), background) for name in sorted(used)}
    assert all(r >= AA for r in ratios.values()), {k: round(v, 2) for k, v in ratios.items()}
