"""Helpers for tests that check no process outlives the engine."""

from __future__ import annotations

import os
import time


def process_gone(pid: int, wait_s: float = 5.0) -> bool:
    """True once pid no longer runs (a zombie counts as gone), waiting up to wait_s."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[-1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
