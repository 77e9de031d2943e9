"""Section 3.3: annotated and unannotated TypeScript emit the same JavaScript; the node, Python
and Go examples print the agreed shape with equal checksums across variants; mypyc output equals
CPython output; and the quick build keeps the relations the page relies on."""

from __future__ import annotations

import json
import subprocess

import pytest
from book_helpers import ROOT, measured, run_example

from perflab import native
from perflab.registry import Run

BENCH = ROOT / "examples/ch3/types_bench.ts"
TINY = ["--n", "1000", "--points", "20", "--passes", "5", "--rounds", "1", "--min-time", "0.001"]


def test_annotated_and_plain_typescript_emit_the_same_javascript():
    out = native.ts_output(BENCH, "test").parent
    annotated = (out / "types_annotated.js").read_bytes()
    assert annotated == (out / "types_plain.js").read_bytes()
    assert b"number" not in annotated and b"interface" not in annotated
    # 两份源码确实不同：一份有类型，一份没有
    src = (ROOT / "examples/ch3/types_annotated.ts").read_text()
    assert (
        ": number" in src and ": number" not in (ROOT / "examples/ch3/types_plain.ts").read_text()
    )


def node(*args: str) -> dict:
    cmd = native.command(Run(name="t", lang="node", path=BENCH, args={}), list(args), "test")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_node_variants_shape_and_checksums():
    a, p = node("--variant", "annotated", *TINY), node("--variant", "plain", *TINY)
    for out in (a, p):
        assert set(out["metrics"]) == {"add_s", "props_s"}
        assert all(v > 0 for m in out["metrics"].values() for v in m["values"])
    assert a["info"]["checksums"] == p["info"]["checksums"]
    assert a["info"]["checksums"]["add"] == sum(i % 7 for i in range(1000))
    assert a["info"]["emitted_sha256"] == p["info"]["emitted_sha256"]
    shapes = node("--variant", "shapes", "--shapes", "1,3", *TINY)
    assert set(shapes["metrics"]) == {"props_1_shapes_s", "props_3_shapes_s"}
    # 形状不同，数据相同：读出的和一样
    assert len(set(shapes["info"]["checksums"].values())) == 1


def test_node_calls_variant_shape_and_checksums():
    out = node("--variant", "calls", *TINY)
    kinds = ("int", "int_double", "int_string")
    assert set(out["metrics"]) == {f"add_{k}_s" for k in kinds}
    assert all(v > 0 for m in out["metrics"].values() for v in m["values"])
    # 每 10 个值里的第 1 个：小数 v + 0.5 + 1，或字符串 str(v) + "1" 的长度；其余都是 v + 1
    count, passes = 20, 5
    odd = {"int": lambda v: v + 1, "int_double": lambda v: v + 1.5, "int_string": lambda v: 2}
    for k in kinds:
        one_pass = sum(odd[k](i % 7) if i % 10 == 0 else i % 7 + 1 for i in range(count))
        assert out["info"]["checksums"][k] == pytest.approx(passes * one_pass)
    only = node("--variant", "calls", "--kinds", "int_string", *TINY)
    assert set(only["metrics"]) == {"add_int_string_s"}


def test_node_rejects_an_unknown_kind():
    cmd = native.command(
        Run(name="t", lang="node", path=BENCH, args={}),
        ["--variant", "calls", "--kinds", "int,x"],
        "t",
    )
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown kind x" in done.stderr


def test_node_rejects_an_unknown_variant():
    cmd = native.command(Run(name="t", lang="node", path=BENCH, args={}), ["--variant", "x"], "t")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown variant" in done.stderr


def test_python_example_mypyc_equals_cpython():
    out = run_example(
        "examples/ch3/types_python.py",
        *["--n", "2000", "--points", "50", "--passes", "3", "--rounds", "1", "--min-time", "0.001"],
        timeout=300,
    )
    info = out["info"]
    assert info["mypyc"]["built"], info["mypyc"]
    checks = info["checksums"]
    assert set(checks) == {"cpython_typed", "cpython_untyped", "mypyc_typed", "mypyc_untyped"}
    assert len({json.dumps(v) for v in checks.values()}) == 1
    assert all(info["same_bytecode"].values())
    names = {f"{v}_{k}_s" for v in checks for k in ("add", "props")}
    names |= {
        f"{r}_{k}"
        for r in ("untyped_vs_typed", "mypyc_speedup", "mypyc_untyped_speedup")
        for k in ("add", "props")
    }
    assert set(out["metrics"]) == names


@pytest.mark.parametrize("key", ["python.mypyc_speedup_add", "python.mypyc_speedup_props"])
def test_mypyc_with_annotations_beats_cpython(built_site, key):
    assert measured(built_site, "ch3.types.python")[key] > 1


def test_go_static_types_beat_any(built_site):
    m = measured(built_site, "ch3.types.go")
    assert m["go.any_vs_typed_add"] > 1 and m["go.map_vs_struct_props"] > 1


def test_megamorphic_property_access_is_slower(built_site):
    assert measured(built_site, "ch3.types.ts")["shapes.vs_mono_8"] > 1


def test_strings_at_the_add_call_site_are_slower(built_site):
    assert measured(built_site, "ch3.types.ts")["calls.vs_mono_int_string"] > 1
