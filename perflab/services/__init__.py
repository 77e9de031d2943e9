"""Services under test and their load generators, on loopback only.

    start()          one context manager for any service: folder, port or socket, pinned
                     process group, real readiness check, TERM → grace → KILL, folder removed
    Expect, verify   what a right answer is, checked before any load is timed
    wrk()            closed loop (throughput); vegeta() open loop at a fixed arrival rate
    LoadResult       good responses only, timeouts inside the latencies, error-share rule
    prom             Prometheus and Alertmanager (Debian binaries) started the same way, their
                     HTTP APIs, promtool / amtool checks, a webhook receiver for notifications

Chapters 2.4, 2.5, 4.x and 5 add experiments on top of this, not plumbing.
"""

from perflab.services import prom
from perflab.services.check import Answer, Expect, get, http_ready, verify
from perflab.services.closed_loop import require_wrk, wrk, wrk_version
from perflab.services.open_loop import go_module_version, require_vegeta, vegeta, vegeta_version
from perflab.services.outcome import ERROR_SHARE_LIMIT, LoadResult
from perflab.services.service import (
    LOOPBACK,
    Service,
    free_port,
    port_clash,
    port_in_use,
    split_cpus,
    start,
    stop_group,
)

__all__ = [
    "ERROR_SHARE_LIMIT",
    "LOOPBACK",
    "Answer",
    "Expect",
    "LoadResult",
    "Service",
    "free_port",
    "get",
    "go_module_version",
    "http_ready",
    "port_clash",
    "port_in_use",
    "prom",
    "require_vegeta",
    "require_wrk",
    "split_cpus",
    "start",
    "stop_group",
    "vegeta",
    "vegeta_version",
    "verify",
    "wrk",
    "wrk_version",
]
