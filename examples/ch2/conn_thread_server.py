"""第二章 · 并发连接：每个连接一个线程的回显服务器（socketserver 式的经典写法）。

单独运行：python examples/ch2/conn_thread_server.py --port 0
监听 127.0.0.1，启动后在标准输出打印实际端口（一行），之后一直服务到被终止。
"""

from __future__ import annotations

import argparse
import resource
import socket
import threading


# --8<-- [start:handler]
def handle(conn: socket.socket) -> None:
    # 阻塞式读写：线程在 recv 里睡着，直到这个连接来了数据
    with conn:
        try:
            while data := conn.recv(64):
                conn.sendall(data)
        except ConnectionError:
            pass


def serve(port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=4096)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        # 每接受一个连接就开一个 OS 线程（默认 8 MiB 栈，按需占用物理内存）
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


# --8<-- [end:handler]


def raise_nofile() -> None:
    # 一万个连接需要一万多个文件描述符：把软上限提到硬上限
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="监听端口，0 表示由内核挑选")
    args = parser.parse_args()
    raise_nofile()
    serve(args.port)


if __name__ == "__main__":
    main()
