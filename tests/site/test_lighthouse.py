"""Lighthouse's accessibility audits on the quick build: the home page, the heaviest chapter
page and a notebook page, each in the system Chromium with Lighthouse's mobile settings.

Only what does not depend on the machine is asserted here: every accessibility audit that
applies to the page passes. Performance (score, LCP, blocking time) is measured by
`make lighthouse` and reported, never asserted. The first-visit bytes of every page are
asserted in tests/site/test_browser.py, where each page is loaded anyway.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perflab.site import lighthouse


@pytest.fixture(scope="module")
def pages(built_site: Path) -> dict[str, str]:
    return lighthouse.checked_pages(built_site)


@pytest.mark.browser
@pytest.mark.parametrize("which", ["home", "heaviest chapter", "notebook"])
def test_accessibility_audits_pass(which: str, pages: dict[str, str], served_site: str) -> None:
    path = pages[which]
    report = lighthouse.run(f"{served_site}/{path}", ["accessibility"])
    failed = lighthouse.failed_audits(report, "accessibility")
    assert not failed, f"/{path} ({which}):\n" + "\n".join(failed)
    assert report["categories"]["accessibility"]["score"] == 1


def test_the_heaviest_chapter_page_is_found(tmp_path: Path) -> None:
    for name, size in (("ch1/a", 10), ("ch2/b", 5000), ("ch3", 300)):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "index.html").write_bytes(os.urandom(size))
    (tmp_path / "labs/demo").mkdir(parents=True)
    (tmp_path / "labs/demo/index.html").write_text("x", encoding="utf-8")
    (tmp_path / "index.html").write_text("x", encoding="utf-8")
    assert lighthouse.chapter_pages(tmp_path) == ["ch2/b/", "ch3/", "ch1/a/"]
    assert lighthouse.checked_pages(tmp_path) == {
        "home": "",
        "heaviest chapter": "ch2/b/",
        "notebook": "labs/demo/",
    }
