"""InverseGamma checks the reference table cannot express: the large-α entropy (Stirling form),
the quantile near 1 where the gamma root underflows, and float32 draws with tiny α.
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch

import rsample as D

F32, F64 = torch.float32, torch.float64


@pytest.mark.parametrize("alpha", [1e-3, 9.99, 10.0, 1e4, 1e8, 1e14])
def test_entropy_against_mpmath(alpha):
    with mp.workdps(50):
        a = mp.mpf(alpha)
        want = float(a + mp.loggamma(a) - (1 + a) * mp.digamma(a) + mp.log(2))
    got = D.InverseGamma(torch.tensor(alpha, dtype=F64), torch.tensor(2.0, dtype=F64)).entropy()
    assert abs(got.item() - want) <= 1e-13 * max(1.0, abs(want)), (got.item(), want)


def test_icdf_where_the_gamma_root_underflows():
    """Q(α, G) = p near 1 with α = 0.02: G ≈ (P·Γ(1 + α))^{1/α} is far below 1e-308."""
    alpha, p = 0.02, 1 - 1e-7
    got = D.InverseGamma(torch.tensor(alpha, dtype=F64), torch.tensor(1e-300, dtype=F64)).icdf(
        torch.tensor(p, dtype=F64)
    )
    with mp.workdps(40):
        log_g = (mp.log(1 - mp.mpf(p)) + mp.loggamma(1 + alpha)) / alpha  # P(α, G) ≈ G^α/Γ(1+α)
        want = float(mp.mpf(1e-300) / mp.exp(log_g))
    assert abs(got.item() - want) <= 1e-9 * want, (got.item(), want)


def test_float32_tiny_alpha_draws_saturate_with_the_right_share():
    n, alpha = 20_000, 0.01
    dist = D.InverseGamma(torch.tensor(alpha, dtype=F32), torch.tensor(1.0, dtype=F32))
    x = dist.sample((n,), generator=torch.Generator().manual_seed(6))
    big = torch.finfo(F32).max
    assert x.isfinite().all() and dist.log_prob(x).isfinite().all()
    with mp.workdps(30):  # P(X ≥ max) = P(G ≤ 1/max)
        p = float(mp.gammainc(alpha, 0, 1 / mp.mpf(float(big)), regularized=True))
    share = int((x == big).sum())
    assert abs(share - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1, (share, n * p)
