"""第四章 · 序列化：json / ujson / orjson / msgspec 编解码同一份响应载荷，
载荷大小从约 1 KB 扫到约 1 MB；外加 datetime 钩子的代价、pydantic 响应模型、Go 与 gzip。

载荷由带种子的生成器确定地生成：订单列表，嵌套字典、中文字符串、浮点数、整数、布尔、None
与带时区的 datetime，每档大小各一份（小的一份是大的一份的前缀）。
计时用 timeit 的做法：先把每次取样的循环次数调到不少于 --min-time 秒，再做 --rounds 轮；
每一轮依次走过所有用例组，组内各用例轮流计时（交错，每轮换个起点）。
比值（json ÷ 某库、Python ÷ Go）一律在同一轮里两次计时相除，不用两个中位数相除。
给了 --go-binary 时，Go 程序用 encoding/json 测约 64 KB 那份字节，
每轮紧跟在同一档的 Python 用例之后跑一次。

单独运行：python examples/ch4/serialization.py --rounds 3
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import orjson
import ujson
from pydantic import BaseModel, ConfigDict

# 目标大小（字节，orjson 输出），每档是上一档的 4 倍
SIZES = {
    "1k": 1 << 10,
    "4k": 1 << 12,
    "16k": 1 << 14,
    "64k": 1 << 16,
    "256k": 1 << 18,
    "1m": 1 << 20,
}
SIZE_LABELS = {
    "1k": "约 1 KB",
    "4k": "约 4 KB",
    "16k": "约 16 KB",
    "64k": "约 64 KB",
    "256k": "约 256 KB",
    "1m": "约 1 MB",
}
DETAIL = "64k"  # pydantic 与 Go 只测这一档
LIBS = ("json", "ujson", "orjson", "msgspec")
HOOKED = ("json", "ujson")  # 遇到 datetime 要调用 default= 钩子的库
GZIP_LEVELS = (1, 6, 9)
CST = timezone(timedelta(hours=8))  # 带时区的时间：各库输出同一种 ISO 8601 写法

CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安"]
PRODUCTS = [
    "机械键盘",
    "无线鼠标",
    "显示器支架",
    "USB-C 扩展坞",
    "降噪耳机",
    "保温杯",
    "笔记本电脑包",
]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄婷"]
TAGS = ["新客", "会员", "企业", "海外", "促销", "复购"]


# --8<-- [start:payload]
def make_order(rng: random.Random, oid: int) -> dict:
    """一条订单：嵌套字典与列表、中文、浮点、整数、布尔、None、datetime，外加两个不该返回给客户端的内部字段。"""
    created = datetime(2026, 1, 1, tzinfo=CST) + timedelta(seconds=rng.randrange(30 * 86400))
    items = [
        {
            "sku": f"SKU-{rng.randrange(100000):05d}",
            "title": rng.choice(PRODUCTS),
            "price": round(rng.uniform(9.9, 2999.0), 2),
            "qty": rng.randint(1, 5),
            "gift": rng.random() < 0.1,
        }
        for _ in range(rng.randint(1, 4))
    ]
    paid = rng.random() < 0.8
    return {
        "id": oid,
        "user": {
            "id": rng.randrange(1, 10**7),
            "name": rng.choice(NAMES),
            "email": f"user{rng.randrange(10**6)}@example.com",
            "vip": rng.random() < 0.2,
            "tags": rng.sample(TAGS, k=rng.randint(0, 3)),
        },
        "items": items,
        "total": round(sum(i["price"] * i["qty"] for i in items), 2),
        "currency": "CNY",
        "created_at": created,
        "paid_at": created + timedelta(minutes=rng.randint(1, 90)) if paid else None,
        "shipping": {
            "city": rng.choice(CITIES),
            "address": f"{rng.choice(CITIES)}市某区某路 {rng.randint(1, 999)} 号",
        },
        "note": rng.choice([None, "请尽快发货", "工作日送达", ""]),
        "internal_score": rng.random(),  # 内部字段：响应模型应当丢掉
        "trace": {"shard": rng.randrange(64), "debug": False},  # 内部字段
    }


def make_payload(target_bytes: int, seed: int = 42) -> dict:
    """确定地生成一份响应载荷：订单一直加到 orjson 编码后的大小不小于 target_bytes。"""
    rng = random.Random(seed)
    orders: list[dict] = []
    size = 60  # 外层字段的大致字节数
    while size < target_bytes:
        order = make_order(rng, len(orders) + 1)
        orders.append(order)
        size += len(orjson.dumps(order)) + 1
    return {
        "generated_at": datetime(2026, 2, 1, 12, 0, tzinfo=CST),
        "count": len(orders),
        "orders": orders,
    }


# --8<-- [end:payload]


# --8<-- [start:codecs]
def iso_default(obj):
    """json / ujson 不认识 datetime：在 default 钩子里转成 ISO 8601 字符串。"""
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"无法序列化 {type(obj).__name__}")


msgspec_encoder = msgspec.json.Encoder()
msgspec_decoder = msgspec.json.Decoder()

ENCODERS = {
    # 服务最终要往连接里写字节，所以 json / ujson 的 str 也算上 encode 成 UTF-8 的一步
    "json": lambda obj: json.dumps(obj, default=iso_default, ensure_ascii=False).encode(),
    "ujson": lambda obj: ujson.dumps(obj, default=iso_default, ensure_ascii=False).encode(),
    "orjson": orjson.dumps,  # datetime 原生支持
    "msgspec": msgspec_encoder.encode,  # datetime 原生支持
}
DECODERS = {
    "json": json.loads,
    "ujson": ujson.loads,
    "orjson": orjson.loads,
    "msgspec": msgspec_decoder.decode,
}
# 对照：同一份载荷，datetime 事先已是 ISO 字符串，json / ujson 用不着钩子
ENCODERS_NO_HOOK = {
    "json": lambda obj: json.dumps(obj, ensure_ascii=False).encode(),
    "ujson": lambda obj: ujson.dumps(obj, ensure_ascii=False).encode(),
}
# --8<-- [end:codecs]


# --8<-- [start:model]
class Item(BaseModel):
    sku: str
    title: str
    price: float
    qty: int
    gift: bool


class User(BaseModel):
    id: int
    name: str
    email: str
    vip: bool
    tags: list[str]


class Shipping(BaseModel):
    city: str
    address: str


class Order(BaseModel):
    model_config = ConfigDict(extra="ignore")  # internal_score、trace 不进响应

    id: int
    user: User
    items: list[Item]
    total: float
    currency: str
    created_at: datetime
    paid_at: datetime | None
    shipping: Shipping
    note: str | None


class OrderList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    generated_at: datetime
    count: int
    orders: list[Order]


def pydantic_response(payload: dict) -> bytes:
    return OrderList.model_validate(payload).model_dump_json().encode()


def dict_response(payload: dict) -> bytes:
    return orjson.dumps(payload)


# --8<-- [end:model]


Cases = dict[str, Callable[[], object]]


def per_op(fn, loops: int) -> float:
    """与 timeit 相同，取样期间关掉循环垃圾回收：它何时触发取决于整个进程的堆，与被测的库无关。"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return (time.perf_counter() - start) / loops
    finally:
        if was_enabled:
            gc.enable()


