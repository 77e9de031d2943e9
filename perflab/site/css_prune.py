"""Drop the rules of JupyterLab's stylesheet that can match nothing on a static notebook page.

mkdocs-jupyter gives every notebook page the whole JupyterLab stylesheet (575 kB): styles for
the application around a notebook (toolbars, dialogs, Blueprint widgets, the file browser),
which a page rendered by nbconvert never contains. It is render-blocking, so on a phone the
page's first code cell waits for it. A rule is dropped only when one of its selectors' class
names that every element must carry belongs to JupyterLab's own widget libraries (``OWNED``)
and appears on no element of the page; those classes are set by JupyterLab's JavaScript,
which a static page does not load. Everything else is kept as it is: rules for elements the
page has, at-rules such as ``@keyframes``, selectors that are not plain enough to judge
(escapes), classes inside ``:not()``/``:is()``/``:has()``, and the licence comments.

Parsing uses tinycss2; the result is cached by the stylesheet and the page's classes, so a
rebuild that changes no notebook parses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import re

import tinycss2

from perflab import files, paths

# Bump when the rules below change (cached results are then recomputed).
VERSION = "1"
# Class prefixes of JupyterLab, Lumino, Blueprint, CodeMirror and the ANSI output colours.
OWNED = ("jp-", "lm-", "p-", "bp3-", "CodeMirror", "cm-", "ansi-")
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_CLASS_ATTR = re.compile(r'\bclass="([^"]*)"')
_PARENS = re.compile(r"\([^()]*\)")


def page_classes(html: str) -> set[str]:
    """Every class name used on the page's elements."""
    found: set[str] = set()
    for value in _CLASS_ATTR.findall(html):
        found.update(value.split())
    return found


def can_match(selector: str, classes: set[str]) -> bool:
    """False only if the selector needs a JupyterLab-owned class the page does not have."""
    if "\\" in selector:
        return True
    plain = selector
    while (stripped := _PARENS.sub("", plain)) != plain:  # :not(.x), :is(.a, .b), …
        plain = stripped
    return all(name in classes or not name.startswith(OWNED) for name in _CLASS.findall(plain))


def _prune(rules, classes: set[str]) -> str:
    out = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = tinycss2.serialize(rule.prelude).split(",")
            if any(can_match(s, classes) for s in selectors):
                out.append(rule.serialize())
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports"):
            if rule.content is None:
                out.append(rule.serialize())
                continue
            inner = _prune(tinycss2.parse_rule_list(rule.content, skip_whitespace=True), classes)
            if inner.strip():
                prelude = tinycss2.serialize(rule.prelude)
                out.append(f"@{rule.at_keyword}{prelude}{{{inner}}}")
        elif rule.type != "whitespace":
            out.append(rule.serialize())  # other at-rules, comments (licences)
    return "".join(out)


def prune(css: str, classes: set[str]) -> str:
    """The stylesheet without the rules that can match no element of a page with `classes`."""
    return _prune(tinycss2.parse_stylesheet(css, skip_whitespace=True), classes)


def cached_prune(css: str, classes: set[str]) -> str:
    """`prune`, remembered in the engine's cache folder."""
    digest = hashlib.sha256(VERSION.encode())
    digest.update(css.encode())
    digest.update("\0".join(sorted(classes)).encode())
    key = digest.hexdigest()
    path = paths.cache_dir() / "css" / key[:2] / f"{key}.css"
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8")
    result = prune(css, classes)
    with contextlib.suppress(OSError):  # 缓存写不进去只是慢一点
        files.write_text(path, result)
    return result
