"""One context manager for every service under test or around it.

A service gets its own temporary folder (config files written there, stderr logged there),
a free 127.0.0.1 port chosen now (or a Unix socket in that folder), its own process group
pinned to the CPUs it is given, and readiness by a real check (never a sleep). On exit the
whole group gets TERM, a grace period, then KILL, and the folder is removed, also after a
failure. Every error is one line naming the service, with its stderr tail as detail.
A port chosen here but taken by someone else before the service bound it (the service says
"address already in use" and exits) is replaced by another, a few times; a port the caller
asked for is never swapped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perflab.errors import PerflabError
from perflab.runner import kill_group, tail

LOOPBACK = "127.0.0.1"

# 就绪检查：返回 None 表示已就绪，返回一句话表示还差什么（超时后这句话进错误信息）
ReadyCheck = Callable[["Service"], str | None]


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def split_cpus() -> tuple[list[int] | None, list[int] | None]:
    """(server CPUs, load-generator CPUs): disjoint halves when there are two or more CPUs."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


@dataclass
class Service:
    """A started service: where it listens, its process, folder and log."""

    name: str
    proc: subprocess.Popen
    folder: Path
    port: int | None = None
    socket_path: Path | None = None
    cpus: list[int] | None = None
    version: str = ""
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        if self.port is None:
            raise PerflabError(f"service {self.name}: listens on a Unix socket, not a port")
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "service.log"

    def stderr_tail(self) -> str:
        try:
            return tail(self.log_path.read_text(errors="replace"))
        except OSError:
            return ""

    def fail(self, message: str) -> PerflabError:
        """A one-line error naming this service, its log tail as detail."""
        return PerflabError(f"service {self.name}: {message}", detail=self.stderr_tail())

    def check_alive(self, when: str = "during the run") -> None:
        """Raise if the service has exited (a server that died mid-run)."""
        code = self.proc.poll()
        if code is not None:
            raise self.fail(f"exited with status {code} {when}")


def _fill(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@contextlib.contextmanager
def start(
    name: str,
    argv: Sequence[str],
    *,
    ready: ReadyCheck,
    cpus: list[int] | None = None,
    env: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    port: int | None = None,
    unix_socket: bool = False,
    startup_timeout_s: float = 20.0,
    grace_s: float = 3.0,
    version: str = "",
    cwd: Path | None = None,
) -> Iterator[Service]:
    """Start `argv` as service `name`; yield it once `ready` passes; always stop and clean up.

    Placeholders in argv, env values and files: {port}, {dir} (the service's folder),
    {socket} (a Unix socket path in that folder, with unix_socket=True).
    """
    if port is not None and port_in_use(port):
        raise PerflabError(f"service {name}: port {port} on {LOOPBACK} is already in use")
    # 自己选的端口在服务绑定之前可能被别人占了（压测端的出站连接用的是同一段临时端口）：
    # 服务因此没能就绪时换一个端口再起；调用方指定的端口不换
    tries = 1 if (port is not None or unix_socket) else BIND_TRIES
    for attempt in range(1, tries + 1):
        try:
            svc = _launch(
                name, argv, ready, cpus, env, files, port, unix_socket, startup_timeout_s,
                grace_s, version, cwd,
            )  # fmt: skip
        except PerflabError as exc:
            if attempt < tries and port_clash(exc):
                continue
            raise
        break
    try:
        yield svc
        svc.check_alive("before it was stopped")
    finally:
        stop_group(svc.proc, grace_s)
        shutil.rmtree(svc.folder, ignore_errors=True)


BIND_TRIES = 3
# 各服务绑定失败时自己的说法（小写比较）：errno 98 的原文，gunicorn 的 "Connection in use"，
# Spring Boot 的 "Port N was already in use"，grpc 的 "Failed to bind"，Node.js 的 EADDRINUSE
_CLASH = (
    "address already in use",
    "connection in use",
    "was already in use",
    "failed to bind",
    "eaddrinuse",
)


def port_clash(exc: PerflabError) -> bool:
    """The service could not bind its port: its own words, in the message or its log tail."""
    text = str(exc).lower()
    return any(words in text for words in _CLASH)


def _launch(
    name: str,
    argv: Sequence[str],
    ready: ReadyCheck,
    cpus: list[int] | None,
    env: Mapping[str, str] | None,
    files: Mapping[str, str] | None,
    port: int | None,
    unix_socket: bool,
    startup_timeout_s: float,
    grace_s: float,
    version: str,
    cwd: Path | None,
) -> Service:
    """Folder, config files, process, readiness; whatever it made is removed if it fails."""
    folder = Path(tempfile.mkdtemp(prefix=f"perflab-{_slug(name)}-"))
    values = {"dir": str(folder)}
    if unix_socket:
        values["socket"] = str(folder / "service.sock")
    else:
        port = port or free_port()
        values["port"] = str(port)
    proc = None
    try:
        for rel, text in (files or {}).items():
            (folder / rel).write_text(_fill(text, values))
        cmd = [_fill(part, values) for part in argv]
        full_env = {**os.environ, **{k: _fill(v, values) for k, v in (env or {}).items()}}
        with open(folder / "service.log", "w") as log:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=full_env,
                    cwd=cwd or folder,
                    process_group=0,
                    preexec_fn=lambda: _in_child(cpus),
                )
            except FileNotFoundError:
                raise PerflabError(f"service {name}: cannot start {cmd[0]!r}: not found") from None
        svc = Service(
            name,
            proc,
            folder,
            port=None if unix_socket else port,
            socket_path=folder / "service.sock" if unix_socket else None,
            cpus=cpus,
            version=version,
        )
        _wait_ready(svc, ready, startup_timeout_s)
        return svc
    except BaseException:
        if proc is not None:
            stop_group(proc, grace_s)
        shutil.rmtree(folder, ignore_errors=True)
        raise


PR_SET_PDEATHSIG = 1


def _in_child(cpus: list[int] | None) -> None:
    """In the service's process before exec: pin it, and have the kernel TERM it if the process
    that started it dies without running its cleanup (killed by a timeout, SIGKILL)."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)[:40]


def _wait_ready(svc: Service, ready: ReadyCheck, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    why = "no check ran"
    while True:
        code = svc.proc.poll()
        if code is not None:
            raise svc.fail(f"exited with status {code} before it was ready")
        why = ready(svc)
        if why is None:
            return
        if time.monotonic() >= deadline:
            where = f"{LOOPBACK}:{svc.port}" if svc.port else str(svc.socket_path)
            raise svc.fail(f"not ready on {where} within {timeout_s:g} s ({why})")
        time.sleep(0.05)


def stop_group(proc: subprocess.Popen, grace_s: float = 3.0) -> None:
    """SIGTERM the service's group, then SIGKILL whatever is left after a grace period."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    # 组长退出后组里可能还有子进程（gunicorn 的 worker）：整组再补一刀
    kill_group(proc.pid)
    proc.wait()
