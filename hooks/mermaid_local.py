"""Serve Mermaid from the site itself instead of Material's CDN fallback.

Material loads ``mermaid.min.js`` from a public CDN only when ``window.mermaid`` is
undefined. We copy the pinned copy from ``node_modules`` (see package.json) into the
built site and add a ``<script>`` for it to the pages that draw a diagram, so every
request stays on our own host.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
TARGET = "assets/vendor/mermaid/mermaid.min.js"

_MARKER = 'class="mermaid"'


def _require_source() -> Path:
    if not SOURCE.is_file():
        raise PluginError(
            f"mermaid_local: {SOURCE.relative_to(ROOT)} is missing; run `make setup` (or `npm ci`)"
        )
    return SOURCE


def on_pre_build(config, **kwargs) -> None:
    # Fail before spending minutes on measurements if the asset is absent.
    _require_source()


def on_post_page(output: str, page, config, **kwargs) -> str:
    if _MARKER not in output:
        return output
    src = get_relative_url(TARGET, page.url)
    tag = f'<script src="{src}"></script>\n'
    index = output.rfind("</body>")
    if index == -1:
        return output + tag
    return output[:index] + tag + output[index:]


def on_post_build(config, **kwargs) -> None:
    source = _require_source()
    dest = Path(config["site_dir"]) / TARGET
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
