"""A tiny HTTP server for the services tests: answers JSON, or 500s, or stalls some requests.

python tiny_server.py PORT MODE   (MODE: ok | fail500 | stall | die-after N)
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, MODE = int(sys.argv[1]), sys.argv[2]
ARG = sys.argv[3] if len(sys.argv) > 3 else ""
COUNT = [0]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        if MODE == "die-after" and n > int(ARG):
            os._exit(3)
        status = 500 if MODE == "fail500" else 200
        if MODE == "stall" and n % 20 == 0:
            time.sleep(2.0)  # 每 20 个请求里有 1 个卡 2 秒（5%）
        body = json.dumps({"message": "Hello, World!"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
