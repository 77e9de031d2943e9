"""第二章 · 延迟监控：用 prometheus_client 埋点的 Flask 服务。

一个接口 /api/items，处理时间按固定的分布（多数请求快、少数慢）用 sleep 模拟，
所以延迟的真值由压测端量出，与服务器占不占 CPU 无关。环境变量：
  MON_INSTRUMENT   article（文章的装饰器）| fixed（改正后的）| off（不埋点，测开销用）
  MON_FAULT_FILE   故障开关文件：{"delay_s": 1.0, "error_share": 0.5}，每个请求读它的修改时间
  PROMETHEUS_MULTIPROC_DIR   设了就用 prometheus_client 的多进程模式（gunicorn 多 worker）

生产方式：python -m gunicorn -k gthread --threads 32 -w 1 -b 127.0.0.1:8000 monitoring_app:app
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import time

from flask import Flask, Response, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

app = Flask(__name__)
MODE = os.environ.get("MON_INSTRUMENT", "fixed")
FAULT_FILE = os.environ.get("MON_FAULT_FILE", "")

# --8<-- [start:buckets]
# 默认桶（prometheus_client 的 DEFAULT_BUCKETS）：5 ms 到 10 s，中间很稀
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# 按实测延迟排的桶：5 ms 到约 2.6 s，每档乘 1.25，分位数落在窄桶里
FINE_BUCKETS = tuple(round(0.005 * 1.25**i, 6) for i in range(29))
# --8<-- [end:buckets]

# --8<-- [start:metrics]
REQUEST_LATENCY = Histogram(
    "app_request_latency_seconds",
    "请求处理时间（默认桶）",
    ["method", "endpoint"],
    buckets=DEFAULT_BUCKETS,
)
# 同一批请求再记一份细桶：两种桶布局比较的是完全相同的样本
REQUEST_LATENCY_FINE = Histogram(
    "app_request_latency_fine_seconds",
    "请求处理时间（按实测延迟排的桶）",
    ["method", "endpoint"],
    buckets=FINE_BUCKETS,
)
REQUEST_COUNT = Counter(
    "app_requests_total", "请求数（按状态码）", ["method", "endpoint", "status"]
)
EXCEPTIONS = Counter("app_exceptions_total", "处理中抛出的异常", ["method", "endpoint"])
# --8<-- [end:metrics]


# --8<-- [start:article]
def monitor_article(func):
    """文章的装饰器：time.time() 计时，只有默认桶，异常时不记状态码。"""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.time()  # 墙上时钟：NTP 校时会让它跳，算出的时长可能为负或偏大
        try:
            response = func(*args, **kwargs)
        except Exception:
            EXCEPTIONS.labels(request.method, request.path).inc()
            raise
        REQUEST_LATENCY.labels(request.method, request.path).observe(time.time() - start)
        REQUEST_COUNT.labels(request.method, request.path, response.status_code).inc()
        return response

    return wrapper


# --8<-- [end:article]


# --8<-- [start:fixed]
def monitor(func):
    """改正后：单调时钟计时；异常也记一次 500 和它的耗时；endpoint 用路由模板而非原始路径。"""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()  # 单调时钟，不受校时影响
        endpoint = request.url_rule.rule if request.url_rule else "unknown"
        status = 500
        try:
            response = func(*args, **kwargs)
            status = response.status_code
            return response
        except Exception:
            EXCEPTIONS.labels(request.method, endpoint).inc()
            raise
        finally:
            elapsed = time.perf_counter() - start
            REQUEST_LATENCY.labels(request.method, endpoint).observe(elapsed)
            REQUEST_LATENCY_FINE.labels(request.method, endpoint).observe(elapsed)
            REQUEST_COUNT.labels(request.method, endpoint, status).inc()

    return wrapper


# --8<-- [end:fixed]

INSTRUMENT = {"article": monitor_article, "fixed": monitor, "off": lambda f: f}[MODE]


class Fault:
    """故障开关：由实验写文件打开；文件没变就不重新读。"""

    def __init__(self, path: str) -> None:
        self.path = path
        self.mtime = None
        self.delay_s = 0.0
        self.error_share = 0.0

    def current(self) -> tuple[float, float]:
        if not self.path:
            return 0.0, 0.0
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            self.mtime, self.delay_s, self.error_share = None, 0.0, 0.0
            return 0.0, 0.0
        if mtime != self.mtime:
            with open(self.path) as f:
                spec = json.load(f)
            self.mtime = mtime
            self.delay_s = float(spec.get("delay_s", 0.0))
            self.error_share = float(spec.get("error_share", 0.0))
        return self.delay_s, self.error_share


FAULT = Fault(FAULT_FILE)


# --8<-- [start:handler]
def work_time() -> float:
    # 对数正态：九成请求中位数约 18 ms，一成慢请求中位数约 150 ms（缓存未命中、下游慢）
    if random.random() < 0.9:
        return random.lognormvariate(math.log(0.018), 0.35)
    return random.lognormvariate(math.log(0.150), 0.5)


@app.get("/api/items")
@INSTRUMENT
def items():
    delay_s, error_share = FAULT.current()
    time.sleep(work_time() + delay_s)
    if error_share and random.random() < error_share:
        raise RuntimeError("注入的故障")
    return jsonify(items=[1, 2, 3])


# --8<-- [end:handler]


@app.get("/api/ping")
@INSTRUMENT
def ping():
    # 不睡眠：测埋点开销时，请求本身的 CPU 时间越短，开销越显眼
    return jsonify(ok=True)


# --8<-- [start:endpoint]
@app.get("/metrics")
def metrics():
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # 多进程模式：每个 worker 把数值写进共享目录的文件，抓取时把所有文件合起来
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    # 单进程模式：只有处理这次抓取的那个 worker 自己的计数
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


# --8<-- [end:endpoint]


@app.get("/whoami")
def whoami():
    return jsonify(pid=os.getpid())
