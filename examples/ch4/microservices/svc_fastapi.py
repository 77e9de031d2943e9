"""第四章 · 微服务的代价：FastAPI 版的小服务，跑在 uvicorn 上。

GET /json 调用下一个服务（环境变量 MICRO_NEXT；为空则是链尾），把自己的名字（MICRO_NAME）
加在调用链前面：{"chain": ["a", "b", "leaf"]}。?mode=new 时每次调用新建连接，并把 mode 沿链传下去。

MICRO_NAME=a MICRO_NEXT=http://127.0.0.1:8081 python -m uvicorn svc_fastapi:app --port 8080
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI

NAME = os.environ.get("MICRO_NAME", "fastapi")
NEXT = os.environ.get("MICRO_NEXT", "")
clients: dict[str, aiohttp.ClientSession] = {}


# --8<-- [start:clients]
@asynccontextmanager
async def lifespan(app: FastAPI):
    # reuse：连接池保持 keep-alive 连接；new：force_close，每次调用都新建 TCP 连接。
    # 用 aiohttp 而不是 httpx：httpx 的连接池在并发请求下慢得多（encode/httpx#3215）
    timeout = aiohttp.ClientTimeout(total=10)
    for mode, force_close in (("reuse", False), ("new", True)):
        connector = aiohttp.TCPConnector(limit=256, force_close=force_close)
        clients[mode] = aiohttp.ClientSession(connector=connector, timeout=timeout)
    yield
    for client in clients.values():
        await client.close()


# --8<-- [end:clients]

app = FastAPI(lifespan=lifespan)


# --8<-- [start:handler]
@app.get("/json")
async def json_endpoint(mode: str = "reuse") -> dict:
    chain = [NAME]
    if NEXT:
        mode = mode if mode in clients else "reuse"
        # 等下游回答时事件循环去处理别的请求
        async with clients[mode].get(f"{NEXT}/json", params={"mode": mode}) as resp:
            resp.raise_for_status()
            chain += (await resp.json())["chain"]
    return {"chain": chain}


# --8<-- [end:handler]


@app.get("/info")
async def info() -> dict:
    # Python 看到的 CPU 数：不看 cgroup 的 CPU 配额
    return {"cpu_count": os.cpu_count(), "pid": os.getpid()}
