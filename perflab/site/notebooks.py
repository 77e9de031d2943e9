"""Execute the labs' notebooks under the engine's cache rules.

A notebook measures live, so its outputs are results like any experiment's: they are reused
only while everything they depend on is unchanged (the notebook, the examples it may run, the
engine results it may read, the pinned dependencies, the interpreter, the machine and the
profile), and PERFLAB_REFRESH forces a new run. A failing cell fails the build with the
notebook's name and the cell's error.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from perflab import env, files, paths, settings
from perflab.errors import PerflabError

CELL_TIMEOUT_S = 120


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ):
        digest.update(paths.relative(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(notebook: Path, profile: str) -> str:
    material = {
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "examples": _tree_digest(paths.ROOT / "examples"),
        # 笔记本会读引擎的结果（book.result）：结果重测过，笔记本也要重跑
        "results": _tree_digest(paths.cache_dir() / "results" / profile),
        "requirements": hashlib.sha256((paths.ROOT / "requirements.txt").read_bytes()).hexdigest(),
        "python": sys.version,
        "machine": env.machine(),
        "profile": profile,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:20]


def execute(notebook: Path, target: Path) -> None:
    """Run every cell in a fresh kernel (working directory: the notebook's folder)."""
    nb = nbformat.read(notebook, as_version=4)
    # 内核与客户端经临时目录里的 Unix 套接字（ipc）通信，不占 TCP 端口：两次构建同时执行
    # 笔记本时不会抢到同一个端口，也没有“TCP 未加密”的警告
    with tempfile.TemporaryDirectory(prefix="perflab-kernel-") as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
        client = NotebookClient(
            nb,
            km=km,
            timeout=CELL_TIMEOUT_S,
            allow_errors=False,
            resources={"metadata": {"path": str(notebook.parent)}},
        )
        try:
            client.execute(env={**os.environ, settings.ROOT_VARIABLE: str(paths.ROOT)})
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as exc:
            # RuntimeError：内核没能启动或不响应
            last = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
            raise PerflabError(f"notebook {paths.relative(notebook)} failed: {last[0]}") from None
        finally:
            # 内核管理器是我们交给客户端的，客户端不替我们关：这里关掉内核进程
            if km.has_kernel:
                km.shutdown_kernel()
    with files.replacing(target) as tmp:
        nbformat.write(nb, tmp)


def executed(notebook: Path, profile: str, report=lambda line: None) -> Path:
    """Path of the executed copy of `notebook` (same file name), running it only when needed."""
    target = paths.cache_dir() / "notebooks" / cache_key(notebook, profile) / notebook.name
    name = paths.relative(notebook)
    if target.is_file() and not settings.refresh():
        report(f"[perflab] 笔记本 {name}：缓存有效，未重新执行")
        return target
    started = time.perf_counter()
    report(f"[perflab] 笔记本 {name}：执行中…")
    execute(notebook, target)
    report(f"[perflab] 笔记本 {name}：执行完成（{time.perf_counter() - started:.1f} s）")
    return target
