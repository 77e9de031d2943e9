"""第四章 · 序列化：载荷生成器、各库往返、钩子对照、示例输出的形状与配对比值的算术，
以及 quick 档结果里必须成立的关系。"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from datetime import datetime

import msgspec
import orjson
import pytest
from book_helpers import run_example, run_example_process
from conftest import ROOT

from perflab import gobuild, measure, registry

EXAMPLE = ROOT / "examples/ch4/serialization.py"


def load_module():
    spec = importlib.util.spec_from_file_location("ch4_serialization", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic 按模块名解析注解里的 datetime 等类型
    spec.loader.exec_module(module)
    return module


ser = load_module()


def iso(obj):
    """期望的解码结果：datetime 变成 ISO 8601 字符串，其余不变。"""
    if isinstance(obj, dict):
        return {k: iso(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [iso(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def test_payload_is_deterministic_and_near_target():
    a = ser.make_payload(5_000, seed=7)
    b = ser.make_payload(5_000, seed=7)
    assert orjson.dumps(a) == orjson.dumps(b)
    size = len(orjson.dumps(a))
    assert 5_000 <= size < 5_000 + 2_000
    assert a["count"] == len(a["orders"])


def test_payload_has_the_realistic_types():
    payload = ser.make_payload(20_000)
    seen = set()

    def walk(v):
        seen.add(type(v))
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(payload)
    assert {dict, list, str, int, float, bool, type(None), datetime} <= seen
    assert any("\u4e00" <= ch <= "\u9fff" for ch in orjson.dumps(payload).decode())


@pytest.mark.parametrize("lib", ser.LIBS)
def test_every_library_round_trips_the_payload(lib):
    payload = ser.make_payload(3_000)
    encoded = ser.ENCODERS[lib](payload)
    assert isinstance(encoded, bytes)
    assert ser.DECODERS[lib](encoded) == iso(payload)
    assert json.loads(encoded) == iso(payload)


def test_pydantic_model_drops_internal_fields_and_keeps_the_rest():
    payload = ser.make_payload(3_000)
    out = json.loads(ser.pydantic_response(payload))
    expected = iso(payload)
    for order in expected["orders"]:
        del order["internal_score"], order["trace"]
    assert out == expected
    assert len(ser.pydantic_response(payload)) < len(ser.dict_response(payload))


def test_no_hook_payload_encodes_to_the_same_json_without_calling_the_hook(monkeypatch):
    payload = ser.make_payload(3_000)
    plain = orjson.loads(orjson.dumps(payload))  # 示例里的做法：datetime 已是 ISO 字符串
    assert ser.count_datetimes(plain) == 0 < ser.count_datetimes(payload)
    calls = []
    real = ser.iso_default

    def counting(obj):
        calls.append(obj)
        return real(obj)

    monkeypatch.setattr(ser, "iso_default", counting)
    assert json.dumps(payload, default=ser.iso_default)  # 带钩子：每个 datetime 调一次
    assert len(calls) == ser.count_datetimes(payload)
    for lib in ser.HOOKED:
        assert json.loads(ser.ENCODERS_NO_HOOK[lib](plain)) == iso(payload)
        assert json.loads(ser.ENCODERS_NO_HOOK[lib](plain)) == json.loads(
            ser.ENCODERS[lib](payload)
        )


def test_rounds_are_interleaved_and_calibrated():
    seen = []
    groups = {
        "g": {"a": lambda: seen.append("a"), "b": lambda: seen.append("b")},
        "h": {"c": lambda: seen.append("c")},
    }
    after = {"g": lambda r: {"extra": float(r + 1)}}
    samples = ser.run_rounds(groups, 3, 0.0005, after)
    assert {k: len(v) for k, v in samples.items()} == {"a": 3, "b": 3, "c": 3, "extra": 3}
    assert samples["extra"] == [1.0, 2.0, 3.0]  # 第 i 个值来自第 i 轮
    assert all(v > 0 for k in "abc" for v in samples[k])


ROUNDS = 3


@pytest.fixture(scope="module")
def small_output() -> dict:
    """示例在缩小的载荷上跑一遍，带 Go：六档都在，每档大小是上一档的约 4 倍。"""
    binary = gobuild.build(ROOT / "go-examples/ch4/serialization", "test ch4.serialization")
    return run_example(
        EXAMPLE,
        "--scale",
        "0.25",
        "--rounds",
        str(ROUNDS),
        "--min-time",
        "0.002",
        "--go-binary",
        str(binary),
        timeout=180,
    )


def median(metrics: dict, key: str) -> float:
    return statistics.median(metrics[key]["values"])


def test_example_output_shape(small_output):
    metrics, info = small_output["metrics"], small_output["info"]
    assert list(info["sizes"]) == list(ser.SIZES)
    for size in ser.SIZES:
        assert info["sizes"][size]["datetimes"] > 0
        for lib in ser.LIBS:
            for op in ("encode", "decode"):
                m = metrics[f"{lib}_{op}_{size}_s"]
                assert m["unit"] == "s" and len(m["values"]) == ROUNDS
                assert all(v > 0 for v in m["values"])
                if lib != "json":
                    assert metrics[f"json_vs_{lib}_{op}_{size}"]["unit"] == "×"
        for lib in ser.HOOKED:
            assert len(metrics[f"{lib}_encode_no_hook_{size}_s"]["values"]) == ROUNDS
            assert metrics[f"{lib}_hook_cost_{size}"]["unit"] == "×"
        assert metrics[f"json_vs_ujson_encode_no_hook_{size}"]["unit"] == "×"
    for level in ser.GZIP_LEVELS:
        assert metrics[f"gzip{level}_64k_B"]["unit"] == "B"
        assert 0 < metrics[f"gzip{level}_1m_saved_pct"]["values"][0] < 100
    assert (
        metrics["pydantic_response_64k_B"]["values"][0]
        < metrics["dict_response_64k_B"]["values"][0]
    )
    for kind in ("marshal_map", "marshal_struct", "unmarshal_map", "unmarshal_struct"):
        assert len(metrics[f"go_{kind}_64k_s"]["values"]) == ROUNDS
        assert "约 64 KB" in metrics[f"go_{kind}_64k_s"]["label"]


def test_every_ratio_is_the_quotient_of_the_same_rounds_timings(small_output):
    metrics = small_output["metrics"]
    pairs = {}
    for size in ser.SIZES:
        for op in ("encode", "decode"):
            for lib in ser.LIBS[1:]:
                pairs[f"json_vs_{lib}_{op}_{size}"] = (
                    f"json_{op}_{size}_s",
                    f"{lib}_{op}_{size}_s",
                )
        for lib in ser.HOOKED:
            pairs[f"{lib}_hook_cost_{size}"] = (
                f"{lib}_encode_{size}_s",
                f"{lib}_encode_no_hook_{size}_s",
            )
        pairs[f"json_vs_ujson_encode_no_hook_{size}"] = (
            f"json_encode_no_hook_{size}_s",
            f"ujson_encode_no_hook_{size}_s",
        )
    pairs["pydantic_vs_dict_64k"] = ("pydantic_response_64k_s", "dict_response_64k_s")
    pairs["json_vs_go_marshal_map_64k"] = ("json_encode_64k_s", "go_marshal_map_64k_s")
    pairs["json_vs_go_marshal_struct_64k"] = ("json_encode_64k_s", "go_marshal_struct_64k_s")
    pairs["orjson_vs_go_marshal_struct_64k"] = ("orjson_encode_64k_s", "go_marshal_struct_64k_s")
    pairs["json_vs_go_unmarshal_map_64k"] = ("json_decode_64k_s", "go_unmarshal_map_64k_s")
    pairs["json_vs_go_unmarshal_struct_64k"] = ("json_decode_64k_s", "go_unmarshal_struct_64k_s")
    ratio_keys = {k for k, m in metrics.items() if m["unit"] == "×"}
    assert ratio_keys == set(pairs)  # 每个比值都有它配对的两个计时
    for key, (num, den) in pairs.items():
        expected = [
            a / b for a, b in zip(metrics[num]["values"], metrics[den]["values"], strict=True)
        ]
        assert metrics[key]["values"] == pytest.approx(expected, rel=1e-12), key


def test_orjson_is_faster_than_json_at_every_size(small_output):
    metrics = small_output["metrics"]
    for size in ser.SIZES:
        assert median(metrics, f"orjson_encode_{size}_s") < median(metrics, f"json_encode_{size}_s")
        assert median(metrics, f"json_vs_orjson_encode_{size}") > 1


def test_encode_time_grows_with_the_payload(small_output):
    metrics, sizes = small_output["metrics"], list(ser.SIZES)
    for lib in ser.LIBS:
        # 相隔两档（载荷约 16 倍）的耗时必然更长；相邻档只差 4 倍，噪声下不做严格比较
        for small, large in zip(sizes[:-2], sizes[2:], strict=True):
            assert median(metrics, f"{lib}_encode_{small}_s") < median(
                metrics, f"{lib}_encode_{large}_s"
            ), (lib, small, large)
    byte_sizes = [metrics[f"payload_{s}_B"]["values"][0] for s in sizes]
    assert byte_sizes == sorted(byte_sizes) and len(set(byte_sizes)) == len(sizes)


def test_example_rejects_an_unknown_size():
    proc = run_example_process(EXAMPLE, "--sizes", "2k", timeout=60)
    assert proc.returncode != 0 and "2k" in proc.stderr


def test_quick_profile_relations():
    """引擎按注册表跑 quick 档（有缓存就读缓存）：同样六档，n 个独立进程，比值关系成立。"""
    exp = registry.get(registry.load(), "ch4.serialization")
    result = measure.obtain(exp, "quick")
    m = {key: metric.summary.median for key, metric in result.metrics.items()}
    n = {metric.summary.n for metric in result.metrics.values()}
    assert n == {exp.repeats_for("quick")}
    assert exp.repeats_for("full") >= 6  # 判定读的区间要有至少 95% 的覆盖率
    for size in ser.SIZES:
        assert m[f"python.orjson_encode_{size}_s"] < m[f"python.json_encode_{size}_s"]
        assert m[f"python.json_vs_orjson_encode_{size}"] > 1
    assert m["python.gzip9_1m_B"] <= m["python.gzip1_1m_B"]
    assert m["python.gzip9_64k_B"] <= m["python.gzip1_64k_B"]
    # Go 程序确实跑了，并且量到了同一份载荷
    assert m["python.go_marshal_struct_64k_s"] > 0
    assert m["python.go_unmarshal_map_64k_s"] > 0
    assert result.info["python"]["go"]["bytes"]["64k"] == m["python.payload_64k_B"]


def test_msgspec_and_orjson_write_the_same_datetime_text():
    when = ser.make_payload(500)["generated_at"]
    assert msgspec.json.encode(when) == orjson.dumps(when) == json.dumps(when.isoformat()).encode()
