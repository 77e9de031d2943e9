"""MkDocs hook: names and table headers that assistive technology needs (perflab/site/a11y.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from perflab.site import a11y  # noqa: E402


def on_post_page(output: str, page, config, **kwargs) -> str:
    return a11y.fix(output)


def on_post_template(output_content: str, template_name: str, config, **kwargs) -> str:
    # 404.html is rendered from the theme's template, not as a page
    return a11y.name_search_dialog(output_content)
