"""第四章 · 序列化：json / ujson / orjson / msgspec 编解码同一份响应载荷，
外加 pydantic 响应模型、Go 与 gzip。

载荷由带种子的生成器确定地生成：订单列表，嵌套字典、中文字符串、浮点数、整数、布尔、None
与带时区的 datetime，按目标大小（约 1 KB / 50 KB / 1 MB）各生成一份。
计时用 timeit 的做法：先把每次取样的循环次数调到不少于 --min-time 秒，
再做若干轮，每一轮里各个库轮流计时（交错），每轮得到一个“每次操作的秒数”。
给了 --go-binary 时，把载荷写进临时目录，交给 Go 程序用 encoding/json 测同一份数据。

单独运行：python examples/ch4/serialization.py --sizes small,medium,large --repeats 5
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import orjson
import ujson
from pydantic import BaseModel, ConfigDict

SIZES = {"small": 1_000, "medium": 50_000, "large": 1_000_000}  # 目标大小（字节，orjson 输出）
SIZE_LABELS = {"small": "约 1 KB", "medium": "约 50 KB", "large": "约 1 MB"}
LIBS = ("json", "ujson", "orjson", "msgspec")
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


def calibrate(fn, min_time: float) -> int:
    """像 timeit.autorange 那样把循环次数按 1、2、5、10… 放大，直到一次取样不少于 min_time 秒。"""
    loops = 1
    while True:
        for factor in (1, 2, 5):
            n = loops * factor
            start = time.perf_counter()
            for _ in range(n):
                fn()
            if time.perf_counter() - start >= min_time:
                return n
        loops *= 10


def per_op(fn, loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops


def bench_interleaved(
    cases: dict[str, object], repeats: int, min_time: float
) -> dict[str, list[float]]:
    """各用例先预热并校准循环次数，再每轮轮流各测一次（每轮换个起点），得到 repeats 个取样。"""
    loops = {name: calibrate(fn, min_time) for name, fn in cases.items()}
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            samples[name].append(per_op(cases[name], loops[name]))
    return samples


def run_go(binary: str, files: dict[str, Path], repeats: int, min_time: float) -> dict:
    cmd = [binary, "--count", str(repeats), "--benchtime", f"{max(min_time, 0.01):.3f}s"]
    for name, path in files.items():
        cmd += ["--file", f"{name}={path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="small,medium,large", help="逗号分隔：small、medium、large"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="目标大小的缩放（测试用小载荷）")
    parser.add_argument("--repeats", type=int, default=5, help="每个用例的取样轮数")
    parser.add_argument("--min-time", type=float, default=0.05, help="每次取样至少持续的秒数")
    parser.add_argument("--gzip-sizes", default="medium,large", help="做 gzip 对比的载荷")
    parser.add_argument("--go-binary", help="go-examples/ch4/serialize 编译出的程序；不给则跳过 Go")
    args = parser.parse_args()

    sizes = [s for s in args.sizes.split(",") if s]
    payloads = {s: make_payload(int(SIZES[s] * args.scale)) for s in sizes}
    canonical = {s: orjson.dumps(p) for s, p in payloads.items()}  # 解码各库都用同一份字节
    metrics: dict[str, dict] = {}
    info: dict[str, object] = {"sizes": {}, "min_time_s": args.min_time, "repeats": args.repeats}

    def put(key: str, label: str, unit: str, values: list[float]) -> None:
        metrics[key] = {"label": label, "unit": unit, "values": values}

    for s in sizes:
        payload, raw = payloads[s], canonical[s]
        info["sizes"][s] = {"bytes": len(raw), "orders": payload["count"]}
        put(f"payload_{s}_B", f"载荷大小（{SIZE_LABELS[s]}，orjson 输出）", "B", [len(raw)])
        cases = {}
        for lib in LIBS:
            cases[f"{lib}_encode"] = lambda e=ENCODERS[lib], p=payload: e(p)
            cases[f"{lib}_decode"] = lambda d=DECODERS[lib], b=raw: d(b)
        samples = bench_interleaved(cases, args.repeats, args.min_time)
        for op, verb in (("encode", "编码"), ("decode", "解码")):
            base = samples[f"json_{op}"]
            for lib in LIBS:
                vals = samples[f"{lib}_{op}"]
                put(f"{lib}_{op}_{s}_s", f"{lib} {verb}（{SIZE_LABELS[s]}）", "s", vals)
                if lib != "json":
                    # 同一轮里的 json 与该库相比：json 耗时 ÷ 该库耗时，越大越快
                    ratios = [b / v for b, v in zip(base, vals, strict=True)]
                    put(
                        f"{lib}_{op}_{s}_vs_json",
                        f"{lib} {verb}比 json 快（{SIZE_LABELS[s]}）",
                        "×",
                        ratios,
                    )
        print(f"{s}: {len(raw)} B, {payload['count']} 条订单", file=sys.stderr)

    if "medium" in payloads:
        payload = payloads["medium"]
        samples = bench_interleaved(
            {
                "pydantic": lambda: pydantic_response(payload),
                "dict": lambda: dict_response(payload),
            },
            args.repeats,
            args.min_time,
        )
        put(
            "pydantic_response_medium_s",
            "pydantic：model_validate + model_dump_json",
            "s",
            samples["pydantic"],
        )
        put("dict_response_medium_s", "普通 dict：orjson.dumps", "s", samples["dict"])
        ratios = [p / d for p, d in zip(samples["pydantic"], samples["dict"], strict=True)]
        put("pydantic_vs_dict_medium", "pydantic 响应模型比直接 orjson.dumps 慢", "×", ratios)
        put(
            "pydantic_response_medium_B",
            "pydantic 响应的字节数（丢掉内部字段）",
            "B",
            [len(pydantic_response(payload))],
        )
        put("dict_response_medium_B", "普通 dict 响应的字节数", "B", [len(dict_response(payload))])

    for s in [s for s in args.gzip_sizes.split(",") if s in payloads]:
        raw = canonical[s]
        cases = {
            f"gzip{lv}": (lambda lv=lv, b=raw: gzip.compress(b, compresslevel=lv))
            for lv in GZIP_LEVELS
        }
        samples = bench_interleaved(cases, args.repeats, args.min_time)
        for lv in GZIP_LEVELS:
            out = len(gzip.compress(raw, compresslevel=lv))
            put(
                f"gzip{lv}_{s}_s",
                f"gzip 级别 {lv} 压缩耗时（{SIZE_LABELS[s]}）",
                "s",
                samples[f"gzip{lv}"],
            )
            put(f"gzip{lv}_{s}_B", f"gzip 级别 {lv} 压缩后字节数（{SIZE_LABELS[s]}）", "B", [out])
            put(
                f"gzip{lv}_{s}_saved_pct",
                f"gzip 级别 {lv} 省下的字节（{SIZE_LABELS[s]}）",
                "%",
                [100 * (1 - out / len(raw))],
            )

    if args.go_binary:
        with tempfile.TemporaryDirectory(prefix="ch4-ser-") as tmp:
            files = {}
            for s in [s for s in ("medium", "large") if s in payloads]:
                files[s] = Path(tmp) / f"{s}.json"
                files[s].write_bytes(canonical[s])
            go = run_go(args.go_binary, files, args.repeats, args.min_time)
        info["go"] = go.get("info", {})
        for key, m in go["metrics"].items():
            for s in files:  # Go 那边的标签用载荷名，换成页面上的说法
                m["label"] = m["label"].replace(f"（{s}）", f"（{SIZE_LABELS[s]}）")
            metrics[f"go_{key}"] = m
        for s in files:
            json_med = statistics.median(metrics[f"json_encode_{s}_s"]["values"])
            for kind, word in (("map", "map[string]any"), ("struct", "结构体")):
                go_med = statistics.median(metrics[f"go_marshal_{kind}_{s}_s"]["values"])
                put(
                    f"go_marshal_{kind}_{s}_vs_json",
                    f"Go Marshal（{word}，{SIZE_LABELS[s]}）比 Python json 快",
                    "×",
                    [json_med / go_med],
                )

    print(json.dumps({"metrics": metrics, "info": info}, ensure_ascii=False))


if __name__ == "__main__":
    main()