def calibrate(fn, min_time: float) -> int:
    """先预热一次，再按试测的耗时推算循环次数，使一次取样不少于 min_time 秒。"""
    fn()
    n = 1
    while True:
        elapsed = per_op(fn, n) * n
        if elapsed >= min_time / 4:
            return max(1, math.ceil(n * min_time / elapsed))
        n = max(n * 2, math.ceil(n * min_time / 4 / max(elapsed, 1e-9)))


def run_rounds(
    groups: dict[str, Cases],
    rounds: int,
    min_time: float,
    after: dict[str, Callable[[int], dict[str, float]]],
) -> dict[str, list[float]]:
    """每一轮依次走过所有组；组内各用例轮流测一次（每轮换个起点）。

    after[组名] 在该组测完后调用一次，返回同一轮里别处（Go）量到的取样。
    结果：用例名 → 每轮一个“每次操作的秒数”，第 i 个值都来自第 i 轮。
    """
    loops = {
        name: calibrate(fn, min_time) for cases in groups.values() for name, fn in cases.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(rounds):
        for group, cases in groups.items():
            names = list(cases)
            k = r % len(names)
            for name in names[k:] + names[:k]:
                samples[name].append(per_op(cases[name], loops[name]))
            if group in after:
                for name, value in after[group](r).items():
                    samples.setdefault(name, []).append(value)
    return samples


def count_datetimes(obj) -> int:
    """载荷里有多少个 datetime：json / ujson 每编码一次就调用这么多次钩子。"""
    if isinstance(obj, dict):
        return sum(count_datetimes(v) for v in obj.values())
    if isinstance(obj, list):
        return sum(count_datetimes(v) for v in obj)
    return int(isinstance(obj, datetime))


def go_round(binary: str, path: Path, size: str, min_time: float, r: int, info: dict) -> dict:
    """Go 程序跑一轮（每项一次取样），返回 go_<项>_<档>_s → 秒。"""
    cmd = [
        binary,
        "--count",
        "1",
        "--offset",
        str(r),
        "--benchtime",
        f"{max(min_time, 0.005):.3f}s",
        "--file",
        f"{size}={path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(out.stdout)
    info["go"] = doc.get("info", {})
    info["go_labels"] = {f"go_{k}": m["label"] for k, m in doc["metrics"].items()}
    return {f"go_{k}": m["values"][0] for k, m in doc["metrics"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="逗号分隔，取自 " + "、".join(SIZES)
    )
    parser.add_argument("--scale", type=float, default=1.0, help="目标大小的缩放（测试用小载荷）")
    parser.add_argument("--rounds", type=int, default=3, help="本进程内的取样轮数")
    parser.add_argument("--min-time", type=float, default=0.01, help="每次取样至少持续的秒数")
    parser.add_argument("--gzip-sizes", default="64k,1m", help="做 gzip 对比的载荷")
    parser.add_argument(
        "--go-binary", help="go-examples/ch4/serialization 编译出的程序；不给则跳过 Go"
    )
    args = parser.parse_args()

    sizes = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or args.rounds < 1:
        parser.error(f"未知的载荷档：{unknown}" if unknown else "--rounds 至少为 1")
    payloads = {s: make_payload(int(SIZES[s] * args.scale)) for s in sizes}
    canonical = {s: orjson.dumps(p) for s, p in payloads.items()}  # 解码各库都用同一份字节
    # 同一份载荷，datetime 换成 orjson 写出的 ISO 字符串：正是解码 canonical 得到的对象
    no_hook = {s: orjson.loads(raw) for s, raw in canonical.items()}
    info: dict[str, object] = {
        "sizes": {},
        "min_time_s": args.min_time,
        "rounds": args.rounds,
        "detail_size": DETAIL,
        "size_labels": {s: SIZE_LABELS[s] for s in sizes},  # 页面表头用
    }

    groups: dict[str, Cases] = {}
    for s in sizes:
        payload, raw, plain = payloads[s], canonical[s], no_hook[s]
        cases: Cases = {}
        for lib in LIBS:
            cases[f"{lib}_encode_{s}_s"] = lambda e=ENCODERS[lib], p=payload: e(p)
            cases[f"{lib}_decode_{s}_s"] = lambda d=DECODERS[lib], b=raw: d(b)
        for lib in HOOKED:
            cases[f"{lib}_encode_no_hook_{s}_s"] = lambda e=ENCODERS_NO_HOOK[lib], p=plain: e(p)
        if s == DETAIL:
            cases[f"pydantic_response_{s}_s"] = lambda p=payload: pydantic_response(p)
            cases[f"dict_response_{s}_s"] = lambda p=payload: dict_response(p)
        groups[s] = cases
        info["sizes"][s] = {
            "bytes": len(raw),
            "orders": payload["count"],
            "datetimes": count_datetimes(payload),
        }
        print(f"{s}: {len(raw)} B, {payload['count']} 条订单", file=sys.stderr)
    gzip_sizes = [s for s in args.gzip_sizes.split(",") if s in payloads]
    for s in gzip_sizes:
        groups[f"gzip_{s}"] = {
            f"gzip{lv}_{s}_s": (lambda lv=lv, b=canonical[s]: gzip.compress(b, compresslevel=lv))
            for lv in GZIP_LEVELS
        }

    with tempfile.TemporaryDirectory(prefix="ch4-ser-") as tmp:
        after = {}
        if args.go_binary and DETAIL in payloads:
            go_file = Path(tmp) / f"{DETAIL}.json"
            go_file.write_bytes(canonical[DETAIL])
            after[DETAIL] = lambda r: go_round(
                args.go_binary, go_file, DETAIL, args.min_time, r, info
            )
        samples = run_rounds(groups, args.rounds, args.min_time, after)

    metrics: dict[str, dict] = {}

    def put(key: str, label: str, unit: str, values: list[float]) -> None:
        metrics[key] = {"label": label, "unit": unit, "values": values}

    def paired(a: str, b: str) -> list[float]:
        """同一轮的两次计时相除：a 的耗时 ÷ b 的耗时。"""
        return [x / y for x, y in zip(samples[a], samples[b], strict=True)]

    verbs = {"encode": "编码", "decode": "解码"}
    for s in sizes:
        lab = SIZE_LABELS[s]
        put(f"payload_{s}_B", f"载荷大小（{lab}，orjson 输出）", "B", [len(canonical[s])])
        for op, verb in verbs.items():
            for lib in LIBS:
                put(
                    f"{lib}_{op}_{s}_s", f"{lib} {verb}（{lab}）", "s", samples[f"{lib}_{op}_{s}_s"]
                )
            for lib in LIBS[1:]:
                put(
                    f"json_vs_{lib}_{op}_{s}",
                    f"json ÷ {lib}：{verb}耗时之比（{lab}）",
                    "×",
                    paired(f"json_{op}_{s}_s", f"{lib}_{op}_{s}_s"),
                )
        for lib in HOOKED:
            put(
                f"{lib}_encode_no_hook_{s}_s",
                f"{lib} 编码，datetime 已是字符串、不调钩子（{lab}）",
                "s",
                samples[f"{lib}_encode_no_hook_{s}_s"],
            )
            put(
                f"{lib}_hook_cost_{s}",
                f"{lib}：带钩子 ÷ 不带钩子的编码耗时（{lab}）",
                "×",
                paired(f"{lib}_encode_{s}_s", f"{lib}_encode_no_hook_{s}_s"),
            )
        put(
            f"json_vs_ujson_encode_no_hook_{s}",
            f"json ÷ ujson：编码耗时之比，不调钩子（{lab}）",
            "×",
            paired(f"json_encode_no_hook_{s}_s", f"ujson_encode_no_hook_{s}_s"),
        )

    if DETAIL in payloads:
        s, lab, payload = DETAIL, SIZE_LABELS[DETAIL], payloads[DETAIL]
        put(
            f"pydantic_response_{s}_s",
            f"pydantic：model_validate + model_dump_json（{lab}）",
            "s",
            samples[f"pydantic_response_{s}_s"],
        )
        put(
            f"dict_response_{s}_s",
            f"普通 dict：orjson.dumps（{lab}）",
            "s",
            samples[f"dict_response_{s}_s"],
        )
        put(
            f"pydantic_vs_dict_{s}",
            f"pydantic 响应模型 ÷ 直接 orjson.dumps 的耗时（{lab}）",
            "×",
            paired(f"pydantic_response_{s}_s", f"dict_response_{s}_s"),
        )
        put(
            f"pydantic_response_{s}_B",
            f"pydantic 响应的字节数（丢掉内部字段，{lab}）",
            "B",
            [len(pydantic_response(payload))],
        )
        put(
            f"dict_response_{s}_B",
            f"普通 dict 响应的字节数（{lab}）",
            "B",
            [len(dict_response(payload))],
        )

    for s in gzip_sizes:
        raw, lab = canonical[s], SIZE_LABELS[s]
        for lv in GZIP_LEVELS:
            out = len(gzip.compress(raw, compresslevel=lv))
            put(
                f"gzip{lv}_{s}_s",
                f"gzip 级别 {lv} 压缩耗时（{lab}）",
                "s",
                samples[f"gzip{lv}_{s}_s"],
            )
            put(f"gzip{lv}_{s}_B", f"gzip 级别 {lv} 压缩后字节数（{lab}）", "B", [out])
            put(
                f"gzip{lv}_{s}_saved_pct",
                f"gzip 级别 {lv} 省下的字节（{lab}）",
                "%",
                [100 * (1 - out / len(raw))],
            )

    if "go_labels" in info:
        s, lab = DETAIL, SIZE_LABELS[DETAIL]
        for key, label in info.pop("go_labels").items():
            # Go 那边的标签用载荷名，换成页面上的说法
            put(key, label.replace(f"（{s}）", f"（{lab}）"), "s", samples[key])
        go_pairs = [
            ("json_encode", "go_marshal_map", "json 编码 ÷ Go Marshal（map[string]any）"),
            ("json_encode", "go_marshal_struct", "json 编码 ÷ Go Marshal（结构体）"),
            ("orjson_encode", "go_marshal_struct", "orjson 编码 ÷ Go Marshal（结构体）"),
            ("json_decode", "go_unmarshal_map", "json 解码 ÷ Go Unmarshal（map[string]any）"),
            ("json_decode", "go_unmarshal_struct", "json 解码 ÷ Go Unmarshal（结构体）"),
        ]
        for py, go, label in go_pairs:
            lib = py.split("_")[0]
            put(
                f"{lib}_vs_{go}_{s}",
                f"{label}：耗时之比（{lab}）",
                "×",
                paired(f"{py}_{s}_s", f"{go}_{s}_s"),
            )

    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    main()
