"""The committed reference snapshot (reference/results.json) and this build compared with it.

The snapshot is an exported results document (schema in document.py) of a full-profile run,
refreshed deliberately with `make reference` (`python -m perflab reference`). For every metric
present in both, the comparison gives the reference median against this build's, their ratio and
whether the two 95% intervals overlap ("在噪声内") or not ("变化"). The data page shows the two
environments, the counts, the largest changes and the metrics found in only one of them; every
row goes into data/reference-comparison.csv. PERFLAB_REFERENCE names another snapshot.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from perflab import files, paths, settings
from perflab.document import SCHEMA, SCHEMA_VERSION
from perflab.errors import PerflabError
from perflab.results import run_label
from perflab.units import fmt, when

# 对比只读各指标的中位数、区间与单位：这些字段从版本 1 起没有变，旧快照照样能比
COMPARABLE_VERSIONS = (1, SCHEMA_VERSION)

CHANGED = "变化"
WITHIN_NOISE = "在噪声内"
OTHER_PROFILE = "档位不同，不宜直接比较"
OTHER_UNIT = "单位不同，无法比较"
ONLY_REFERENCE = "仅参考快照有"
ONLY_CURRENT = "仅本次构建有"


# 对比表里的每个数字也在各章页面上：这几节不进站内搜索（Material 的 attr_list 写法）
NOT_SEARCHED = " { data-search-exclude }"


def reference_path() -> Path:
    return settings.reference_path()


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _problem(doc: object) -> str | None:
    """What is wrong with a results document, or None when it has the shape we compare."""
    if not isinstance(doc, dict):
        return "top level is not a JSON object"
    if doc.get("schema") != SCHEMA:
        return f"schema is {doc.get('schema')!r}, expected {SCHEMA!r}"
    if doc.get("schema_version") not in COMPARABLE_VERSIONS:
        return (
            f"schema_version is {doc.get('schema_version')!r}, expected one of "
            f"{', '.join(map(str, COMPARABLE_VERSIONS))}"
        )
    if not isinstance(doc.get("build_environment"), dict):
        return "build_environment is missing or not an object"
    if not isinstance(doc.get("experiments"), list):
        return "experiments is missing or not a list"
    for i, exp in enumerate(doc["experiments"]):
        where = f"experiments[{i}]"
        if not isinstance(exp, dict) or not isinstance(exp.get("id"), str):
            return f"{where} has no string 'id'"
        if not isinstance(exp.get("metrics"), list):
            return f"{where} ({exp['id']}) has no 'metrics' list"
        for j, m in enumerate(exp["metrics"]):
            at = f"{where}.metrics[{j}] ({exp['id']})"
            if not isinstance(m, dict) or not isinstance(m.get("key"), str):
                return f"{at} has no string 'key'"
            for field in ("median", "ci_low", "ci_high"):
                if not _number(m.get(field)):
                    return f"{at} {m['key']}: {field!r} is not a number"
            if not isinstance(m.get("unit"), str):
                return f"{at} {m['key']}: 'unit' is not a string"
    return None


def load(path: Path | None = None) -> dict | None:
    """The snapshot, or None when the file does not exist; a malformed file raises, naming it.
    Read once per version of the file (path, inode, size, mtime): a build asks three times."""
    path = path or reference_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _load(path, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load(path: Path, inode: int, size: int, mtime_ns: int) -> dict:
    shown = paths.relative(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PerflabError(
            f"reference snapshot {shown} is not readable JSON ({exc}); "
            "regenerate it with `make reference`"
        ) from None
    problem = _problem(doc)
    if problem:
        raise PerflabError(
            f"reference snapshot {shown} is malformed: {problem}; "
            "regenerate it with `make reference`"
        )
    return doc


def write(doc: dict, path: Path | None = None) -> Path:
    """Write a results document as the snapshot (temp name, then rename)."""
    path = path or reference_path()
    problem = _problem(doc)
    if problem:
        raise PerflabError(f"refusing to write a malformed reference snapshot: {problem}")
    return files.write_json(path, doc, indent=1)


@dataclass(frozen=True)
class Row:
    experiment: str
    key: str
    label: str
    unit: str
    reference: dict | None  # the metric entry of the snapshot, if it has one
    current: dict | None  # the metric entry of this build, if it has one
    status: str

    @property
    def ratio(self) -> float | None:
        """This build's median over the reference median."""
        if self.reference is None or self.current is None or self.reference["median"] == 0:
            return None
        return self.current["median"] / self.reference["median"]


