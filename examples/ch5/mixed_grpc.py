"""第五章 · 混合部署：Python 模型服务（grpcio 的 asyncio 服务器），Go 与 Node.js 前置都调用它。

生成的 model_pb2*.py 由 perflab/protogen.py 从 examples/ch5/model.proto 生成，
--pb 指向它们所在的目录。
python examples/ch5/mixed_grpc.py --port 50051 --weights /tmp/w.json --pb DIR
"""

from __future__ import annotations

import argparse
import asyncio
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--pb", required=True, help="生成的 model_pb2.py 所在目录")
    args = parser.parse_args()
    sys.path.insert(0, args.pb)
    asyncio.run(serve(args.port, args.weights))


async def serve(port: int, weights: str) -> None:
    import grpc
    import model_pb2
    import model_pb2_grpc
    from model import load

    model = load(weights)

    # --8<-- [start:servicer]
    class Model(model_pb2_grpc.ModelServicer):
        async def Predict(self, request, context):  # 方法名由 .proto 决定
            try:
                return model_pb2.PredictReply(score=model.predict(request.features))
            except ValueError as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))

        async def Ping(self, request, context):
            # 空调用：不算任何东西，量的是这一跳本身
            return model_pb2.Empty()

    # --8<-- [end:servicer]

    server = grpc.aio.server()
    model_pb2_grpc.add_ModelServicer_to_server(Model(), server)
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"mixed_grpc: cannot listen on 127.0.0.1:{port}")
    await server.start()
    print(f"mixed_grpc: listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    main()
