"""ContinuousBernoulli beyond the generic suite: continuity across λ = ½ (where torch switches to
a Taylor expansion) in float32 and float64, parity with torch on a grid, the series/closed-form
switch at |η| = 1 (float32: 2), the parameterizations and the end points ``probs ∈ {0, 1}``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.distributions as td

import examples  # noqa: F401  (examples_misc is imported through the reference table)
import rsample
from examples_misc import ContinuousBernoulliRef

F32, F64 = torch.float32, torch.float64
CB = rsample.ContinuousBernoulli
QS = [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6]
XS = [0.0, 1e-9, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-9, 1.0]


def _methods(dist, x, q):
    return {
        "log_prob": dist.log_prob(x),
        "cdf": dist.cdf(x),
        "icdf": dist.icdf(q),
        "mean": dist.mean,
        "variance": dist.variance,
        "entropy": dist.entropy(),
    }


def _reference(ref, x, q):
    return {
        "log_prob": ref.logpdf(x),
        "cdf": ref.cdf(x),
        "icdf": ref.ppf(q),
        "mean": ref.mean(),
        "variance": ref.var(),
        "entropy": ref.entropy(),
    }


def _assert_matches(dist, ref, dtype, rtol):
    x = torch.tensor(XS, dtype=dtype)
    q = torch.tensor(QS, dtype=dtype)
    got = _methods(dist, x, q)
    # The reference sees the values as the dtype holds them.
    want = _reference(ref, x.double().numpy(), q.double().numpy())
    for name, value in got.items():
        assert value.dtype == dtype
        expected = np.asarray(want[name], dtype=float)
        # Entropy → 0 at λ = ½, log_prob crosses 0, icdf/cdf near 0: an absolute floor of rtol.
        np.testing.assert_allclose(
            value.double().numpy(), expected, rtol=rtol, atol=rtol * 1e-3, err_msg=name
        )


# Probabilities through ½ (torch's lims window is 0.499 … 0.501) and logits through 0 and ±2
# (this module's series / closed-form switch).
PROBS_AROUND_HALF = [0.499, 0.4999, 0.49999, 0.4999999, 0.5 - 1e-12, 0.5, 0.5 + 1e-12]
PROBS_AROUND_HALF += [0.5000001, 0.50001, 0.5001, 0.501]
LOGITS_AT_SWITCH = [-2.0001, -2.0, -1.9999, -1.0001, -1.0, -0.9999, 0.9999, 1.0, 1.0001]
LOGITS_AT_SWITCH += [1.9999, 2.0, 2.0001, -1e-30, 1e-30]


@pytest.mark.parametrize("probs", PROBS_AROUND_HALF)
def test_accurate_through_one_half_float64(probs):
    _assert_matches(CB(torch.tensor(probs, dtype=F64)), ContinuousBernoulliRef(probs), F64, 1e-13)


@pytest.mark.parametrize("logits", LOGITS_AT_SWITCH)
def test_accurate_at_the_series_switch_float64(logits):
    dist = CB(logits=torch.tensor(logits, dtype=F64))
    _assert_matches(dist, ContinuousBernoulliRef(logits=logits), F64, 1e-13)


@pytest.mark.parametrize("probs", [*PROBS_AROUND_HALF, 1e-6, 0.2, 0.9, 1 - 1e-6])
def test_accurate_through_one_half_float32(probs):
    lam = float(np.float32(probs))
    _assert_matches(CB(torch.tensor(lam, dtype=F32)), ContinuousBernoulliRef(lam), F32, 2e-6)


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_continuous_and_monotone_across_one_half(dtype):
    """A sweep of λ through ½ (and through torch's ``lims`` window) against the mpmath
    reference at every point: no jump anywhere, and the mean increases with λ."""
    probs = torch.linspace(0.495, 0.505, 201, dtype=F64).to(dtype)
    dist = CB(probs)
    x = torch.tensor(0.8, dtype=dtype)
    got = {
        "mean": dist.mean,
        "variance": dist.variance,
        "entropy": dist.entropy(),
        "log_prob": dist.log_prob(x),
        "cdf": dist.cdf(x),
    }
    refs = [ContinuousBernoulliRef(float(p)) for p in probs.double()]
    want = {
        "mean": [r.mean() for r in refs],
        "variance": [r.var() for r in refs],
        "entropy": [r.entropy() for r in refs],
        "log_prob": [r.logpdf(0.8 if dtype == F64 else float(np.float32(0.8))) for r in refs],
        "cdf": [r.cdf(0.8 if dtype == F64 else float(np.float32(0.8))) for r in refs],
    }
    rtol = 2e-15 if dtype == F64 else 2e-7
    for name, value in got.items():
        expected = np.asarray(want[name], dtype=float)
        scale = np.abs(expected).max()  # entropy and log_prob pass through 0 at λ = ½
        err = np.abs(value.double().numpy() - expected)
        assert (err <= 4 * rtol * (np.abs(expected) + 1e-3 * scale)).all(), name
    assert (dist.mean[1:] >= dist.mean[:-1]).all()


def test_torch_lims_window_is_less_accurate_than_ours():
    """Inside torch's window 0.499 < λ < 0.501 torch uses a 2-term Taylor expansion."""
    probs = torch.tensor([0.4995, 0.5007], dtype=F64)
    ref = [ContinuousBernoulliRef(float(p)) for p in probs]
    ours, theirs = CB(probs), td.ContinuousBernoulli(probs)
    x = torch.tensor(0.9, dtype=F64)
    want = torch.tensor([float(r.cdf(0.9)) for r in ref], dtype=F64)
    err_ours = ((ours.cdf(x) - want) / want).abs().max()
    err_theirs = ((theirs.cdf(x) - want) / want).abs().max()
    assert err_ours < 1e-15 < 1e-9 < err_theirs


TORCH_GRID = [0.02, 0.2, 0.35, 0.45, 0.55, 0.7, 0.9, 0.98]


def test_parity_with_torch_on_a_grid():
    probs = torch.tensor(TORCH_GRID, dtype=F64)
    ours, theirs = CB(probs), td.ContinuousBernoulli(probs)
    x = torch.tensor([[0.0], [0.1], [0.5], [0.77], [1.0]], dtype=F64)
    q = torch.tensor([[0.001], [0.3], [0.5], [0.95]], dtype=F64)
    pairs = {
        "log_prob": (ours.log_prob(x), theirs.log_prob(x)),
        "cdf": (ours.cdf(x), theirs.cdf(x)),
        "icdf": (ours.icdf(q), theirs.icdf(q)),
        "mean": (ours.mean, theirs.mean),
        "variance": (ours.variance, theirs.variance),
        "entropy": (ours.entropy(), theirs.entropy()),
        "logits": (ours.logits, theirs.logits),
    }
    for name, (a, b) in pairs.items():
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)
    with_logits = CB(logits=theirs.logits)
    torch.testing.assert_close(with_logits.probs, theirs.probs, rtol=1e-14, atol=0)
    torch.testing.assert_close(with_logits.mean, theirs.mean, rtol=1e-10, atol=0)
    assert ours.support is td.constraints.unit_interval and ours.has_rsample
    assert CB.arg_constraints == td.ContinuousBernoulli.arg_constraints


