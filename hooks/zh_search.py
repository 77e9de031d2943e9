"""Chinese search: the book's terms are whole search tokens, whatever word they sit inside.

Material's search plugin segments Chinese with jieba at build time (U+200B between words)
and the browser's lunr index splits text and queries on ``search.separator``, matching
whole tokens or their prefixes. jieba's cuts vary with context (两线程 → 两线/程), so a
term would miss pages where it sits inside a longer word.

One term list, ``hooks/zh_terms.txt`` (jieba user-dictionary format ``词 频率 词性``),
serves every side:

* jieba loads it as its user dictionary (high frequency: a term is never cut apart);
* after the build this hook re-cuts the search index so that every occurrence of a term
  is one token: U+200B before and after it, none inside (``两线\u200b程`` → ``两\u200b线程``);
* the separator gets one zero-width split *before* each term, ``…|(?=线程)|(?=进程)``, so
  a typed query is cut at the terms too (两线程 → 两 线程).

Why only lookaheads, each its own alternative: Material's page highlighter (``?h=``) builds
its regex from the same separator. It splits the separator at ``|`` and drops pure
lookarounds ``(?=…)`` with no ``|`` inside; a grouped ``(?=线程|进程)`` falls apart there and
leaves empty alternatives, which mark every empty string of the page (thousands of empty
``<mark>``). Lookbehind ``(?<=…)`` is also missing in browsers Material still supports
(Safari before 16.4): there ``new RegExp`` throws and search breaks. The split after a term
is therefore made in the index at build time, where the browser needs no regex for it.

The hook runs before the search plugin's ``on_config`` so that the plugin builds its
index configuration from the extended separator, and after its ``on_post_build`` to
re-cut the index it wrote.
"""

from __future__ import annotations

import json
import logging
import re
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
# 本次构建的词表（on_config 读入，on_post_build 重切索引时用）
_state: dict[str, list[str]] = {}


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
    """``base`` plus one zero-width split before each term, each its own alternative.

    Every added alternative is a bare lookahead, the one shape Material's highlighter
    recognizes and sets aside; no lookbehind (not in every supported browser).
    """
    return base + "".join(f"|(?={term})" for term in terms)


def _term_pattern(terms: list[str]) -> re.Pattern[str]:
    # 词中可能已被 jieba 插入 U+200B；长词优先
    alternatives = ("\u200b?".join(map(re.escape, term)) for term in terms)
    return re.compile("|".join(alternatives))


def cut_at_terms(text: str, terms: list[str]) -> str:
    """``text`` with every term one token: U+200B on both sides, none inside."""
    pattern = _term_pattern(terms)
    cut = pattern.sub(lambda m: "\u200b" + m.group(0).replace("\u200b", "") + "\u200b", text)
    return re.sub("\u200b{2,}", "\u200b", cut).strip("\u200b")


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

    for outer in terms:
        for inner in terms:
            if inner != outer and inner in outer[1:]:
                log.warning(
                    "zh_search: term %s lies inside term %s; the browser would cut %s apart",
                    inner,
                    outer,
                    outer,
                )

    _state["terms"] = terms
    base = plugin.config.separator or _default_separator(config)
    if f"|(?={terms[0]})" in base:
        return config  # already extended (config object reused)
    plugin.config.separator = term_separator(base, terms)
    log.debug("zh_search: separator %s", plugin.config.separator)
    return config


@event_priority(-100)  # after the search plugin has written its index
def on_post_build(config: MkDocsConfig) -> None:
    terms = _state.get("terms")
    index_file = Path(config.site_dir) / "search" / "search_index.json"
    if not terms or not index_file.is_file():
        return
    data = json.loads(index_file.read_text(encoding="utf-8"))
    for doc in data.get("docs", []):
        for field in ("title", "text"):
            if isinstance(doc.get(field), str):
                doc[field] = cut_at_terms(doc[field], terms)
    # 紧凑 JSON，中文与分词用的 U+200B 按 UTF-8 原样写出：每个字写成 \uXXXX 要 6 个字节，
    # UTF-8 只要 3 个，而读者第一次打开任何一页都要下载这个索引
    text = json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
    index_file.write_text(text, encoding="utf-8")
