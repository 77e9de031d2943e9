"""Build what the Python and Go paths do not: C with gcc, TypeScript with tsc, modules with mypyc.

Each build lands in the cache under a name that carries the hash of its sources, its flags and
the compiler's version, so it runs once per change (like gobuild for Go packages):

- a C source (`lang = "c"`, or `{c:examples/…/x.c}` in a run's arguments) → a binary built with
  `gcc -O2 -std=c11`, linked with libm;
- a TypeScript entry file (`lang = "node"`) → the JavaScript tsc emits for it and for every
  other .ts file in its folder (the files it may import), run with node;
- Python modules → extension modules compiled by mypyc (called by an example, which reports
  when mypyc cannot build on this machine).

A missing compiler is a one-line PerflabError naming the package that provides it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from perflab import files, maven, paths
from perflab.errors import PerflabError
from perflab.runner import run_group, tail

# 参数里的 {c:examples/…/x.c} 换成 gcc 编出的二进制路径
C_BINARY = re.compile(r"\{c:([^}]+)\}")
C_FLAGS = ("-O2", "-std=c11", "-Wall", "-Wextra")
C_LIBS = ("-lm",)
# tsc 的选项（写进临时 tsconfig.json）：省掉注释，输出里只剩代码；
# 允许不写类型（未标注的源码照样能编译）；
# types 为空：不把 node_modules/@types 下别的包（如 Mermaid 带来的 d3）拉进类型检查
TSC_OPTIONS = {
    "target": "es2022",
    "module": "commonjs",
    "strict": True,
    "noImplicitAny": False,
    "removeComments": True,
    "newLine": "lf",
    "types": [],
}
BUILD_TIMEOUT_S = 300


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- C


def require_gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise PerflabError("missing tool: gcc (Debian package gcc) not found; run `make setup`")
    return gcc


@functools.cache
def gcc_version() -> str | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    done = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True, timeout=30)
    return f"gcc {done.stdout.strip()}" if done.returncode == 0 else None


def c_binary(source: Path, label: str) -> Path:
    """The binary gcc builds from one C source, built only when the source or gcc changed."""
    gcc = require_gcc()
    if not source.is_file():
        raise PerflabError(f"{label}: C source {paths.relative(source)} does not exist")
    flags = " ".join(C_FLAGS + C_LIBS).encode()
    key = _digest([source.read_bytes(), flags, gcc_version().encode()])
    binary = paths.cache_dir() / "bin" / f"{source.stem}-c-{key}"
    if binary.is_file():
        return binary
    with files.replacing(binary) as tmp:
        done = run_group(
            [gcc, *C_FLAGS, "-o", str(tmp), str(source), *C_LIBS], timeout_s=BUILD_TIMEOUT_S
        )
        if done.returncode != 0 or done.timed_out:
            raise PerflabError(
                f"{label}: gcc could not build {paths.relative(source)}", detail=tail(done.stderr)
            )
    return binary


def expand_c(arg: str, label: str) -> str:
    """Replace {c:path} in one argument with the path of the built binary."""
    return C_BINARY.sub(lambda m: str(c_binary(paths.resolve(m.group(1)), label)), arg)


# ---------------------------------------------------------------- TypeScript


def tsc_path() -> Path:
    return paths.ROOT / "node_modules" / ".bin" / "tsc"


@functools.cache
def typescript_version() -> str | None:
    """The version of the typescript package npm installed (package-lock.json pins it)."""
    manifest = paths.ROOT / "node_modules" / "typescript" / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise PerflabError("missing tool: node (Debian package nodejs) not found; run `make setup`")
    return node


def ts_sources(entry: Path) -> list[Path]:
    """What the emitted JavaScript depends on: every .ts file beside the entry."""
    return sorted(entry.parent.glob("*.ts"))


def ts_output(entry: Path, label: str) -> Path:
    """The JavaScript tsc emits for `entry` (and the .ts files beside it), built once per hash."""
    if not entry.is_file():
        raise PerflabError(f"{label}: TypeScript source {paths.relative(entry)} does not exist")
    tsc, version = tsc_path(), typescript_version()
    if not tsc.is_file() or version is None:
        raise PerflabError(
            "missing tool: tsc (npm package typescript) not in node_modules; run `make setup`"
        )
    parts = [p.name.encode() + b"\0" + p.read_bytes() for p in ts_sources(entry)]
    key = _digest([*parts, json.dumps(TSC_OPTIONS, sort_keys=True).encode(), version.encode()])
    out = paths.cache_dir() / "ts" / f"{entry.stem}-{key}"
    emitted = out / f"{entry.stem}.js"
    if emitted.is_file():
        return emitted
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        options = {**TSC_OPTIONS, "rootDir": str(entry.parent), "outDir": str(Path(tmp) / "js")}
        config = Path(tmp) / "tsconfig.json"
        config.write_text(json.dumps({"compilerOptions": options, "files": [str(entry)]}))
        done = run_group([require_node(), str(tsc), "-p", str(config)], timeout_s=BUILD_TIMEOUT_S)
        if done.returncode != 0 or done.timed_out:
            # tsc 把诊断写在标准输出
            raise PerflabError(
                f"{label}: tsc could not compile {paths.relative(entry)}",
                detail=tail(done.stdout + done.stderr),
            )
        shutil.rmtree(out, ignore_errors=True)
        (Path(tmp) / "js").rename(out)
    return emitted


# ---------------------------------------------------------------- mypyc


def mypyc_build(sources: list[Path], label: str) -> Path:
    """A folder holding the extension modules mypyc compiles from `sources` (one build).

    Put the folder first on sys.path and import the modules by their names. Raises
    PerflabError when mypy is not installed or the build fails (the message carries the
    tail of mypyc's output), so an example can report why mypyc could not build here.
    """
    try:
        from importlib.metadata import PackageNotFoundError, version

        mypy_version = version("mypy")
    except PackageNotFoundError:
        raise PerflabError(
            "missing package: mypy (PyPI, pinned in requirements.txt) provides mypyc; "
            "run `make setup`"
        ) from None
    parts = [p.name.encode() + b"\0" + p.read_bytes() for p in sources]
    key = _digest([*parts, mypy_version.encode(), sys.version.encode()])
    out = paths.cache_dir() / "mypyc" / key
    if out.is_dir() and any(out.glob("*.so")):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        work = Path(tmp)
        for src in sources:
            shutil.copy2(src, work / src.name)
        done = run_group(
            [sys.executable, "-m", "mypyc", *(s.name for s in sources)],
            timeout_s=BUILD_TIMEOUT_S,
            cwd=work,
        )
        built = sorted(work.glob("*.so"))
        if done.returncode != 0 or done.timed_out or not built:
            raise PerflabError(
                f"{label}: mypyc could not build {', '.join(s.name for s in sources)}",
                detail=tail(done.stdout + done.stderr),
            )
        staged = work / "out"
        staged.mkdir()
        for so in built:
            so.rename(staged / so.name)
        shutil.rmtree(out, ignore_errors=True)
        staged.rename(out)
    return out


# ---------------------------------------------------------------- what a run depends on


def run_sources(run) -> list[Path]:
    """The files a python, c or node run reads (Go packages: see gobuild.source_files)."""
    if run.lang == "node" and run.path.suffix == ".ts":
        return ts_sources(run.path)
    return [run.path]


def arg_sources(arg: str) -> list[Path]:
    return [paths.resolve(src) for src in C_BINARY.findall(arg)]


def toolchains(runs) -> dict[str, str | None]:
    """Versions of the compilers and runtimes these runs use (for the cache key)."""
    used: dict[str, str | None] = {}
    for run in runs:
        args = [a for values in run.args.values() for a in values]
        if run.lang == "c" or any(C_BINARY.search(a) for a in args):
            used["gcc"] = gcc_version()
        if run.lang == "node":
            used["node"] = node_version()
            if run.path.suffix == ".ts":
                used["typescript"] = typescript_version()
    # Maven 打的 jar（{mvn:...}）：Maven 与 Java 的版本
    used.update(maven.toolchains(runs))
    return used


@functools.cache
def node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() or None


def command(run, args: list[str], label: str) -> list[str]:
    """The command line of a c or node run."""
    if run.lang == "c":
        return [str(c_binary(run.path, label)), *args]
    script = ts_output(run.path, label) if run.path.suffix == ".ts" else run.path
    return [require_node(), str(script), *args]
