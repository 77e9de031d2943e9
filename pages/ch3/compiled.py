"""docs/ch3/compiled.md：编译型与解释型——机器码、启动时间、运行速度与内存。

实验 ch3.compiled.listings、ch3.compiled.kernels、ch3.compiled.table。
"""

from __future__ import annotations

from html import escape

from perflab import book, render, units
from perflab.claims import VERDICT_LABELS
from perflab.results import run_label

LISTINGS = "ch3.compiled.listings"
KERNELS = "ch3.compiled.kernels"
TABLE = "ch3.compiled.table"
KERNEL_COLS = {"loop": "朴素循环", "nbody": "n 体模拟", "words": "词频统计"}
LANGS = {"python": "CPython", "go": "Go", "c": "C（gcc -O2）"}


def _code_column(title: str, lines: list[str]) -> str:
    body = escape("\n".join(lines))
    head = f"<p><strong>{escape(title)}</strong></p>"
    return f'<div markdown="0">{head}<pre><code>{body}</code></pre></div>'


def _listing_grid(part: str) -> str:
    info = book.result(LISTINGS).info["listing"]
    listing = info["listings"]
    syntax = "（Intel 写法）" if "-masm=intel" in info["gcc_flags"] else ""
    titles = {
        "go": f"Go：go tool compile -S（{info.get('arch', '')}）",
        "c": f"C：gcc -O2 -S{syntax}",
        "python": "Python：dis（CPython 字节码）",
    }
    cols = [_code_column(t, listing[lang][part]) for lang, t in titles.items()]
    return '<div class="grid" markdown="0">' + "".join(cols) + "</div>"


def add_listings() -> str:
    """add 函数本身：三条工具链的输出并排，再加指令条数。"""
    info = book.result(LISTINGS).info["listing"]
    flags = info["gcc_flags"]
    versions = f"本次构建：{info['go']}，{info['gcc']}（`{flags}`），CPython {info['python']}。"
    # 条数由编译器决定、每次构建都一样：只列数，不列区间
    result = book.result(LISTINGS)
    rows = ["| | add 的指令条数 | 循环体里的调用指令条数 |", "|---|---:|---:|"]
    for lang, name in (("go", "Go"), ("c", "C"), ("python", "Python（字节码）")):
        add = result.metric(f"listing.{lang}_add_instructions").values[0]
        calls = result.metric(f"listing.{lang}_loop_calls").values[0]
        rows.append(f"| {name} | {add:.0f} | {calls:.0f} |")
    counts = "\n".join(rows)
    return _listing_grid("add") + "\n\n" + versions + "\n\n" + counts


def loop_listings() -> str:
    """调用 add 的循环：Go 与 gcc 把 add 内联，CPython 每次迭代都 CALL；附 Go 的内联决定。"""
    info = book.result(LISTINGS).info["listing"]
    decisions = "；".join(f"`{d}`" for d in info["go_inlining"])
    return _listing_grid("loop") + f"\n\nGo 编译器（`-m`）报告的内联决定：{decisions}。"


def kernels() -> str:
    """三种语言、三个内核的每次调用耗时，以及 CPython ÷ Go、CPython ÷ C、Go ÷ C。"""
    times = book.grid(KERNELS, "{row}.{col}_s", LANGS, KERNEL_COLS)
    ratios = book.grid(
        KERNELS,
        "{row}_{col}",
        {"python.vs_go": "CPython ÷ Go", "python.vs_c": "CPython ÷ C", "go.vs_c": "Go ÷ C"},
        KERNEL_COLS,
    )
    return "每次调用的耗时：\n\n" + times + "\n\n耗时之比（同一轮配对相除）：\n\n" + ratios


def checksums() -> str:
    """三种语言（及各 CPython 版本）算出的校验值是否一致。"""
    info = book.result(KERNELS).info
    labels = {
        r.name: r.label or run_label(r.name) for r in book.current().experiments[KERNELS].runs
    }
    rows = [
        "| 实现 | 朴素循环 | n 体模拟（总能量） | 词频统计（不同词数，最高次数） |",
        "|---|---:|---:|---:|",
    ]
    for run, data in info.items():
        if "skipped" in data:
            continue
        c = data["checksums"]
        words = f"{c['words'][0]}，{c['words'][1]}"
        rows.append(f"| {labels[run]} | {c['loop']} | {c['nbody']} | {words} |")
    return "\n".join(rows)


