"""Chinese search: the book's terms are whole search tokens, whatever word they sit inside.

Material's search plugin segments Chinese with jieba at build time (U+200B between words)
and the browser's lunr index splits text and queries on ``search.separator``, matching
whole tokens or their prefixes. jieba's cuts vary with context (两线程 → 两线/程), so a
term would miss pages where it sits inside a longer word.

One term list, ``hooks/zh_terms.txt`` (jieba user-dictionary format ``词 频率 词性``),
serves both sides:

* jieba loads it as its user dictionary (high frequency: a term is never cut apart);
* this hook adds zero-width splits before and after every term to the separator,
  ``(?=线程|…)|(?<=线程|…)``, so the browser cuts indexed text *and* typed queries at
  the terms (Material's splitter steps over zero-length matches).

The hook runs before the search plugin's ``on_config`` so that the plugin builds its
index configuration from the extended separator.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

log = logging.getLogger("mkdocs.hooks.zh_search")

TERMS_FILE = Path(__file__).with_name("zh_terms.txt")
SEARCH_PLUGIN = "material/search"
# Material's separator for zh (partials/languages/zh.html), used if the theme gives none.
ZH_SEPARATOR = r"[\s\u200b\u3000\-、。，．？！；]+"


def _is_han(word: str) -> bool:
    return bool(word) and all(unicodedata.name(ch, "").startswith("CJK") for ch in word)


def read_terms(path: Path = TERMS_FILE) -> list[str]:
    """The terms of a jieba user dictionary, longest first (ties in file order)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise PluginError(f"zh_search: cannot read term list {path}: {err}") from err
    terms: list[str] = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        word = fields[0]
        # Only Han words: Material segments only Han runs, and a term is spliced into a
        # regular expression, so nothing else may get in.
        if len(fields) > 3 or not _is_han(word) or (len(fields) > 1 and not fields[1].isdigit()):
            raise PluginError(
                f"zh_search: {path}:{number}: expected '词 频率 词性' with a Chinese word, "
                f"got {line!r}"
            )
        if word not in terms:
            terms.append(word)
    if not terms:
        raise PluginError(f"zh_search: term list {path} is empty")
    return sorted(terms, key=len, reverse=True)


def overlaps(terms: list[str]) -> list[tuple[str, str, str]]:
    """(a, b, text) where a's end is b's start: in that text one of them is cut apart."""
    found = []
    for a in terms:
        for b in terms:
            if a == b:
                continue
            for k in range(1, min(len(a), len(b))):
                if a[-k:] == b[:k]:
                    found.append((a, b, a + b[k:]))
                    break
    return found


def term_separator(base: str, terms: list[str]) -> str:
    """``base`` plus zero-width splits before and after each term (longest first)."""
    alternatives = "|".join(terms)
    return f"{base}|(?={alternatives})|(?<={alternatives})"


def _default_separator(config: MkDocsConfig) -> str:
    # The same lookup Material's search plugin does for its default.
    try:
        env = config.theme.get_env()
        template = env.get_template("partials/language.html", None, {"config": config})
        value = template.module.t("search.config.separator")
    except Exception:  # theme without Material's language partial
        value = None
    return value if isinstance(value, str) and value.strip() else ZH_SEPARATOR


def _resolve(path: str, config: MkDocsConfig) -> Path:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate.resolve()
    return (Path(config.config_file_path).parent / candidate).resolve()


@event_priority(100)  # before the search plugin reads its separator
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    plugin = config.plugins.get(SEARCH_PLUGIN)
    if plugin is None or not plugin.config.enabled:
        log.debug("zh_search: %s not enabled, nothing to do", SEARCH_PLUGIN)
        return config

    # One list for both sides: the user dictionary jieba loads is the term list.
    user_dict = plugin.config.jieba_dict_user
    terms_path = _resolve(user_dict, config) if user_dict else TERMS_FILE
    # The plugin resolves the path against the working directory; make it absolute so
    # a build started elsewhere (mkdocs build -f …) loads the same file.
    plugin.config.jieba_dict_user = str(terms_path)
    terms = read_terms(terms_path)
    for a, b, text in overlaps(terms):
        log.warning(
            "zh_search: terms %s and %s overlap in %s; search would cut one of them apart",
            a,
            b,
            text,
        )

    base = plugin.config.separator or _default_separator(config)
    if f"(?={'|'.join(terms)})" in base:
        return config  # already extended (config object reused)
    plugin.config.separator = term_separator(base, terms)
    log.debug("zh_search: separator %s", plugin.config.separator)
    return config
