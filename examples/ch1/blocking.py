"""第一章 · 阻塞 I/O：N 个请求各要等一次慢下游，顺序处理、线程池、asyncio 各要多久。

进程里先在 127.0.0.1 的随机端口上起一个“慢下游”（asyncio 服务器，每个请求等 --wait 秒再回答，
可以同时服务很多连接）；然后用三种方式发出同样的 N 个请求：
  sequential  一个接一个，阻塞式 socket；
  threads     同样的阻塞式调用，交给线程池（--threads 个线程）；
  asyncio     事件循环里一次发出全部请求。
三种方式在同一进程里交替测量；下游在最后关闭。

单独运行：python examples/ch1/blocking.py --requests 30 --wait 0.015
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUT_S = 10.0


class SlowDownstream:
    """一个慢下游服务：收到一行请求，等 wait 秒，回一行应答后关闭连接。"""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        await asyncio.sleep(self.wait)
        writer.write(b"ok " + line)
        await writer.drain()
        writer.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            self.loop.run_until_complete(server.wait_closed())
            self.loop.close()

    def __enter__(self) -> SlowDownstream:
        self.thread.start()
        if not self.ready.wait(TIMEOUT_S):
            raise RuntimeError("慢下游没有按时启动")
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT_S)


# --8<-- [start:variants]
def call_downstream(port: int, i: int) -> bytes:
    # 阻塞式调用：在应答回来之前，这个线程什么也做不了
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as conn:
        conn.sendall(f"req {i}\n".encode())
        return conn.makefile("rb").readline()


def sequential(port: int, n: int, threads: int) -> None:
    for i in range(n):
        call_downstream(port, i)


def thread_pool(port: int, n: int, threads: int) -> None:
    # 等待发生在 socket 调用里，那时线程已释放 GIL：等待可以重叠
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(call_downstream, [port] * n, range(n)))


async def call_downstream_async(port: int, i: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"req {i}\n".encode())
    await writer.drain()
    line = await reader.readline()  # 在这里让出事件循环，别的请求接着跑
    writer.close()
    await writer.wait_closed()
    return line


def with_asyncio(port: int, n: int, threads: int) -> None:
    async def all_requests() -> None:
        await asyncio.gather(*(call_downstream_async(port, i) for i in range(n)))

    asyncio.run(asyncio.wait_for(all_requests(), TIMEOUT_S))


# --8<-- [end:variants]

VARIANTS = {"sequential": sequential, "threads": thread_pool, "asyncio": with_asyncio}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="每轮的请求数 N")
    parser.add_argument("--wait", type=float, default=0.015, help="下游每次要等的秒数")
    parser.add_argument("--threads", type=int, default=10, help="线程池大小")
    parser.add_argument("--rounds", type=int, default=2, help="计时轮数（三种方式交替）")
    parser.add_argument("--warmup", type=int, default=1, help="预热轮数（不计入结果）")
    args = parser.parse_args()

    names = list(VARIANTS)
    totals: dict[str, list[float]] = {name: [] for name in names}
    with SlowDownstream(args.wait) as downstream:
        for r in range(args.warmup + args.rounds):
            order = names[r % 3 :] + names[: r % 3]  # 每轮轮换先后
            for name in order:
                start = time.perf_counter()
                VARIANTS[name](downstream.port, args.requests, args.threads)
                elapsed = time.perf_counter() - start
                if r >= args.warmup:
                    totals[name].append(elapsed)
                print(f"{name}: {elapsed * 1e3:.1f} ms", file=sys.stderr)

    labels = {
        "sequential": "顺序处理",
        "threads": f"{args.threads} 线程的线程池",
        "asyncio": "asyncio",
    }
    metrics: dict[str, dict] = {}
    for name in names:
        metrics[f"{name}_s"] = {
            "label": f"{labels[name]}：总耗时",
            "unit": "s",
            "values": totals[name],
        }
    for name in names:
        metrics[f"{name}_rps"] = {
            "label": f"{labels[name]}：吞吐（请求/秒）",
            "unit": "",
            "values": [args.requests / t for t in totals[name]],
        }
    for name in ("threads", "asyncio"):
        metrics[f"{name}_speedup"] = {
            "label": f"{labels[name]}：相对顺序处理的加速比",
            "unit": "×",
            "values": [s / t for s, t in zip(totals["sequential"], totals[name], strict=True)],
        }
    result = {
        "metrics": metrics,
        "info": {
            "requests": args.requests,
            "wait_s": args.wait,
            "threads": args.threads,
            # 纯等待的下限：顺序处理至少 N × 等待，线程池至少 ⌈N / 线程数⌉ × 等待
            "sequential_floor_s": args.requests * args.wait,
            "threads_floor_s": -(-args.requests // args.threads) * args.wait,
            "asyncio_floor_s": args.wait,
            "python": sys.version.split()[0],
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
