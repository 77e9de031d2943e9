"""Files the engine writes are never half-written: a failure keeps the old content."""

from __future__ import annotations

import json

import pytest

from perflab import files


def test_write_json_replaces_the_file_whole(tmp_path):
    target = tmp_path / "deep" / "results.json"
    files.write_json(target, {"实测": 1})
    assert json.loads(target.read_text(encoding="utf-8")) == {"实测": 1}
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), files.replacing(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("写到一半失败")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]