def _status(ref: dict, cur: dict, same_profile: bool) -> str:
    if not same_profile:
        return OTHER_PROFILE
    if ref["unit"] != cur["unit"]:
        return OTHER_UNIT
    overlap = ref["ci_low"] <= cur["ci_high"] and cur["ci_low"] <= ref["ci_high"]
    return WITHIN_NOISE if overlap else CHANGED


def _label(m: dict) -> str:
    # 版本 1 的快照没有 run_label：退回到与页面相同的命名规则
    run = m.get("run_label") or run_label(m.get("run", ""))
    label = m.get("label") or m["key"]
    return f"{run} · {label}" if run else label


def compare(reference: dict, current: dict) -> list[Row]:
    """One row per (experiment, metric) in either document: this build's order first."""
    ref_exps = {e["id"]: e for e in reference["experiments"]}
    cur_exps = {e["id"]: e for e in current["experiments"]}
    rows = []
    for exp_id in [*cur_exps, *(i for i in ref_exps if i not in cur_exps)]:
        ref_exp, cur_exp = ref_exps.get(exp_id), cur_exps.get(exp_id)
        ref_metrics = {m["key"]: m for m in (ref_exp or {}).get("metrics", [])}
        cur_metrics = {m["key"]: m for m in (cur_exp or {}).get("metrics", [])}
        same_profile = (ref_exp or {}).get("profile") == (cur_exp or {}).get("profile")
        for key in [*cur_metrics, *(k for k in ref_metrics if k not in cur_metrics)]:
            ref, cur = ref_metrics.get(key), cur_metrics.get(key)
            if ref is None:
                status = ONLY_CURRENT
            elif cur is None:
                status = ONLY_REFERENCE
            else:
                status = _status(ref, cur, same_profile)
            shown = cur or ref
            rows.append(Row(exp_id, key, _label(shown), shown["unit"], ref, cur, status))
    return rows


ENVIRONMENT_ROWS = [
    ("CPU 型号", lambda e: e.get("cpu_model")),
    (
        "CPU 数（可用 / 系统）",
        lambda e: f"{e.get('cpus_available', '?')} / {e.get('cpu_count', '?')}",
    ),
    ("架构", lambda e: e.get("arch")),
    ("操作系统", lambda e: e.get("os")),
    ("内核", lambda e: e.get("kernel")),
    ("Python", lambda e: e.get("python")),
    ("Go", lambda e: e.get("go")),
    ("档位", lambda e: e.get("profile")),
    ("代码提交", lambda e: e.get("git_commit")),
    ("时间", lambda e: when(e.get("date", ""), "—")),
]


def environments_table(reference: dict, current: dict) -> str:
    ref_env, cur_env = reference["build_environment"], current["build_environment"]
    rows = ["| 项目 | 参考快照 | 本次构建 | 是否相同 |", "|---|---|---|---|"]
    for label, get in ENVIRONMENT_ROWS:
        a, b = get(ref_env) or "—", get(cur_env) or "—"
        same = "相同" if a == b else "**不同**"
        rows.append(f"| {label} | `{a}` | `{b}` | {same} |")
    return "\n".join(rows)


def _with_interval(m: dict) -> str:
    unit, median = m["unit"], m["median"]
    low = fmt(m["ci_low"], unit, like=median)
    high = fmt(m["ci_high"], unit, like=median)
    return f"{fmt(median, unit)}（{low} – {high}）"


def _distance(row: Row) -> float:
    """How far a row moved, either way: |log(current / reference)| (a ratio of 0 or none last)."""
    return abs(math.log(row.ratio)) if row.ratio else -1.0


def comparison_table(rows: list[Row]) -> str:
    lines = [
        "| 实验 | 指标 | 参考快照：中位数（95% 区间） | 本次构建：中位数（95% 区间） "
        "| 本次 / 参考 | 判断 |",
        "|---|---|---|---|---:|---|",
    ]
    for row in rows:
        ratio = "—" if row.ratio is None else fmt(row.ratio, "×")
        status = f"**{row.status}**" if row.status == CHANGED else row.status
        lines.append(
            f"| `{row.experiment}` | {row.label} | {_with_interval(row.reference)} "
            f"| {_with_interval(row.current)} | {ratio} | {status} |"
        )
    return "\n".join(lines)


