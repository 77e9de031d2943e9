"""On-disk results cache.

A result is reused only when its key matches: the example's source files, its inputs for the
profile, the repeat counts, the toolchain and library versions, the machine and the profile.
Editing prose changes none of these, so it never re-runs a benchmark; editing an example does.
A cache file that cannot be read or does not match its schema is ignored and re-measured.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from perflab import env, files, gobuild, interpreters, maven, native, paths, toolchain
from perflab.registry import GO_BINARY, Experiment
from perflab.results import Result

# 2：每个进程一个独立值（进程内多个样本取中位数），原始样本存在 rounds
CACHE_FORMAT = 2


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sources(exp: Experiment) -> dict[str, str]:
    files: list[Path] = list(exp.sources)
    for run in exp.runs:
        files += gobuild.source_files(run.path) if run.lang == "go" else native.run_sources(run)
        files += run.sources
        for args in run.args.values():
            for arg in args:
                for package in GO_BINARY.findall(arg):
                    files += gobuild.source_files(paths.resolve(package))
                files += native.arg_sources(arg)
                files += maven.arg_sources(arg)
    return {paths.relative(p): _file_digest(p) for p in files}


def key_material(exp: Experiment, profile: str) -> dict:
    """Everything a result depends on; the cache key is its hash."""
    uses_go = any(
        run.lang == "go" or any(GO_BINARY.search(a) for args in run.args.values() for a in args)
        for run in exp.runs
    )
    return {
        "format": CACHE_FORMAT,
        "experiment": exp.id,
        "profile": profile,
        "inputs": {run.name: run.args_for(profile) for run in exp.runs},
        "repeats": exp.repeats_for(profile),
        "warmup": exp.warmup_for(profile),
        "cpus": exp.cpus,
        "sources": _sources(exp),
        "python": sys.version,
        # 每个指定了解释器的运行：找到的确切版本与路径（或“未找到”）
        "interpreters": interpreters.for_runs(exp.runs),
        "go": toolchain.go_version() if uses_go else None,
        # gcc、node、typescript：C 与 TypeScript 的运行用到的编译器与运行时
        **({"native": used} if (used := native.toolchains(exp.runs)) else {}),
        "libraries": env.library_versions(exp.libraries),
        "tools": {tool: toolchain.tool_version(tool) for tool in exp.tools},
        "machine": env.machine(),
    }


def cache_key(exp: Experiment, profile: str) -> str:
    blob = json.dumps(key_material(exp, profile), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _file_for(exp_id: str, profile: str) -> Path:
    return paths.cache_dir() / "results" / profile / f"{exp_id}.json"


def load(exp: Experiment, profile: str, key: str | None = None) -> tuple[Result | None, str]:
    """(result, why-not) — the cached result if its key matches, else None and the reason.

    key: the key computed before measuring (measure.obtain); computed here when not given.
    """
    path = _file_for(exp.id, profile)
    if not path.exists():
        return None, "not measured yet"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != (key or cache_key(exp, profile)):
            return None, "sources, inputs or toolchain changed"
        result = Result.from_dict(data["result"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"cache file {path.name} is unreadable ({type(exc).__name__}), re-measuring"
    result.from_cache = True
    return result, ""


def store(exp: Experiment, profile: str, result: Result, key: str | None = None) -> None:
    """Store a result under `key`: the key of the sources as they were when measuring began."""
    path = _file_for(exp.id, profile)
    files.write_json(path, {"key": key or cache_key(exp, profile), "result": result.to_dict()})
