"""MkDocs hook: every Mermaid diagram becomes inline SVG at build time (perflab/site/diagrams.py).

No page loads Mermaid's JavaScript: the diagrams are drawn once, in one headless Chromium per
build (only for diagrams missing from the cache), and a diagram that cannot be drawn fails the
build with the page's name.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.exceptions import PluginError  # noqa: E402

from perflab.errors import PerflabError  # noqa: E402
from perflab.site import diagrams  # noqa: E402

_build: diagrams.Build | None = None


def _close() -> None:
    global _build
    if _build is not None:
        _build.close()
        _build = None


def on_pre_build(config, **kwargs) -> None:
    global _build
    _close()
    try:
        diagrams.mermaid_js()  # fail before minutes of measuring if Mermaid is not installed
    except PerflabError as exc:
        raise PluginError(f"diagrams: {exc}") from None
    _build = diagrams.Build()


def on_post_page(output: str, page, config, **kwargs) -> str:
    if _build is None:
        return output
    try:
        return _build.replace(output, page.file.src_uri)
    except PerflabError as exc:
        _close()
        raise PluginError(f"diagrams: {exc}") from None


def on_post_build(config, **kwargs) -> None:
    if _build is not None:
        print(f"[diagrams] {_build.summary()}", file=sys.stderr, flush=True)
    _close()


def on_build_error(error, **kwargs) -> None:
    _close()


def on_shutdown(**kwargs) -> None:
    _close()
