"""docs/ch3/types.md：静态类型——TypeScript 的类型在哪里被丢掉，JIT 看什么，
CPython、mypyc 与 Go 怎么用类型。

实验 ch3.types.ts、ch3.types.python、ch3.types.go。
"""

from __future__ import annotations

from perflab import book

TS = "ch3.types.ts"
PY = "ch3.types.python"
GO = "ch3.types.go"
TS_COLS = {"add_s": "加法调用 100 万次", "props_s": "读 100 万个对象的 x、y"}
PY_COLS = {"add": "加法循环", "props": "读对象属性"}
CALL_KINDS = {
    "int": "只有小整数",
    "int_double": "每 10 个有 1 个小数",
    "int_string": "每 10 个有 1 个字符串",
}


def emitted() -> str:
    """tsc 从带类型的源码编出的 JavaScript，以及两份输出是否一字不差。"""
    info = book.result(TS).info
    a, p = info["annotated"], info["plain"]
    same = a["emitted_sha256"] == p["emitted_sha256"]
    verdict = "一字不差" if same else "**不一样**"
    return (
        f"```js\n{a['emitted'].rstrip()}\n```\n\n"
        f"带类型的源码编出的 `types_annotated.js` 与不带类型的源码编出的 `types_plain.js`："
        f"SHA-256 分别是 `{a['emitted_sha256'][:16]}…` 与 `{p['emitted_sha256'][:16]}…`，"
        f"两份输出{verdict}。"
    )


def ts_times() -> str:
    """带类型与不带类型两份 JavaScript 的耗时，以及配对的比值。"""
    rows = {"annotated": "带类型的源码编出的", "plain": "不带类型的源码编出的"}
    times = book.grid(TS, "{row}.{col}", rows, TS_COLS)
    ratios = book.table(TS, ["plain.vs_annotated_add", "plain.vs_annotated_props"])
    node = book.result(TS).info["annotated"]["node"]
    return f"node {node}：\n\n{times}\n\n{ratios}"


def shapes() -> str:
    """同一段读属性的代码，对象形状数不同时的耗时与对 1 种形状的比值。"""
    cols = {f"props_{k}_shapes_s": f"{k} 种形状" for k in (1, 2, 4, 8)}
    times = book.grid(TS, "shapes.{col}", {"": "读 100 万个对象的 x、y"}, cols)
    ratios = book.table(TS, [f"shapes.vs_mono_{k}" for k in (2, 4, 8)])
    return times + "\n\n" + ratios


def calls() -> str:
    """同一个调用点 add(values[i], 1)，参数里混进小数或字符串时的耗时与对只有小整数的比值。"""
    cols = {f"add_{k}_s": label for k, label in CALL_KINDS.items()}
    times = book.grid(TS, "calls.{col}", {"": "调用 add 100 万次"}, cols)
    ratios = book.table(TS, [f"calls.vs_mono_{k}" for k in CALL_KINDS if k != "int"])
    return times + "\n\n" + ratios


def bytecode() -> str:
    """CPython 里带标注与不带标注的函数，字节码是否一字不差。"""
    same = book.result(PY).info["python"]["same_bytecode"]
    parts = [f"`{name}`：{'相同' if ok else '**不同**'}" for name, ok in same.items()]
    return "两份源码里各函数的字节码（`co_code`）：" + "；".join(parts) + "。"


def mypyc_status() -> str:
    """mypyc 在本机是否构建成功；失败时给出原因。"""
    info = book.result(PY).info["python"]
    status = info["mypyc"]
    if status["built"]:
        files = "、".join(f"`{f}`" for f in status["files"])
        return f"mypyc 在本机构建成功（CPython {info['python']}），生成的扩展模块：{files}。"
    return f"mypyc 在本机没能构建，下表只有 CPython 的两行。原因：\n\n```text\n{status['why']}\n```"


def python() -> str:
    """CPython 与 mypyc、带标注与不带标注，四种跑法的耗时与配对的比值。"""
    info = book.result(PY).info["python"]
    rows = {"cpython_typed": "CPython，带标注", "cpython_untyped": "CPython，不带标注"}
    keys = [f"python.untyped_vs_typed_{k}" for k in PY_COLS]
    if info["mypyc"]["built"]:
        rows |= {"mypyc_typed": "mypyc，带标注", "mypyc_untyped": "mypyc，不带标注"}
        keys += [f"python.mypyc_speedup_{k}" for k in PY_COLS]
        keys += [f"python.mypyc_untyped_speedup_{k}" for k in PY_COLS]
    times = book.grid(PY, "python.{row}_{col}_s", rows, PY_COLS)
    return times + "\n\n" + book.table(PY, keys)


def go() -> str:
    """Go 里静态类型与 any 的耗时与配对的比值。"""
    cols = {"add": "加法循环", "props": "读属性"}
    rows = {
        "typed_add": ("int", "add"),
        "any_add": ("any", "add"),
        "struct_props": ("结构体字段", "props"),
        "map_props": ("map[string]any", "props"),
    }
    lines = ["| 写法 | " + " | ".join(cols.values()) + " |", "|---|---:|---:|"]
    result = book.result(GO)
    for key, (label, col) in rows.items():
        cell = book.value(GO, f"go.{key}_s")
        cells = [cell if c == col else "—" for c in cols]
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    ratios = book.table(GO, ["go.any_vs_typed_add", "go.map_vs_struct_props"])
    return "\n".join(lines) + f"\n\n{ratios}\n\n{result.info['go']['go']}。"
