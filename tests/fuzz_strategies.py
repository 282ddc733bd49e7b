"""Hypothesis settings and parameter strategies shared by the discrete and relaxed fuzz tests
(``tests/distributions/discrete/test_fuzz_*.py``). Importable by plain name, like
``discrete_checks``: ``tests/`` is on ``sys.path`` once ``tests/conftest.py`` is loaded."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (derandomized, no example database), so a failure is reproducible and CI is
# not flaky.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    """``10^e`` for ``e`` in [lo, hi], with both ends drawn often."""
    return st.one_of(
        st.sampled_from([10.0**lo, 10.0**hi]), st.floats(lo, hi).map(lambda e: 10.0**e)
    )


def probability(closed_high: bool = True) -> st.SearchStrategy[float]:
    """Probabilities in [0, 1] (or [0, 1)): exact ends, values within 1e-300 of them, bulk."""
    near_zero = log_uniform(-300, -1)
    near_one = log_uniform(-16, -1).map(lambda e: 1.0 - e)
    ends = [0.0, 1.0] if closed_high else [0.0]
    return st.one_of(st.sampled_from(ends), near_zero, near_one, st.floats(0.0, 1.0))


def logit() -> st.SearchStrategy[float]:
    """Logits up to ±1e4 (the documented range), 0 and both ends drawn often."""
    return st.one_of(
        st.sampled_from([0.0, 1e4, -1e4]),
        st.floats(-40.0, 40.0),
        st.tuples(st.sampled_from([-1.0, 1.0]), log_uniform(-30, 4)).map(lambda t: t[0] * t[1]),
    )
