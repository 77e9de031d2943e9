"""认证服务的驱动程序：启动一台服务器，先过一遍安全矩阵，再用 wrk 带合法令牌压测。

--server python   Flask + PyJWT，跑在 gunicorn 的 sync 工作进程上（examples/ch4/auth_server.py）
--server go       net/http + golang-jwt/jwt/v5（go-examples/ch4/auth，需 --go-binary）
--server article  文章里的写法：密钥函数对任何算法都返回同一个字面量（go-examples/ch4/auth_article）

密钥在运行时生成，和配置文件一起写进这台服务器自己的临时目录，结束时连同目录一起删掉；
服务器只绑定 127.0.0.1 上的空闲端口，自成一个进程组，无论成败都整组停掉。
服务器与 wrk 各占一半 CPU（至少两个 CPU 时）。只有状态 200、响应体与预期逐字节相同的响应才计入吞吐。
标准输出只打印一个 JSON 对象，日志写到标准错误。
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
PATH = "/api/profile"
ISSUER, AUDIENCE = "perf-handbook-issuer", "perf-handbook-api"
SUBJECT, SCOPE = "user-42", "profile:read"
# 文章里写死在源码中的密钥：读过那篇文章（或这份复现）的人都知道它
ARTICLE_LITERAL = b"my-secret-key"
ERROR_SHARE_LIMIT = 0.01  # 错误占比超过 1% 时实验失败，不把失败当成吞吐


class BenchError(Exception):
    """一行说清原因的失败。"""


# ---------------------------------------------------------------- 部署：密钥与配置


@dataclass
class Deployment:
    """一台服务器的配置与签发方手里的密钥（签发方就是本驱动程序）。"""

    algorithm: str  # 服务器配置的算法
    sign_key: object  # 签发合法令牌用的密钥
    public_pem: bytes  # 公开的 RSA 公钥（密钥混淆攻击拿它当 HMAC 密钥）
    config_path: Path | None


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def deploy(server: str, folder: Path) -> Deployment:
    """生成密钥、写配置文件（RS256、公钥文件、签发者、受众）。"""
    key = rsa_key()
    pem = public_pem(key)
    if server == "article":
        # 文章的写法没有配置：HS256，密钥是源码里的字面量
        return Deployment("HS256", ARTICLE_LITERAL, pem, None)
    (folder / "public.pem").write_bytes(pem)
    config = {
        "algorithm": "RS256",
        "public_key_file": str(folder / "public.pem"),
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return Deployment("RS256", key, pem, path)


# ---------------------------------------------------------------- 令牌与攻击清单


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(exp_offset_s: float = 3600) -> dict:
    now = int(time.time())
    return {
        "sub": SUBJECT,
        "scope": SCOPE,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + int(exp_offset_s),
    }


def hand_signed(alg: str, payload: dict, secret: bytes | None) -> str:
    """手工拼出的令牌：PyJWT 拒绝用 PEM 公钥当 HMAC 密钥，攻击者的工具可不会拒绝。"""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    signing_input = f"{header}.{body}".encode()
    if secret is None:
        return f"{header}.{body}."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return f"{header}.{body}.{b64url(hmac.new(secret, signing_input, digest).digest())}"


def sign(dep: Deployment, alg: str, payload: dict, key: object = None) -> str:
    key = dep.sign_key if key is None else key
    if alg.startswith("HS"):
        return hand_signed(alg, payload, key)
    return jwt.encode(payload, key, algorithm=alg)


# --8<-- [start:cases]
def attack_cases(dep: Deployment) -> list[tuple[str, str, str | None]]:
    """（编号, 说明, 令牌；None 即不带 Authorization 头）：第一行合法，其余都必须得到 401。"""
    rs = dep.algorithm.startswith("RS")
    other_alg = "RS512" if rs else "HS512"  # 同一把密钥，换一个没配置的算法
    stranger = rsa_key() if rs else b"a-different-secret"  # 攻击者自己的密钥
    forged = {**claims(), "scope": "admin"}
    return [
        ("valid", "合法令牌", sign(dep, dep.algorithm, claims())),
        ("missing", "没有令牌", None),
        ("malformed", "格式错误", "not-a-jwt"),
        (
            "bad_signature",
            "签名不对（攻击者自己的密钥）",
            sign(dep, dep.algorithm, forged, stranger),
        ),
        ("expired", "已过期（一小时前）", sign(dep, dep.algorithm, claims(-3600))),
        ("alg_none", "alg: none，不带签名", hand_signed("none", forged, None)),
        (
            "other_alg",
            "配置之外的算法（RS256 换成 RS512、HS256 换成 HS512，密钥不变）",
            sign(dep, other_alg, claims()),
        ),
        (
            "key_confusion",
            "密钥混淆：HS256，以 RSA 公钥为 HMAC 密钥",
            hand_signed("HS256", forged, dep.public_pem),
        ),
        (
            "source_literal",
            "用文章源码里的字面量密钥伪造（HS256）",
            hand_signed("HS256", forged, ARTICLE_LITERAL),
        ),
    ]


# --8<-- [end:cases]


def request(port: int, token: str | None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        conn.request("GET", PATH, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def expected_body() -> dict:
    return {"sub": SUBJECT, "scope": SCOPE}


def security_matrix(port: int, dep: Deployment) -> list[dict]:
    rows = []
    for case, label, token in attack_cases(dep):
        status, ctype, body = request(port, token)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        rows.append(
            {
                "case": case,
                "label": label,
                "status": status,
                "content_type": ctype,
                "body": parsed if parsed is not None else body.decode(errors="replace")[:200],
                "json_body": parsed is not None,
                "accepted": status == 200,
            }
        )
    return rows


def check_matrix(rows: list[dict], server: str, must_reject: bool) -> None:
    """合法令牌必须通过；--must-reject 时每个攻击都必须是 401 + JSON 错误体。"""
    valid = rows[0]
    if valid["status"] != 200 or valid["body"] != expected_body():
        raise BenchError(f"{server}: the valid token got {valid['status']} {valid['body']!r}")
    if not must_reject:
        return
    for row in rows[1:]:
        ok = (
            row["status"] == 401
            and row["content_type"].split(";")[0].strip() == "application/json"
            and isinstance(row["body"], dict)
            and "error" in row["body"]
        )
        if not ok:
            raise BenchError(
                f"{server}: attack {row['case']} got {row['status']} {row['content_type']!r} "
                f"{row['body']!r}, expected 401 with a JSON error body"
            )


# ---------------------------------------------------------------- 服务器


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def split_cpus() -> tuple[list[int] | None, list[int] | None]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    half = len(cpus) // 2
    return cpus[:half], cpus[half:]


def server_command(args, dep: Deployment, port: int, cpus: list[int] | None) -> list[str]:
    if args.server == "python":
        workers = args.workers or 2 * len(cpus or os.sched_getaffinity(0)) + 1
        return [
            sys.executable, "-m", "gunicorn", "--worker-class", "sync",
            "--workers", str(workers), "--bind", f"{LOOPBACK}:{port}",
            "--chdir", str(HERE), "--log-level", "warning",
            "--env", f"AUTH_CONFIG={dep.config_path}", "auth_server:create_app()",
        ]  # fmt: skip
    if not args.go_binary:
        raise BenchError(f"--server {args.server} needs --go-binary (the built Go package)")
    cmd = [args.go_binary, "-addr", f"{LOOPBACK}:{port}"]
    return [*cmd, "-config", str(dep.config_path)] if args.server == "go" else cmd


@dataclass
class Running:
    port: int
    pid: int
    workers: int


@contextlib.contextmanager
def serve(args, folder: Path, dep: Deployment, cpus) -> Iterator[Running]:
    """启动服务器、用合法令牌确认它真的在服务；退出时整组停掉（TERM，等 3 秒，再 KILL）。"""
    port = free_port()
    cmd = server_command(args, dep, port, cpus)
    err_path = folder / "server.stderr"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
    try:
        token = attack_cases(dep)[0][2]
        deadline = time.monotonic() + args.startup_timeout
        while True:
            if proc.poll() is not None:
                raise BenchError(
                    f"{args.server}: server exited ({proc.returncode}): {tail(err_path)}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _, body = request(port, token)
                if status == 200 and json.loads(body) == expected_body():
                    break
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{args.server}: not ready within {args.startup_timeout:g} s: {tail(err_path)}"
                )
            time.sleep(0.05)
        yield Running(port, proc.pid, len(children(proc.pid)))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=3)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def tail(path: Path, lines: int = 3) -> str:
    kept = path.read_text(errors="replace").strip().splitlines()[-lines:]
    return " | ".join(kept) or "no stderr"


def children(pid: int) -> list[int]:
    """gunicorn 的工作进程数（Go 服务器没有子进程）。"""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


# ---------------------------------------------------------------- wrk

WRK_LUA = """
-- 只数状态 200 且响应体与预期逐字节相同的响应；其余一律算错误
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) good = 0; bad = 0; expected = args[1] end
function response(status, headers, body)
  if status == 200 and body == expected then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"good":%d,"bad":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.2f,"p50":%d,"p99":%d,"max":%d}}\\n',
    summary.requests, g, b, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(args, port: int, token: str, body: bytes, connections: int, duration: float, cpus, folder):
    binary = shutil.which("wrk")
    if binary is None:
        raise BenchError("wrk not found on PATH (apt-get install wrk)")
    script = folder / "verify.lua"
    script.write_text(WRK_LUA)
    threads = max(1, min(len(cpus or [1]), connections))
    cmd = [
        binary, f"-t{threads}", f"-c{connections}", f"-d{duration}s",
        f"--timeout={args.request_timeout:g}s", "-s", str(script),
        "-H", f"Authorization: Bearer {token}",
        f"http://{LOOPBACK}:{port}{PATH}", "--", body.decode(),
    ]  # fmt: skip
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=duration + 30,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[-200:]}")
    data = json.loads(line)
    errors = sum(data["errors"][k] for k in ("connect", "read", "write", "timeout")) + data["bad"]
    attempts = data["good"] + errors
    seconds = data["duration_us"] / 1e6
    return {
        "connections": connections,
        "good": data["good"],
        "errors": errors,
        "error_detail": {**data["errors"], "bad_response": data["bad"]},
        "error_share": errors / attempts if attempts else 1.0,
        "rps": data["good"] / seconds,
        "mean_s": data["latency_us"]["mean"] / 1e6,
        "p50_s": data["latency_us"]["p50"] / 1e6,
        "p99_s": data["latency_us"]["p99"] / 1e6,
        "max_s": data["latency_us"]["max"] / 1e6,
        "seconds": seconds,
    }


