"""What measuring one experiment will do, worked out once before anything runs.

A plan fixes the runs to measure and those skipped (an optional interpreter not on this
machine), their command lines (Go packages built), the CPUs, the provenance, and the cache
key of the sources as they are NOW. The result is stored under that key, so an example edited
while a long build measures it is measured again next time instead of being credited with
numbers from the code before the edit. (pyperf's worker command and asv's Environment follow
the same idea: decide the environment first, then measure inside it.)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from perflab import cache, env, gobuild, interpreters, maven, native, paths, toolchain
from perflab.errors import PerflabError
from perflab.registry import GO_BINARY, Experiment, Run
from perflab.runner import pick_cpus


@dataclass(frozen=True)
class Plan:
    experiment: Experiment
    profile: str
    key: str  # 缓存键：按开始测量之前的源码、输入与工具链算出
    runs: tuple[Run, ...] = ()  # 要测量的运行（注册表顺序）
    skipped: dict[str, str] = field(default_factory=dict)  # 运行名 → 跳过的原因
    commands: dict[str, list[str]] = field(default_factory=dict)
    cpus: list[int] | None = None
    environment: dict = field(default_factory=dict)  # 出处：机器、版本、解释器、工具

    def label(self, run: Run) -> str:
        """How errors name a run: "experiment ch1.gil (python)"."""
        return f"experiment {self.experiment.id} ({run.name})"


def expand_args(args: list[str], label: str) -> list[str]:
    """Replace {go:go-examples/pkg} with the path of that package's built binary,
    {c:examples/…/x.c} with the binary gcc builds from that source, and {mvn:examples/…/dir}
    with the jar Maven builds from that project.

    A Python example that drives a Go server (say) gets the binary without building it itself.
    """

    def binary(match: re.Match) -> str:
        return str(gobuild.build(paths.resolve(match.group(1)), label))

    return [maven.expand(native.expand_c(GO_BINARY.sub(binary, arg), label), label) for arg in args]


def command_for(run: Run, profile: str, label: str) -> list[str]:
    """The command line of one run; a missing interpreter is a one-line PerflabError."""
    args = expand_args(run.args_for(profile), label)
    if run.lang == "go":
        return [str(gobuild.build(run.path, label)), *args]
    if run.lang in ("c", "node"):
        return native.command(run, args, label)
    if run.interpreter is None:
        return [sys.executable, str(run.path), *args]
    found = interpreters.require(run.interpreter, label)
    # 其他解释器只运行标准库代码：-E -s 不读 PYTHON* 环境变量与用户 site-packages
    return [found.executable, "-E", "-s", str(run.path), *args]


def make(exp: Experiment, profile: str, key: str | None = None) -> Plan:
    """The full plan: every command ready to run; PerflabError if nothing can run."""
    used = interpreters.for_runs(exp.runs)
    skipped = {
        run.name: used[run.name]["why"]
        for run in exp.runs
        if run.optional and run.name in used and not used[run.name]["found"]
    }
    runs = tuple(run for run in exp.runs if run.name not in skipped)
    if not runs:
        raise PerflabError(f"experiment {exp.id}: every run was skipped (no interpreter found)")
    plan = Plan(exp, profile, key or cache.cache_key(exp, profile), runs, skipped)
    commands = {run.name: command_for(run, profile, plan.label(run)) for run in runs}
    cpus = pick_cpus(exp.cpus)
    environment = env.capture(profile, exp.libraries)
    tools = {t: toolchain.tool_version(t) for t in exp.tools}
    # C 与 TypeScript 的运行：gcc、node、typescript 的版本也进出处
    tools.update({k: v or "not found" for k, v in native.toolchains(exp.runs).items()})
    if tools:
        environment["tools"] = tools
    if used:
        environment["interpreters"] = used
    environment["cpus_used"] = len(cpus) if cpus else len(env.cpus_available())
    return Plan(exp, profile, plan.key, runs, skipped, commands, cpus, environment)
