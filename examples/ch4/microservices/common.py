"""第四章 · 微服务的代价：三个驱动程序（instances、hops、limits）共用的小工具。

- 同一个小服务的四种实现怎么启动（FastAPI + uvicorn、Flask + gunicorn、Go net/http、Spring Boot），
  就绪的标准是 GET /json 答出正确的调用链；
- 从操作系统读一个服务整棵进程树的内存（RSS、USS、PSS）与 CPU 时间；
- 运行时生成一次性的 CA 与证书（cryptography），用完连同目录一起删掉；
- 在本进程自己的 cgroup 之下建子 cgroup（v1 或 v2），给服务加内存与 CPU 上限，用完删掉；
- 调用 Go 的测量客户端（probe / refuse）。
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from perflab import services  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402
from perflab.runner import run_command  # noqa: E402

PY = sys.executable
LABELS = {
    "fastapi": "FastAPI + uvicorn",
    "flask": "Flask + gunicorn（sync）",
    "go": "Go net/http",
    "spring": "Spring Boot（JDK 17）",
}
# JVM 在一台负载重的 2 核机器上启动 Spring Boot 可能要十几秒
STARTUP_TIMEOUT_S = {"spring": 180.0}
DEFAULT_STARTUP_TIMEOUT_S = 30.0
# 各服务绑定端口失败时自己的说法（Go、uvicorn、nginx 与 gunicorn 各有各的写法）
PORT_TRIES = 3


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def metric(label: str, unit: str, value: float) -> dict:
    return {"label": label, "unit": unit, "values": [value]}


def parse_list(text: str, kind=int) -> list:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"microservices: bad list {text!r}") from None


# --8<-- [start:commands]
def command(
    runtime: str, name: str, next_url: str, *, go_binary: str = "", jar: str = ""
) -> tuple[list[str], dict[str, str]]:
    """(命令行, 环境变量)：{port} 由 perflab.services 换成运行时选出的空闲端口。各自的默认设置，
    不调堆、不调 worker 数之外的任何参数——要量的正是默认情况下一个实例的代价。"""
    env = {"MICRO_NAME": name, "MICRO_NEXT": next_url}
    if runtime == "fastapi":
        cmd = [PY, "-m", "uvicorn", "svc_fastapi:app", "--app-dir", str(HERE)]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        return [*cmd, "--host", "127.0.0.1", "--port", "{port}"], env
    if runtime == "flask":
        cmd = [PY, "-m", "gunicorn", "-k", "sync", "-w", "1", "--chdir", str(HERE)]
        return [*cmd, "-b", "127.0.0.1:{port}", "svc_flask:app"], env
    if runtime == "go":
        return [
            go_binary,
            "-role",
            "serve",
            "-name",
            name,
            "-port",
            "{port}",
            "-next",
            next_url,
        ], {}
    if runtime == "spring":
        # 不给 -Xmx：堆的上限由 JVM 按它看到的内存自己定
        cmd = ["java", "-jar", jar, "--server.address=127.0.0.1", "--server.port={port}"]
        cmd += [f"--micro.name={name}", f"--micro.next={next_url}"]
        return [*cmd, "--spring.main.banner-mode=off", "--logging.level.root=WARN"], {}
    raise PerflabError(f"unknown runtime {runtime!r} (fastapi, flask, go or spring)")


# --8<-- [end:commands]


def expect_chain(chain: list[str]) -> services.Expect:
    """对的回答：200、JSON、调用链正是 chain（Go 版另带一个 resumed 计数，不比较它）。"""

    def check(body: bytes) -> str | None:
        try:
            got = json.loads(body).get("chain")
        except (ValueError, AttributeError):
            return f"GET /json answered a body that is not a chain: {body[:60]!r}"
        return None if got == chain else f"GET /json answered chain {got}, expected {chain}"

    return services.Expect(path="/json", content_type="application/json", body_check=check)


def ready_fast(expect: services.Expect, spin_s: float = 0.25):
    """就绪检查：在一次检查里每 5 ms 重试一次（perflab.services 每 50 ms 才调一次检查），
    让启动时间的分辨率到毫秒级。"""

    def check(svc: services.Service) -> str | None:
        end = time.monotonic() + spin_s
        while True:
            try:
                why = expect.problem(services.get(svc, expect.path, timeout_s=1.0))
            except OSError as exc:
                why = f"GET {expect.path}: {exc.strerror or exc}"
            if why is None or time.monotonic() >= end or svc.proc.poll() is not None:
                return why
            time.sleep(0.005)

    return check


@contextlib.contextmanager
def service(
    runtime: str,
    name: str,
    next_url: str,
    *,
    ready: services.Expect | None = None,
    cpus: list[int] | None = None,
    go_binary: str = "",
    jar: str = "",
    wrap: list[str] | None = None,
) -> Iterator[services.Service]:
    """启动一个服务（wrap：套在命令前面的前缀，如把它放进 cgroup 的 sh），就绪后 yield；
    svc.info["startup_s"] 是从启动到第一个正确回答的秒数。"""
    cmd, env = command(runtime, name, next_url, go_binary=go_binary, jar=jar)
    check = ready_fast(ready) if ready else ready_fast(services.Expect(path="/info"))

    def make(stack: contextlib.ExitStack) -> services.Service:
        t0 = time.monotonic()
        svc = stack.enter_context(
            services.start(
                name,
                [*(wrap or []), *cmd],
                ready=check,
                cpus=cpus,
                env=env,
                startup_timeout_s=STARTUP_TIMEOUT_S.get(runtime, DEFAULT_STARTUP_TIMEOUT_S),
            )
        )
        svc.info["startup_s"] = time.monotonic() - t0
        return svc

    with on_free_ports(make, name) as svc:
        svc.info["runtime"] = runtime
        log(f"{name}（{LABELS[runtime]}）就绪：{svc.info['startup_s']:.2f} s，pid {svc.pid}")
        yield svc


@contextlib.contextmanager
def on_free_ports(make, what: str):
    """make(stack) 启动一个或几个服务（都进 stack）并返回要交出去的东西。空闲端口在选出与绑定
    之间被别的进程抢走时（服务自己报 address already in use 而退出），换新端口整组重来；
    只重试启动阶段，之后的错误原样抛出。"""
    for attempt in range(1, PORT_TRIES + 1):
        stack = contextlib.ExitStack()
        try:
            value = make(stack)
        except PerflabError as exc:
            stack.close()
            if attempt < PORT_TRIES and services.port_clash(exc):
                log(f"{what}: a port was taken before it could bind, starting again")
                continue
            raise
        with stack:
            yield value
        return


def get_json(svc: services.Service, path: str) -> dict:
    try:
        answer = services.get(svc, path, timeout_s=5.0)
        return json.loads(answer.body)
    except (OSError, ValueError) as exc:
        raise svc.fail(f"GET {path}: {exc}") from None


# ---------------------------------------------------------------- 进程树的内存与 CPU


def _tree(pid: int):
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error as exc:
        raise PerflabError(f"cannot read process {pid}: {exc}") from None


# --8<-- [start:memory]
def memory(svc: services.Service) -> dict[str, int]:
    """整棵进程树（gunicorn 的 master 加 worker）的 RSS、USS、PSS 之和（字节）。
    RSS 把几个进程共享的页各算一遍；USS 只算各进程独占的页；PSS 把共享页按进程数分摊。"""
    import psutil

    total = {"rss": 0, "uss": 0, "pss": 0}
    for proc in _tree(svc.pid):
        try:
            info = proc.memory_full_info()
        except psutil.Error as exc:
            raise svc.fail(f"cannot read its memory: {exc}") from None
        for key in total:
            total[key] += getattr(info, key)
    return total


def cpu_seconds(svc: services.Service) -> float:
    """整棵进程树用掉的 CPU 时间（用户态 + 内核态，所有线程：GC、JIT 都算在内）。"""
    import psutil

    spent = 0.0
    for proc in _tree(svc.pid):
        try:
            t = proc.cpu_times()
        except psutil.Error as exc:
            raise svc.fail(f"cannot read its CPU time: {exc}") from None
        spent += t.user + t.system
    return spent


# --8<-- [end:memory]


# ---------------------------------------------------------------- 一次性的 CA 与证书


@dataclass
class PKI:
    """一个临时目录里的 CA；issue() 签发服务端、客户端两用的证书（localhost、127.0.0.1）。"""

    folder: Path
    name: str = "perflab"
    issued: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = self._build(f"{self.name} CA", self._key.public_key(), ca=True)
        self.ca = self._write(f"{self.name}-ca.pem", self._pem(self._cert))

    def _pem(self, cert) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return cert.public_bytes(serialization.Encoding.PEM)

    def _write(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        self.issued.append(name)
        return str(path)

    def _build(self, common_name: str, public_key, *, ca: bool):
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        issuer = subject if ca else self._cert.subject
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        return builder.sign(self._key, hashes.SHA256())

    # --8<-- [start:issue]
    def issue(self, name: str) -> tuple[str, str]:
        """(证书, 私钥) 的文件路径：ECDSA P-256，由这个 CA 签发，有效期一天。"""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._build(name, key.public_key(), ca=False)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self._write(f"{name}-cert.pem", self._pem(cert)), self._write(
            f"{name}-key.pem", key_pem
        )

    # --8<-- [end:issue]


@contextlib.contextmanager
def pki_folder() -> Iterator[Path]:
    """证书目录：只有本进程可读（0700），无论成败，用完整个删掉。"""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="perflab-pki-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- cgroup：内存与 CPU 上限


class NoCgroup(Exception):
    """这台机器上建不了 cgroup（原因在消息里）。"""


def _mounts() -> dict[str, tuple[Path, str]]:
    """控制器 → (挂载点, 挂载的根)：v1 每个控制器一处，v2 统一记在 "unified" 下。"""
    found: dict[str, tuple[Path, str]] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if len(rest) < 3:
            continue
        fstype, options = rest[0], rest[2].split(",")
        if fstype == "cgroup2":
            found.setdefault("unified", (Path(parts[4]), parts[3]))
        elif fstype == "cgroup":
            for opt in options:
                if opt in ("memory", "cpu"):
                    found[opt] = (Path(parts[4]), parts[3])
    return found


def _own_paths() -> dict[str, str]:
    """本进程所在的 cgroup：控制器 → 路径（v2 记在 "unified" 下）。"""
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            own["unified"] = path
        for c in controllers.split(","):
            if c in ("memory", "cpu"):
                own[c] = path
    return own


def _under(mount: tuple[Path, str], path: str) -> Path:
    point, root = mount
    rel = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return (point / rel).resolve() if rel != "." else point


@dataclass
class Cgroup:
    """一个建好的子 cgroup：version 为 1 或 2；wrap() 给命令加上“先进这个 cgroup 再 exec”的前缀。"""

    version: int
    dirs: dict[str, Path]  # v1："memory"、"cpu" 各一个目录；v2："unified" 一个

    def wrap(self) -> list[str]:
        procs = " && ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs.values())
        return ["sh", "-c", f'{procs} && exec "$@"', "sh"]

    def _read(self, controller: str, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.dirs[controller] / name).read_text()
        return ""

    def stats(self) -> dict[str, float]:
        """内存峰值、因超限被杀的次数、CPU 被节流的周期数与时长（秒）。"""
        if self.version == 1:
            peak = float(self._read("memory", "memory.max_usage_in_bytes") or 0)
            oom = re.search(r"oom_kill (\d+)", self._read("memory", "memory.oom_control"))
            cpu = self._read("cpu", "cpu.stat")
            throttled_s = float(_field(cpu, "throttled_time")) / 1e9
        else:
            peak = float(self._read("unified", "memory.peak") or 0)
            oom = re.search(r"oom_kill (\d+)", self._read("unified", "memory.events"))
            cpu = self._read("unified", "cpu.stat")
            throttled_s = float(_field(cpu, "throttled_usec")) / 1e6
        return {
            "memory_peak_B": peak,
            "oom_kills": float(oom.group(1)) if oom else 0.0,
            "nr_throttled": float(_field(cpu, "nr_throttled")),
            "throttled_s": throttled_s,
        }


def _field(text: str, name: str) -> str:
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    return m.group(1) if m else "0"


# --8<-- [start:cgroup]
@contextlib.contextmanager
def cgroup(tag: str, *, memory_B: int | None = None, cpus: float | None = None) -> Iterator[Cgroup]:
    """在本进程自己的 cgroup 之下建一个子 cgroup，写上内存上限与 CPU 配额（每 100 ms 周期里
    可用 cpus × 100 ms），用完删掉。建不了（不是 root、只读挂载、v2 的父 cgroup 不肯下放控制器）
    时抛 NoCgroup，消息说明原因。"""
    mounts, own = _mounts(), _own_paths()
    name = f"perflab-{tag}-{os.getpid()}"
    made: list[Path] = []
    try:
        if "memory" in mounts and "cpu" in mounts:
            version = 1
            dirs = {c: _under(mounts[c], own.get(c, "/")) / name for c in ("memory", "cpu")}
            settings = {
                "memory": {"memory.limit_in_bytes": memory_B},
                "cpu": {"cpu.cfs_period_us": 100_000 if cpus else None},
            }
            if cpus:
                settings["cpu"]["cpu.cfs_quota_us"] = round(cpus * 100_000)
        elif "unified" in mounts:
            version = 2
            parent = _under(mounts["unified"], own.get("unified", "/"))
            enabled = (parent / "cgroup.subtree_control").read_text().split()
            for c in ("memory", "cpu"):
                if c not in enabled:
                    # 父 cgroup 里还有进程时内核会拒绝（v2 的“无内部进程”规则）
                    (parent / "cgroup.subtree_control").write_text(f"+{c}")
            dirs = {"unified": parent / name}
            settings = {
                "unified": {
                    "memory.max": memory_B,
                    "memory.swap.max": 0 if memory_B else None,
                    "cpu.max": f"{round(cpus * 100_000)} 100000" if cpus else None,
                }
            }
        else:
            raise NoCgroup("no cgroup v1 memory/cpu controllers and no cgroup v2 mounted")
        for controller, folder in dirs.items():
            folder.mkdir()
            made.append(folder)
            for key, value in settings[controller].items():
                if value is not None:
                    (folder / key).write_text(str(value))
    except OSError as exc:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise NoCgroup(f"cannot create a cgroup: {exc.strerror or exc} ({exc.filename})") from None
    # --8<-- [end:cgroup]
    try:
        yield Cgroup(version, dirs)
    finally:
        for folder in reversed(made):
            _remove(folder)


def _remove(folder: Path) -> None:
    """rmdir 一个 cgroup；里面的进程刚被杀时内核还要片刻才放手，重试到 5 秒。"""
    deadline = time.monotonic() + 5
    while True:
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                log(f"microservices: could not remove cgroup {folder}")
                return
            time.sleep(0.05)


# ---------------------------------------------------------------- Go 的测量客户端


def tls_args(cert: str = "", key: str = "", ca: str = "") -> list[str]:
    out: list[str] = []
    for flag, value in (("-cert", cert), ("-key", key), ("-ca", ca)):
        if value:
            out += [flag, value]
    return out


def probe(
    go_binary: str,
    url: str,
    *,
    mode: str,
    expect: list[str],
    duration_s: float,
    warmup: int,
    cpus: list[int] | None,
    tls: list[str] | None = None,
    conns: int = 1,
) -> dict:
    """发请求计时（Go 客户端，conns 个并发、各自发完一个等回答再发下一个，每个回答都核对
    调用链）；答错或连不上时抛 PerflabError。"""
    cmd = [go_binary, "-role", "probe", "-url", url, "-mode", mode, "-expect", ",".join(expect)]
    cmd += ["-warmup", str(warmup), "-duration", f"{duration_s}s", "-conns", str(conns)]
    cmd += tls or []
    out = run_command(cmd, label=f"probe {url}", timeout_s=duration_s + 60, cpus=cpus)
    return json.loads(out)


def refused(go_binary: str, url: str, tls: list[str], cpus: list[int] | None) -> str:
    """期望双向 TLS 拒绝这个客户端；没拒绝时抛 PerflabError。返回拒绝时的错误文本。"""
    cmd = [go_binary, "-role", "refuse", "-url", url, *tls]
    out = run_command(cmd, label=f"mutual TLS refusal at {url}", timeout_s=60, cpus=cpus)
    return json.loads(out)["error"]


def slope(xs: list[float], ys: list[float]) -> float:
    """每多一跳多出来的延迟：两两连线斜率的中位数（Theil–Sen），一个点被别的进程拖慢时
    不至于把整条线带歪（最小二乘会）。"""
    import statistics

    pairs = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    return statistics.median(pairs)
