"""第一章 · 内存去向：一个请求处理函数里的临时对象，用 tracemalloc 找出来，再改掉。

同一个请求（把 JSON 订单解析、计算金额、排序、拼成 CSV 文本返回）有两个实现：
handle_slow 逐行复制字典、建中间列表、逐段拼字符串；handle_fixed 只保留需要的字段，
一次 join 出结果。两者输出逐字节相同，在同一个进程里交替测量：
  1. 开着 tracemalloc 各处理一个请求：每个请求的峰值内存，以及函数返回前一刻的快照
     （此时局部变量仍在，快照里就是这次请求留下的全部临时对象）里排名靠前的分配位置；
  2. 关掉 tracemalloc（它会让分配变慢）后交替计时。

单独运行：python examples/ch1/memory.py --rows 4000 --requests 8
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import json
import linecache
import os
import random
import sys
import time
import tracemalloc
from operator import itemgetter

HERE = os.path.dirname(os.path.abspath(__file__))


def make_body(rows: int, seed: int = 1) -> bytes:
    """一个请求体：用户的购物车，rows 行商品。"""
    rnd = random.Random(seed)
    tags = ["Sale", "New", "Gift", "Bulk", "Fragile"]
    items = [
        {
            "sku": f" sku-{i:06d} ",
            "name": f"商品 {i}",
            "qty": rnd.randint(0, 9),
            "price": round(rnd.uniform(1, 500), 2),
            "tags": rnd.sample(tags, 3),
        }
        for i in range(rows)
    ]
    return json.dumps({"user": "u-42", "items": items}, ensure_ascii=False).encode()


# --8<-- [start:slow]
def handle_slow(body: bytes) -> bytes:
    payload = json.loads(body)
    rows = []
    for item in payload["items"]:
        row = dict(item)  # 每行复制出一个新字典，连用不到的字段也一起复制
        row["sku"] = item["sku"].strip().upper()
        row["tags"] = [t.lower() for t in item["tags"]]  # 每行再建一个新列表
        row["amount"] = item["qty"] * item["price"]  # 多一个键：复制出的字典还得扩容
        rows.append(row)
    valid = [r for r in rows if r["qty"] > 0]  # 过滤出第二个列表
    ordered = sorted(valid, key=lambda r: r["amount"], reverse=True)  # 排序出第三个
    out = ""
    for r in ordered:
        # 每个 + 都产生一个中间字符串
        out += r["sku"] + "," + str(r["qty"]) + "," + format(r["amount"], ".2f")
        out += "," + "|".join(r["tags"]) + "\n"
    total = sum([r["amount"] for r in ordered])  # 为求和再建一个列表
    out += "total," + format(total, ".2f") + "\n"
    return out.encode()


# --8<-- [end:slow]


# --8<-- [start:fixed]
def handle_fixed(body: bytes) -> bytes:
    items = json.loads(body)["items"]
    # 只保留排序要用的金额和指向原字典的引用：每行一个小元组，不复制字典
    lines = [(it["qty"] * it["price"], it) for it in items if it["qty"] > 0]
    lines.sort(key=itemgetter(0), reverse=True)  # 原地排序，不再建新列表
    parts = []
    total = 0.0
    for amount, it in lines:
        total += amount
        sku = it["sku"].strip().upper()
        tags = "|".join(it["tags"]).lower()  # 先拼再整体转小写，结果与逐个转小写相同
        parts.append(f"{sku},{it['qty']},{amount:.2f},{tags}\n")  # 一行只产生一个字符串
    parts.append(f"total,{total:.2f}\n")
    return "".join(parts).encode()  # 最后一次性拼接


# --8<-- [end:fixed]

HANDLERS = {"slow": handle_slow, "fixed": handle_fixed}


def where(filename: str, lineno: int) -> str:
    """示例自己的文件写相对仓库的路径，标准库只留最后两级（如 json/decoder.py）。"""
    if os.path.dirname(os.path.abspath(filename)) == HERE:
        return f"examples/ch1/{os.path.basename(filename)}:{lineno}"
    return "/".join(filename.split(os.sep)[-2:]) + f":{lineno}"


# --8<-- [start:trace]
def trace_one(handler, body: bytes) -> tuple[int, tracemalloc.Snapshot]:
    """开着 tracemalloc 处理一个请求：峰值内存，以及返回前一刻的分配快照。"""
    at_return = {}

    def on_event(frame, event, arg):
        # 处理函数返回的那一刻，它的局部变量还没释放：此时拍快照
        if event == "return" and frame.f_code is handler.__code__:
            at_return["snapshot"] = tracemalloc.take_snapshot()

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        sys.setprofile(on_event)
        try:
            handler(body)
        finally:
            sys.setprofile(None)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return peak, at_return["snapshot"]


# --8<-- [end:trace]


def top_sites(handler, snapshot: tracemalloc.Snapshot, top: int) -> dict:
    """按行汇总快照；只算处理函数自己的行和它调用的库（去掉测量代码本身的零星分配）。"""
    first = handler.__code__.co_firstlineno
    last = max(line for _, _, line in handler.__code__.co_lines() if line is not None)

    def belongs(stat) -> bool:
        frame = stat.traceback[0]
        if os.path.abspath(frame.filename) != os.path.abspath(__file__):
            return frame.filename != tracemalloc.__file__
        return first < frame.lineno <= last  # 跳过 def 行：那里只有探针物化出的帧对象

    stats = [s for s in snapshot.statistics("lineno") if belongs(s)]
    return {
        "live_bytes": sum(s.size for s in stats),
        "live_blocks": sum(s.count for s in stats),
        "top": [
            {
                "where": where(s.traceback[0].filename, s.traceback[0].lineno),
                "code": linecache.getline(s.traceback[0].filename, s.traceback[0].lineno).strip(),
                "size": s.size,
                "count": s.count,
            }
            for s in stats[:top]
        ],
    }


def time_per_request(handler, body: bytes, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        handler(body)
    return (time.perf_counter() - start) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000, help="每个请求的商品行数")
    parser.add_argument("--requests", type=int, default=8, help="每轮每个版本计时的请求数")
    parser.add_argument("--rounds", type=int, default=3, help="计时轮数（两版交替）")
    parser.add_argument("--warmup", type=int, default=1, help="预热轮数（不计入结果）")
    parser.add_argument("--top", type=int, default=5, help="列出多少个分配位置")
    args = parser.parse_args()

    body = make_body(args.rows)
    if handle_slow(body) != handle_fixed(body):
        raise SystemExit("两个版本的输出不同，比较没有意义")

    traced = {}
    for name, handler in HANDLERS.items():
        handler(body)  # 先跑一次，让导入、缓存之类的一次性分配不算进来
        peak, snapshot = trace_one(handler, body)
        traced[name] = {"peak": peak, **top_sites(handler, snapshot, args.top)}
        print(
            f"{name}: 峰值 {peak} B，返回前存活 {traced[name]['live_blocks']} 块", file=sys.stderr
        )

    names = list(HANDLERS)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.warmup + args.rounds):
        # 每轮轮换先后，避免总是同一个版本先跑
        order = names[r % 2 :] + names[: r % 2]
        for name in order:
            t = time_per_request(HANDLERS[name], body, args.requests)
            if r >= args.warmup:
                times[name].append(t)

    slow, fixed = traced["slow"], traced["fixed"]
    result = {
        "metrics": {
            "slow_peak_bytes": {
                "label": "慢版本：每个请求的峰值内存",
                "unit": "B",
                "values": [slow["peak"]],
            },
            "fixed_peak_bytes": {
                "label": "改进版：每个请求的峰值内存",
                "unit": "B",
                "values": [fixed["peak"]],
            },
            "slow_live_blocks": {
                "label": "慢版本：返回前存活的内存块",
                "unit": "",
                "values": [slow["live_blocks"]],
            },
            "fixed_live_blocks": {
                "label": "改进版：返回前存活的内存块",
                "unit": "",
                "values": [fixed["live_blocks"]],
            },
            "slow_time_s": {
                "label": "慢版本：每个请求耗时",
                "unit": "s",
                "values": times["slow"],
            },
            "fixed_time_s": {
                "label": "改进版：每个请求耗时",
                "unit": "s",
                "values": times["fixed"],
            },
            "peak_ratio": {
                "label": "峰值内存之比（慢 / 改进）",
                "unit": "×",
                "values": [slow["peak"] / fixed["peak"]],
            },
            "blocks_ratio": {
                "label": "存活内存块之比（慢 / 改进）",
                "unit": "×",
                "values": [slow["live_blocks"] / fixed["live_blocks"]],
            },
            "speedup": {
                "label": "耗时之比（慢 / 改进）",
                "unit": "×",
                "values": [s / f for s, f in zip(times["slow"], times["fixed"], strict=True)],
            },
        },
        "info": {
            "rows": args.rows,
            "body_bytes": len(body),
            "requests_per_round": args.requests,
            "python": sys.version.split()[0],
            "top_slow": slow["top"],
            "top_fixed": fixed["top"],
            "live_bytes_slow": slow["live_bytes"],
            "live_bytes_fixed": fixed["live_bytes"],
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
