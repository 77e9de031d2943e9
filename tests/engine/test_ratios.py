"""Derived figures ([[experiment.ratio]]): paired per round, sums and info numbers as terms,
shares in %, skipped runs left out, and one-line errors naming the experiment for bad entries."""

from __future__ import annotations

import pytest
from engine_fixtures import TmpBook

from perflab import check, measure, registry, render
from perflab.errors import PerflabError
from perflab.results import Metric, Result


def _result(metrics: dict[str, list[float]], info: dict | None = None) -> Result:
    return Result(
        "t.exp",
        "测试实验",
        "t.md",
        "quick",
        metrics={
            key: Metric(key, key.split(".")[0], key.split(".")[1], key, "s", list(values))
            for key, values in metrics.items()
        },
        info=info or {},
    )


def _experiment(tmp_book: TmpBook, ratios: str, runs: str = "") -> registry.Experiment:
    registry_file = tmp_book.root / "registry" / "experiments.toml"
    registry_file.write_text(registry_file.read_text() + runs + ratios)
    return registry.load()["t.exp"]


SECOND_RUN = """
[[experiment.run]]
name = "py99"
lang = "python"
interpreter = "3.99"
optional = true
path = "{path}"
"""


def test_a_sum_over_a_sum_is_paired_round_by_round(tmp_book: TmpBook):
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.a_share"\nlabel = "a 的份额"\n'
        'numerator = "python.a"\ndenominator = ["python.a", "python.b"]\nunit = "%"\n',
    )
    result = _result({"python.a": [1.0, 3.0, 1.0], "python.b": [3.0, 1.0, 9.0]})
    metric = measure.add_ratios(result, exp).metric("python.a_share")
    # 第 i 轮对第 i 轮：1/4、3/4、1/10，不是中位数之比 1/(1+3)
    assert metric.values == pytest.approx([25.0, 75.0, 10.0])
    assert metric.unit == "%" and metric.summary.median == pytest.approx(25.0)


def test_a_leading_minus_subtracts_a_term(tmp_book: TmpBook):
    # 两个估算各自偏离同一个真值多少，彼此相比：(e1 - t) ÷ (e2 - t)，每轮各算
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.off"\nlabel = "偏差之比"\n'
        'numerator = ["python.e1", "-python.t"]\ndenominator = ["python.e2", "-python.t"]\n',
    )
    result = _result({"python.e1": [3.0, 5.0], "python.e2": [1.5, 2.0], "python.t": [1.0, 1.0]})
    assert measure.add_ratios(result, exp).metric("python.off").values == pytest.approx([4.0, 4.0])


def test_an_info_number_divides_every_round(tmp_book: TmpBook):
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.per_request"\nlabel = "每个请求"\n'
        'numerator = "python.a"\ndenominator = { info = "python.requests" }\n',
    )
    result = _result({"python.a": [2.0, 4.0, 6.0]}, {"python": {"requests": 200}})
    metric = measure.add_ratios(result, exp).metric("python.per_request")
    assert metric.values == pytest.approx([0.01, 0.02, 0.03]) and metric.unit == "×"


def test_a_ratio_over_a_skipped_optional_run_is_left_out(tmp_book: TmpBook):
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.vs_py99"\nlabel = "比"\n'
        'numerator = ["python.a"]\ndenominator = ["py99.a", { info = "py99.n" }]\n',
        runs=SECOND_RUN.format(path=tmp_book.root / "good.py"),
    )
    result = _result({"python.a": [1.0, 2.0]}, {"py99": {"skipped": "找不到 python3.99"}})
    assert "python.vs_py99" not in measure.add_ratios(result, exp).metrics
    assert check.result_problems(exp, [], result) == []


@pytest.mark.parametrize(
    ("metrics", "info", "problem"),
    [
        ({"python.a": [1.0, 2.0]}, {}, r"no metric 'python\.b'"),
        ({"python.a": [1.0, 2.0], "python.b": [1.0]}, {}, r"1 rounds against 2: cannot pair"),
        ({"python.a": [1.0], "python.b": [0.0]}, {}, "a denominator is zero"),
        ({"python.a": [1.0], "python.b": [1.0]}, {"python": {"n": "many"}}, r"no number 'n'"),
    ],
)
def test_what_cannot_be_paired_is_one_line_naming_experiment_and_ratio(
    tmp_book: TmpBook, metrics, info, problem
):
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.r"\nlabel = "比"\n'
        'numerator = "python.a"\ndenominator = ["python.b", { info = "python.n" }]\n',
    )
    info = info or {"python": {"n": 0}}
    with pytest.raises(
        PerflabError, match=rf"^experiment t\.exp, ratio python\.r: .*{problem}"
    ) as e:
        measure.add_ratios(_result(metrics, info), exp)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ('numerator = "a"\ndenominator = "python.b"', r'numerator .a. is not "RUN\.NAME"'),
        ('numerator = "python.a"\ndenominator = []', "denominator is an empty list"),
        ('numerator = "python.a"\ndenominator = { field = "python.n" }', "is not"),
        ('numerator = "go.a"\ndenominator = "python.b"', r"names run 'go', which is not one"),
        ('numerator = "python.a"\ndenominator = "python.b"\nunit = "s"', "unit 's' is not"),
        (
            'numerator = { info = "python.a" }\ndenominator = { info = "python.n" }',
            "reads only info numbers",
        ),
    ],
)
def test_a_bad_ratio_entry_is_one_line_naming_the_file_and_experiment(
    tmp_book: TmpBook, fields: str, problem: str
):
    with pytest.raises(
        PerflabError, match=rf"experiments\.toml: experiment t\.exp, ratio python\.r: .*{problem}"
    ) as e:
        _experiment(tmp_book, f'[[experiment.ratio]]\nkey = "python.r"\nlabel = "比"\n{fields}\n')
    assert "\n" not in str(e.value)


def test_check_names_a_missing_info_number_of_a_ratio(tmp_book: TmpBook):
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.r"\nlabel = "比"\n'
        'numerator = "python.a"\ndenominator = { info = "python.requests" }\n',
    )
    problems = check.result_problems(exp, [], _result({"python.a": [1.0]}, {"python": {}}))
    assert len(problems) == 1 and "ratio python.r" in problems[0]
    assert "reported no info 'requests'" in problems[0]


def test_a_claim_on_a_share_reads_it_in_percent(tmp_book: TmpBook):
    exp = _experiment(
        tmp_book,
        '[[experiment.ratio]]\nkey = "python.s"\nlabel = "份额"\nunit = "%"\n'
        'numerator = "python.a"\ndenominator = ["python.a", "python.b"]\n',
    )
    result = _result({"python.a": [1.0], "python.b": [1.0]})

    class Claim:  # 只用到 check 读的字段
        id, reads, metrics, unit, registry_file = "t.c", ("python.s",), ("python.s",), "×", None

    assert (
        "unit '×' but metric 'python.s' is in '%'"
        in check.result_problems(exp, [Claim()], result)[0]
    )


def test_a_ratio_reads_as_times_with_its_interval_in_a_sentence():
    many = Metric("a.r", "a", "r", "比", "×", [1.9, 2.0, 2.1, 2.0, 1.95, 2.05, 2.0])
    assert render.times(many) == "2.0 倍（95% 区间 1.9 – 2.1）"
    one = Metric("a.r", "a", "r", "比", "×", [51.2])
    assert render.times(one, 0) == "51 倍（95% 区间 51 – 51，样本少，仅覆盖 0%）"