def one_sided_table(rows: list[Row]) -> str:
    """One line per experiment and side: how many of its metrics only one document has."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        counts[row.experiment, row.status] = counts.get((row.experiment, row.status), 0) + 1
    lines = ["| 实验 | 指标数 | 只出现在 |", "|---|---:|---|"]
    lines += [f"| `{exp_id}` | {n} | {status} |" for (exp_id, status), n in counts.items()]
    return "\n".join(lines)


CSV_NAME = "reference-comparison.csv"
CSV_COLUMNS = [
    "experiment", "metric", "label", "unit", "reference_median", "reference_ci_low",
    "reference_ci_high", "current_median", "current_ci_low", "current_ci_high", "ratio", "status",
]  # fmt: skip


def comparison_csv(reference: dict | None, current: dict) -> str:
    """Every row of the comparison (the page shows only the largest changes) as CSV text;
    only the header when there is no snapshot."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in compare(reference, current) if reference is not None else []:
        ref, cur = row.reference or {}, row.current or {}
        writer.writerow(
            [row.experiment, row.key, row.label, row.unit]
            + [ref.get(k, "") for k in ("median", "ci_low", "ci_high")]
            + [cur.get(k, "") for k in ("median", "ci_low", "ci_high")]
            + ["" if row.ratio is None else row.ratio, row.status]
        )
    return out.getvalue()


MISSING_NOTE = """!!! note "没有参考快照"

    仓库里没有 `{path}`，本次构建不与参考快照对比。
    在仓库根目录运行 `make reference`（full 档测量全部实验，有效缓存直接复用），即可生成它。"""

# 页面只列变化最大的这么多项（一屏读得完）；每一项都在 CSV 里
SHOWN_CHANGES = 20
CSV_LINK = f'<a href="{CSV_NAME}" download>{CSV_NAME}</a>'


def render(
    reference: dict | None, current: dict, shown_path: str = "reference/results.json"
) -> str:
    """The data page's comparison section as Markdown (a plain note when there is no snapshot):
    both environments, the counts, the SHOWN_CHANGES largest changes, and the one-sided metrics
    per experiment; every row is in the CSV that export writes beside results.json."""
    if reference is None:
        return MISSING_NOTE.format(path=shown_path)
    rows = compare(reference, current)
    both = [r for r in rows if r.reference is not None and r.current is not None]
    one_sided = [r for r in rows if r.reference is None or r.current is None]
    counts = {s: sum(r.status == s for r in both) for s in (CHANGED, WITHIN_NOISE)}
    parts = [f"### 两次测量的环境{NOT_SEARCHED}\n\n" + environments_table(reference, current)]
    ref_profile = reference["build_environment"].get("profile")
    cur_profile = current["build_environment"].get("profile")
    if ref_profile != cur_profile:
        parts.append(
            f'!!! warning "档位不同"\n\n'
            f"    参考快照是 {ref_profile} 档，本次构建是 {cur_profile} 档："
            "两档的输入规模和重复次数不同，这里不判断哪些数字变了，逐项的数字见 CSV。"
            "用 full 档构建（`make build` 或 `make serve`）才能与参考快照直接比较。"
        )
    summary = (
        f"两边都有的指标共 {len(both)} 个：{counts[CHANGED]} 个{CHANGED}（两个 95% 区间不重叠），"
        f"{counts[WITHIN_NOISE]} 个{WITHIN_NOISE}（区间重叠）"
    )
    others = len(both) - counts[CHANGED] - counts[WITHIN_NOISE]
    if others:
        summary += f"，{others} 个无法判断"
    summary += f"。每一项的两个中位数、区间与判断都在 {CSV_LINK} 里。"
    section = f"### 逐项对比{NOT_SEARCHED}\n\n{summary}"
    changed = sorted((r for r in both if r.status == CHANGED), key=_distance, reverse=True)
    if changed:
        shown = changed[:SHOWN_CHANGES]
        rest = len(changed) - len(shown)
        section += (
            f"\n\n变化最大的 {len(shown)} 项（按本次与参考之比偏离 1 的程度排列"
            + (f"；其余 {rest} 项见 CSV" if rest else "")
            + "）：\n\n"
            + comparison_table(shown)
        )
    parts.append(section)
    if one_sided:
        parts.append(
            f"### 只在一边出现的指标{NOT_SEARCHED}\n\n"
            "参考快照之后新增的实验或改名的指标出现在这里；"
            "重新运行 `make reference` 后并入对比。\n\n" + one_sided_table(one_sided)
        )
    return "\n\n".join(parts)


def comparison(current: dict, path: Path | None = None) -> str:
    """Load the snapshot (missing → note; malformed → PerflabError naming it) and compare."""
    path = path or reference_path()
    return render(load(path), current, paths.relative(path))
