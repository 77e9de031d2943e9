"""第五章 · 混合部署：四种部署怎么启动、怎么验证（mixed.py 与 hop.py 共用）。

每个服务都经 perflab.services 启动：运行时选出的回环空闲端口、独立进程组、钉在给定的 CPU 上、
就绪靠真的检查（gRPC 的空调用、HTTP 答出正确的概率），退出时（包括出错时）整组停掉。
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from model import example_features, load, make_weights  # noqa: E402

from perflab import protogen, services  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402

PY = sys.executable
LABELS = {
    "py": "全 Python（FastAPI + numpy）",
    "gofront": "Go 前置 → Python gRPC 模型",
    "nodefront": "Node.js 前置 → Python gRPC 模型",
    "go": "全 Go（net/http + Go 版模型）",
}
PY_PACKAGES = ["fastapi", "uvicorn", "uvloop", "httptools", "numpy", "grpcio", "protobuf"]
# 前置答出的概率与驱动程序用 numpy 算的差多少算“答对”：两边只差浮点求和顺序，远小于它
SCORE_TOLERANCE = 1e-9


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise PerflabError("missing tool: node not found on PATH (Debian package nodejs)")
    grpc_js = ROOT / "node_modules" / "@grpc" / "grpc-js" / "package.json"
    if not grpc_js.is_file():
        raise PerflabError("missing package: @grpc/grpc-js (npm, package.json; run `make setup`)")
    return node


def node_versions() -> dict[str, str]:
    node = require_node()
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    found = {"node": out.stdout.strip()}
    for pkg in ("grpc-js", "proto-loader"):
        meta = ROOT / "node_modules" / "@grpc" / pkg / "package.json"
        found[f"@grpc/{pkg}"] = json.loads(meta.read_text())["version"]
    return found


def versions(go_binary: str) -> dict[str, str]:
    found = {pkg: metadata.version(pkg) for pkg in PY_PACKAGES}
    found["grpc-go"] = services.go_module_version(go_binary, "google.golang.org/grpc")
    found.update(node_versions())
    found["wrk"] = services.wrk_version()
    found["vegeta"] = services.vegeta_version()
    return found


@dataclass
class Setup:
    """本轮的权重文件、生成的 Python gRPC 代码、一条测试输入和它的正确答案。"""

    folder: Path
    weights: Path
    pb: Path
    features: list[float]
    expected: float

    @property
    def query(self) -> str:
        return "x=" + ",".join(repr(v) for v in self.features)

    def score_problem(self, body: bytes) -> str | None:
        try:
            score = float(json.loads(body)["score"])
        except (ValueError, KeyError, TypeError):
            return f"answered {body[:60]!r}, not {{'score': number}}"
        if abs(score - self.expected) > SCORE_TOLERANCE:
            return f"answered score {score!r}, expected {self.expected!r}"
        return None

    def expect(self) -> services.Expect:
        return services.Expect(
            path="/predict?" + self.query,
            content_type="application/json",
            body_check=self.score_problem,
        )


def prepare(folder: Path) -> Setup:
    """按固定种子写出权重，生成（或复用未过期的）Python gRPC 代码，算出正确答案。"""
    weights = folder / "weights.json"
    weights.write_text(json.dumps(make_weights()))
    features = example_features(1)[0]
    return Setup(
        folder, weights, protogen.python_package(), features, load(weights).predict(features)
    )


def started(stack: contextlib.ExitStack, name: str, cmd: list[str], **kw) -> services.Service:
    """services.start 进入 stack（端口在选出与绑定之间被抢时，它自己换端口再起）。"""
    return stack.enter_context(services.start(name, cmd, **kw))


def grpc_ready(pb: Path):
    """gRPC 服务的就绪检查：一次空调用（Ping）成功。"""
    if str(pb) not in sys.path:
        sys.path.insert(0, str(pb))
    import grpc
    import model_pb2
    import model_pb2_grpc

    def check(svc: services.Service) -> str | None:
        with grpc.insecure_channel(f"{services.LOOPBACK}:{svc.port}") as channel:
            try:
                model_pb2_grpc.ModelStub(channel).Ping(model_pb2.Empty(), timeout=1.0)
            except grpc.RpcError as exc:
                return f"Ping: {exc.code().name}"
        return None

    return check


def start_python_model(stack: contextlib.ExitStack, name: str, setup: Setup, cpus):
    cmd = [PY, str(HERE / "mixed_grpc.py"), "--port", "{port}"]
    cmd += ["--weights", str(setup.weights), "--pb", str(setup.pb)]
    return started(stack, name, cmd, ready=grpc_ready(setup.pb), cpus=cpus, cwd=HERE)


def start_go_model(stack: contextlib.ExitStack, name: str, setup: Setup, go_binary: str, cpus):
    cmd = [go_binary, "-role", "model", "-port", "{port}", "-weights", str(setup.weights)]
    ready = grpc_ready(setup.pb)
    return started(stack, name, cmd, ready=ready, cpus=cpus, env={"GOMAXPROCS": "1"}, cwd=HERE)


# --8<-- [start:deployments]
def start_deployments(
    stack: contextlib.ExitStack, setup: Setup, go_binary: str, cpus
) -> dict[str, list[services.Service]]:
    """四种部署，全部钉在同一组 CPU 上；每种的第一个服务是接请求的前置。"""
    ready = services.http_ready(setup.expect())
    go_env = {"GOMAXPROCS": "1"}  # 与 uvicorn 的 1 个 worker、Node 的 1 个线程对等
    py_cmd = [PY, "-m", "uvicorn", "mixed_fastapi:app", "--app-dir", str(HERE)]
    py_cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    py_cmd += ["--host", "127.0.0.1", "--port", "{port}"]
    env = {"MIXED_WEIGHTS": str(setup.weights)}
    out: dict[str, list[services.Service]] = {}
    out["py"] = [started(stack, "py", py_cmd, ready=ready, cpus=cpus, env=env)]
    # 两个前置各有自己的 Python 模型服务，互不干扰
    for front in ("gofront", "nodefront"):
        model = start_python_model(stack, f"{front} python gRPC model", setup, cpus)
        addr = f"{services.LOOPBACK}:{model.port}"
        if front == "gofront":
            cmd = [go_binary, "-role", "front", "-port", "{port}", "-model", addr]
            extra = go_env
        else:
            cmd = [require_node(), str(HERE / "mixed_front.js"), "--port", "{port}"]
            cmd += ["--model", addr]
            extra = {}
        svc = started(stack, front, cmd, ready=ready, cpus=cpus, env=extra, cwd=HERE)
        out[front] = [svc, model]
    go_cmd = [go_binary, "-role", "all", "-port", "{port}", "-weights", str(setup.weights)]
    out["go"] = [started(stack, "go", go_cmd, ready=ready, cpus=cpus, env=go_env, cwd=HERE)]
    return out


# --8<-- [end:deployments]


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="perflab-ch5-") as tmp:
        yield Path(tmp)
