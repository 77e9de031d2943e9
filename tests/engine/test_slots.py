"""HTML held back from a page while it is rendered, then put back."""

from __future__ import annotations

import pytest

from perflab import slots
from perflab.errors import PerflabError


@pytest.fixture(autouse=True)
def building(monkeypatch):
    monkeypatch.setattr(slots, "_held", None)
    slots.open_build()


def test_held_html_comes_back_in_place_even_when_it_holds_a_slot_itself():
    inner = slots.hold("<svg>图</svg>")
    outer = slots.hold(f"<table>表</table>{inner}")
    page = f"<p>前</p>{outer}<p>后</p>"
    assert "表" not in page and "图" not in page
    filled = slots.fill(page)
    assert (
        filled
        == "<p>前</p>"
        + slots.FILLED.format(html="<table>表</table>" + slots.FILLED.format(html="<svg>图</svg>"))
        + "<p>后</p>"
    )


def test_a_placeholder_with_nothing_held_is_an_error_naming_it():
    stray = slots.SLOT.format(key="0123456789abcdef")
    slots.open_build()  # 新的一次构建：上一次放进去的都不算
    with pytest.raises(PerflabError, match="0123456789abcdef"):
        slots.fill(stray)


def test_outside_a_build_html_is_returned_as_it_is(monkeypatch):
    monkeypatch.setattr(slots, "_held", None)
    assert slots.hold("<p>x</p>") == "<p>x</p>"
    assert slots.fill("<p>x</p>") == "<p>x</p>"
