"""The book's own registry, read without measuring: what every experiment and claim must state."""

from __future__ import annotations

import pytest

from perflab import claims, registry
from perflab.stats import CONFIDENCE, median_interval

EXPERIMENTS = registry.load()
CLAIMS = claims.load()


@pytest.mark.parametrize("exp", EXPERIMENTS.values(), ids=lambda e: e.id)
def test_every_experiment_says_how_it_warms_up(exp):
    assert exp.warmup_how.strip(), f"{exp.id}: warmup_how is empty"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_verdict_reads_enough_independent_runs_in_the_full_profile(claim):
    # 与构建时的覆盖率检查同一条规则，但不用等到 full 档测完才发现
    n = EXPERIMENTS[claim.experiment].repeats_for("full")
    assert median_interval(n)[2] >= CONFIDENCE, f"{claim.id}: full repeats {n} < 6"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_every_claim_states_its_conditions_and_why_its_band_is_that_wide(claim):
    assert claim.condition.strip() and claim.rule.why.strip()
    assert claim.page == EXPERIMENTS[claim.experiment].page
