"""No page module divides two medians of the same experiment: that quotient is a ratio the
registry declares ([[experiment.ratio]]), so the engine pairs it round by round, gives it an
interval and exports it. The scan reads pages/*.py (no build needed) and names file:line.

What counts as a median read: `….summary.median` (the experiment is the argument of the
`….result(X)` in the chain, or of the `… = book.result(X)` the chain starts from), and any
call of a function that returns one (`_median(EXP, key)`: the experiment is the argument given
for the parameter the function passes to `result(…)`, or that parameter's default). A read
keeps its experiment through names, tuples, dict comprehensions, subscripts, arithmetic and
min / max / abs / round, so `gap[a] / max(gap["none"], 1e-9)` is caught too. Quotients of two
different experiments cannot be paired and are allowed (the page must say so in words).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

from conftest import ROOT

PAGES = ROOT / "pages"
WRAPPERS = {"max", "min", "abs", "round", "float", "int", "sum"}
Tags = frozenset[str]
NONE: Tags = frozenset()


@dataclass(frozen=True)
class Helper:
    """A function and what its return reads: the experiments (a parameter's name stands for the
    argument given for it), and per element when it returns a tuple."""

    fn: ast.FunctionDef
    returned: Tags
    parts: tuple[Tags, ...] | None = None


class _Scope:
    """What the names of one function (or the module) hold: the experiments of their reads."""

    def __init__(self, functions: dict[str, Helper]):
        self.functions = functions
        self.names: dict[str, Tags] = {}
        self.results: dict[str, str] = {}  # r = book.result(X) → "X"

    def experiment_of_chain(self, node: ast.expr) -> str | None:
        """The X of a `….result(X)….median` chain, or of the name the chain starts from."""
        while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "result"
                and node.args
            ):
                return ast.unparse(node.args[0])
            node = node.func if isinstance(node, ast.Call) else node.value
        if isinstance(node, ast.Name):
            return self.results.get(node.id, f"<{node.id}>")
        return None

    def tags(self, node: ast.expr | None) -> Tags:
        if node is None:
            return NONE
        if isinstance(node, ast.Attribute) and node.attr == "median":
            exp = self.experiment_of_chain(node.value)
            return frozenset({exp}) if exp else NONE
        if isinstance(node, ast.Name):
            return self.names.get(node.id, NONE)
        if isinstance(node, ast.Subscript):
            return self.tags(node.value)
        if isinstance(node, ast.NamedExpr):
            self.names[node.target.id] = self.tags(node.value)
            return self.names[node.target.id]
        if isinstance(node, ast.BinOp):
            return self.tags(node.left) | self.tags(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.tags(node.operand)
        if isinstance(node, ast.IfExp):
            return self.tags(node.body) | self.tags(node.orelse)
        if isinstance(node, ast.DictComp | ast.ListComp | ast.GeneratorExp | ast.SetComp):
            return self.tags(node.value if isinstance(node, ast.DictComp) else node.elt)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in WRAPPERS:
                return frozenset().union(*(self.tags(a) for a in node.args))
            if node.func.id in self.functions:
                return self._resolve(node, self.functions[node.func.id].returned)
        return NONE

    def _resolve(self, call: ast.Call, returned: Tags) -> Tags:
        """A read through a helper: its parameters in the returned tags become the arguments."""
        fn = self.functions[call.func.id].fn
        names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        # 默认值对齐最后几个参数
        tail = names[len(names) - len(fn.args.defaults) :]
        defaults = dict(zip(tail, fn.args.defaults, strict=True))
        given = {k.arg: k.value for k in call.keywords}
        out = set()
        for tag in returned:
            if tag not in names:
                out.add(tag)  # 帮手自己读的实验
                continue
            i = names.index(tag)
            value = call.args[i] if i < len(call.args) else given.get(tag, defaults.get(tag))
            out.add(ast.unparse(value) if value is not None else f"<{tag}>")
        return frozenset(out)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr == "result"
                and value.args
            ):
                self.results[target.id] = ast.unparse(value.args[0])
            self.names[target.id] = self.tags(value)
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for t, v in zip(target.elts, value.elts, strict=False):
                self.assign(t, v)
        elif (
            isinstance(target, ast.Tuple)
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in self.functions
        ):
            parts = self.functions[value.func.id].parts or ()
            for t, tags in zip(target.elts, parts, strict=False):
                if isinstance(t, ast.Name):
                    self.names[t.id] = self._resolve(value, tags)


def _scope_of(fn: ast.FunctionDef, functions: dict[str, Helper]) -> _Scope:
    scope = _Scope(functions)
    for a in fn.args.posonlyargs + fn.args.args:
        scope.results[a.arg] = a.arg  # result(exp) with exp a parameter: the tag names it
    statements = sorted(
        (n for n in ast.walk(fn) if isinstance(n, ast.Assign | ast.AnnAssign)),
        key=lambda n: n.lineno,
    )
    for node in statements:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if node.value is not None:
                scope.assign(target, node.value)
    return scope


def _functions(tree: ast.AST) -> dict[str, Helper]:
    """Every function by name, with the experiments (or its own parameters) its return reads."""
    found: dict[str, Helper] = {}
    defs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    for _ in range(2):  # 一个帮手调用另一个帮手时，第二遍才认得出
        for fn in defs:
            scope = _scope_of(fn, found)
            values = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value]
            returned = frozenset().union(*(scope.tags(v) for v in values))
            parts = None
            if values and all(isinstance(v, ast.Tuple) for v in values):
                per_return = [[scope.tags(e) for e in v.elts] for v in values]
                if len({len(p) for p in per_return}) == 1:
                    parts = tuple(frozenset().union(*col) for col in zip(*per_return, strict=True))
            found[fn.name] = Helper(fn, returned, parts)
    return found


def same_experiment_quotients(source: str, path: str = "<text>") -> list[str]:
    """file:line of every `a / b` where a and b read medians of one experiment."""
    tree = ast.parse(source)
    functions = _functions(tree)
    found = []
    for helper in functions.values():
        scope = _scope_of(helper.fn, functions)
        for node in ast.walk(helper.fn):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                shared = scope.tags(node.left) & scope.tags(node.right)
                if shared:
                    found.append(
                        f"{path}:{node.lineno}: {ast.unparse(node)} "
                        f"(two medians of {', '.join(sorted(shared))})"
                    )
    return sorted(set(found))


# 扫描本身：认得出手算的比值，也放过不该拦的


def _scan(code: str) -> list[str]:
    return same_experiment_quotients(textwrap.dedent(code))


def test_scan_flags_medians_of_one_experiment_divided_however_they_are_reached():
    flagged = _scan(
        """
        from perflab import book
        EXP, OTHER = "ch9.x", "ch9.y"

        def _median(exp, key):
            return book.result(exp).metric(key).summary.median

        def _m(key, exp=EXP):
            return book.result(exp).metric(key).summary.median

        def direct():
            return _median(EXP, "a.x") / _median(EXP, "a.y")

        def through_names():
            a, b = _m("a.x"), _m("a.y")
            return f"{a / b:.0%}"

        def through_a_dict():
            gap = {m: _median(EXP, f"a.{m}") for m in "xyz"}
            return gap["x"] / max(gap["y"], 1e-9)

        def through_a_result():
            r = book.result(OTHER)
            n = r.metric("a.n").summary.median
            return n / r.metric("a.m").summary.median

        def _pair(exp):
            return _median(exp, "a.x"), "label", _median(exp, "a.y")

        def through_a_tuple():
            x, _, y = _pair(OTHER)
            return x / y
        """
    )
    assert [f.split(":")[1] for f in flagged] == ["12", "16", "20", "25", "32"], flagged
    assert "two medians of EXP" in flagged[0] and "two medians of OTHER" in flagged[-1]


def test_scan_leaves_other_quotients_alone():
    assert not _scan(
        """
        from perflab import book
        EXP, OTHER = "ch9.x", "ch9.y"

        def _median(exp, key):
            return book.result(exp).metric(key).summary.median

        def two_experiments():
            return _median(EXP, "a.x") / _median(OTHER, "a.y")

        def _pair():
            return _median(EXP, "a.x"), _median(OTHER, "a.y")

        def a_tuple_of_two_experiments():
            x, y = _pair()
            return x / y

        def by_a_constant_or_an_info_number():
            info = book.result(EXP).info["a"]
            return _median(EXP, "a.x") / 2 + _median(EXP, "a.y") / info["requests"]
        """
    )


def test_no_page_module_divides_two_medians_of_one_experiment():
    found = []
    for path in sorted(PAGES.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found += same_experiment_quotients(path.read_text(encoding="utf-8"), rel)
    assert not found, (
        "declare these quotients as [[experiment.ratio]] in the page's registry file and read "
        "the engine's metric (book.value / book.result(...).metric(key)):\n" + "\n".join(found)
    )
