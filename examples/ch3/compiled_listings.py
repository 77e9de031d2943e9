"""第三章 3.2：同一个 add 函数和调用它的循环，在三条工具链里各变成什么。

- Go：go tool compile -S 打印编译器生成的汇编（Go 自己的 Plan 9 写法），-m 打印内联决定；
- C：gcc -O2 -S（Intel 写法），与引擎编译 C 示例用同样的优化级别；
- Python：dis 打印 CPython 的字节码。
三份清单都在构建时由本机的工具链生成，数字只数指令条数与调用点上的 CALL 数。

单独运行：python examples/ch3/compiled_listings.py
"""

from __future__ import annotations

import argparse
import dis
import io
import json
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # 测量引擎 perflab 在仓库根目录

import compiled_kernels  # noqa: E402

from perflab import native, toolchain  # noqa: E402

GO_PACKAGE = ROOT / "go-examples" / "ch3" / "compiled"
C_SOURCE = HERE / "compiled_kernels.c"
# Go -S 清单里不是机器指令的行：函数头、给垃圾回收与栈回溯用的元数据
GO_PSEUDO = {"TEXT", "FUNCDATA", "PCDATA"}
GO_LINE = re.compile(r"^\s+0x[0-9a-f]+ \d+ \(([^)]*)\)\s+(\S+)\s*(.*)$")


def go_listing() -> tuple[dict[str, list[str]], list[str]]:
    """main.add 与 main.sumLoop 的汇编（去掉元数据行），以及编译器的内联决定。"""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [toolchain.require_go(), "tool", "compile", "-S", "-m", "-p", "main",
             f"-trimpath={GO_PACKAGE}", "-o", str(Path(tmp) / "add.o"), "add.go"],
            cwd=GO_PACKAGE, capture_output=True, text=True, timeout=120, env=toolchain.go_env(),
        )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"go tool compile failed: {done.stderr.strip()[-500:]}")
    text = done.stdout + done.stderr
    lines = text.splitlines()
    decisions = [ln.split(": ", 1)[1] for ln in lines if re.match(r"^add\.go:\d+:\d+: ", ln)]
    funcs: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"^main\.(\w+) STEXT", line)
        if head:
            current = head.group(1)
            funcs[current] = []
            continue
        if not line.startswith("\t") or current is None:
            current = None if not line.startswith("\t") else current
            continue
        m = GO_LINE.match(line)
        if m and m.group(2) not in GO_PSEUDO:
            where = m.group(1).replace("<unknown line number>", "?")
            funcs[current].append(f"{where:<10} {m.group(2)} {m.group(3)}".rstrip())
    return {"add": funcs["add"], "loop": funcs["sumLoop"]}, decisions


# x86-64 上用 Intel 写法（目的操作数在前，更好读）；别的架构 gcc 没有这个选项，用默认写法
C_SYNTAX = ["-masm=intel"] if platform.machine() in ("x86_64", "AMD64") else []


def c_listing() -> dict[str, list[str]]:
    """add 与 sum_loop 的汇编（去掉汇编器指示行，保留标号）。"""
    done = subprocess.run(
        [native.require_gcc(), *native.C_FLAGS, "-S", *C_SYNTAX,
         "-fno-asynchronous-unwind-tables", "-o", "-", str(C_SOURCE)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"gcc -S failed: {done.stderr.strip()[-500:]}")
    funcs: dict[str, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        label = re.match(r"^([A-Za-z_]\w*):", line)
        if label:
            current = label.group(1)
            funcs[current] = []
        elif current and line.startswith("\t.size"):
            current = None
        elif current and not line.startswith("\t."):
            tidy = line.replace("\t", " ").strip()
            funcs[current].append(tidy if line.startswith("\t") else line)
    return {"add": funcs["add"], "loop": funcs["sum_loop"]}


def py_listing() -> dict[str, list[str]]:
    out = {}
    for key, fn in (("add", compiled_kernels.add), ("loop", compiled_kernels.sum_loop)):
        buf = io.StringIO()
        dis.dis(fn, file=buf)
        out[key] = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    return out


def count_instructions(lines: list[str], lang: str) -> int:
    if lang == "c":
        return sum(1 for ln in lines if not ln.endswith(":"))
    if lang == "python":
        return sum(1 for ln in lines if re.search(r"\s\d+ [A-Z_]+", ln))
    return len(lines)


def count_calls(lines: list[str], lang: str) -> int:
    """循环体里的调用指令条数（Python 只数 FOR_ITER 与 JUMP_BACKWARD 之间的 CALL）。"""
    if lang == "python":
        start = next(i for i, ln in enumerate(lines) if "FOR_ITER" in ln)
        end = next(i for i, ln in enumerate(lines) if "JUMP_BACKWARD" in ln)
        return sum(1 for ln in lines[start:end] if re.search(r"\d+ CALL\b", ln))
    # C：x86-64 的 call、ARM64 的 bl；Go 的汇编在各架构上都写作 CALL
    pattern = r"^(call|bl)\b" if lang == "c" else r"^\S+\s+CALL\b"
    return sum(1 for ln in lines if re.search(pattern, ln))


def main() -> None:
    # 没有参数；--help 说明它做什么
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    go, decisions = go_listing()
    listings = {"go": go, "c": c_listing(), "python": py_listing()}
    names = {"go": "Go", "c": "C", "python": "Python"}
    metrics = {}
    for lang, funcs in listings.items():
        metrics[f"{lang}_add_instructions"] = {
            "label": f"{names[lang]}：add 的{'字节码' if lang == 'python' else '机器'}指令条数",
            "unit": "",
            "values": [count_instructions(funcs["add"], lang)],
        }
        metrics[f"{lang}_loop_calls"] = {
            "label": f"{names[lang]}：循环里的调用指令条数",
            "unit": "",
            "values": [count_calls(funcs["loop"], lang)],
        }
    info = {
        "listings": listings,
        "go_inlining": decisions,
        "go": toolchain.go_version(),
        "gcc": native.gcc_version(),
        "gcc_flags": " ".join([*native.C_FLAGS, "-S", *C_SYNTAX]),
        "arch": platform.machine(),
        "python": platform.python_version(),
    }
    json.dump({"metrics": metrics, "info": info}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
