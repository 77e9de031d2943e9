"""Move large inline <style> blocks into shared, cacheable stylesheet files.

mkdocs-jupyter puts the whole JupyterLab theme (over half a megabyte of CSS) inline into
every notebook page, so each notebook a reader opens downloads it again. This hook writes
each such block once to ``assets/stylesheets/inline/<hash>.css`` and links it from the page
in the same place, so the order of the cascade is unchanged and the browser caches it.
Blocks that reference relative URLs stay inline (they would resolve against another path).
Before it is written, the rules that can match no element of the page are dropped
(perflab/site/css_prune.py: most of JupyterLab's theme styles widgets a static page lacks).
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from perflab.site import css_prune  # noqa: E402

MIN_BYTES = 32 * 1024
FOLDER = "assets/stylesheets/inline"

_STYLE = re.compile(r"<style\b(?P<attrs>[^>]*)>(?P<css>.*?)</style>", re.S | re.I)
_RELATIVE_URL = re.compile(r"""url\(\s*(?!['"]?(?:data:|https?:|/|#))""", re.I)

_files: dict[str, str] = {}


def _extract(match: re.Match, page_url: str, classes: set[str]) -> str:
    css = match["css"]
    attrs = match["attrs"]
    if len(css.encode()) < MIN_BYTES or "media=" in attrs or _RELATIVE_URL.search(css):
        return match[0]
    css = css_prune.cached_prune(css, classes)
    digest = hashlib.sha256(css.encode()).hexdigest()[:16]
    path = f"{FOLDER}/{digest}.css"
    _files[path] = css
    return f'<link rel="stylesheet" href="{get_relative_url(path, page_url)}">'


def on_pre_build(config, **kwargs) -> None:
    _files.clear()


def on_post_page(output: str, page, config, **kwargs) -> str:
    if "<style" not in output:
        return output
    classes = css_prune.page_classes(output)
    return _STYLE.sub(lambda m: _extract(m, page.url, classes), output)


def on_post_build(config, **kwargs) -> None:
    for path, css in _files.items():
        target = Path(config["site_dir"]) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(css, encoding="utf-8")
