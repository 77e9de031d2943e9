"""Find the Python interpreters a run asks for (`interpreter = "3.12"` in the registry).

A spec is a version, "X.Y" (the default build) or "X.Y" + "t" (a free-threaded build), or a
command such as "python3.12" or an absolute path. For a version the engine looks for
`pythonX.Y[t]` in every PATH folder, then in the book's .venv/bin (where
scripts/freethreaded-python.sh links the free-threaded builds uv installs; the publishing
workflow runs .venv/bin/python without that folder on PATH), then in pyenv's installs
($PYENV_ROOT or ~/.pyenv: versions/X.Y.*/bin/pythonX.Y[t], newest final patch first).
Every candidate is started once to ask its exact version and whether the GIL is enabled; one
that fails to start (a pyenv shim for a version that is not selected, say) or reports another
version is passed over.
No spec means the interpreter running the engine (the book's venv).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path

from perflab import files, paths
from perflab.errors import PerflabError

VERSION_SPEC = re.compile(r"^(\d+)\.(\d+)(t?)$")
# "python3.12" 与 "3.12" 同义：同样先查 PATH 再查 pyenv
VERSIONED_COMMAND = re.compile(r"^python(\d+\.\d+t?)$")
PROBE_TIMEOUT_S = 15
# 探测脚本只用标准库，3.6 以上都能运行
PROBE = (
    "import json, platform, sys, sysconfig\n"
    "check = getattr(sys, '_is_gil_enabled', None)\n"
    "print(json.dumps({'executable': sys.executable, 'version': platform.python_version(),\n"
    "  'implementation': platform.python_implementation(), 'build': sys.version,\n"
    "  'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),\n"
    "  'gil_enabled': True if check is None else bool(check())}))\n"
)


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str  # "3.12.1"
    implementation: str  # "CPython"
    build: str  # sys.version: version, build date, compiler
    free_threaded: bool  # built with --disable-gil
    gil_enabled: bool  # at run time (a free-threaded build can still turn the GIL on)

    def to_dict(self) -> dict:
        return asdict(self)


def current() -> Interpreter:
    """The interpreter running the engine."""
    check = getattr(sys, "_is_gil_enabled", None)
    return Interpreter(
        executable=sys.executable,
        version=platform.python_version(),
        implementation=platform.python_implementation(),
        build=sys.version,
        free_threaded=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        gil_enabled=True if check is None else bool(check()),
    )


# scripts/freethreaded-python.sh 让 uv 把 python3.13t、python3.14t 链接到这里
SETUP_BIN = paths.ROOT / ".venv" / "bin"


def _shown(folder: Path) -> str:
    """A folder in the repository as a relative path (".venv/bin"), the same in every checkout."""
    try:
        return str(folder.relative_to(paths.ROOT))
    except ValueError:
        return str(folder)


def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _patch_key(folder: Path, minor_prefix: str) -> tuple[int, int, str]:
    """Sort key for pyenv folders "3.12.1", "3.13.0t", "3.13.0rc2".

    Final releases rank above pre-releases; among them the highest patch number wins.
    """
    rest = folder.name[len(minor_prefix) :]
    match = re.match(r"(\d+)(.*)$", rest)
    if not match:
        return (-1, -1, folder.name)
    final = match.group(2) in ("", "t")
    return (int(final), int(match.group(1)), folder.name)


def on_path(name: str) -> list[Path]:
    """Every executable called `name` in the PATH folders, in PATH order."""
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = Path(folder or ".") / name
        if path.is_file() and os.access(path, os.X_OK):
            found.append(path)
    return found


def candidates(spec: str) -> list[Path]:
    """Where to look for a version spec, in order: PATH folders, the book's .venv/bin, then
    pyenv (newest patch)."""
    match = VERSION_SPEC.match(spec)
    if not match:
        raise ValueError(f"{spec!r} is not a version spec like 3.12 or 3.13t")
    major, minor, t = match.groups()
    name = f"python{major}.{minor}{t}"
    found = on_path(name)
    installed = SETUP_BIN / name
    if installed not in found and installed.is_file() and os.access(installed, os.X_OK):
        found.append(installed)
    prefix = f"{major}.{minor}."
    versions = pyenv_root() / "versions"
    if versions.is_dir():
        folders = [d for d in versions.glob(f"{prefix}*") if d.is_dir()]
        for folder in sorted(folders, key=lambda d: _patch_key(d, prefix), reverse=True):
            path = folder / "bin" / name
            if path.is_file() and os.access(path, os.X_OK):
                found.append(path)
    return found


def _probe_uncached(executable: str) -> Interpreter | None:
    try:
        proc = subprocess.run(
            [executable, "-E", "-s", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
        if not isinstance(data, dict):
            return None
        data["executable"] = data.get("executable") or str(executable)
        return Interpreter(**data)
    except (OSError, subprocess.SubprocessError, ValueError, TypeError):
        return None


@functools.cache
def _probe_cached(executable: str, mtime_ns: int) -> Interpreter | None:
    """Probed once per executable and modification time, remembered across builds on disk.

    Starting five interpreters costs about 0.3 s on every build; the answer only changes when
    the executable file does (a reinstalled or upgraded interpreter has a new mtime).
    """
    stored = (
        paths.cache_dir()
        / "interpreters"
        / (hashlib.sha256(f"{executable}\0{mtime_ns}".encode()).hexdigest()[:24] + ".json")
    )
    with contextlib.suppress(OSError, ValueError, TypeError):
        data = json.loads(stored.read_text(encoding="utf-8"))
        return Interpreter(**data) if data else None
    found = _probe_uncached(executable)
    with contextlib.suppress(OSError):  # 写不进缓存只是慢一点
        files.write_json(stored, asdict(found) if found else None)
    return found


def probe(executable: str | Path) -> Interpreter | None:
    """Start the interpreter once and ask what it is; None when it does not run."""
    try:
        mtime = os.stat(executable).st_mtime_ns
    except OSError:
        return None
    return _probe_cached(str(executable), mtime)


def _matches(found: Interpreter, spec: str) -> bool:
    major, minor, t = VERSION_SPEC.match(spec).groups()
    return found.version.split(".")[:2] == [major, minor] and found.free_threaded == bool(t)


def find(spec: str | None) -> Interpreter | None:
    """The interpreter for a run's spec, or None when it is not installed here."""
    if spec is None:
        return current()
    if VERSION_SPEC.match(spec):
        for path in candidates(spec):
            found = probe(path)
            if found is not None and _matches(found, spec):
                return found
        return None
    versioned = VERSIONED_COMMAND.match(spec)
    if versioned:
        return find(versioned.group(1))
    # 其他命令名或路径：用第一个能运行的，版本以它自己报告的为准
    paths = [Path(spec)] if os.sep in spec else on_path(spec)
    for path in paths:
        found = probe(path)
        if found is not None:
            return found
    return None


