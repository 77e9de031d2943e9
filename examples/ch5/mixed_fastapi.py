"""第五章 · 混合部署之一：全 Python——FastAPI 在进程内调用 numpy 模型，跑在 uvicorn 上。

MIXED_WEIGHTS=/tmp/w.json python -m uvicorn mixed_fastapi:app --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import os

from fastapi import FastAPI, HTTPException
from model import load, parse_features

app = FastAPI()
MODEL = load(os.environ["MIXED_WEIGHTS"])


# --8<-- [start:handler]
@app.get("/predict")
async def predict(x: str) -> dict:
    # 模型就在本进程里：解析特征、前向计算、返回概率，没有任何跨进程的一跳
    try:
        return {"score": MODEL.predict(parse_features(x))}
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


# --8<-- [end:handler]
