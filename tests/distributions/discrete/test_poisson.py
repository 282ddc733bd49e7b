"""rsample.Poisson against 40-digit mpmath references, scipy, torch and the shared checks.

The entropy reference is the pmf summed in mpmath (walked out from the mode) up to λ = 1e5, and
beyond that the asymptotic series ½log(2πeλ) − 1/(12λ) − 1/(24λ²) − 19/(360λ³) (Evans & Boersma
1988), which is checked against the direct sum at λ = 1e5 first.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import discrete_checks as dc
from rsample import Poisson
from rsample.distributions.discrete import poisson as poisson_module
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32
RATES = [0.0, 1e-8, 1e-3, 0.5, 1.0, 3.7, 10.0, 150.0, 1e3, 1.6e3, 4e4, 1e5, 1e8]


def _mp_log_pmf(k, lam):
    k, lam = mp.mpf(k), mp.mpf(lam)
    if lam == 0:
        return mp.mpf(0) if k == 0 else -mp.inf
    return k * mp.log(lam) - lam - mp.loggamma(k + 1)


def _mp_entropy(lam: float):
    if lam == 0:
        return mp.mpf(0)
    lam_m = mp.mpf(lam)
    if lam > 1e5:
        return _asymptotic(lam_m)
    mode = math.floor(lam)
    return dc.mp_lattice_sum(
        lambda k: _mp_log_pmf(k, lam), lambda k: lam_m / (k + 1), mode, 0, None
    )


def _asymptotic(lam):
    with mp.workdps(dc.MP_DPS):
        return (
            mp.log(2 * mp.pi * mp.e * lam) / 2
            - 1 / (12 * lam)
            - 1 / (24 * lam**2)
            - mp.mpf(19) / (360 * lam**3)
        )


def _values(lam: float) -> list[float]:
    """0, the mode, and points in both tails."""
    sd = math.sqrt(lam)
    pts = {0.0, 1.0, math.floor(lam), math.floor(lam + 6 * sd + 3), math.floor(lam + 40 * sd + 50)}
    if lam > 100:
        pts |= {math.floor(lam - 6 * sd), math.floor(lam - 30 * sd) if lam > 1e4 else 1.0}
    return sorted(pts)


def test_asymptotic_reference_agrees_with_the_direct_sum():
    with mp.workdps(dc.MP_DPS):
        assert abs(_asymptotic(mp.mpf(1e5)) / _mp_entropy(1e5) - 1) < 1e-17


@pytest.mark.parametrize("lam", RATES)
def test_matches_mpmath_and_scipy_float64(lam):
    d = Poisson(torch.tensor(lam, dtype=F64))
    k = np.array(_values(lam))
    with mp.workdps(dc.MP_DPS):
        ref_lp = [dc.finite_float(_mp_log_pmf(x, lam)) for x in k]
        ref_h = float(_mp_entropy(lam))
    assert_close(d.log_prob(dc.t64(k)), ref_lp, rtol=1e-10, label="log_prob")
    with mp.workdps(dc.MP_DPS):
        ref_cdf = [
            float(mp.gammainc(x + 1, lam, mp.inf, regularized=True)) if lam else 1.0 for x in k
        ]
    # (scipy's poisson.cdf is off by 3e-10 at λ = 1e8, k = λ + 6√λ)
    assert_close(d.cdf(dc.t64(k)), ref_cdf, rtol=1e-10, label="cdf")
    assert_close(d.cdf(dc.t64(k)), stats.poisson(lam).cdf(k), rtol=1e-9, label="scipy cdf")
    assert_close(d.entropy(), ref_h, rtol=1e-10, label="entropy")
    assert_close(d.mean, lam, rtol=0)
    assert_close(d.variance, lam, rtol=0)
    assert d.mode.item() == math.floor(lam)


def test_plain_and_saddle_point_log_pmf_agree():
    """The CPU shortcut (lgamma form below 1e4) and Loader's form, on the same points."""
    lam = torch.tensor([1e-8, 0.5, 7.0, 900.0, 9000.0], dtype=F64).unsqueeze(-1)
    k = torch.tensor([0.0, 1.0, 5.0, 880.0, 9100.0, 9999.0], dtype=F64)
    plain = torch.xlogy(k, lam) - lam - torch.lgamma(k + 1)
    assert_close(poisson_module.poisson_log_pmf(k, lam), plain, rtol=1e-11)


