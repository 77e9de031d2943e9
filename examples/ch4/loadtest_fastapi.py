"""第四章 · 压测：FastAPI 版的 JSON 接口，跑在 uvicorn（uvloop + httptools）上。

python -m uvicorn loadtest_fastapi:app --host 127.0.0.1 --port 8000 --loop uvloop --http httptools
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


# --8<-- [start:handler]
@app.get("/json")
async def json_endpoint() -> dict:
    # 返回一个新建的 dict，FastAPI 把它编码成 JSON 响应
    return {"message": "Hello, World!"}


# --8<-- [end:handler]
