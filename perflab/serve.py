"""`make serve`: the site first, with the reference snapshot standing in; this machine's figures
as a background process measures them.

With PERFLAB_SERVE=reference a build takes, for every experiment with no valid cached result,
the snapshot's result instead (`stand_in`: rebuilt from the exported document, the derived
ratios stripped and derived again, checked against the registry like any result, flagged
`from_reference`); an experiment the snapshot lacks, or whose snapshot entry no longer fits the
registry, is measured before the build as usual.

`python -m perflab run --stale` measures every experiment without a valid cached result, one
after another, into the normal cache (`measure_stale`). With a progress file it rewrites that
file after each experiment (PROGRESS fields below); with a stamp file (`--follow`, what
`mkdocs serve` uses) it then waits until the stamp changes, that is until the site has been
rebuilt from the finished experiment (bounded by REBUILD_WAIT_S), so that the rebuild does not
share the CPUs with the next measurement; and after the last one it keeps waiting for rebuilds
and measures whatever has gone stale since (an example edited while the site is served). An
experiment that fails is reported in one line and not tried again until its code changes; the
others keep going.

Progress file (JSON): started_at, updated_at, done, total, current (id or null), measured [ids],
failed {id: one-line reason}, finished (bool: nothing left to measure for now).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from perflab import cache, check, files, measure
from perflab.claims import Claim
from perflab.errors import PerflabError
from perflab.registry import Experiment
from perflab.results import Result

# 一次重建（命中缓存）约几秒，执行笔记本时更久；超过这个时间还没重建完，就不再等
REBUILD_WAIT_S = 300.0
POLL_S = 0.2


def stand_in(
    exp: Experiment, profile: str, claims: list[Claim], snapshot: dict | None
) -> tuple[Result | None, str]:
    """(the snapshot's result for `exp`, "") or (None, why it cannot stand in). An entry of
    another profile stands in too: it keeps its own profile, shown on its provenance line."""
    if snapshot is None:
        return None, "没有参考快照"
    entry = next((e for e in snapshot["experiments"] if e.get("id") == exp.id), None)
    if entry is None:
        return None, "参考快照里没有这个实验"
    # 快照是 full 档；quick 档的 make serve 也先用它（出处行写着“参考快照”与 full 档），
    # 等后台按本次的档位测完再换：否则 quick 档会在出第一页之前把整本书测一遍
    derived = {ratio.key for ratio in exp.ratios}
    data = {
        **entry,
        "experiment": exp.id,
        "metrics": [m for m in entry["metrics"] if m.get("key") not in derived],
    }
    try:
        result = measure.finish(Result.from_dict(data), exp)
        check.require_valid(exp, claims, result)
    except (KeyError, TypeError, ValueError, PerflabError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return None, f"参考快照里的结果与现在的注册表不符（{first}）"
    result.from_reference = True
    return result, ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def read_progress(path: Path) -> dict | None:
    """The progress file, or None while there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stamp(path: Path | None) -> str:
    try:
        return path.read_text(encoding="utf-8") if path else ""
    except OSError:
        return ""


def _wait_for_change(stamp: Path, before: str, timeout_s: float | None) -> bool:
    """Wait until the stamp's content differs from `before`; False on timeout or when the
    stamp's folder is gone (the server stopped)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while _stamp(stamp) == before:
        if not stamp.parent.is_dir() or (deadline is not None and time.monotonic() > deadline):
            return False
        time.sleep(POLL_S)
    return True


def remove_files(*files: Path | None) -> None:
    """Remove the progress file and the stamp, and their folders once empty."""
    for path in files:
        if path is not None:
            path.unlink(missing_ok=True)
    for path in files:
        if path is not None:
            with contextlib.suppress(OSError):
                path.parent.rmdir()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def measure_stale(
    open_book: Callable[[], object],
    *,
    progress_file: Path | None = None,
    stamp: Path | None = None,
    report: Callable[[str], None] = _stderr,
    wait_s: float = REBUILD_WAIT_S,
) -> dict:
    """Measure every experiment without a valid cached result (see the module docstring).

    open_book: a fresh measuring session (book.Book) each round, so a registry edited while
    serving is read again. Returns the final progress (with `stamp`, only once the server's
    folder is gone).
    """
    state = {
        "started_at": _now(),
        "updated_at": _now(),
        "done": 0,
        "total": 0,
        "current": None,
        "measured": [],
        "failed": {},
        "finished": False,
    }
    tried: dict[str, str] = {}  # 失败的实验 → 当时的缓存键：代码改了才再试

    def pending(session) -> list[str]:
        found = []
        for exp in session.experiments.values():
            key = cache.cache_key(exp, session.profile)
            if tried.get(exp.id) != key and cache.load(exp, session.profile, key)[0] is None:
                found.append(exp.id)
        return found

    def publish(todo: list[str]) -> bool:
        """Write the progress; with a stamp, wait for the rebuild it triggers."""
        state["current"] = todo[0] if todo else None
        state["finished"] = not todo
        state["total"] = state["done"] + len(todo)
        state["updated_at"] = _now()
        if progress_file is None:
            return True
        if stamp is not None and not stamp.parent.is_dir():
            return False  # 服务器已停，它的目录没了
        before = _stamp(stamp)
        files.write_json(progress_file, state, indent=1)
        if stamp is None:
            return True
        if not _wait_for_change(stamp, before, wait_s) and stamp.parent.is_dir():
            report(f"[perflab 后台] 站点 {wait_s:.0f} s 内没有重建完，不再等，继续测量")
        return stamp.parent.is_dir()

    session = open_book()
    todo = pending(session)
    report(
        f"[perflab 后台] {len(todo)} 个实验没有本机的有效结果，逐个测量（{session.profile} 档）"
        if todo
        else "[perflab 后台] 每个实验都有本机的有效结果，没有要测的"
    )
    while True:
        if not publish(todo):
            return state
        if not todo:
            if stamp is None:
                return state
            # 测完了：先看一遍，之后每次重建再看一遍，有改过的示例就接着测（先记下戳再查，
            # 查完之后才改的示例一定会带来下一次重建）
            while not todo:
                seen = _stamp(stamp)
                session = open_book()
                todo = pending(session)
                if not todo and not _wait_for_change(stamp, seen, None):
                    return state
            continue
        exp_id = todo[0]
        prefix = f"[perflab 后台 {state['done'] + 1}/{state['total']}] {exp_id}"
        started = time.perf_counter()
        try:
            session.result(exp_id, progress=lambda msg, p=prefix: report(f"{p}：{msg}"))
            for claim in session.claims_for(experiment=exp_id):
                session.judge(claim)
        except Exception as exc:  # 一个实验失败，其余的照测
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            state["failed"][exp_id] = reason
            exp = session.experiments.get(exp_id)
            tried[exp_id] = cache.cache_key(exp, session.profile) if exp else ""
            report(f"{prefix}：失败，页面保留参考快照的数字：{reason}")
        else:
            state["measured"].append(exp_id)
            state["failed"].pop(exp_id, None)
            report(f"{prefix}：测量完成（{time.perf_counter() - started:.1f} s）")
        state["done"] += 1
        session = open_book()
        todo = pending(session)
