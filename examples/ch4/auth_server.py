"""认证服务（Python）：一个受 JWT 保护的接口，Flask + PyJWT，跑在 gunicorn 的 sync 工作进程上。

算法、公钥、签发者与受众都来自环境变量 AUTH_CONFIG 指向的 JSON 配置文件
（实验在服务的临时目录里生成），处理函数里没有任何密钥字面量。
合法令牌得到 200 和一个小 JSON；任何拒绝都是 401 加 JSON 错误体。

运行：AUTH_CONFIG=/path/config.json gunicorn -k sync -w 1 -b 127.0.0.1:8080 \
      --chdir examples/ch4 'auth_server:create_app()'
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, g, jsonify, request


def load_config(path: str | Path) -> dict:
    """读配置并在启动时就检查完整：缺字段或算法不对，服务起不来，而不是在第一个请求时才出错。"""
    cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = [k for k in ("algorithm", "public_key_file", "issuer", "audience") if not cfg.get(k)]
    if missing:
        raise ValueError(f"config {path} lacks {', '.join(missing)}")
    if not cfg["algorithm"].startswith(("RS", "PS")):
        alg = cfg["algorithm"]
        raise ValueError(f"config algorithm {alg!r}: only RSA algorithms (RS*, PS*) are supported")
    pem = Path(cfg["public_key_file"]).read_bytes()
    return {**cfg, "public_key": load_pem_public_key(pem)}


# --8<-- [start:verify]
def make_verifier(cfg: dict):
    """只接受配置里的那一个算法：令牌头里的 alg 是攻击者可以随便写的输入。"""
    key, algorithms = cfg["public_key"], [cfg["algorithm"]]
    options = {"require": ["exp", "iss", "aud", "sub"]}

    def verify(token: str) -> dict:
        return jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=cfg["issuer"],
            audience=cfg["audience"],
            options=options,
        )

    return verify


# --8<-- [end:verify]


# --8<-- [start:middleware]
def reject(code: str, detail: str):
    resp = jsonify(error=code, detail=detail)
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = f'Bearer error="{code}"'
    return resp


def install_auth(app: Flask, verify) -> None:
    @app.before_request
    def require_jwt():
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        if not token:
            return reject("missing_token", "no bearer token")
        try:
            g.claims = verify(token)
        except jwt.PyJWTError:
            # 细节只写日志；响应里不告诉对方是哪一步失败
            return reject("invalid_token", "token rejected")
        return None


# --8<-- [end:middleware]


def create_app(config_path: str | None = None) -> Flask:
    path = config_path or os.environ.get("AUTH_CONFIG")
    if not path:
        raise SystemExit("auth_server: set AUTH_CONFIG to the JSON config file")
    app = Flask(__name__)
    install_auth(app, make_verifier(load_config(path)))

    @app.get("/api/profile")
    def profile():
        return jsonify(sub=g.claims["sub"], scope=g.claims.get("scope", ""))

    return app
