"""Charts cached on disk: a rebuild with nothing changed reads each SVG and draws nothing.

The key is everything a drawing depends on: the chart's plan (its spec and the summaries it
draws), the style and drawing code (charts.py's source), and matplotlib's version, read from
the package metadata so that a cache hit never imports matplotlib.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from perflab import files, paths

# 缓存格式；改了清理 SVG 的方式而 charts.py 未变时加一
FORMAT = 1


@functools.cache
def matplotlib_version() -> str:
    try:
        return metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        return "missing"


@functools.cache
def _code_digest() -> str:
    source = Path(__file__).with_name("charts.py").read_bytes()
    return hashlib.sha256(source + Path(__file__).read_bytes()).hexdigest()


def key(plan: dict) -> str:
    material = {
        "format": FORMAT,
        "plan": plan,
        "code": _code_digest(),
        "matplotlib": matplotlib_version(),
    }
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def path_for(plan: dict) -> Path:
    return paths.cache_dir() / "charts" / f"{key(plan)}.svg"


def svg(plan: dict, draw: Callable[[], str]) -> str:
    """The chart's SVG from the cache, or drawn now and stored (atomically) for next time."""
    path = path_for(plan)
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    drawn = draw()
    files.write_text(path, drawn)
    return drawn
