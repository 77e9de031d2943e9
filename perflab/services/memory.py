"""Memory of a service's processes, read from the OS (psutil over /proc/PID/smaps).

rss  resident pages, shared ones included: summing it over forked workers counts shared
     pages once per worker
uss  pages only this process maps (what stopping it would free)
pss  shared pages split evenly among the processes that map them: sums to the real total
"""

from __future__ import annotations

from perflab.errors import PerflabError
from perflab.services.service import Service


def _psutil():
    try:
        import psutil
    except ImportError:
        raise PerflabError(
            "missing Python package: psutil (pip install -r requirements.txt)"
        ) from None
    return psutil


def process_memory(pid: int) -> dict[str, int]:
    """rss, uss and pss of one process, in bytes."""
    psutil = _psutil()
    try:
        info = psutil.Process(pid).memory_full_info()
    except psutil.Error as exc:
        raise PerflabError(f"cannot read the memory of process {pid}: {exc}") from None
    return {"rss": info.rss, "uss": info.uss, "pss": info.pss}


def children(svc: Service) -> list[int]:
    """Pids of the service's direct children (a gunicorn master's workers), oldest first."""
    psutil = _psutil()
    try:
        kids = psutil.Process(svc.pid).children()
    except psutil.Error as exc:
        raise svc.fail(f"cannot list its processes: {exc}") from None
    return [p.pid for p in sorted(kids, key=lambda p: p.create_time())]


def workers_memory(svc: Service, expected: int) -> dict:
    """The master's and each worker's memory; an error naming the service when the number of
    workers is not `expected` (one died, or was being replaced while we read)."""
    pids = children(svc)
    if len(pids) != expected:
        raise svc.fail(f"has {len(pids)} worker processes, expected {expected}")
    return {
        "master": process_memory(svc.pid),
        "workers": [process_memory(pid) for pid in pids],
    }
