"""Page logic lives in pages/ (linted, tested); exec blocks in docs/ only print one call.

Two kinds of test: a scan of docs/**/*.md that keeps every exec block short (so logic cannot
creep back into Markdown, where ruff never sees it), and every public function of every page
module called against the results of the built site, checked for the figures it promises.
"""

from __future__ import annotations

import importlib
import inspect
import json
import keyword
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

import pages
from perflab import book

DOCS = ROOT / "docs"
MAX_CODE_LINES = 2
MAX_LINE = 140

# ```python exec="1" id="..."（可以缩进在标签页或提示框里）
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})python\b(?P<attrs>[^\n]*)$")
_ID = re.compile(r'\bid="(?P<id>[^"]+)"')
_IMPORT = re.compile(r"^(from\s+\S+\s+import\s|import\s)")
_PAGE_IMPORT = re.compile(r"^from\s+(?P<package>pages(?:\.\w+)*)\s+import\s+(?P<module>\w+)\s*$")


@dataclass
class ExecBlock:
    path: str
    line: int
    id: str
    body: list[str]

    @property
    def code(self) -> list[str]:
        """Lines that do something: not blank, not an import."""
        return [s for s in (ln.strip() for ln in self.body) if s and not _IMPORT.match(s)]

    @property
    def imports(self) -> list[str]:
        return [s for s in (ln.strip() for ln in self.body) if _IMPORT.match(s)]


