"""The book measured on several machines: shards of experiments, shard files, and merging them.

`python -m perflab run --shard I/N --machine LABEL --out FILE` measures shard I of N (experiments
kept whole, balanced by their recorded durations) and writes a shard file; `python -m perflab
merge FILE... --out merged.json` joins the shard files of one commit from one or more machines;
PERFLAB_RESULTS=merged.json makes a build read results from it instead of measuring.

Shard file (SHARD_SCHEMA, version 1):
  schema, schema_version, git_commit, profile, machine, environment,
  shard: {index, count, experiments: [ids]}, results: [Result.to_dict()]
Merged file (MERGED_SCHEMA, version 1):
  schema, schema_version, git_commit, profile,
  machines: [{label, environment, results: [Result.to_dict()]}]   (first = the primary machine)
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from perflab import env, files, paths, reference
from perflab.errors import PerflabError
from perflab.results import Result

SHARD_SCHEMA = "perflab-shard"
MERGED_SCHEMA = "perflab-merged"
SCHEMA_VERSION = 1
# 没有记录过耗时的新实验按这么多秒算（只影响分片是否均衡，不影响覆盖）
UNKNOWN_DURATION_S = 60.0


def parse_shard(text: str) -> tuple[int, int]:
    """ "2/3" → (2, 3); PerflabError unless 1 <= I <= N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise PerflabError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 1/3")
    return int(m[1]), int(m[2])


def recorded_durations() -> dict[str, float]:
    """Seconds each experiment took in the committed reference snapshot (none if unreadable)."""
    try:
        doc = reference.load()
    except PerflabError:
        return {}
    if doc is None:
        return {}
    return {
        e["id"]: float(e["duration_s"])
        for e in doc["experiments"]
        if isinstance(e.get("duration_s"), int | float) and e["duration_s"] > 0
    }


def assign(ids: list[str], count: int, durations: dict[str, float]) -> list[list[str]]:
    """Experiments split into `count` shards of similar total duration, deterministically.

    Longest first, each to the shard with the least time so far (ties: the lower index);
    an experiment without a recorded duration counts as the median recorded one. Every id
    lands in exactly one shard; within a shard ids keep the registry's order.
    """
    known = [durations[i] for i in ids if i in durations]
    default = statistics.median(known) if known else UNKNOWN_DURATION_S
    cost = {i: durations.get(i, default) for i in ids}
    order = {i: n for n, i in enumerate(ids)}
    totals = [0.0] * count
    chosen: list[list[str]] = [[] for _ in range(count)]
    for exp_id in sorted(ids, key=lambda i: (-cost[i], order[i])):
        k = min(range(count), key=lambda s: (totals[s], s))
        totals[k] += cost[exp_id]
        chosen[k].append(exp_id)
    return [sorted(shard, key=order.__getitem__) for shard in chosen]


def default_machine_label() -> str:
    """A machine kind as pages name it: "x86_64 · 2 CPU"."""
    e = env.capture("quick")
    return f"{e.get('arch', '?')} · {len(env.cpus_available())} CPU"


def shard_document(
    results: list[Result], *, index: int, count: int, machine: str, profile: str
) -> dict:
    environment = env.capture(profile)
    return {
        "schema": SHARD_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "git_commit": environment.get("git_commit", ""),
        "profile": profile,
        "machine": machine,
        "environment": environment,
        "shard": {"index": index, "count": count, "experiments": [r.experiment for r in results]},
        "results": [r.to_dict() for r in results],
    }


def write(doc: dict, out: Path) -> None:
    files.write_json(out, doc, indent=1)


