#!/usr/bin/env bash
# 2.1 的自由线程版 CPython（3.13t、3.14t）：用 uv（版本固定在 requirements.txt）下载
# python-build-standalone 的构建，装进 .venv/python，可执行文件 python3.13t、python3.14t
# 链接到 .venv/bin，引擎在那里找到它们（perflab/interpreters.py）。这些构建只要求 glibc ≥ 2.17，
# x86-64 与 ARM64 都有，在 Debian 容器里也能运行。
#
# 用法: scripts/freethreaded-python.sh [--require]
#   不带参数（scripts/setup.sh 调用）：下载不到、超时就说一行跳过，退出码 0。不重试、
#     连接 5 秒超时，离线时立刻返回；整步最多 PERFLAB_FREETHREADED_TIMEOUT_S 秒（默认 180）。
#   --require（发布工作流）：按 uv 的默认重试下载，装不上或装上的不是自由线程版就失败。
# 环境变量 PERFLAB_VENV 换掉 .venv 的位置（测试用）。
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PERFLAB_VENV:-$ROOT/.venv}"
# 与 registry/ch2/gil.toml 里 interpreter = "3.13t"、"3.14t" 的运行一一对应
VERSIONS=(3.13t 3.14t)
# 发布的运行器（python:3.11 容器）只有 3.11：--require 时把 2.1 同台比较的默认构建也装上
RUNNER_DEFAULTS=(3.12 3.13 3.14)
LIMIT_S="${PERFLAB_FREETHREADED_TIMEOUT_S:-180}"

REQUIRE=0
case "${1:-}" in
    "") ;;
    --require) REQUIRE=1 ;;
    *) printf 'freethreaded-python: 未知参数 %s（可用: --require）\n' "$1" >&2; exit 2 ;;
esac

say() { printf '==> %s\n' "$*"; }
# 装不上：--require 时一行报错并失败；否则说一行就跳过
give_up() {
    if ((REQUIRE)); then
        printf 'freethreaded-python: 错误: 装不上自由线程版 CPython：%s\n' "$1" >&2
        exit 1
    fi
    say "跳过自由线程版 CPython：$1（2.1 里这两行标为未测）"
    exit 0
}

UV="$VENV/bin/uv"
[[ -x "$UV" ]] || give_up "没有 $UV（requirements.txt 里的 uv；先运行 make setup）"
command -v timeout >/dev/null 2>&1 || give_up "没有 timeout 命令（coreutils），无法限时下载"

export UV_PYTHON_INSTALL_DIR="$VENV/python" UV_PYTHON_BIN_DIR="$VENV/bin" UV_NO_PROGRESS=1
if ((!REQUIRE)); then
    export UV_HTTP_RETRIES="${UV_HTTP_RETRIES:-0}" UV_HTTP_CONNECT_TIMEOUT="${UV_HTTP_CONNECT_TIMEOUT:-5}"
    DEFAULTS=()
else
    DEFAULTS=("${RUNNER_DEFAULTS[@]}")
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# 已经装好时 uv 不联网，立即返回
if timeout "$LIMIT_S" "$UV" python install "${VERSIONS[@]}" "${DEFAULTS[@]}" >"$log" 2>&1; then
    status=0
else
    status=$?
fi
if ((status == 124)); then
    give_up "uv 下载超过 ${LIMIT_S} 秒"
elif ((status != 0)); then
    # uv 的错误一层层写成 “cause: …”，最后一层是根本原因（如 DNS 查不到）
    cause="$(grep -E '^[[:space:]]*(error|cause):' "$log" | tail -n 1 |
        sed -E 's/^[[:space:]]*(error|cause):[[:space:]]*//' | cut -c1-200)"
    give_up "uv 下载不到（${cause:-退出码 $status}）"
fi

for version in "${VERSIONS[@]}"; do
    exe="$VENV/bin/python$version"
    # 引擎用 -E -s 运行它们；退出码 0 表示 GIL 关着
    "$exe" -E -s -c 'import sys; sys.exit(sys._is_gil_enabled())' >/dev/null 2>&1 ||
        give_up "$exe 运行不了，或不是关掉 GIL 的自由线程版"
done
for version in "${DEFAULTS[@]}"; do
    "$VENV/bin/python$version" -E -s -c 'pass' >/dev/null 2>&1 ||
        give_up "$VENV/bin/python$version 运行不了"
done
say "CPython ${VERSIONS[*]} ${DEFAULTS[*]} 已就绪（uv 装在 .venv/python，链接在 .venv/bin）"
if ((REQUIRE)); then
    for version in "${VERSIONS[@]}" "${DEFAULTS[@]}"; do
        "$VENV/bin/python$version" -VV
    done
fi