def exec_blocks(text: str, path: str = "<text>") -> list[ExecBlock]:
    """Every markdown-exec Python block in a Markdown text, with its body lines."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m and 'exec="1"' in m["attrs"]:
            closing = m["indent"] + m["ticks"]
            j = i + 1
            while j < len(lines) and lines[j].rstrip() != closing:
                j += 1
            ident = _ID.search(m["attrs"])
            found.append(ExecBlock(path, i + 1, ident["id"] if ident else "", lines[i + 1 : j]))
            i = j
        i += 1
    return found


def problems(block: ExecBlock) -> list[str]:
    """Why this block breaks the rule (empty when it keeps it)."""
    out = []
    if len(block.code) > MAX_CODE_LINES:
        out.append(f"{len(block.code)} code lines besides imports (at most {MAX_CODE_LINES})")
    out += [
        f"a line of {len(ln)} characters (at most {MAX_LINE})"
        for ln in block.body
        if len(ln) > MAX_LINE
    ]
    return out


def all_doc_blocks() -> list[ExecBlock]:
    blocks = []
    for md in sorted(DOCS.rglob("*.md")):
        rel = md.relative_to(DOCS).as_posix()
        blocks += exec_blocks(md.read_text(encoding="utf-8"), rel)
    return blocks


def mirrored_module(doc: str) -> str:
    """The page module of a page: ch2/gil.md → pages.ch2.gil; a keyword gets a trailing _."""
    parts = doc.removesuffix(".md").split("/")
    parts[-1] += "_" if keyword.iskeyword(parts[-1]) else ""
    return ".".join(["pages", *parts])


# 规则本身：扫描要找得到块，也要认得出违规的块


def test_scanner_finds_indented_blocks_and_flags_long_ones():
    text = "\n".join(
        [
            "正文",
            '```python exec="1" id="ok"',
            "from pages.ch1 import gc",
            "",
            "print(gc.heap())",
            "```",
            '=== "标签"',
            "",
            '    ```python exec="1" id="busy"',
            "    from perflab import book",
            "    r = book.result('x')",
            "    share = r.info['n'] / 2",
            "    print(share)",
            "    ```",
            '```python exec="1" id="long"',
            "print('" + "数" * MAX_LINE + "')",
            "```",
            "```python",
            "not = executed",
            "```",
        ]
    )
    blocks = {b.id: b for b in exec_blocks(text)}
    assert set(blocks) == {"ok", "busy", "long"}
    assert problems(blocks["ok"]) == []
    assert blocks["busy"].code == [
        "r = book.result('x')",
        "share = r.info['n'] / 2",
        "print(share)",
    ]
    assert "3 code lines" in problems(blocks["busy"])[0]
    assert "characters" in problems(blocks["long"])[0]


def test_exec_blocks_in_docs_are_one_call():
    blocks = all_doc_blocks()
    assert len(blocks) > 40, "the scan found too few exec blocks: is the fence pattern right?"
    bad = [
        f"docs/{b.path}:{b.line} ({b.id}): {'; '.join(problems(b))}" for b in blocks if problems(b)
    ]
    assert not bad, (
        "exec blocks must stay one or two lines; move the logic into pages/ "
        "(a function returning Markdown) and print its call:\n" + "\n".join(bad)
    )


def test_exec_blocks_import_the_page_module_that_mirrors_them():
    wrong = []
    for block in all_doc_blocks():
        for line in block.imports:
            m = _PAGE_IMPORT.match(line)
            if line.startswith("from pages") and not m:
                wrong.append(f"docs/{block.path}:{block.line}: {line}")
            elif m and f"{m['package']}.{m['module']}" != mirrored_module(block.path):
                wrong.append(
                    f"docs/{block.path}:{block.line}: {line} "
                    f"(this page's module is {mirrored_module(block.path)})"
                )
    assert not wrong, "\n".join(wrong)


def page_modules() -> list[str]:
    """Every module under pages/ that holds page logic (packages only group them)."""
    names = []
    for info in pkgutil.walk_packages(pages.__path__, "pages."):
        if not info.ispkg:
            names.append(info.name)
    return sorted(names)


def test_every_page_module_has_its_page():
    pages_by_module = {
        mirrored_module(p.relative_to(DOCS).as_posix()): p for p in DOCS.rglob("*.md")
    }
    orphans = [name for name in page_modules() if name not in pages_by_module]
    assert not orphans, f"page modules without a docs page of the same path: {orphans}"


# 每个页面函数：对着构建出的结果调用，检查它承诺的数字


_TABLE_ALIGN = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")
_NUMBER = re.compile(r"\d")
_PERCENT = re.compile(r"\d(\.\d+)?%")
_TIME = re.compile(r"\d (s|ms|µs|ns)\b")
_BYTES = re.compile(r"\d (B|KiB|MiB|GiB)\b")
_MEASURED = re.compile(r"\*\*[^*]*\d[^*]*\*\*（95% 区间 ")  # book.value：粗体中位数带区间


def markdown_tables(md: str) -> list[list[str]]:
    tables, current = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def assert_tables_well_formed(md: str) -> None:
    for rows in markdown_tables(md):
        assert len(rows) >= 3, f"a table without data rows:\n{rows}"
        assert _TABLE_ALIGN.match(rows[1]), f"no alignment row under the header:\n{rows[:2]}"
        widths = {row.count("|") for row in rows}
        assert len(widths) == 1, "rows of different widths:\n" + "\n".join(rows)


def table(min_count: int = 1) -> Callable[[str], None]:
    def check(md: str) -> None:
        assert len(markdown_tables(md)) >= min_count, f"expected {min_count} table(s):\n{md}"

    return check


def has(*patterns: str | re.Pattern) -> Callable[[str], None]:
    def check(md: str) -> None:
        for p in patterns:
            found = p.search(md) if isinstance(p, re.Pattern) else p in md
            assert found, f"expected {getattr(p, 'pattern', p)!r} in:\n{md}"

    return check


def chart(md: str) -> None:
    assert "<svg" in md and 'class="perflab-provenance"' in md, md[:500]


def bullets(md: str) -> None:
    lines = md.splitlines()
    assert lines and all(ln.startswith("- **") for ln in lines), md


# 页面函数 → 它的输出必须满足的检查（新函数要在这里登记，见下面的覆盖测试）
MARKDOWN: dict[str, list[Callable[[str], None]]] = {
    "pages.ch1.gc.params": [has("条记录", "`gc.get_threshold()` = `(", _NUMBER)],
    "pages.ch1.gc.generations": [table(), has("第 2 代", "最长停顿", _TIME)],
    "pages.ch1.gc.heap": [table(2), has("GC 追踪的对象总数", "| 实现 |", _TIME)],
    "pages.ch1.gc.latency": [table(), has("GC 关闭", "最慢的请求", _TIME)],
    "pages.ch1.gc.share": [has("完整回收落在约", _PERCENT)],
    "pages.ch1.gc.frozen": [table(2), has("冻结长寿堆", "×", _TIME)],
    "pages.ch1.gc.off": [table(), has("| 实现 |", _BYTES)],
    "pages.ch1.index.summary": [table(), has("| GIL |", "| GC |", "| 阻塞 I/O |", _MEASURED)],
    "pages.ch1.index.blocking_params": [has("N = ", " ms", "个线程")],
    "pages.ch1.memory.top_slow": [table(), has("<code>", _BYTES)],
    "pages.ch1.memory.top_fixed": [table(), has("<code>", _BYTES)],
    "pages.ch2.async_.lag_slice": [has("平均耗时", _TIME)],
    "pages.ch2.async_.conn_not_measured": [has("。")],
    "pages.ch2.async_.conn_rates": [table(), has("每条消息的切换", "发送节拍是", _TIME)],
    "pages.ch2.async_.conn_main_thread": [has("个线程", "每秒", _NUMBER)],
    "pages.ch2.async_.conn_per_msg": [has(re.compile(r"\d\.\d\d 到 \d+\.\d\d 次切换"))],
    "pages.ch2.async_.conn_connect": [has("Go", _TIME)],
    "pages.ch2.async_.conn_vm": [has("`VmSize`", "`VmRSS`", _BYTES)],
    "pages.ch2.gc.python_share": [has("默认设置", "freeze", "调高阈值", _PERCENT)],
    "pages.ch2.gc.go_buckets": [has("模式", _PERCENT)],
    "pages.ch2.gc.jvm_setup": [has("OpenJDK `", "MiB", "MaxGCPauseMillis", _PERCENT)],
    "pages.ch2.gc.jvm_pauses": [table(), has("常驻", _TIME), chart],
    "pages.ch2.gc.jvm_kinds": [bullets, has("MiB `")],
    "pages.ch2.gc.jvm_detail": [table(), has("| 实现 |", _TIME)],
    "pages.ch2.monitoring.setup": [has("Prometheus 2.", "Alertmanager", "抓取间隔", "`[", _NUMBER)],
    "pages.ch2.monitoring.estimates": [table(), has("| p99 |", "细桶 ÷ 真值", _MEASURED), chart],
    "pages.ch2.monitoring.buckets": [table(), has("| p99 |", "默认桶共", _TIME)],
    "pages.ch2.monitoring.reading": [has("默认桶", "细桶", "倍", _PERCENT)],
    "pages.ch2.monitoring.threshold_bucket": [has("告警阈值 800 ms", "默认桶", _TIME)],
    "pages.ch2.monitoring.overhead": [table(), has("不埋点 ÷ 埋点", "wrk", _MEASURED)],
    "pages.ch2.monitoring.workers": [table(), has("多进程模式", "100%", _PERCENT)],
    "pages.ch2.monitoring.alert_timing": [
        table(),
        has("`HighLatencyP99`", "`HighErrorRate`", "基线", _MEASURED),
    ],
    "pages.ch2.monitoring.dashboard": [chart],
    "pages.ch2.monitoring.checks": [has("SUCCESS", "promtool", "amtool")],
    "pages.ch2.scaling.setup": [has("gunicorn 27.", "Redis 7.", "nginx 1.", "个 CPU", " ms")],
    "pages.ch2.scaling.throughput": [table(2), has("| sync |", "| uvicorn |", _TIME), chart],
    "pages.ch2.scaling.scaling_reading": [has("- **sync**", "倍", "吞吐最高的是")],
    "pages.ch2.scaling.memory": [table(2), has("刚启动（预加载）", "PSS 之和", _BYTES), chart],
    "pages.ch2.scaling.memory_reading": [bullets, has("预加载后", _BYTES)],
    "pages.ch2.scaling.recycle": [
        table(2),
        has("max_requests", "旧 worker 退出", _TIME),
        chart,
    ],
    "pages.ch2.scaling.recycle_reading": [has("最长的无响应空窗", "倍", _TIME)],
    "pages.ch2.scaling.lb": [table(), has("经 nginx", "实例 A", _MEASURED, _PERCENT), chart],
    "pages.ch2.scaling.state": [
        table(),
        has("陈旧读", "丢失会话", "个 worker 时", _PERCENT),
        chart,
    ],
    "pages.ch2.scaling.price": [table(), has("Unix 套接字", "×", _MEASURED), chart],
    "pages.ch2.scaling.trace": [table(), has("nginx", "worker ", "`/checkout`", _PERCENT)],
    "pages.ch2.scaling.log_cost": [has("写日志", "次/秒", _MEASURED), chart],
    "pages.ch2.scaling.go": [table(), has("GOMAXPROCS=", "两个实例", _MEASURED, _BYTES), chart],
    "pages.ch2.gil.cpu": [table(), has("线程", "进程", _TIME)],
    "pages.ch2.gil.cpu_ratios": [table(), has("加速比", "×")],
    "pages.ch2.gil.cpu_cores": [has("可用 CPU", _MEASURED)],
    "pages.ch2.gil.io": [table(2), has("TCP 往返", _TIME, "×")],
    "pages.ch2.gil.interpreters_found": [table()],
    "pages.ch2.gil.interpreters": [table(), has("加速比", _TIME), chart],
    "pages.ch2.gil.switch_default": [has("`sys.getswitchinterval()`", " ms")],
    "pages.ch3.concurrency.grid": [table(), has("goroutine", "Python 线程", _TIME, _BYTES)],
    "pages.ch3.concurrency.stack": [has("`StackInuse`", _MEASURED, "×")],
    "pages.ch3.concurrency.reserve": [has("`ulimit -s`", _MEASURED, _BYTES)],
    "pages.ch3.compiled.add_listings": [
        table(),
        has('class="grid"', "go tool compile -S", "| Go |"),
    ],
    "pages.ch3.compiled.loop_listings": [has('class="grid"', "`inlining call to add`", "CALL")],
    "pages.ch3.compiled.kernels": [table(2), has("CPython ÷ Go", "Go ÷ C", _TIME, "×")],
    "pages.ch3.compiled.checksums": [table(), has("| Go |", "C（gcc -O2）")],
    "pages.ch3.compiled.versions_found": [table()],
    "pages.ch3.compiled.versions": [table(), has("（本书的 .venv）", _TIME)],
    "pages.ch3.compiled.startup": [table(), has("`-I -S`", _TIME, _BYTES)],
    "pages.ch3.compiled.memory": [table(), has("hello world", "词频统计", _BYTES)],
    "pages.ch3.compiled.article_table": [table(), has("原文：快", "原文：中等", "判定：", "×")],
    "pages.ch3.types.emitted": [has("```js", "function sumAdd", "一字不差")],
    "pages.ch3.types.ts_times": [table(2), has("node v", "不带类型 ÷ 带类型", _TIME, "×")],
    "pages.ch3.types.shapes": [table(2), has("8 种形状", _TIME, "×")],
    "pages.ch3.types.calls": [table(2), has("每 10 个有 1 个字符串", _TIME, "×")],
    "pages.ch3.types.bytecode": [has("`sum_loop`：相同")],
    "pages.ch3.types.mypyc_status": [has("mypyc")],
    "pages.ch3.types.python": [table(2), has("CPython，带标注", _TIME, "×")],
    "pages.ch3.types.go": [table(2), has("`map[string]any`", _TIME, "×")],
    "pages.ch4.auth.matrix": [table(), has("| 合法令牌 |", "401 拒绝", "`application/json`")],
    "pages.ch4.auth.verdicts": [bullets, has("Python", "Go", "次运行")],
    "pages.ch4.auth.setup": [has("gunicorn", "sync 工作进程", "RS256", _NUMBER)],
    "pages.ch4.auth.load": [
        table(5),
        has("QPS：Go ÷ Python", "| Go（golang-jwt） |", "失败占比", _TIME, _PERCENT, "×"),
    ],
    "pages.ch4.auth.littles_law": [has("850 × 45 ms", "QPS × 平均延迟", _NUMBER)],
    "pages.ch4.serialization.encode": [table(3), has("json ÷ orjson", _TIME, _BYTES, "×")],
    "pages.ch4.serialization.decode": [table(), has("json ÷ msgspec", "×")],
    "pages.ch4.serialization.hook": [table(), has("`datetime`", _MEASURED, "×")],
    "pages.ch4.serialization.go": [table(), has("| 实现 |", _TIME, "×")],
    "pages.ch4.serialization.pydantic": [table(), has("| 实现 |", _TIME, _BYTES, "×")],
    "pages.ch4.serialization.gzip": [table(), has("| 实现 |", _TIME, _BYTES, "%")],
    "pages.ch4.loadtest.split": [has("服务器钉在 CPU", "wrk 与 vegeta", "失败率上限", _PERCENT)],
    "pages.ch4.loadtest.versions": [has("gunicorn", "uvicorn", "gin", "vegeta", _NUMBER)],
    "pages.ch4.loadtest.little": [has("1,850 × 54 ms", "12,400 × 8 ms", _NUMBER)],
    "pages.ch4.loadtest.headline": [table(), has("| Gin |", "Flask 开发服务器", _TIME, _PERCENT)],
    "pages.ch4.loadtest.ratios": [table(), has("Gin ÷ Flask", "1,000 连接", "×")],
    "pages.ch4.loadtest.errors": [table(), has("| Flask + gunicorn |", _PERCENT)],
    "pages.ch4.loadtest.generator_bound": [has("wrk", "常量", "倍", _NUMBER)],
    "pages.ch4.loadtest.open_levels": [has("最大吞吐的", "vegeta", "90%", _PERCENT)],
    "pages.ch4.loadtest.open_vs_closed": [
        table(),
        has("| Gin |", "| Flask 开发服务器 |", "闭环 p99", "开环 p99", "75%", _TIME, _PERCENT),
    ],
    "pages.ch4.loadtest.calibration": [has("校准", "vegeta", "倍", _NUMBER)],
    "pages.ch4.loadtest.calibration_summary": [bullets, has("CPU", "wrk", "vegeta", _NUMBER)],
    "pages.ch4.loadtest.cores": [table(), has("2 个 ÷ 1 个", "×"), chart],
    "pages.ch4.loadtest.little_check": [table(), has("| Gin |", "1,000 连接", _NUMBER)],
    "pages.ch4.loadtest.little_reading": [has("格")],
    "pages.ch4.microservices.setup": [has("钉在 CPU", "wrk", "热身", _NUMBER)],
    "pages.ch4.microservices.versions": [has("fastapi", "aiohttp", "gunicorn", "java", "nginx")],
    "pages.ch4.microservices.instance_table": [table(), has("| Spring Boot |", _TIME, _BYTES)],
    "pages.ch4.microservices.jvm_heap": [table(), has("堆上限", "四分之一", _BYTES, _PERCENT)],
    "pages.ch4.microservices.cpu_table": [table(2), has("次/秒", _PERCENT, _TIME)],
    "pages.ch4.microservices.cpu_reading": [has("18–30%", "次/秒", "Go net/http", _NUMBER)],
    "pages.ch4.microservices.latency_table": [table(2), has("p99", "| Go net/http |", _TIME)],
    "pages.ch4.microservices.latency_reading": [has("45 ms")],
    "pages.ch4.microservices.hop_table": [table(), has("3 跳", "每次新建连接", _TIME)],
    "pages.ch4.microservices.load_table": [table(), has("个请求在路上", _TIME)],
    "pages.ch4.microservices.rtt_condition": [table(), has("RTT", "双向 TLS", _TIME)],
    "pages.ch4.microservices.tls_table": [table(), has("恢复会话", "边车", _TIME)],
    "pages.ch4.microservices.tls_reading": [has("双向 TLS", "完整握手", _TIME)],
    "pages.ch4.microservices.refusals": [table(), has("certificate", "<code>")],
    "pages.ch4.microservices.certificates": [has("perflab-ca.pem", "已删掉", _NUMBER)],
    "pages.ch4.microservices.sidecar_memory": [has("nginx", "倍", _BYTES)],
    "pages.ch4.microservices.limits_table": [has("cgroup")],
    "pages.ch4.microservices.limits_reading": [has("CPU")],
    "pages.ch4.microservices.gomemlimit": [has("GOMEMLIMIT")],
    "pages.ch5.mixed.setup": [has("钉在 CPU", "wrk", "最慢的是", _NUMBER)],
    "pages.ch5.mixed.versions": [has("fastapi", "grpcio", "grpc-go", "@grpc/grpc-js", "vegeta")],
    "pages.ch5.mixed.capacity": [table(), has("| 全 Go |", "共同速率", _MEASURED)],
    "pages.ch5.mixed.latency": [table(4), has("| 全 Go |", "75%", "每秒成功响应", _TIME, _PERCENT)],
    "pages.ch5.mixed.ratios": [table(), has("÷ 全 Go", "×")],
    "pages.ch5.mixed.knees": [table(), has("拐点", "跟得上", "全 Go", _PERCENT, _TIME)],
    "pages.ch5.mixed.hop_reading": [has("空调用", "numpy", "倍", _TIME, _PERCENT)],
    "pages.ch5.mixed.article_table": [table(), has("18 人周（引文，未测）", "全 Python", "×")],
    "pages.ch5.guide.table": [
        table(),
        has("测量页](", "ch2/gil/)", "orjson", "×", _TIME, _PERCENT),
    ],
    "pages.ch5.guide.flow": [has("```mermaid", "flowchart TD", "×", _TIME)],
    "pages.methodology.calibration": [bullets, has("钉在 CPU", "wrk", "vegeta", "倍")],
    "pages.data.overview": [table(), has("| 实验 | id | 指标数 |", "`ch1.gil`", "`ch5.mixed`")],
    "pages.data.reference_comparison": [has("两次测量的环境", "reference-comparison.csv")],
    "pages.history.overview": [table(), has("| 说法 | 测量点 |", "本次构建", "`ch1.gil.")],
}


def _between(low: float, high: float) -> Callable[[float], None]:
    def check(x: float) -> None:
        assert low <= x <= high, x

    return check


def _all_in(values: list, allowed: set, count: int) -> None:
    assert len(values) == count and set(values) <= allowed, values


# 返回数值（而不是 Markdown）的公开函数：句子里的数字由它们算出，测试检查取值范围
NUMBERS: dict[str, Callable[[object], None]] = {
    "pages.ch1.gc.full_collection_share": _between(0.0, 1.0),
    "pages.ch2.gc.collection_shares": lambda d: [_between(0.0, 1.0)(v) for v in d.values()],
    "pages.ch2.async_.switches_per_message": lambda pair: _between(0.0, pair[1])(pair[0]),
    "pages.ch3.compiled.cell_verdicts": lambda d: _all_in(
        list(d.values()), {"holds", "does-not-hold", "depends"}, count=6
    ),
    "pages.ch5.guide.values": lambda d: [_between(1e-12, 1e12)(x) for x in d.values()],
}


def public_functions() -> list[str]:
    names = []
    for module_name in page_modules():
        module = importlib.import_module(module_name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module_name and not name.startswith("_"):
                names.append(f"{module_name}.{name}")
    return names


def test_every_public_page_function_is_checked():
    unchecked = sorted(set(public_functions()) - set(MARKDOWN) - set(NUMBERS))
    stale = sorted((set(MARKDOWN) | set(NUMBERS)) - set(public_functions()))
    assert not unchecked, f"page functions without a check in tests/site/test_pages.py: {unchecked}"
    assert not stale, f"checks for page functions that no longer exist: {stale}"


def _call(qualified: str):
    module_name, name = qualified.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), name)()


@pytest.fixture(scope="module")
def site_book(built_site: Path):
    """A session over the built site's results: same profile, read from the cache it left."""
    profile = json.loads((built_site / "data/results.json").read_text(encoding="utf-8"))["profile"]
    before = book._current
    book.start(profile=profile, refresh=False)
    try:
        yield
    finally:
        book._current = before


@pytest.mark.site
@pytest.mark.parametrize("qualified", sorted(MARKDOWN))
def test_page_function_returns_markdown_with_its_figures(site_book, qualified: str):
    md = _call(qualified)
    assert isinstance(md, str) and md.strip(), f"{qualified} returned nothing"
    # 没有漏出的 None、nan 或没填的占位符（<code> 里是示例源码、SVG 是图，不算）
    prose = re.sub(r"<code>.*?</code>|`[^`]*`|<svg.*?</svg>", "", md, flags=re.DOTALL)
    assert not re.search(r"\bNone\b|\bnan\b|\{[a-z_]+\}", prose), md
    assert_tables_well_formed(md)
    for check in MARKDOWN[qualified]:
        check(md)


@pytest.mark.site
@pytest.mark.parametrize("qualified", sorted(NUMBERS))
def test_page_numbers_are_in_range(site_book, qualified: str):
    NUMBERS[qualified](_call(qualified))
