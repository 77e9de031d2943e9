"""Remember what markdown-exec made of an exec block's output, so a cached rebuild converts nothing.

markdown-exec turns each block's printed Markdown into HTML with a fresh Markdown instance that
re-registers every extension (about 15 ms a block, about 1 s for the book). When the results
come from the cache, the printed Markdown is byte-for-byte what it was last build, and so is the
HTML. This module keeps that HTML on disk, keyed by the text, the block's id prefix and a
fingerprint of everything the conversion depends on (mkdocs.yml and the versions of Markdown,
pymdown-extensions and markdown-exec), and hands it back instead of converting again.

Output that makes headings (they must reach the page's table of contents) or carries stashed
HTML is always converted afresh and stays in the page; all other output is held back from the
search index (perflab.slots) and joins the page once it is rendered. `install()` wraps
markdown-exec's converter once per process; if markdown-exec's internals move in a future
version, it does nothing and the build is only slower (markdown-exec is pinned).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import re

from markupsafe import Markup

from perflab import files, paths, slots

HEADING = re.compile(r"^\s{0,3}#|<h[1-6][\s>]", re.MULTILINE)
PACKAGES = ("markdown", "pymdown-extensions", "markdown-exec", "mkdocs-material")


def _fingerprint() -> str:
    digest = hashlib.sha256((paths.ROOT / "mkdocs.yml").read_bytes())
    for name in PACKAGES:
        digest.update(f"{name}={importlib.metadata.version(name)}".encode())
    return digest.hexdigest()


def cached_convert(convert, fingerprint: str):
    """Wrap a converter `convert(self, text, stash=None, id_prefix=None)` with the disk cache."""

    def wrapper(self, text, stash=None, id_prefix=None):
        if stash or HEADING.search(text):
            return convert(self, text, stash=stash, id_prefix=id_prefix)
        key = hashlib.sha256(f"{fingerprint}\0{id_prefix}\0{text}".encode()).hexdigest()
        path = paths.cache_dir() / "markdown" / key[:2] / f"{key}.html"
        try:
            html = path.read_text(encoding="utf-8")
        except OSError:
            html = str(convert(self, text, stash=stash, id_prefix=id_prefix))
            with contextlib.suppress(OSError):  # 缓存写不进去只是慢一点
                files.write_text(path, html)
        # 我们自己转换出的 HTML
        return Markup(slots.hold(html))

    wrapper.perflab_cached = True
    return wrapper


def install() -> bool:
    """Wrap markdown-exec's Markdown converter with the cache; False if it cannot be found."""
    try:
        from markdown_exec._internal.rendering import MarkdownConverter
    except ImportError:
        return False
    if getattr(MarkdownConverter.convert, "perflab_cached", False):
        return True
    MarkdownConverter.convert = cached_convert(MarkdownConverter.convert, _fingerprint())
    return True
