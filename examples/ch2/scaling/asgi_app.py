"""横向扩展一节的 FastAPI 服务（gunicorn 的 uvicorn worker 跑它）：与 Flask 版同样的接口与工作。"""

from __future__ import annotations

import asyncio
import os

from core import WAIT_S, work
from fastapi import FastAPI, Response

app = FastAPI()


@app.get("/api/ping")
async def ping(response: Response) -> dict:
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return {"ok": True}


@app.get("/api/work")
async def api_work(response: Response, seed: int | None = None) -> dict:
    await asyncio.sleep(WAIT_S)  # 等待期间事件循环去处理别的请求
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return work(seed)