def missing_reason(spec: str) -> str:
    """One line saying where the engine looked for a spec it did not find."""
    versioned = VERSIONED_COMMAND.match(spec)
    if versioned:
        spec = versioned.group(1)
    if VERSION_SPEC.match(spec):
        major, minor, t = VERSION_SPEC.match(spec).groups()
        name = f"python{major}.{minor}{t}"
        where = pyenv_root() / "versions" / f"{major}.{minor}.*" / "bin"
        return f"PATH、{_shown(SETUP_BIN)} 与 {where} 中都没有可运行的 {name}"
    return f"没有可运行的 {spec}"


def require(spec: str | None, label: str) -> Interpreter:
    found = find(spec)
    if found is None:
        raise PerflabError(
            f"{label}: Python interpreter {spec!r} not found on PATH, in {_shown(SETUP_BIN)} or in "
            f"pyenv ({pyenv_root()}); install it or mark the run optional = true"
        )
    return found


def for_runs(runs: list) -> dict[str, dict]:
    """For each Python run that names an interpreter: what it asked for and what was found.

    A missing interpreter gets found = False and why (where the engine looked). The cache key
    includes this, so installing an interpreter, or a new patch release, re-measures.
    """
    used = {}
    for run in runs:
        if run.lang != "python" or run.interpreter is None:
            continue
        found = find(run.interpreter)
        entry = {"requested": run.interpreter, "optional": run.optional, "found": found is not None}
        if found is None:
            entry["why"] = missing_reason(run.interpreter)
        else:
            entry.update(found.to_dict())
        used[run.name] = entry
    return used
