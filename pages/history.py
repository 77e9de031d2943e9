"""docs/history.md：历次发布的数字——每个头条数字在最近几次构建里的中位数，越出噪声时环境里变了什么。"""

from __future__ import annotations

from perflab import book, history, render, settings
from perflab.history import Figure, Move, Run, Timeline
from perflab.units import fmt
from perflab.verdict_text import condition_value

# 表里逐列列出的最近几次构建；更早的构建只出现在“最近一次越出噪声”一列里
SHOWN_RUNS = 6

NO_HISTORY = (
    "本次构建没有读取历次发布的结果（没有设置 `PERFLAB_HISTORY`），下表只有本次构建这一列。"
    "发布的网站上的这一页列出最近各次发布的数字；想在本地看，取出仓库的 `perflab-history` 分支"
    "（`git fetch origin perflab-history && git worktree add ../perflab-history FETCH_HEAD`），"
    "构建时设 `PERFLAB_HISTORY=../perflab-history`。"
)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "&#124;").replace("\n", " ")


def _when(run: Run) -> str:
    return history.CURRENT if run.current else f"{run.date:%m-%d %H:%M} `{run.commit[:7]}`"


def _figure_name(fig: Figure) -> str:
    sweep = fig.claim.sweep
    if sweep is None or fig.at is None:
        return f"{fig.entry['run_label']} · {fig.entry['label']}"
    return f"{sweep.condition} {condition_value(fig.at, sweep.unit)}"


def _value(fig: Figure | None) -> str:
    return "—" if fig is None else fmt(fig.entry["median"], fig.entry["unit"])


def _changes(move: Move) -> str:
    if not move.changes:
        return "记录的环境没有变化"
    return "；".join(f"{c.what}：{c.before} → {c.after}" for c in move.changes)


def _move(move: Move | None) -> str:
    if move is None:
        return "—"
    ratio = "" if move.ratio is None else f"（{fmt(move.ratio, '×')}）"
    return (
        f"{_when(move.before_run)} → {_when(move.after_run)}："
        f"{_value(move.before)} → {_value(move.after)}{ratio}；{_changes(move)}"
    )


def _machine_table(line: Timeline, label: str, from_page: str) -> str:
    """One machine's headline figures: a row per figure, a column per recent run (a value that
    moved beyond noise from the run before is bold), and the last move with what changed."""
    runs = line.runs_of(label)
    shown = runs[-SHOWN_RUNS:]
    several = len(runs) > 1
    moved_into = {(id(m.after_run), m.before.key) for m in line.moves[label]}
    head = ["说法", "测量点", *(_when(r).replace(" `", "<br>`") for r in shown)]
    head += ["最近一次越出噪声"] if several else []
    align = "|---|---|" + "---:|" * len(shown) + ("---|" if several else "")
    rows = ["| " + " | ".join(head) + " |", align]
    previous_claim = None
    for key in line.order:
        values = line.values(label, key)
        latest = next((f for f in reversed(values) if f is not None), None)
        if latest is None:
            continue
        claim = latest.claim
        said = ""
        if claim.id != previous_claim:
            href = render.page_href(claim.page, from_page)
            said = f"[{_cell(claim.claim)}]({href}) `{claim.id}`"
        previous_claim = claim.id
        cells = [said, _cell(_figure_name(latest))]
        for run, fig in zip(shown, values[-len(shown) :], strict=True):
            text = _value(fig)
            cells.append(f"**{text}**" if fig and (id(run), key) in moved_into else text)
        if several:
            cells.append(_cell(_move(line.last_move(label, key))))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _summary(line: Timeline, label: str) -> str:
    runs = line.runs_of(label)
    if len(runs) == 1:
        return f"只有{_when(runs[0])}这一次，还看不出变化。"
    moves = line.moves[label]
    latest = sum(m.after_run is runs[-1] for m in moves)
    span = f"{runs[0].date:%Y-%m-%d} 至 {runs[-1].date:%Y-%m-%d}"
    newest = "本次构建" if runs[-1].current else "其中最新的一次"
    return (
        f"{len(runs)} 次构建（{span}），相邻两次之间越出噪声的共 {len(moves)} 处；"
        f"{newest}相对它的上一次 {latest} 处。"
    )


def _tables(line: Timeline, from_page: str) -> str:
    parts = []
    for label in line.labels:
        title = f"**{label}**：" if len(line.labels) > 1 else ""
        parts.append(
            title + _summary(line, label) + "\n\n" + _machine_table(line, label, from_page)
        )
    return "\n\n".join(parts)


def overview() -> str:
    """Every headline figure across the kept publishing runs and this build, per machine."""
    session = book.current()
    current = history.current_run(session)
    folder = settings.history_dir()
    if folder is None:
        note = f'!!! note "没有历次发布的结果"\n\n    {NO_HISTORY}'
        return note + "\n\n" + _tables(history.timeline([current], session.claims), session.page)
    runs, skipped = history.load(folder, session.claims, session.experiments)
    line = history.timeline(history.with_current(runs, current), session.claims)
    parts = []
    if skipped:
        listed = "\n".join(f"    - {_cell(s)}" for s in skipped)
        parts.append(f'!!! warning "跳过了 {len(skipped)} 个读不了的文件"\n\n{listed}')
    parts.append(_tables(line, session.page))
    return "\n\n".join(parts)
