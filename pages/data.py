"""docs/data.md：数据下载一页——每个实验一行的总览，以及本次构建与参考快照的对比。

每个指标的数字都在各章页面与 results.csv 里；这一页只给索引和变化，整页保持在几十 KB。
"""

from __future__ import annotations

from perflab import book, reference, render, units


def overview() -> str:
    """One row per experiment: linked title, id, metric count, profile, when and how measured."""
    session = book.current()
    lines = [
        "| 实验 | id | 指标数 | 档位 | 测量时间 | 本次构建 |",
        "|---|---|---:|---|---|---|",
    ]
    for exp in session.experiments.values():
        result = session.result(exp.id)
        href = render.page_href(exp.page, session.page)
        if result.from_reference:
            how = "参考快照（后台测量中）"
        elif session.machines:
            how = "取自合并的结果"
        else:
            how = "读取缓存" if result.from_cache else "新测"
        lines.append(
            f"| [{exp.title}]({href}) | `{exp.id}` | {len(result.metrics)} "
            f"| {result.profile} | {units.when(result.environment.get('date', ''))} | {how} |"
        )
    return "\n".join(lines)


def reference_comparison() -> str:
    """This build against the committed reference snapshot (reference/results.json)."""
    return reference.comparison(book.current().document())
