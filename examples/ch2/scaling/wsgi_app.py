"""横向扩展一节的 Flask 服务（gunicorn 的 sync / gthread worker 跑它）。

环境变量选择每种状态放在哪里：
  SCALE_CACHE     local（每个 worker 一个 dict）| redis
  SCALE_SESSIONS  local（每个 worker 一个 dict）| redis
  SCALE_REDIS_URL redis://127.0.0.1:端口/0 或 unix:///临时目录/redis.sock
  SCALE_DB_DIR    文件数据库的目录（所有 worker 共用）
  SCALE_LOG       收集端的 Unix 数据报套接字路径；不设则不写日志
  SCALE_UPSTREAM_FILE  /checkout 调 /inventory 时经过的地址（负载均衡器）写在这个文件里
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import secrets
import time
import urllib.request
import uuid
from pathlib import Path

from core import WAIT_S, FileDb, work
from flask import Flask, g, jsonify, request

app = Flask(__name__)
DB = FileDb(os.environ.get("SCALE_DB_DIR", "."))
TTL_S = 60

REDIS = None
if os.environ.get("SCALE_REDIS_URL"):
    import redis

    # redis-py 的连接池在 fork 之后按进程重建：每个 worker 有自己的连接
    REDIS = redis.Redis.from_url(os.environ["SCALE_REDIS_URL"], decode_responses=True)


# --8<-- [start:cache]
class LocalCache:
    """每个 worker 进程自己的缓存：写入时只能让本进程的副本失效。"""

    def __init__(self) -> None:
        self.data: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        hit = self.data.get(key)
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def set(self, key: str, value: str) -> None:
        self.data[key] = (value, time.monotonic() + TTL_S)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class RedisCache:
    """所有 worker、所有实例共用的缓存：一次失效，处处失效。"""

    def get(self, key: str) -> str | None:
        return REDIS.get(f"cache:{key}")

    def set(self, key: str, value: str) -> None:
        REDIS.set(f"cache:{key}", value, ex=TTL_S)

    def delete(self, key: str) -> None:
        REDIS.delete(f"cache:{key}")


CACHE = RedisCache() if os.environ.get("SCALE_CACHE") == "redis" else LocalCache()


@app.get("/item/<key>")
def read_item(key: str):
    value = CACHE.get(key)
    if value is None:
        value = DB.get(key)  # 未命中：读数据库，再放进缓存
        if value is None:
            return jsonify(error="no such item"), 404
        CACHE.set(key, value)
    return jsonify(key=key, value=value)


@app.put("/item/<key>")
def write_item(key: str):
    value = request.get_data(as_text=True)
    DB.put(key, value)
    CACHE.delete(key)  # 先写库，再让缓存失效
    return jsonify(key=key, value=value)


# --8<-- [end:cache]


# --8<-- [start:sessions]
LOCAL_SESSIONS: dict[str, str] = {}  # 每个 worker 进程一份
SHARED_SESSIONS = os.environ.get("SCALE_SESSIONS") == "redis"


def save_session(sid: str, user: str) -> None:
    if SHARED_SESSIONS:
        REDIS.set(f"session:{sid}", user, ex=1800)
    else:
        LOCAL_SESSIONS[sid] = user


def load_session(sid: str) -> str | None:
    if SHARED_SESSIONS:
        return REDIS.get(f"session:{sid}")
    return LOCAL_SESSIONS.get(sid)


@app.post("/login")
def login():
    sid = secrets.token_hex(16)
    save_session(sid, request.args.get("user", "reader"))
    resp = jsonify(ok=True)
    resp.set_cookie("sid", sid, httponly=True)
    return resp


@app.get("/me")
def me():
    user = load_session(request.cookies.get("sid", ""))
    if user is None:
        return jsonify(error="not logged in"), 401
    return jsonify(user=user)


# --8<-- [end:sessions]


@app.get("/api/ping")
def ping():
    return jsonify(ok=True)


@app.get("/api/work")
def api_work():
    time.sleep(WAIT_S)  # 代表一次数据库查询的等待
    seed = request.args.get("seed")
    return jsonify(work(None if seed is None else int(seed)))


# --8<-- [start:logging]
class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"ts": record.created, "source": "app", **record.__dict__["fields"]})


LOG = logging.getLogger("scaling.requests")
LOG.propagate = False
if os.environ.get("SCALE_LOG"):
    # 每个 worker 把 JSON 行发到同一个收集端（Unix 数据报套接字，syslog 的做法）
    handler = logging.handlers.SysLogHandler(address=os.environ["SCALE_LOG"])
    handler.setFormatter(JsonFormatter())
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)


@app.before_request
def start_timer():
    g.started = time.perf_counter()
    # 负载均衡器给的请求 ID；直接访问时自己生成一个
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex


@app.after_request
def finish(resp):
    resp.headers["X-Worker-Pid"] = str(os.getpid())  # 预加载时导入发生在主进程，不能在导入时取
    if LOG.handlers:
        fields = {
            "request_id": g.request_id,
            "pid": os.getpid(),
            "method": request.method,
            "path": request.path,
            "status": resp.status_code,
            "duration_s": round(time.perf_counter() - g.started, 6),
        }
        LOG.info("request", extra={"fields": fields})
    return resp


# --8<-- [end:logging]


# --8<-- [start:checkout]
@app.get("/checkout")
def checkout():
    # 一个请求里再调另一个服务（这里经负载均衡器回到同一组实例），把请求 ID 传下去；
    # 服务地址从配置文件读：负载均衡器的端口要等它起来才知道
    upstream = Path(os.environ["SCALE_UPSTREAM_FILE"]).read_text().strip()
    req = urllib.request.Request(upstream + "/inventory", headers={"X-Request-ID": g.request_id})
    with urllib.request.urlopen(req, timeout=5) as resp:
        stock = json.load(resp)["stock"]
    return jsonify(ok=True, stock=stock)


@app.get("/inventory")
def inventory():
    return jsonify(stock=42)


# --8<-- [end:checkout]
