"""StudentT checks the reference table cannot express: the ``df`` gradient at ``df = 0.5``
(whose ``sin`` quadrature over the ``x^{-1.5}`` tail is too slow for the generic suite), float32
draws for tiny and huge ``df``, the log-space far tail of the CDF, and the large-``df`` entropy.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch

import rsample as D
from examples import examples_for
from rsample.testing import assert_pathwise_gradient, quadrature_expectation

F32, F64 = torch.float32, torch.float64


def test_df_gradient_at_half():
    example = examples_for(D.StudentT)[0]
    params = {"df": 0.5, "loc": 0.3, "scale": 1.5}

    def expectation(**p):
        return quadrature_expectation(np.tanh, example.reference(**p))

    assert_pathwise_gradient(D.StudentT, params, torch.tanh, expectation, n=100_000, seed=3)


def _t_sf(df: float, t: float) -> float:
    """P(T > t), t > 0, at 40 digits."""
    with mp.workdps(40):
        nu = mp.mpf(df)
        return float(mp.betainc(nu / 2, 0.5, 0, nu / (nu + mp.mpf(t) ** 2), regularized=True) / 2)


@pytest.mark.parametrize("df", [1e-2, 0.05])
def test_float32_tiny_df_draws_keep_their_tails(df):
    """40 % of T(0.01) lies beyond float32's range: those draws saturate at ±max (finite), and
    the share beyond each threshold matches the true tail (binomial, 5 SD)."""
    n = 20_000
    x = D.StudentT(torch.tensor(df, dtype=F32)).sample(
        (n,), generator=torch.Generator().manual_seed(0)
    )
    assert x.isfinite().all()
    lp = D.StudentT(torch.tensor(df, dtype=F32)).log_prob(x)
    assert lp.isfinite().all()
    big = float(torch.finfo(F32).max)
    for threshold in (1e3, 1e20, big * 0.999):
        p = 2 * _t_sf(df, threshold)
        k = int((x.abs() >= threshold).sum())
        assert abs(k - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1, (threshold, k, n * p)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_huge_df_draws_are_standard_normal(dtype):
    for df in (1e6, 1e8):
        x = D.StudentT(torch.tensor(df, dtype=dtype)).sample(
            (100_000,), generator=torch.Generator().manual_seed(1)
        )
        assert x.isfinite().all()
        var = float(x.double().var())
        assert abs(var - 1) < 5 * math.sqrt(2 / 1e5), var


def test_float32_cdf_in_the_overflowing_tail():
    """At ``x = −3e38`` the standardized ``t/√ν`` overflows float32; the tail is ≈ 0.0053."""
    dist = D.StudentT(torch.tensor(0.05, dtype=F32))
    x = -3e38
    got = dist.cdf(torch.tensor(x, dtype=F32)).item()
    want = _t_sf(0.05, 3e38)
    assert abs(got - want) <= 1e-5 * want, (got, want)
    assert dist.icdf(torch.tensor(1e-6, dtype=F32)).item() == -float(torch.finfo(F32).max)


@pytest.mark.parametrize("df", [1e-30, 0.01, 25.0, 1e5, 1e8, 1e12])
def test_entropy_against_mpmath(df):
    with mp.workdps(50):
        nu = mp.mpf(df)
        want = float(
            mp.log(mp.sqrt(nu) * mp.beta(nu / 2, mp.mpf(0.5)))
            + (nu + 1) / 2 * (mp.digamma((nu + 1) / 2) - mp.digamma(nu / 2))
        )
    got = D.StudentT(torch.tensor(df, dtype=F64)).entropy().item()
    assert abs(got - want) <= 1e-13 * max(1.0, abs(want)), (got, want)
