"""`perflab check` and the checks the build runs: each registry mistake is one line naming the file.

The throwaway book (engine_fixtures.TmpBook) has one experiment `t.exp` registered for page t.md
with metrics python.t_s (s) and python.ratio (×); each test adds one mistake to it.
"""

from __future__ import annotations

import pytest
from engine_fixtures import TmpBook
from test_cli import perflab

from perflab import book, check
from perflab.errors import PerflabError

GOOD_CLAIM = """
[[claim]]
id = "t.claim"
page = "t.md"
claim = "耗时约半秒"
quoted = "耗时 0.5 秒"
source = "测试"
experiment = "t.exp"
condition = "测试条件"
unit = "{unit}"
metric = "{metric}"
rule = {{ kind = "{kind}", value = 0.5, tolerance = 0.5, why = "测试用的宽容差" }}
"""


def write_page(tmp_book: TmpBook, text: str = 'book.figure("t.exp")\n') -> None:
    docs = tmp_book.root / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "t.md").write_text(text, encoding="utf-8")


def write_claim(tmp_book: TmpBook, unit="s", metric="python.t_s", kind="approx") -> None:
    (tmp_book.root / "registry" / "claims.toml").write_text(
        GOOD_CLAIM.format(unit=unit, metric=metric, kind=kind), encoding="utf-8"
    )


def add_chart(tmp_book: TmpBook, metric: str) -> None:
    path = tmp_book.root / "registry" / "experiments.toml"
    text = path.read_text(encoding="utf-8")
    chart = f'\n[[experiment.chart]]\ntitle = "图"\nmetrics = ["{metric}"]\n'
    # 图表表格属于 [[experiment]]，要写在它的 [[experiment.run]] 之后也可以：TOML 按层级归属
    path.write_text(text + chart, encoding="utf-8")


def problems(ids=()) -> list[str]:
    session = book.Book("quick", refresh=False)
    found, _notes = check.check(session.experiments, session.claims, list(ids), "quick")
    return found


def test_a_clean_entry_has_no_problem_before_and_after_measuring(tmp_book: TmpBook):
    write_page(tmp_book)
    write_claim(tmp_book)
    assert problems() == []
    book.start("quick").result("t.exp")
    assert problems() == []


def test_a_typo_in_a_chart_metric_is_one_line_naming_the_file_and_the_chart(tmp_book: TmpBook):
    write_page(tmp_book)
    add_chart(tmp_book, "python.t_ss")
    with pytest.raises(PerflabError) as err:
        book.start("quick").result("t.exp")
    (line,) = str(err.value).splitlines()
    assert line.startswith("registry/experiments.toml: ") or "experiments.toml: " in line
    assert "chart '图'" in line and "'python.t_ss'" in line and "python.t_s" in line
    # 测量已经存进缓存：改好笔误之后，check 直接对照缓存里的结果，不必重测
    assert any("python.t_ss" in p for p in problems())


def test_a_typo_in_a_charts_run_name_is_caught_before_measuring(tmp_book: TmpBook):
    write_page(tmp_book)
    add_chart(tmp_book, "pyhton.t_s")
    (before,) = problems()  # 还没测过：运行名的笔误现在就查得出
    assert "experiment t.exp, chart '图': metric 'pyhton.t_s' is not RUN.NAME" in before
    assert tmp_book.runs() == 0


def test_a_typo_in_a_claim_metric_is_caught_before_and_after_measuring(tmp_book: TmpBook):
    write_page(tmp_book)
    write_claim(tmp_book, metric="pyhton.t_s")
    (before,) = problems()
    assert "claims.toml: claim t.claim: metric 'pyhton.t_s' is not RUN.NAME" in before
    write_claim(tmp_book, metric="python.t_z")
    with pytest.raises(PerflabError) as err:
        book.start("quick").result("t.exp")
    assert str(err.value).endswith("claims.toml: claim t.claim: no metric 'python.t_z' in t.exp")


def test_a_page_that_does_not_exist_or_does_not_show_the_experiment(tmp_book: TmpBook):
    (missing,) = problems()
    assert "experiments.toml: experiment t.exp: its page docs/t.md does not exist" in missing
    write_page(tmp_book, "# 只有文字\n")
    (silent,) = problems()
    assert "no code block in docs/t.md names it" in silent


def test_the_page_module_counts_as_showing_the_experiment(tmp_book: TmpBook):
    write_page(tmp_book, "# 页面\n")
    pages = tmp_book.root / "pages"
    pages.mkdir()
    (pages / "t.py").write_text('EXP = "t.exp"\n', encoding="utf-8")
    assert problems() == []


def test_a_claim_unit_that_differs_from_its_metric(tmp_book: TmpBook):
    write_page(tmp_book)
    write_claim(tmp_book, unit="%")
    with pytest.raises(PerflabError) as err:
        book.start("quick").result("t.exp")
    assert "claim t.claim: unit '%' but metric 'python.t_s' is in 's'" in str(err.value)


def test_a_unit_the_engine_does_not_allow_in_a_claim_or_an_example(tmp_book: TmpBook):
    write_page(tmp_book)
    write_claim(tmp_book, unit="ms")
    with pytest.raises(PerflabError) as err:
        book.Book("quick")
    assert "claims.toml: claim t.claim: unit 'ms' is not one of s, B, ×, %" in str(err.value)

    write_claim(tmp_book)
    tmp_book.write_example(
        "ms.py",
        """
        import json
        print(json.dumps({"metrics": {"t_s": {"label": "耗时", "unit": "ms", "values": [500]}}}))
        """,
    )
    tmp_book.write_registry("ms.py")
    with pytest.raises(PerflabError) as err:
        book.start("quick").result("t.exp")
    assert "metric 't_s' has unit 'ms'; use s, B, ×, %" in str(err.value)


def test_a_bad_rule_kind_names_the_file_and_the_claim(tmp_book: TmpBook):
    write_page(tmp_book)
    write_claim(tmp_book, kind="roughly")
    proc = perflab("check")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "claims.toml: claim t.claim: rule kind 'roughly' is not one of" in line


def test_check_command_reports_problems_and_exits_nonzero(tmp_book: TmpBook):
    proc = perflab("check", "t.exp")
    assert proc.returncode == 1
    assert "its page docs/t.md does not exist" in proc.stdout
    assert "1 个问题" in proc.stderr
    write_page(tmp_book)
    ok = perflab("check")
    assert ok.returncode == 0, ok.stdout
    assert "metric names not checked yet" in ok.stderr  # 没测过：如实说明，不装作查过


def test_run_prints_the_claim_verdicts_as_the_page_words_them(tmp_book: TmpBook, tmp_path):
    write_page(tmp_book)
    write_claim(tmp_book)
    proc = perflab("run", "t.exp", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "「耗时 0.5 秒」：成立" in proc.stdout
    assert "实测中位数落在 500 ms ± 50% 内即成立" in proc.stdout
    assert "理由：测试用的宽容差" in proc.stdout
