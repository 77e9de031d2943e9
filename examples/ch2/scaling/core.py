"""横向扩展一节的被测服务共用的部分：启动时载入的商品表、每个请求的一点计算、文件数据库。

WSGI（Flask，sync / gthread worker）与 ASGI（FastAPI，uvicorn worker）两个应用都导入它，
所以三种 worker 类型做的是同一份工作。
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

# 每个请求“查数据库”的等待（毫秒）：用 sleep 代表一次网络往返，与构建机的 CPU 快慢无关
WAIT_S = float(os.environ.get("SCALE_WAIT_MS", "5")) / 1000
CATALOG_SIZE = int(os.environ.get("SCALE_CATALOG", "60000"))


# --8<-- [start:catalog]
def load_catalog(n: int) -> dict[str, dict]:
    # 代表服务启动时载入内存的数据（配置、字典、小模型）：每个 worker 进程一份
    return {
        f"sku-{i}": {"id": i, "name": f"商品 {i}", "price": i % 997 / 10, "tags": ["a", str(i % 7)]}
        for i in range(n)
    }


CATALOG = load_catalog(CATALOG_SIZE)
# --8<-- [end:catalog]


def work(seed: int | None = None) -> dict:
    """每个请求的计算部分：从商品表里随机取 20 件、算总价。

    读一件商品也要改它的引用计数，也就是往它所在的内存页里写；seed 为 None 时每个请求取不同的商品。
    """
    rng = random.Random(seed)
    picked = [CATALOG[f"sku-{rng.randrange(CATALOG_SIZE)}"] for _ in range(20)]
    return {"count": len(picked), "total": round(sum(p["price"] for p in picked), 2)}


class FileDb:
    """“数据库”：一个目录，每个键一个文件；写入先写临时文件再改名，读到的总是完整的值。

    所有 worker、所有实例（包括 Go 版）读写同一个目录：它是唯一的真值来源。
    """

    KEY = re.compile(r"[a-z0-9-]{1,64}")

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)

    def check(self, key: str) -> str:
        # 键直接当文件名：只收小写字母、数字和连字符，不让 ../ 之类进来
        if not self.KEY.fullmatch(key):
            raise ValueError(f"bad key {key!r}")
        return key

    def get(self, key: str) -> str | None:
        try:
            return (self.folder / self.check(key)).read_text()
        except FileNotFoundError:
            return None

    def put(self, key: str, value: str) -> None:
        self.check(key)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(value)
        os.replace(tmp, self.folder / key)
