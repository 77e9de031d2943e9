"""第二章 · 并发连接：asyncio 回显服务器，一个线程、一个事件循环服务所有连接。

单独运行：python examples/ch2/conn_asyncio_server.py --port 0
监听 127.0.0.1，启动后在标准输出打印实际端口（一行），之后一直服务到被终止。
"""

from __future__ import annotations

import argparse
import asyncio
import resource


# --8<-- [start:handler]
async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # 每个连接只是一个协程：等待数据时把控制权交回事件循环，不占线程
    try:
        while data := await reader.read(64):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


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
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
