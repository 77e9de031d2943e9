"""docs/ch4/serialization.md：JSON 库的编码、解码、钩子、Go 对照、pydantic 与 gzip。

实验 ch4.serialization。
"""

from __future__ import annotations

from perflab import book

EXP = "ch4.serialization"
LIBRARIES = ("json", "ujson", "orjson", "msgspec")
# 钩子、Go、pydantic 三节都用约 64 KB 那一档
SIZE = "64k"


def _info() -> dict:
    return book.result(EXP).info["python"]


def _sizes() -> dict[str, str]:
    """扫描的各档载荷：指标键里的档名 → 表头。"""
    return _info()["size_labels"]


def encode() -> str:
    """各档载荷的字节数、四个库编码一次的耗时，以及 json ÷ 各库的同轮耗时之比。"""
    cols = _sizes()
    payload = book.grid(EXP, "python.payload_{col}_{row}", {"B": "载荷字节数（orjson 输出）"}, cols)
    times = book.grid(EXP, "python.{row}_encode_{col}_s", {k: k for k in LIBRARIES}, cols)
    rows = {
        "ujson_encode": "json ÷ ujson",
        "ujson_encode_no_hook": "json ÷ ujson（不调钩子）",
        "orjson_encode": "json ÷ orjson",
        "msgspec_encode": "json ÷ msgspec",
    }
    ratios = book.grid(EXP, "python.json_vs_{row}_{col}", rows, cols)
    return "\n\n".join(
        [
            payload,
            "编码一次的耗时：\n\n" + times,
            "同一轮里 json 的编码耗时 ÷ 该库的编码耗时（越大越快）：\n\n" + ratios,
        ]
    )


def decode() -> str:
    """json ÷ 各库的同轮解码耗时之比。"""
    rows = {k: f"json ÷ {k}" for k in LIBRARIES[1:]}
    ratios = book.grid(EXP, "python.json_vs_{row}_decode_{col}", rows, _sizes())
    return "同一轮里 json 的解码耗时 ÷ 该库的解码耗时：\n\n" + ratios


def hook() -> str:
    """约 64 KB 那一档的 datetime 个数、带与不带钩子时 json ÷ ujson，以及钩子的代价。"""
    size = _info()["sizes"][SIZE]
    with_hook = book.value(EXP, f"python.json_vs_ujson_encode_{SIZE}")
    without_hook = book.value(EXP, f"python.json_vs_ujson_encode_no_hook_{SIZE}")
    sentence = (
        f"{_sizes()[SIZE]} 那一档里有 {size['datetimes']} 个 `datetime`"
        f"（{size['orders']} 条订单），"
        "每编码一次就调用这么多次钩子。"
        f"在这一档上，json ÷ ujson 的耗时之比带钩子是 {with_hook}，"
        f"时间事先已是字符串、不调钩子时是 {without_hook}。"
    )
    rows = {"json": "json", "ujson": "ujson"}
    cost = book.grid(EXP, "python.{row}_hook_cost_{col}", rows, _sizes())
    return sentence + "\n\n同一轮里带钩子 ÷ 不带钩子的编码耗时：\n\n" + cost


def go() -> str:
    """Go encoding/json 在同一份载荷上的耗时，以及 Python 各库 ÷ Go 的同轮之比。"""
    go_ops = ["go_marshal_map", "go_marshal_struct", "go_unmarshal_map", "go_unmarshal_struct"]
    pairs = [
        ("json", "go_marshal_map"),
        ("json", "go_marshal_struct"),
        ("orjson", "go_marshal_struct"),
        ("json", "go_unmarshal_map"),
        ("json", "go_unmarshal_struct"),
    ]
    keys = [f"python.{op}_{SIZE}_s" for op in go_ops]
    keys += [f"python.{lib}_vs_{op}_{SIZE}" for lib, op in pairs]
    return book.table(EXP, keys)


def pydantic() -> str:
    """pydantic 响应模型对照直接 orjson.dumps：耗时、同轮之比与字节数。"""
    keys = [
        f"python.pydantic_response_{SIZE}_s",
        f"python.dict_response_{SIZE}_s",
        f"python.pydantic_vs_dict_{SIZE}",
        f"python.pydantic_response_{SIZE}_B",
        f"python.dict_response_{SIZE}_B",
    ]
    return book.table(EXP, keys)


def gzip() -> str:
    """约 64 KB 与约 1 MB 两份载荷在级别 1、6、9 下的耗时、字节数与省下的比例。"""
    keys = [
        f"python.gzip{level}_{size}_{k}"
        for size in ("64k", "1m")
        for level in (1, 6, 9)
        for k in ("s", "B", "saved_pct")
    ]
    return book.table(EXP, keys)