def versions_found() -> str:
    """本次构建找到与没找到的 CPython 版本。"""
    return render.interpreters_table(book.result(KERNELS))


def versions() -> str:
    """同一个 Python 内核在每个找到的 CPython 版本上的耗时。"""
    info = book.result(KERNELS).info
    rows = {"python": f"CPython {info['python']['python']}（本书的 .venv）"}
    for run, data in info.items():
        if run.startswith("py3") and "skipped" not in data:
            rows[run] = f"CPython {data['python']}"
    return book.grid(KERNELS, "{row}.{col}_s", rows, KERNEL_COLS)


def startup() -> str:
    """hello world 的启动时间与峰值常驻内存，四种启动方式并排。"""
    rows = {
        "c": "C",
        "go": "Go",
        "python_bare": "CPython `-I -S`（不加载 site）",
        "python": "CPython（本书 .venv，加载 site）",
    }
    cols = {"start_s": "启动到退出", "hello_rss_B": "峰值常驻内存"}
    return book.grid(TABLE, "table.{row}_{col}", rows, cols)


def memory() -> str:
    """每个内核跑一遍的整个进程的峰值常驻内存。"""
    cols = {"hello": "hello world", **KERNEL_COLS}
    return book.grid(TABLE, "table.{row}_{col}_rss_B", LANGS, cols)


# 文章的表：每一格由哪几条说法判定（一列是两行之间的一次比较，所以同一列的两格可能读同一组说法）
CELLS = {
    ("编译型", "启动"): ("快", ["start-go", "start-c"]),
    ("解释型", "启动"): ("慢", ["start-go", "start-c"]),
    ("编译型", "性能"): ("高", ["perf-high-loop", "perf-high-nbody", "perf-high-words"]),
    ("解释型", "性能"): ("中等", ["perf-medium-loop", "perf-medium-nbody", "perf-medium-words"]),
    ("编译型", "内存"): ("低", ["memory-hello", "memory-words"]),
    ("解释型", "内存"): ("高", ["memory-hello", "memory-words"]),
}
MEASURED = {
    "启动": ("table.python_vs_go_start", "table.python_vs_c_start"),
    "性能": ("python.vs_go_loop", "python.vs_go_nbody", "python.vs_go_words"),
    "内存": ("table.python_vs_go_hello_rss", "table.python_vs_go_words_rss"),
}


def cell_verdicts() -> dict[tuple[str, str], str]:
    """每一格的判定：它读的说法全部成立才成立，全部不成立才不成立，否则视情况而定。"""
    current = book.current()
    by_id = {c.id: c for c in current.claims}
    out = {}
    for cell, (_word, ids) in CELLS.items():
        verdicts = {current.judge(by_id[f"ch3.compiled.{i}"]).verdict for i in ids}
        out[cell] = verdicts.pop() if len(verdicts) == 1 else "depends"
    return out


def article_table() -> str:
    """文章的表，每一格换成“原话 → 实测 → 判定”。"""
    verdicts = cell_verdicts()
    results = {"启动": TABLE, "性能": KERNELS, "内存": TABLE}

    def figures(col: str) -> str:
        exp = book.result(results[col])
        parts = []
        for key in MEASURED[col]:
            metric = exp.metric(key)
            parts.append(f"{escape(metric.label)}：**{units.fmt(metric.summary.median, '×')}**")
        return "<br>".join(parts)

    head = "| | 启动 | 性能 | 内存 |\n|---|---|---|---|"
    lines = [head]
    for row in ("编译型", "解释型"):
        cells = []
        for col in ("启动", "性能", "内存"):
            word, _ = CELLS[(row, col)]
            verdict = VERDICT_LABELS[verdicts[(row, col)]]
            cells.append(f"原文：{word}<br>{figures(col)}<br>判定：**{verdict}**")
        lines.append(f"| **{row}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)
