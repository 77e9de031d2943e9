"""第四章 · 序列化：载荷生成器、各库往返、示例输出的形状，以及 quick 构建结果里必须成立的关系。"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime

import msgspec
import orjson
import pytest
from book_helpers import measured, run_example
from conftest import ROOT

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


def test_example_output_shape_with_tiny_sizes():
    out = run_example(
        EXAMPLE,
        "--scale",
        "0.02",
        "--repeats",
        "2",
        "--min-time",
        "0.001",
        "--gzip-sizes",
        "medium",
        timeout=120,
    )
    metrics = out["metrics"]
    for size in ("small", "medium", "large"):
        for lib in ser.LIBS:
            for op in ("encode", "decode"):
                m = metrics[f"{lib}_{op}_{size}_s"]
                assert (
                    m["unit"] == "s" and len(m["values"]) == 2 and all(v > 0 for v in m["values"])
                )
                if lib != "json":
                    assert metrics[f"{lib}_{op}_{size}_vs_json"]["unit"] == "×"
    for level in ser.GZIP_LEVELS:
        assert metrics[f"gzip{level}_medium_B"]["unit"] == "B"
        assert 0 < metrics[f"gzip{level}_medium_saved_pct"]["values"][0] < 100
    assert (
        metrics["pydantic_response_medium_B"]["values"][0]
        < metrics["dict_response_medium_B"]["values"][0]
    )
    assert not any(key.startswith("go_") for key in metrics)  # 没给 --go-binary 就不跑 Go


def test_quick_build_relations(built_site):
    m = measured(built_site, "ch4.serialization")
    assert m["python.orjson_encode_medium_s"] < m["python.json_encode_medium_s"]
    assert m["python.gzip9_medium_B"] <= m["python.gzip1_medium_B"]
    assert m["python.gzip9_large_B"] <= m["python.gzip1_large_B"]
    # Go 程序确实跑了，并且量到了同一份载荷
    assert m["python.go_marshal_struct_medium_s"] > 0
    assert m["python.go_unmarshal_map_medium_s"] > 0


def test_msgspec_and_orjson_write_the_same_datetime_text():
    when = ser.make_payload(500)["generated_at"]
    assert msgspec.json.encode(when) == orjson.dumps(when) == json.dumps(when.isoformat()).encode()
