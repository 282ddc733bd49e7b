"""BetaPrime and FisherSnedecor checks the reference table cannot express: both CDF tails with
relative accuracy (against mpmath), quantile round trips and gradients, float32 arguments whose
``d₁x`` overflows, and float32 draws with tiny shapes (the saturated share matches the tail).
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch

import rsample as D

F32, F64 = torch.float32, torch.float64


def _mp_cdf(a: float, b: float, x: float) -> float:
    """I_{x/(1+x)}(a, b) at 40 digits, as 1 − I_{1/(1+x)}(b, a) above x = 1 (where x/(1+x)
    would round to 1 at 40 digits)."""
    with mp.workdps(40):
        xm = mp.mpf(x)
        if xm <= 1:
            return float(mp.betainc(a, b, 0, xm / (1 + xm), regularized=True))
        return float(1 - mp.betainc(b, a, 0, 1 / (1 + xm), regularized=True))


@pytest.mark.parametrize(
    "a,b,x",
    [
        (0.5, 2.0, 1e-200),  # lower tail, I ≈ x^a
        (0.01, 3.0, 1e-300),
        (300.0, 0.5, 1e3),  # the mass is far out: the cdf at x = 1e3 is tiny (upper branch)
        (3.0, 4.0, 0.5),
        (2.0, 0.02, 1e250),  # upper tail, 1 − I ≈ x^{-b}
    ],
)
def test_cdf_tails_relative(a, b, x):
    got = D.BetaPrime(torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64)).cdf(
        torch.tensor(x, dtype=F64)
    )
    want = _mp_cdf(a, b, x)
    assert abs(got.item() - want) <= 1e-12 * want, (got.item(), want)


def test_fisher_snedecor_float32_overflowing_argument():
    """``d₁x`` overflows float32 at x = 1e37, d₁ = 300; the survival there is x^{-b}-sized."""
    df1, df2, x = 300.0, 0.05, 1e37
    got = D.FisherSnedecor(torch.tensor(df1), torch.tensor(df2)).cdf(torch.tensor(x))
    want = _mp_cdf(df1 / 2, df2 / 2, df1 * x / df2)
    assert abs(got.item() - want) <= 1e-5 * want, (got.item(), want)


@pytest.mark.parametrize("a,b", [(0.3, 2.0), (2.5, 0.01), (1e3, 1e3), (0.02, 0.03)])
def test_icdf_round_trip(a, b):
    dist = D.BetaPrime(torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64))
    p = torch.tensor([1e-250, 1e-12, 1e-3, 0.5, 0.9, 1 - 1e-9], dtype=F64)
    x = dist.icdf(p)
    inner = (x > 1e-300) & (x < 1e300)
    assert inner.any()
    back = dist.cdf(x[inner])
    torch.testing.assert_close(back, p[inner], rtol=1e-9, atol=0)


def test_icdf_gradients():
    """Autograd of the quantile (implicit function theorem) against central differences."""
    d1 = torch.tensor([0.7, 40.0], dtype=F64, requires_grad=True)
    d2 = torch.tensor([2.5, 35.0], dtype=F64, requires_grad=True)
    p = torch.tensor([0.1, 0.97], dtype=F64, requires_grad=True)
    x = D.FisherSnedecor(d1, d2).icdf(p)
    grads = torch.autograd.grad(x.sum(), (d1, d2, p))
    for i, g in enumerate(grads):
        args = [d1.detach(), d2.detach(), p.detach()]
        h = 1e-6 * args[i]
        up = [a + h if j == i else a for j, a in enumerate(args)]
        down = [a - h if j == i else a for j, a in enumerate(args)]
        numeric = D.FisherSnedecor(*up[:2]).icdf(up[2]) - D.FisherSnedecor(*down[:2]).icdf(down[2])
        torch.testing.assert_close(g, numeric / (2 * h), rtol=1e-6, atol=0)


@pytest.mark.parametrize("a,b", [(0.01, 0.01), (1e-3, 2.0)])
def test_float32_tiny_shapes_saturate_with_the_right_share(a, b):
    """Draws beyond float32's range are clamped to [tiny, max]; their shares are the tails."""
    n = 20_000
    dist = D.BetaPrime(torch.tensor(a, dtype=F32), torch.tensor(b, dtype=F32))
    x = dist.sample((n,), generator=torch.Generator().manual_seed(4))
    info = torch.finfo(F32)
    assert x.isfinite().all() and (x >= info.tiny).all()
    assert dist.log_prob(x).isfinite().all()
    for share, p in (
        (int((x == info.max).sum()), 1 - _mp_cdf(a, b, float(info.max))),
        (int((x == info.tiny).sum()), _mp_cdf(a, b, float(info.tiny))),
    ):
        assert abs(share - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1, (share, n * p)