# ---------------------------------------------------------------- 主程序


def parse_args(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", choices=("python", "go", "article"), default="python")
    p.add_argument("--go-binary", default="", help="built go-examples/ch4/auth or auth_article")
    p.add_argument("--connections", default="10,40,160", help="comma-separated wrk -c levels")
    # wrk 只接受整秒
    p.add_argument("--duration", type=int, default=1, help="whole seconds per level")
    p.add_argument("--warmup", type=int, default=1, help="whole seconds of untimed load first")
    p.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: 2 x CPUs + 1)")
    p.add_argument("--request-timeout", type=float, default=2.0)
    p.add_argument("--startup-timeout", type=float, default=20.0)
    p.add_argument("--must-reject", action="store_true", help="fail unless every attack gets 401")
    p.add_argument("--matrix-only", action="store_true", help="security matrix, no load")
    args = p.parse_args(argv)
    try:
        args.levels = [int(x) for x in args.connections.split(",") if x.strip()]
    except ValueError:
        p.error(f"--connections {args.connections!r} is not a comma-separated list of integers")
    if not args.levels or min(args.levels) < 1 or args.duration < 1 or args.warmup < 0:
        p.error("--connections needs levels >= 1, --duration >= 1 s and --warmup >= 0 s")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    server_cpus, load_cpus = split_cpus()
    with tempfile.TemporaryDirectory(prefix=f"auth-{args.server}-") as tmp:
        folder = Path(tmp)
        dep = deploy(args.server, folder)
        with serve(args, folder, dep, server_cpus) as srv:
            rows = security_matrix(srv.port, dep)
            check_matrix(rows, args.server, args.must_reject)
            metrics = {
                "attacks_accepted": {
                    "label": "放行的攻击数",
                    "unit": "",
                    "values": [sum(r["accepted"] for r in rows[1:])],
                }
            }
            levels = []
            if not args.matrix_only:
                token = attack_cases(dep)[0][2]
                _, _, body = request(srv.port, token)
                if args.warmup:
                    wrk(args, srv.port, token, body, args.levels[0], args.warmup, load_cpus, folder)
                for c in args.levels:
                    level = wrk(args, srv.port, token, body, c, args.duration, load_cpus, folder)
                    if level["error_share"] > ERROR_SHARE_LIMIT:
                        raise BenchError(
                            f"{args.server}: {level['error_share']:.1%} of requests failed at "
                            f"{c} connections ({level['error_detail']}), over the "
                            f"{ERROR_SHARE_LIMIT:.0%} limit"
                        )
                    levels.append(level)
                    for key, label, unit in (
                        ("rps", "吞吐（每秒合格响应）", ""),
                        ("mean_s", "平均延迟", "s"),
                        ("p99_s", "p99 延迟", "s"),
                        ("error_share", "错误占比", "%"),
                    ):
                        value = level[key] * (100 if unit == "%" else 1)
                        name = f"{key.removesuffix('_s')}_c{c}"
                        metrics[name] = {
                            "label": f"{label}（{c} 个连接）",
                            "unit": unit,
                            "values": [value],
                        }
            info = {
                "server": args.server,
                "server_pid": srv.pid,
                "workers": srv.workers,
                "algorithm": dep.algorithm,
                "levels": args.levels,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "server_cpus": len(server_cpus or os.sched_getaffinity(0)),
                "load_cpus": len(load_cpus or os.sched_getaffinity(0)),
                "matrix": rows,
                "load": levels,
                "config_keys": []
                if dep.config_path is None
                else sorted(json.loads(dep.config_path.read_text())),
            }
    return {"metrics": metrics, "info": info}


if __name__ == "__main__":
    try:
        out = main()
    except BenchError as exc:
        sys.exit(f"auth_bench: {exc}")
    print(json.dumps(out, ensure_ascii=False))