def test_float32_is_finite_where_representable():
    lam = torch.tensor([1e-8, 0.5, 30.0, 1e4, 1e8], dtype=F32)
    k = torch.tensor([[0.0], [1.0], [30.0], [1e4], [1e8], [3e4]], dtype=F32)
    d32, d64 = Poisson(lam), Poisson(lam.double())
    dc.assert_finite_where(d32.log_prob(k), d64.log_prob(k.double()), "log_prob")
    dc.assert_finite_where(d32.entropy(), d64.entropy(), "entropy")
    assert_close(d32.entropy(), d64.entropy(), rtol=1e-5, atol=1e-12, label="entropy")
    assert_close(d32.cdf(k), d64.cdf(k.double()), rtol=1e-4, atol=1e-30, label="cdf")


def test_agrees_with_torch_where_torch_is_accurate():
    lam = torch.tensor([0.0, 0.3, 2.5, 40.0, 800.0], dtype=F64)
    k = torch.tensor([[0.0], [1.0], [3.0], [41.0], [790.0]], dtype=F64)
    ours, theirs = Poisson(lam), td.Poisson(lam)
    assert_close(ours.log_prob(k), theirs.log_prob(k), rtol=1e-12)
    for name in ("mean", "mode", "variance"):
        assert_close(getattr(ours, name), getattr(theirs, name), rtol=0, label=name)


def test_samples_chi_square():
    lam = torch.tensor([1e-3, 0.8, 6.0, 250.0, 1e6], dtype=F64)
    draws = Poisson(lam).sample((20000,), generator=dc.gen(0)).numpy()
    for j, rate in enumerate(lam.tolist()):
        lo = max(0, int(rate - 8 * math.sqrt(rate)))
        support = np.arange(lo, int(rate + 8 * math.sqrt(rate) + 10))
        x = draws[:, j]
        assert (x >= lo).all()
        dc.assert_chi_square(x, lambda k, r=rate: stats.poisson(r).pmf(k), support)
    assert (Poisson(torch.zeros(3)).sample((10,)) == 0).all()


def test_shapes_generator_expand_pickle():
    rate = torch.tensor([[0.5, 20.0, 3000.0]], dtype=F64, requires_grad=True)
    d = Poisson(rate)
    x = dc.assert_shapes(d)
    dc.assert_generator_determinism(d)
    dc.assert_expand(d, (2,))
    dc.assert_round_trips(Poisson(rate.detach()), x)
    assert not d.has_rsample and not d.has_enumerate_support
    (g,) = torch.autograd.grad(d.log_prob(x).sum(), rate)  # score: k/λ − 1
    assert_close(g, (x / rate.detach() - 1).sum(0).sum(0), rtol=1e-10)


def test_entropy_gradient_matches_finite_differences():
    lam = torch.tensor([0.3, 12.0, 5e3], dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(Poisson(lam).entropy().sum(), lam)
    h = 1e-6 * lam.detach()
    fd = (Poisson(lam.detach() + h).entropy() - Poisson(lam.detach() - h).entropy()) / (2 * h)
    assert_close(g, fd, rtol=1e-6)


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"Poisson: argument 'rate'.*nonnegative.*-1"):
        Poisson(torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"Poisson: argument 'rate'.*finite.*inf"):
        Poisson(torch.tensor([math.inf]))
    d = Poisson(torch.tensor([2.0, 3.0]))
    for bad in ([0.5, 1.0], [-1.0, 0.0]):
        with pytest.raises(ValueError, match=r"Poisson: argument 'value'.*Integer.*"):
            d.log_prob(torch.tensor(bad))


def test_torch_compile_fullgraph():
    def step(r, k):
        d = Poisson(r)
        return d.log_prob(k), d.entropy(), d.cdf(k), d.sample((4,))

    dc.assert_compiles(step, torch.tensor([0.5, 30.0]), torch.tensor([1.0, 25.0]))
