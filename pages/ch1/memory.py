"""docs/ch1/memory.md：tracemalloc 报告的分配位置（实验 ch1.memory）。"""

from __future__ import annotations

from perflab import book

EXP = "ch1.memory"
COLUMNS = [
    ("where", "位置"),
    ("code", "这一行", "code"),
    ("size", "返回前仍占用", "B"),
    ("count", "内存块", ""),
]


def top_slow() -> str:
    """慢版本处理函数里占内存最多的几行。"""
    return book.info_table(EXP, "python", "top_slow", COLUMNS)


def top_fixed() -> str:
    """改过的处理函数里占内存最多的几行。"""
    return book.info_table(EXP, "python", "top_fixed", COLUMNS)
