"""第二章 · GIL：I/O 密集的任务分给 1、2、4 个线程或进程——等待时 GIL 是放开的。

两种等待：time.sleep，以及一次真实的本机 TCP 往返（服务端在另一个进程里，每个请求等 delay 再回复）。
单独运行：python examples/ch2/gil_io.py --requests 16 --delay 0.01 --rounds 4
标准输出只有一个 JSON 对象；日志写到标准错误。
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import multiprocessing.pool
import os
import socket
import sys
import time


# --8<-- [start:server]
def serve(conn, delay: float) -> None:
    # 服务端：asyncio 同时挂起任意多个请求，每个等 delay 秒再回复，自身不会成为瓶颈
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        await asyncio.sleep(delay)
        writer.write(line)
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        conn.send(server.sockets[0].getsockname()[1])  # 端口号交回给父进程
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --8<-- [end:server]


# --8<-- [start:tasks]
def wait_sleep(delay: float, _request: int) -> None:
    time.sleep(delay)  # 睡眠期间释放 GIL


def wait_socket(port: int, _request: int) -> None:
    # 一次完整的往返：连接、发送、阻塞等待回复；阻塞在 recv 里时 GIL 是放开的
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"ping\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(64)
            if not chunk:
                raise ConnectionError("server closed the connection early")
            reply += chunk


def split_requests(pool, task, requests: int) -> float:
    # 请求总数固定，池里的 k 个工作者同时各取一部分；池子事先建好
    start = time.perf_counter()
    pool.map(task, range(requests), chunksize=1)
    return time.perf_counter() - start


# --8<-- [end:tasks]

LABELS = {"threads": "线程", "processes": "进程", "sleep": "sleep", "socket": "TCP 往返"}


def measure(requests: int, delay: float, workers: list[int], rounds: int) -> dict:
    ctx = multiprocessing.get_context("forkserver")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(child, delay), daemon=True)
    server.start()
    pools: dict = {}
    try:
        if not parent.poll(30):
            raise RuntimeError("echo server did not report its port")
        port = parent.recv()
        print(f"echo server on 127.0.0.1:{port}, delay {delay * 1000:g} ms", file=sys.stderr)
        tasks = {
            "sleep": functools.partial(wait_sleep, delay),
            "socket": functools.partial(wait_socket, port),
        }
        for k in workers:
            pools[("processes", k)] = ctx.Pool(k)
            pools[("threads", k)] = multiprocessing.pool.ThreadPool(k)
        for pool in pools.values():
            # 预热：每个工作者都已启动，也都连过一次服务端
            pool.map(tasks["socket"], range(8), chunksize=1)
        configs = [(mode, kind, k) for mode in tasks for (kind, k) in pools]
        samples: dict = {c: [] for c in configs}
        for r in range(rounds):
            # 正序、倒序交替（ABBA）：负载随时间漂移时，不偏向先跑或后跑的一方
            for mode, kind, k in configs if r % 2 == 0 else configs[::-1]:
                elapsed = split_requests(pools[(kind, k)], tasks[mode], requests)
                samples[(mode, kind, k)].append(elapsed)
        return samples
    finally:
        for pool in pools.values():
            pool.terminate()
            pool.join()
        server.terminate()
        server.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16, help="每种跑法处理的请求总数")
    parser.add_argument("--delay", type=float, default=0.01, help="每个请求的等待（秒）")
    parser.add_argument("--workers", default="1,2,4", help="工作者数，逗号分隔，必须含 1")
    parser.add_argument(
        "--rounds", type=int, default=4, help="计时轮数（正序、倒序交替，取偶数为宜）"
    )
    args = parser.parse_args()
    workers = sorted({int(w) for w in args.workers.split(",")})
    if 1 not in workers:
        parser.error("--workers 必须包含 1（加速比以 1 个工作者为基准）")

    samples = measure(args.requests, args.delay, workers, args.rounds)
    metrics = {}
    for mode in ("sleep", "socket"):
        for kind in ("threads", "processes"):
            for k in workers:
                metrics[f"{mode}_{kind}_{k}_s"] = {
                    "label": f"{LABELS[mode]} · {k} 个{LABELS[kind]}：耗时",
                    "unit": "s",
                    "values": samples[(mode, kind, k)],
                }
            for k in workers:
                if k > 1:
                    pairs = zip(samples[(mode, kind, 1)], samples[(mode, kind, k)], strict=True)
                    speedups = [one / many for one, many in pairs]  # 同一轮里配对相除
                    metrics[f"{mode}_{kind}_{k}_speedup"] = {
                        "label": f"{LABELS[mode]} · {k} 个{LABELS[kind]}：加速比（对 1 个）",
                        "unit": "×",
                        "values": speedups,
                    }
                    # 加速比 ÷ 工作者数：等待完全重叠为 100%，完全串行只有 100% ÷ k
                    metrics[f"{mode}_{kind}_{k}_efficiency"] = {
                        "label": f"{LABELS[mode]} · {k} 个{LABELS[kind]}：加速比 ÷ {k}",
                        "unit": "%",
                        "values": [100 * s / k for s in speedups],
                    }
    result = {
        "metrics": metrics,
        "info": {
            "requests": args.requests,
            "delay_s": args.delay,
            "workers": workers,
            "cpus": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0],
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
