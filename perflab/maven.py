"""Build a Maven project (a Spring Boot service) once per source hash; later runs reuse the jar.

`{mvn:examples/…/spring}` in a run's arguments becomes the path of the executable jar that
`mvn -q -B -DskipTests package` builds from that folder (its pom.xml and src/). The build runs
in a temporary copy, so no target/ folder appears in the repository; the jar is kept in the
cache under a name that carries the hash of the pom, the sources and the Maven and Java
versions. Dependencies come from Maven Central into Maven's own local repository (~/.m2 by
default), which later builds reuse; only the first one on a machine downloads them.

A missing mvn or java is a one-line PerflabError naming the Debian package.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from perflab import files, paths, toolchain
from perflab.errors import PerflabError
from perflab.runner import run_group, tail

# 参数里的 {mvn:examples/…/spring} 换成 Maven 打出的可执行 jar 的路径
MVN_JAR = re.compile(r"\{mvn:([^}]+)\}")
MVN_ARGS = ("-q", "-B", "-DskipTests", "package")
# 第一次要从 Maven Central 下载全部依赖：给足时间
BUILD_TIMEOUT_S = 900


def require_mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PerflabError("missing tool: mvn (Debian package maven) not found; run `make setup`")
    return mvn


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise PerflabError(
            "missing tool: java (Debian package openjdk-17-jdk-headless) not found; "
            "run `make setup`"
        )
    return java


@functools.cache
def mvn_version() -> str | None:
    """'Apache Maven 3.8.7' (batch mode: no colour codes), or None when mvn is missing."""
    mvn = shutil.which("mvn")
    if mvn is None:
        return None

    def ask() -> str | None:
        done = subprocess.run([mvn, "-B", "--version"], capture_output=True, text=True, timeout=60)
        first = done.stdout.strip().splitlines()[:1]
        return re.sub(r"\x1b\[[0-9;]*m", "", first[0]).split(" (")[0] if first else None

    # 版本由 Maven 自己的 jar 决定（升级时 mvn 脚本本身可能不变）：盯住 lib 下的每个文件
    lib = Path(mvn).resolve().parent.parent / "lib"
    jars = sorted(lib.iterdir()) if lib.is_dir() else []
    return toolchain.remembered(mvn, ask, also=jars)


@functools.cache
def java_version() -> str | None:
    """'openjdk 17.0.15 2025-04-15', or None when java is missing."""
    java = shutil.which("java")
    if java is None:
        return None

    def ask() -> str | None:
        done = subprocess.run([java, "--version"], capture_output=True, text=True, timeout=60)
        first = done.stdout.strip().splitlines()[:1]
        return first[0] if first else None

    return toolchain.remembered(java, ask)


def source_files(project: Path) -> list[Path]:
    """What the jar depends on: pom.xml and everything under src/."""
    pom = project / "pom.xml"
    if not pom.is_file():
        raise PerflabError(f"{paths.relative(project)}: no pom.xml (not a Maven project)")
    return [pom, *sorted(p for p in (project / "src").rglob("*") if p.is_file())]


def source_hash(project: Path) -> str:
    digest = hashlib.sha256()
    for path in source_files(project):
        digest.update(str(path.relative_to(project)).encode() + b"\0")
        digest.update(path.read_bytes())
    digest.update(f"{mvn_version()}\0{java_version()}\0{' '.join(MVN_ARGS)}".encode())
    return digest.hexdigest()[:16]


def jar(project: Path, label: str) -> Path:
    """The executable jar of the Maven project in `project`, built only when its sources changed."""
    mvn = require_mvn()
    require_java()
    out = paths.cache_dir() / "jar" / f"{project.name}-{source_hash(project)}.jar"
    if out.is_file():
        return out
    rel = paths.relative(project)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perflab-mvn-") as tmp:
        work = Path(tmp) / project.name
        work.mkdir()
        for src in source_files(project):
            dest = work / src.relative_to(project)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        done = run_group([mvn, *MVN_ARGS], timeout_s=BUILD_TIMEOUT_S, cwd=work)
        if done.timed_out:
            raise PerflabError(f"{label}: mvn package in {rel} took over {BUILD_TIMEOUT_S} s")
        if done.returncode != 0:
            # Maven 把错误写在标准输出
            raise PerflabError(
                f"{label}: mvn package failed in {rel}", detail=tail(done.stdout + done.stderr)
            )
        # spring-boot-maven-plugin 重新打包后，原始的瘦 jar 改名为 *.jar.original
        built = sorted((work / "target").glob("*.jar"))
        if len(built) != 1:
            names = ", ".join(p.name for p in built) or "none"
            raise PerflabError(
                f"{label}: mvn package in {rel} left {names} in target/, not one jar"
            )
        with files.replacing(out) as staged:
            shutil.copy2(built[0], staged)
    return out


def expand(arg: str, label: str) -> str:
    """Replace {mvn:path} in one argument with the path of the built jar."""
    return MVN_JAR.sub(lambda m: str(jar(paths.resolve(m.group(1)), label)), arg)


def arg_sources(arg: str) -> list[Path]:
    return [p for src in MVN_JAR.findall(arg) for p in source_files(paths.resolve(src))]


def uses_maven(runs) -> bool:
    return any(MVN_JAR.search(a) for run in runs for args in run.args.values() for a in args)


def toolchains(runs) -> dict[str, str | None]:
    """Maven's and Java's versions when a run builds a jar (for the cache key and provenance)."""
    if not uses_maven(runs):
        return {}
    return {"maven": mvn_version(), "java": java_version()}
