"""认证服务的驱动程序：启动一台服务器，先过一遍安全矩阵，再用 wrk 带合法令牌压测。

--server python   Flask + PyJWT，跑在 gunicorn 的 sync 工作进程上（examples/ch4/auth_server.py）
--server go       net/http + golang-jwt/jwt/v5（go-examples/ch4/auth，需 --go-binary）
--server article  文章里的写法：密钥函数对任何算法都返回同一个字面量（go-examples/ch4/auth_article）

服务器由 perflab.services 启动：密钥在运行时生成，和配置文件一起写进这台服务器自己的临时目录，
结束时连同目录一起删掉；只绑定 127.0.0.1 上的空闲端口，自成一个进程组，无论成败都整组停掉；
用合法令牌拿到正确的 200 才算就绪。服务器与 wrk 各占一半 CPU（至少两个 CPU 时）。
压测前先核对响应（安全矩阵的第一行），压测时只有 2xx 且没超时的响应计入吞吐。
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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

from perflab import services  # noqa: E402
from perflab.errors import PerflabError  # noqa: E402

LOOPBACK = "127.0.0.1"
PATH = "/api/profile"
ISSUER, AUDIENCE = "perf-handbook-issuer", "perf-handbook-api"
SUBJECT, SCOPE = "user-42", "profile:read"
# 文章里写死在源码中的密钥：读过那篇文章（或这份复现）的人都知道它
ARTICLE_LITERAL = b"my-secret-key"
CONFIG = "config.json"


class BenchError(Exception):
    """一行说清原因的失败。"""


# ---------------------------------------------------------------- 部署：密钥与配置


@dataclass
class Deployment:
    """一台服务器的配置与签发方手里的密钥（签发方就是本驱动程序）。"""

    algorithm: str  # 服务器配置的算法
    sign_key: object  # 签发合法令牌用的密钥
    public_pem: bytes  # 公开的 RSA 公钥（密钥混淆攻击拿它当 HMAC 密钥）
    # 写进服务器临时目录的文件（{dir} 由 perflab.services 换成那个目录）
    files: dict[str, str] = field(default_factory=dict)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def deploy(server: str) -> Deployment:
    """生成密钥和配置文件（RS256、公钥文件、签发者、受众）；私钥只留在签发方手里。"""
    key = rsa_key()
    pem = public_pem(key)
    if server == "article":
        # 文章的写法没有配置：HS256，密钥是源码里的字面量
        return Deployment("HS256", ARTICLE_LITERAL, pem)
    config = {
        "algorithm": "RS256",
        "public_key_file": "{dir}/public.pem",
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    return Deployment("RS256", key, pem, {"public.pem": pem.decode(), CONFIG: json.dumps(config)})


def write_files(dep: Deployment, folder: Path) -> Path:
    """把配置文件写进一个目录（测试直接加载 Flask 应用时用）；返回配置文件的路径。"""
    for name, text in dep.files.items():
        (folder / name).write_text(text.replace("{dir}", str(folder)), encoding="utf-8")
    return folder / CONFIG


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


# ---------------------------------------------------------------- 服务器（perflab.services）


def server_command(args, cpus: list[int] | None) -> tuple[list[str], dict[str, str]]:
    """(命令行, 环境变量)：{port}、{dir} 由 perflab.services 换成空闲端口和服务器的临时目录。"""
    config = "{dir}/" + CONFIG
    if args.server == "python":
        # 默认每个 CPU 一个 sync 工作进程：请求纯耗 CPU（验签、不等下游），与第四章压测一节相同
        workers = args.workers or len(cpus or os.sched_getaffinity(0))
        cmd = [
            sys.executable, "-m", "gunicorn", "--worker-class", "sync",
            "--workers", str(workers), "--bind", f"{services.LOOPBACK}:{{port}}",
            "--chdir", str(HERE), "--log-level", "warning", "auth_server:create_app()",
        ]  # fmt: skip
        return cmd, {"AUTH_CONFIG": config}
    if not args.go_binary:
        raise BenchError(f"--server {args.server} needs --go-binary (the built Go package)")
    cmd = [args.go_binary, "-addr", f"{services.LOOPBACK}:{{port}}"]
    return ([*cmd, "-config", config] if args.server == "go" else cmd), {}


def ready_with(token: str):
    """就绪检查：带合法令牌请求，得到 200、JSON 类型、正确的响应体才算就绪。"""
    expect = services.Expect(
        path=PATH, status=200, content_type="application/json", json_body=expected_body()
    )

    def check(svc: services.Service) -> str | None:
        try:
            return expect.problem(services.Answer(*request(svc.port, token)))
        except (OSError, http.client.HTTPException) as exc:
            return f"GET {PATH}: {exc}"

    return check


def children(pid: int) -> list[int]:
    """gunicorn 的工作进程数（Go 服务器没有子进程）。"""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


# ---------------------------------------------------------------- 主程序


def parse_args(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", choices=("python", "go", "article"), default="python")
    p.add_argument("--go-binary", default="", help="built go-examples/ch4/auth or auth_article")
    p.add_argument("--connections", default="10,40,160", help="comma-separated wrk -c levels")
    # wrk 只接受整秒
    p.add_argument("--duration", type=int, default=1, help="whole seconds per level")
    p.add_argument("--warmup", type=int, default=1, help="whole seconds of untimed load first")
    p.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: 1 per CPU)")
    p.add_argument("--request-timeout", type=int, default=2, help="wrk timeout, whole seconds")
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


METRICS = (
    ("rps", "吞吐（每秒合格响应）", ""),
    ("mean", "平均延迟", "s"),
    ("p99", "p99 延迟", "s"),
    ("error_share", "错误占比", "%"),
)


# --8<-- [start:load]
def load_level(svc: services.Service, token: str, connections: int, seconds: int, args, cpus):
    """一档连接数的 wrk 闭环压测：只数 2xx 且没超时的响应，错误占比过限就让实验失败。"""
    result = services.wrk(
        svc.url + PATH,
        target=svc.name,
        connections=connections,
        duration_s=seconds,
        timeout_s=args.request_timeout,
        cpus=cpus,
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        return result.check()
    except PerflabError as exc:
        raise BenchError(f"{exc.args[0]} (at {connections} connections)") from None


# --8<-- [end:load]


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    server_cpus, load_cpus = services.split_cpus()
    dep = deploy(args.server)
    token = attack_cases(dep)[0][2]
    argv_, env = server_command(args, server_cpus)
    with services.start(
        f"auth-{args.server}",
        argv_,
        ready=ready_with(token),
        cpus=server_cpus,
        env=env,
        files=dep.files,
        startup_timeout_s=args.startup_timeout,
    ) as svc:
        rows = security_matrix(svc.port, dep)
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
            if args.warmup:
                load_level(svc, token, args.levels[0], args.warmup, args, load_cpus)
            for c in args.levels:
                result = load_level(svc, token, c, args.duration, args, load_cpus)
                values = {
                    "rps": result.good_rps,
                    "mean": result.latency_s["mean"],
                    "p99": result.latency_s["p99"],
                    "error_share": result.error_share * 100,
                }
                for key, label, unit in METRICS:
                    metrics[f"{key}_c{c}"] = {
                        "label": f"{label}（{c} 个连接）",
                        "unit": unit,
                        "values": [values[key]],
                    }
                levels.append({"connections": c, **result.summary()})
        config = json.loads(dep.files[CONFIG]) if CONFIG in dep.files else {}
        info = {
            "server": args.server,
            "server_pid": svc.pid,
            "workers": len(children(svc.pid)),
            "algorithm": dep.algorithm,
            "levels": args.levels,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "request_timeout_s": args.request_timeout,
            "error_share_limit": services.ERROR_SHARE_LIMIT,
            "server_cpus": len(server_cpus or os.sched_getaffinity(0)),
            "load_cpus": len(load_cpus or os.sched_getaffinity(0)),
            "matrix": rows,
            "load": levels,
            "config_keys": sorted(config),
        }
    return {"metrics": metrics, "info": info}


if __name__ == "__main__":
    try:
        out = main()
    except (BenchError, PerflabError) as exc:
        sys.exit(f"auth_bench: {exc}")
    print(json.dumps(out, ensure_ascii=False))