def _read(path: Path) -> dict:
    name = paths.relative(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PerflabError(f"{name}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise PerflabError(f"{name}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise PerflabError(f"{name}: top level is not a JSON object")
    return doc


def _results(doc: dict, name: str) -> list[Result]:
    raw = doc.get("results")
    if not isinstance(raw, list):
        raise PerflabError(f"{name}: results is missing or not a list")
    try:
        return [Result.from_dict(r) for r in raw]
    except (KeyError, TypeError, ValueError, PerflabError) as exc:
        raise PerflabError(f"{name}: a result is malformed ({exc!r})") from None


def _shard_problem(doc: dict) -> str | None:
    if doc.get("schema") != SHARD_SCHEMA:
        return f"schema is {doc.get('schema')!r}, expected {SHARD_SCHEMA!r}"
    if doc.get("schema_version") != SCHEMA_VERSION:
        return f"schema_version is {doc.get('schema_version')!r}, expected {SCHEMA_VERSION}"
    shard = doc.get("shard")
    if not (
        isinstance(shard, dict)
        and isinstance(shard.get("index"), int)
        and isinstance(shard.get("count"), int)
        and 1 <= shard["index"] <= shard["count"]
        and isinstance(shard.get("experiments"), list)
    ):
        return "shard is missing or malformed (needs index, count, experiments)"
    for field in ("git_commit", "profile", "machine"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            return f"{field} is missing"
    if not isinstance(doc.get("environment"), dict):
        return "environment is missing or not an object"
    return None


def merge(shard_files: list[Path], expected: list[str] | None = None) -> dict:
    """One merged document from shard files; PerflabError (one line, naming the file) when a
    file is malformed, from another commit, profile or schema, repeats an experiment on the
    same machine, or when a machine's shards are incomplete (which shard, which experiments).

    expected: every experiment id the registry has; a machine missing any is an error.
    """
    if not shard_files:
        raise PerflabError("merge: no shard file given")
    machines: dict[str, dict] = {}
    commit = profile = None
    for path in shard_files:
        name = paths.relative(path)
        doc = _read(path)
        if problem := _shard_problem(doc):
            raise PerflabError(f"{name}: {problem}")
        results = _results(doc, name)
        listed = doc["shard"]["experiments"]
        if sorted(r.experiment for r in results) != sorted(listed):
            raise PerflabError(f"{name}: its results do not match the experiments its shard lists")
        if commit is None:
            commit, profile, first = doc["git_commit"], doc["profile"], name
        elif doc["git_commit"] != commit:
            raise PerflabError(
                f"{name}: measured at commit {doc['git_commit']}, {first} at {commit}: "
                "shards of one site come from one commit"
            )
        elif doc["profile"] != profile:
            raise PerflabError(f"{name}: profile {doc['profile']}, {first} has {profile}")
        m = machines.setdefault(
            doc["machine"],
            {"environment": doc["environment"], "results": {}, "shards": {}, "count": None},
        )
        count, index = doc["shard"]["count"], doc["shard"]["index"]
        if m["count"] not in (None, count):
            raise PerflabError(
                f"{name}: shard {index}/{count}, but machine {doc['machine']!r} "
                f"already has shards of {m['count']}"
            )
        if index in m["shards"]:
            raise PerflabError(
                f"{name}: shard {index}/{count} of machine {doc['machine']!r} "
                f"is also in {m['shards'][index]}"
            )
        m["count"], m["shards"][index] = count, name
        for r in results:
            if r.experiment in m["results"]:
                raise PerflabError(
                    f"{name}: experiment {r.experiment} appears twice on machine {doc['machine']!r}"
                )
            m["results"][r.experiment] = r
    for label, m in machines.items():
        count = m["count"]
        missing_shards = [f"{i}/{count}" for i in range(1, count + 1) if i not in m["shards"]]
        if missing_shards:
            raise PerflabError(
                f"merge: machine {label!r} is missing shard(s) {', '.join(missing_shards)}"
            )
        if expected is not None:
            absent = [i for i in expected if i not in m["results"]]
            if absent:
                raise PerflabError(
                    f"merge: machine {label!r} has no result for {', '.join(absent)}"
                )
    order = {exp_id: n for n, exp_id in enumerate(expected or [])}
    return {
        "schema": MERGED_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "git_commit": commit,
        "profile": profile,
        "machines": [
            {
                "label": label,
                "environment": m["environment"],
                "results": [
                    r.to_dict()
                    for r in sorted(
                        m["results"].values(), key=lambda r: order.get(r.experiment, len(order))
                    )
                ],
            }
            for label, m in machines.items()
        ],
    }


@dataclass(frozen=True)
class Machine:
    label: str
    environment: dict
    results: dict[str, Result]


def load_merged(path: Path, checkout: str | None = None) -> tuple[str, list[Machine]]:
    """(profile, machines) of a merged file, the primary machine first.

    checkout: the commit of the code being built (env.git_commit()); a merged file measured at
    another commit is refused, since its figures belong to other code. None skips the check.
    """
    name = paths.relative(path)
    doc = _read(path)
    if doc.get("schema") != MERGED_SCHEMA or doc.get("schema_version") != SCHEMA_VERSION:
        raise PerflabError(
            f"{name}: not a merged results file (schema {doc.get('schema')!r} "
            f"version {doc.get('schema_version')!r}; expected {MERGED_SCHEMA!r} {SCHEMA_VERSION})"
        )
    if checkout is not None and doc.get("git_commit") != checkout:
        raise PerflabError(
            f"{name}: measured at commit {doc.get('git_commit')!r}, but this checkout is at "
            f"{checkout!r}; build at that commit, or measure this one again"
        )
    machines = doc.get("machines")
    if not isinstance(machines, list) or not machines:
        raise PerflabError(f"{name}: machines is missing or empty")
    loaded = []
    for m in machines:
        if not isinstance(m, dict) or not isinstance(m.get("label"), str):
            raise PerflabError(f"{name}: a machine entry has no label")
        results = {}
        for r in _results(m, name):
            r.from_cache = True
            results[r.experiment] = r
        loaded.append(Machine(m["label"], m.get("environment") or {}, results))
    return str(doc.get("profile", "")), loaded
