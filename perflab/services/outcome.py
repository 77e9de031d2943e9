"""What one load run found, in the same shape for both generators, and the failure rule.

Only verified good responses (2xx, answered within the client timeout) count as throughput.
A timed-out request is a latency of the timeout (a lower bound), never absent, and is flagged.
Past ERROR_SHARE_LIMIT the run fails with a message naming the server; below it the error
share is reported beside the figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perflab.errors import PerflabError

# 失败率上限 5%：引文里最差的一行是 0.3%；失败过了 5%，吞吐就已经不是一个正常工作的服务的吞吐，
# 而是“它怎么坏”的描述。低于上限时失败率照样报出，放在吞吐旁边。
ERROR_SHARE_LIMIT = 0.05


@dataclass(frozen=True)
class LoadResult:
    """One bounded load run against one service (wrk closed loop or vegeta open loop)."""

    generator: str  # "wrk" 或 "vegeta"
    target: str  # 服务名
    duration_s: float
    good: int  # 2xx 且在超时之内
    failed: int  # 非 2xx、超时、套接字错误
    timeouts: int
    timeout_s: float
    statuses: dict[str, int]
    latency_s: dict[str, float]  # mean p50 p90 p99 p999 max（开环另有 p95）：超时按超时值计入
    socket_errors: dict[str, int] = field(default_factory=dict)
    in_flight_max: int = 0  # 结束时还在路上、没被计入的请求的上限（wrk：每个连接至多一个）
    offered_rate: float = 0.0  # 开环：目标到达速率（每秒请求数）
    sent_rate: float = 0.0  # 开环：实际发出的速率
    latency_samples: int = 0  # wrk：延迟直方图里的样本数（应与响应数相当，见 summary）

    @property
    def attempts(self) -> int:
        return self.good + self.failed

    @property
    def good_rps(self) -> float:
        return self.good / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_share(self) -> float:
        return self.failed / self.attempts if self.attempts else 1.0

    @property
    def timed_out(self) -> bool:
        """Flag: some requests hit the client timeout, so the tail is a lower bound."""
        return self.timeouts > 0

    def summary(self) -> dict:
        """A JSON-friendly record for an example's info."""
        return {
            "generator": self.generator,
            "good": self.good,
            "failed": self.failed,
            "timeouts": self.timeouts,
            "timeout_s": self.timeout_s,
            "error_share": round(self.error_share, 6),
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
            "in_flight_max": self.in_flight_max,
            "offered_rate": self.offered_rate,
            "sent_rate": round(self.sent_rate, 1),
            "tail_is_lower_bound": self.timed_out,
            "latency_samples": self.latency_samples,
        }

    def check(self, limit: float = ERROR_SHARE_LIMIT) -> LoadResult:
        """Fail past the error-share limit, naming the server; return self otherwise."""
        if self.attempts == 0:
            raise PerflabError(
                f"{self.generator} against {self.target}: no request completed "
                f"in {self.duration_s:g} s"
            )
        if self.error_share > limit:
            what = ", ".join(f"{k}: {v}" for k, v in self.failures().items() if v)
            raise PerflabError(
                f"{self.generator} against {self.target}: {self.error_share:.1%} of "
                f"{self.attempts} requests failed (limit {limit:.0%}; {what})"
            )
        return self

    def failures(self) -> dict[str, int]:
        bad = {f"status {code}": n for code, n in self.statuses.items() if not code.startswith("2")}
        return {**bad, "timeouts": self.timeouts, **self.socket_errors}