def test_signature_and_parameterizations():
    with pytest.raises(ValueError, match="either `probs` or `logits`"):
        CB()
    with pytest.raises(ValueError, match="either `probs` or `logits`"):
        CB(0.3, 0.1)
    dist = CB(torch.tensor([0.3, 0.6]), lims=(0.45, 0.55))
    assert dist._lims == (0.45, 0.55) and dist.param_shape == (2,)
    assert "logits" not in dist.__dict__
    torch.testing.assert_close(dist.logits, torch.logit(torch.tensor([0.3, 0.6])))
    big = dist.expand((3, 2))
    assert big.batch_shape == (3, 2) and big._lims == dist._lims
    assert big.probs.data_ptr() == dist.probs.data_ptr()
    from_logits = CB(logits=torch.tensor([-1.0, 2.0]))
    torch.testing.assert_close(from_logits.probs, torch.sigmoid(torch.tensor([-1.0, 2.0])))
    with pytest.raises(ValueError, match="ContinuousBernoulli: argument 'probs'"):
        CB(torch.tensor([0.2, 1.5]))
    with pytest.raises(ValueError, match="ContinuousBernoulli: argument 'logits'"):
        CB(logits=torch.tensor([0.2, math.nan]))


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_end_points_of_probs_are_finite(dtype):
    """probs = 0 and 1 are valid (as in torch): they become the nearest finite logits."""
    probs = torch.tensor([0.0, 1.0], dtype=dtype, requires_grad=True)
    dist = CB(probs)
    x = dist.rsample((50,), generator=torch.Generator().manual_seed(0))
    assert ((x >= 0) & (x <= 1)).all()
    assert (x[:, 0] < 0.1).all() and (x[:, 1] > 0.9).all()  # η = ∓log(1/tiny) or so
    values = [dist.log_prob(x), dist.entropy(), dist.mean, dist.variance, dist.cdf(x)]
    assert all(v.isfinite().all() for v in values)
    (g,) = torch.autograd.grad(x.sum() + dist.log_prob(x).sum(), probs)
    assert not g.isnan().any()


def test_rsample_gradient_at_one_half():
    """At η = 0: x = u + η u(1 − u)/2 + O(η²), so dx/dλ = 4 · u(1 − u)/2 (dη/dλ = 4)."""
    probs = torch.full((1000,), 0.5, dtype=F64, requires_grad=True)
    x = CB(probs).rsample(generator=torch.Generator().manual_seed(3))
    (g,) = torch.autograd.grad(x.sum(), probs)
    u = x.detach()  # at λ = ½ the draw is the uniform itself
    torch.testing.assert_close(g, 2 * u * (1 - u), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("probs", [1e-6, 0.3, 0.5 + 1e-7, 0.97])
def test_rsample_gradient_matches_finite_differences_of_the_quantile(probs):
    """Explicit reparameterization: dx/dλ at fixed noise equals ∂F⁻¹(u; λ)/∂λ."""
    lam = torch.full((200,), probs, dtype=F64, requires_grad=True)
    gen = torch.Generator().manual_seed(7)
    x = CB(lam).rsample(generator=gen)
    (g,) = torch.autograd.grad(x.sum(), lam)
    u = torch.empty(200, dtype=F64).uniform_(generator=torch.Generator().manual_seed(7))
    h = 1e-6 * min(probs, 1 - probs)
    up = CB(torch.tensor(probs + h, dtype=F64)).icdf(u)
    down = CB(torch.tensor(probs - h, dtype=F64)).icdf(u)
    torch.testing.assert_close(g, (up - down) / (2 * h), rtol=1e-6, atol=1e-9)
