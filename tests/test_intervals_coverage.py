"""The intervals cover the truth at their nominal 95%: a seeded simulation from known rates and means.

Seeded, so it gives the same answer every run; the tolerance is wide enough for
the simulation's own noise (about ±0.01 with these draws) and for the known
small-sample behaviour of each interval, and narrow enough to catch an interval
that is far too narrow or far too wide.
"""

from __future__ import annotations

import numpy as np
import pytest

from editing.impact.statistics import bootstrap_mean, wilson_interval


@pytest.mark.parametrize(("rate", "n"), [(0.5, 12), (0.3, 40), (0.9, 60), (0.05, 200)])
def test_wilson_intervals_cover_the_true_rate_about_95_percent(rate: float, n: int) -> None:
    rng = np.random.default_rng(11)
    draws = rng.binomial(n, rate, size=4_000)
    covered = np.mean([(e := wilson_interval(int(k), n)).ci_low <= rate <= e.ci_high for k in draws])
    assert 0.92 <= covered <= 0.99, covered


def test_bootstrap_intervals_cover_the_true_mean_about_95_percent() -> None:
    rng = np.random.default_rng(12)
    covered = []
    for replicate in range(400):
        sample = rng.normal(loc=0.3, scale=1.0, size=40)
        estimate = bootstrap_mean(sample, seed=replicate, n_resamples=2_000)
        covered.append(estimate.ci_low <= 0.3 <= estimate.ci_high)
    assert 0.90 <= np.mean(covered) <= 0.98, np.mean(covered)
