"""docs/methodology.md：测量方法一页里引用的实测数字（压测端的校准来自第四章压测一节的实验）。"""

from __future__ import annotations

from pages.ch4 import loadtest


def calibration() -> str:
    """CPU split and the headroom of both load generators (wrk, vegeta) in this build."""
    return loadtest.calibration_summary()
