"""第四章 · 微服务的代价：Flask 版的小服务，跑在 gunicorn 同步 worker 上。

GET /json 调用下一个服务（环境变量 MICRO_NEXT；为空则是链尾），把自己的名字（MICRO_NAME）
加在调用链前面：{"chain": ["a", "b", "leaf"]}。?mode=new 时每次调用新建连接，并把 mode 沿链传下去。

MICRO_NAME=a MICRO_NEXT=http://127.0.0.1:8081 \
    python -m gunicorn -w 1 -b 127.0.0.1:8080 svc_flask:app
"""

from __future__ import annotations

import os

import requests
from flask import Flask, jsonify, request

NAME = os.environ.get("MICRO_NAME", "flask")
NEXT = os.environ.get("MICRO_NEXT", "")
app = Flask(__name__)
# 一个同步 worker 同一时刻只处理一个请求：一个 Session（连接池）就够了
session = requests.Session()
session.trust_env = False  # 不理会环境里的代理设置，只连回环地址


# --8<-- [start:handler]
@app.get("/json")
def json_endpoint():
    chain = [NAME]
    if NEXT:
        mode = "new" if request.args.get("mode") == "new" else "reuse"
        # reuse：Session 复用 keep-alive 连接；new：Connection: close，每次调用新建连接
        headers = {"Connection": "close"} if mode == "new" else {}
        resp = session.get(f"{NEXT}/json", params={"mode": mode}, headers=headers, timeout=10)
        resp.raise_for_status()
        chain += resp.json()["chain"]
    return jsonify(chain=chain)


# --8<-- [end:handler]


@app.get("/info")
def info():
    # Python 看到的 CPU 数：不看 cgroup 的 CPU 配额
    return jsonify(cpu_count=os.cpu_count(), pid=os.getpid())
