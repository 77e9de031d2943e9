"""Protobuf / gRPC code generated from the book's one .proto, never committed, never stale.

    python_package()   model_pb2.py and model_pb2_grpc.py made by grpcio-tools, in the cache
                       under a folder named by the hash of the .proto and the generator's versions
    ensure_go(dir)     model.pb.go and model_grpc.pb.go made by protoc with protoc-gen-go and
                       protoc-gen-go-grpc, written into the Go package's folder with a stamp;
                       a stamp that does not match the .proto and the tools' versions means the
                       files are regenerated before anything builds or hashes them

gobuild.source_files() calls ensure_go_for() first, so `go build` and the result cache never see
generated code older than the .proto; `python -m perflab.protogen` (run by the setup step) makes
everything before `go vet ./...` and `go test ./...`; `python -m perflab.protogen --plugins`
prints the pinned Go plugins for the setup step to install. Node.js reads the .proto at start-up.
A missing generator is a one-line PerflabError naming what provides it.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from perflab import files, paths
from perflab.errors import PerflabError
from perflab.runner import tail

PROTO = paths.ROOT / "examples" / "ch5" / "model.proto"
# 生成的 Go 代码落在哪个包里（相对仓库根目录）：gobuild 编译其上层包之前先确保它是新的
GO_TARGETS = {Path("go-examples/ch5/mixed/modelpb"): PROTO}
GO_OUTPUTS = ("model.pb.go", "model_grpc.pb.go")
PY_OUTPUTS = ("model_pb2.py", "model_pb2_grpc.py")
STAMP = ".protogen"
# setup 步骤从 Go 模块代理装这两个插件的固定版本到 .venv/bin
GO_PLUGINS = {
    "protoc-gen-go": "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12",
    "protoc-gen-go-grpc": "google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2",
}
TIMEOUT_S = 120


def _find(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def require_protoc() -> str:
    found = _find("protoc")
    if found is None:
        raise PerflabError(
            "missing tool: protoc not found (Debian package protobuf-compiler; `make setup` "
            "installs it)"
        )
    return found


def require_plugin(name: str) -> str:
    found = _find(name)
    if found is None:
        raise PerflabError(
            f"missing tool: {name} not found (Go module {GO_PLUGINS[name]}; `make setup` "
            "installs it into .venv/bin)"
        )
    return found


@functools.cache
def _version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        raise PerflabError(f"{binary}: cannot run it ({exc.strerror})") from None
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def go_tools() -> dict[str, str]:
    """Versions of protoc and the two Go plugins (one-line error when one is missing)."""
    tools = {"protoc": require_protoc(), **{n: require_plugin(n) for n in GO_PLUGINS}}
    return {name: _version(path) for name, path in tools.items()}


def python_tools() -> dict[str, str]:
    try:
        return {pkg: metadata.version(pkg) for pkg in ("grpcio-tools", "grpcio", "protobuf")}
    except metadata.PackageNotFoundError as exc:
        raise PerflabError(
            f"missing package: {exc.name} (pinned in requirements.txt; `make setup` installs it)"
        ) from None


def _key(proto: Path, tools: dict[str, str]) -> str:
    digest = hashlib.sha256(proto.read_bytes())
    for name, version in sorted(tools.items()):
        digest.update(f"\0{name}={version}".encode())
    return digest.hexdigest()[:16]


def _protoc(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PerflabError(f"{what}: timed out after {TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise PerflabError(f"{what} failed (status {done.returncode})", detail=tail(done.stderr))


def python_package(proto: Path = PROTO) -> Path:
    """A folder holding model_pb2.py and model_pb2_grpc.py for `proto` (put it on sys.path)."""
    if not proto.is_file():
        raise PerflabError(f"protogen: {paths.relative(proto)} does not exist")
    tools = python_tools()
    folder = paths.cache_dir() / "proto" / f"py-{proto.stem}-{_key(proto, tools)}"
    if all((folder / name).is_file() for name in PY_OUTPUTS):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".py-", dir=folder.parent))
    try:
        _protoc(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{proto.parent}",
                f"--python_out={tmp}",
                f"--grpc_python_out={tmp}",
                proto.name,
            ],
            f"grpc_tools.protoc {paths.relative(proto)}",
        )
        missing = [n for n in PY_OUTPUTS if not (tmp / n.replace("model", proto.stem)).is_file()]
        if missing:
            raise PerflabError(f"grpc_tools.protoc wrote no {', '.join(missing)}")
        try:
            tmp.rename(folder)
        except OSError:
            # 另一个进程刚生成了同一份：用它的
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def ensure_go(out_dir: Path, proto: Path = PROTO) -> bool:
    """Generate the Go code for `proto` into out_dir unless its stamp matches; True if it did."""
    if not proto.is_file():
        raise PerflabError(f"protogen: {paths.relative(proto)} does not exist")
    tools = go_tools()
    key = _key(proto, tools)
    stamp = out_dir / STAMP
    current = stamp.read_text().strip() if stamp.is_file() else ""
    if current == key and all((out_dir / n).is_file() for n in GO_OUTPUTS):
        return False
    with tempfile.TemporaryDirectory(prefix="perflab-protogen-") as tmp:
        _protoc(
            [
                require_protoc(),
                f"--plugin=protoc-gen-go={require_plugin('protoc-gen-go')}",
                f"--plugin=protoc-gen-go-grpc={require_plugin('protoc-gen-go-grpc')}",
                f"-I{proto.parent}",
                f"--go_out={tmp}",
                "--go_opt=paths=source_relative",
                f"--go-grpc_out={tmp}",
                "--go-grpc_opt=paths=source_relative",
                proto.name,
            ],
            f"protoc {paths.relative(proto)} (Go)",
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in GO_OUTPUTS:
            made = Path(tmp) / name.replace("model", proto.stem, 1)
            if not made.is_file():
                raise PerflabError(f"protoc {paths.relative(proto)}: wrote no {made.name}")
            with files.replacing(out_dir / name) as target:
                shutil.copyfile(made, target)
    # 戳最后写：中途失败时下次照样重新生成
    stamp.write_text(key + "\n")
    return True


def ensure_go_for(package: Path) -> None:
    """Before a Go package is hashed or built: make every generated package inside it current."""
    package = package.resolve()
    for rel, proto in GO_TARGETS.items():
        target = (paths.ROOT / rel).resolve()
        if target == package or package in target.parents:
            ensure_go(target, proto)


def ensure_all() -> list[str]:
    """Everything generated from the book's .proto files (the setup step runs this)."""
    done = [str(python_package())]
    for rel, proto in GO_TARGETS.items():
        ensure_go(paths.ROOT / rel, proto)
        done.append(str(rel))
    return done


if __name__ == "__main__":
    # --plugins：setup 步骤据此 `go install` 两个插件的固定版本（版本只写在这里）
    if sys.argv[1:] == ["--plugins"]:
        print("\n".join(GO_PLUGINS.values()))
        raise SystemExit(0)
    try:
        for where in ensure_all():
            print(f"protogen: {where} is up to date")
    except PerflabError as exc:
        raise SystemExit(f"protogen: {exc}") from None
