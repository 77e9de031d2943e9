"""第四章 · 压测：Flask 版的 JSON 接口（TechEmpower 的 JSON 测试：每个请求新建一个对象再序列化）。

生产方式：gunicorn 同步 worker，python -m gunicorn -k sync -w 1 -b 127.0.0.1:8000 loadtest_flask:app
文章的方式：Werkzeug 开发服务器，python loadtest_flask.py --port 8000（即 app.run(threaded=True)）
"""

from __future__ import annotations

import argparse

from flask import Flask, jsonify

app = Flask(__name__)


# --8<-- [start:handler]
@app.get("/json")
def json_endpoint():
    # 每个请求新建一个对象，由 jsonify 序列化并设好 Content-Type
    return jsonify(message="Hello, World!")


# --8<-- [end:handler]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # --8<-- [start:devserver]
    # 文章里的写法：Werkzeug 自带的开发服务器，每个连接一个线程（Flask 文档说它不该用于生产）
    app.run(host="127.0.0.1", port=args.port, threaded=True)
    # --8<-- [end:devserver]
