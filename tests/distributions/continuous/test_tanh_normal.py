"""TanhNormal at and near its bounds, in every floating dtype, against mpmath.

The conventions under test (module docstring of ``rsample.distributions.continuous.tanh_normal``
and ``rsample.special.tanh``):

* ``log_prob`` of a stored action (a fresh tensor: no pre-image) moves only values whose unit
  coordinate ``t = (y − m)/h`` is exactly ±1 to the nearest representable value inside,
  ``±(1 − eps/2)`` of the value's dtype (:func:`rsample.special.clamp_open_unit`); the honest
  reference at a bound is therefore the density at that point. Everything strictly inside is
  scored undistorted (no fixed epsilon). float16/bfloat16 values are scored in float32.
* ``rsample_and_log_prob`` (and ``log_prob`` of the distribution's own latest, unmodified draw)
  scores from the pre-tanh value ``u``, exact where ``tanh u`` has rounded to ±1.
* ``mode`` maximizes the density of ``Y``; ``deterministic_sample`` is ``m + h·tanh(loc)``;
  ``mean``/``variance``/``entropy`` come from deterministic, differentiable quadrature.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

import rsample as D
from rsample.special import clamp_open_unit

mpmath.mp.dps = 50

F64, F32, F16, BF16 = torch.float64, torch.float32, torch.float16, torch.bfloat16
HALF_TYPES = (F16, BF16)
LOC, SCALE = 0.3, 1.5
# (value dtype, parameter dtype): float64 and float32 policies, half-precision replay buffers
# scored by a float32 policy, and all-half policies.
DTYPE_PAIRS = [(F64, F64), (F32, F32), (F16, F32), (BF16, F32), (F16, F16), (BF16, BF16)]


def _ids(pairs):
    return [f"{str(v).split('.')[-1]}-{str(p).split('.')[-1]}" for v, p in pairs]


def _below(x: float, dtype, steps: int = 1) -> float:
    """The ``steps``-th representable ``dtype`` number below ``x``."""
    t = torch.tensor(x, dtype=dtype)
    for _ in range(steps):
        t = torch.nextafter(t, torch.tensor(-math.inf, dtype=dtype))
    return float(t)


def _above(x: float, dtype, steps: int = 1) -> float:
    t = torch.tensor(x, dtype=dtype)
    for _ in range(steps):
        t = torch.nextafter(t, torch.tensor(math.inf, dtype=dtype))
    return float(t)


def _held(x: float, dtype) -> float:
    """``x`` as a tensor of ``dtype`` holds it."""
    return float(torch.tensor(x, dtype=dtype))


def _reference(y: float, loc: float, scale: float, low: float, high: float, dtype) -> tuple:
    """(log density, size of the terms) at the value ``y`` held exactly, its unit coordinate
    clamped to ``±(1 − eps/2)`` of ``dtype`` (the documented convention at the bounds)."""
    mid = (mpmath.mpf(high) + mpmath.mpf(low)) / 2
    half = (mpmath.mpf(high) - mpmath.mpf(low)) / 2
    edge = 1 - mpmath.mpf(torch.finfo(dtype).eps) / 2
    t = min(max((mpmath.mpf(y) - mid) / half, -edge), edge)
    z = (mpmath.atanh(t) - loc) / scale
    terms = [z * z / 2, mpmath.log(1 - t * t), mpmath.log(scale), mpmath.log(half)]
    log_p = -terms[0] - mpmath.log(2 * mpmath.pi) / 2 - terms[1] - terms[2] - terms[3]
    return float(log_p), float(1 + sum(abs(v) for v in terms))


def _tolerance(value_dtype, param_dtype, ref: float, size: float) -> float:
    """Rounding of the result to its dtype, a few ulps per term of the precision the terms are
    computed in (half-type values are lifted to float32), and the rounding of ``log σ``, which is
    computed in the parameters' dtype."""
    out = torch.promote_types(value_dtype, param_dtype)
    compute = torch.promote_types(F32 if value_dtype in HALF_TYPES else value_dtype, param_dtype)
    return (
        torch.finfo(out).eps * abs(ref)
        + 8 * torch.finfo(compute).eps * size
        + 2 * torch.finfo(param_dtype).eps * (1 + abs(math.log(SCALE)))
    )


def _dist(loc, scale, dtype, low=-1.0, high=1.0, **kw):
    return D.TanhNormal(
        torch.tensor(loc, dtype=dtype), torch.tensor(scale, dtype=dtype), low=low, high=high, **kw
    )


# ----------------------------------------------------------------- the clamp convention
@pytest.mark.parametrize("dtype", [F64, F32, F16, BF16], ids=str)
def test_clamp_moves_only_the_bounds_to_the_nearest_interior_value(dtype):
    edge = _below(1.0, dtype)
    assert edge == 1 - torch.finfo(dtype).eps / 2  # the largest float below 1, every format
    at = torch.tensor([-2.0, -1.0, 1.0, 2.0], dtype=dtype)
    assert clamp_open_unit(at).tolist() == [-edge, -edge, edge, edge]
    inside = torch.tensor(
        [edge, _below(edge, dtype), 0.5, 1e-30, 0.0, -1e-30, -0.5, -_below(edge, dtype), -edge],
        dtype=dtype,
    )
    assert torch.equal(clamp_open_unit(inside), inside)


# ----------------------------------------------------------------- log_prob at the bounds
@pytest.mark.parametrize("value_dtype,param_dtype", DTYPE_PAIRS, ids=_ids(DTYPE_PAIRS))
def test_log_prob_at_and_next_to_unit_bounds(value_dtype, param_dtype):
    """±1, the nearest values inside and a few more ulps in: finite and accurate to the dtype;
    ±1 scores exactly like the nearest interior value (the clamp)."""
    dist = _dist(LOC, SCALE, param_dtype)
    loc, scale = _held(LOC, param_dtype), _held(SCALE, param_dtype)
    ys = [1.0, _below(1.0, value_dtype), _below(1.0, value_dtype, 2), _below(1.0, value_dtype, 7)]
    ys = ys + [-y for y in ys]
    value = torch.tensor(ys, dtype=value_dtype)
    lp = dist.log_prob(value)
    assert lp.dtype == torch.promote_types(value_dtype, param_dtype)
    assert torch.isfinite(lp).all()
    for y, got in zip(ys, lp.tolist()):
        ref, size = _reference(y, loc, scale, -1.0, 1.0, value_dtype)
        tol = _tolerance(value_dtype, param_dtype, ref, size)
        assert abs(got - ref) <= tol, f"{value_dtype} y={y!r}: {got} vs {ref} (tol {tol:.2e})"
    assert lp[0] == lp[1] and lp[4] == lp[5]  # ±1 is scored at ±(1 − eps/2)


@pytest.mark.parametrize("value_dtype,param_dtype", DTYPE_PAIRS, ids=_ids(DTYPE_PAIRS))
@pytest.mark.parametrize("bounds", [(-2.0, 3.0), (0.1, 0.7)], ids=str)
def test_log_prob_at_general_bounds_is_finite(bounds, value_dtype, param_dtype):
    low, high = bounds
    for tensor_bounds in (False, True):
        if tensor_bounds:
            low_t, high_t = (torch.tensor(b, dtype=param_dtype) for b in bounds)
            dist = _dist(LOC, SCALE, param_dtype, low=low_t, high=high_t)
            low, high = float(low_t), float(high_t)
        else:
            dist = _dist(LOC, SCALE, param_dtype, low=low, high=high)
        held_low, held_high = _held(low, value_dtype), _held(high, value_dtype)
        ys = [max(held_low, _above(low, value_dtype)), min(held_high, _below(high, value_dtype))]
        ys += [y for y in (held_low, held_high) if low <= y <= high]
        lp = dist.log_prob(torch.tensor(ys, dtype=value_dtype))
        assert torch.isfinite(lp).all(), f"{bounds} {value_dtype}: {lp} at {ys}"


def test_log_prob_next_to_general_bounds_is_accurate():
    """Non-default bounds, at and one to three ulps from each bound, every dtype pair."""
    failures = []
    for value_dtype, param_dtype in DTYPE_PAIRS:
        loc, scale = _held(LOC, param_dtype), _held(SCALE, param_dtype)
        for low, high in [(-2.0, 3.0), (0.1, 0.7)]:
            dist = _dist(LOC, SCALE, param_dtype, low=low, high=high)
            ys = [_above(low, value_dtype, k) for k in (1, 2, 3)]
            ys += [_below(high, value_dtype, k) for k in (1, 2, 3)]
            ys = [y for y in ys if low < y < high]
            lp = dist.log_prob(torch.tensor(ys, dtype=value_dtype)).tolist()
            # Python bounds are exact: the density at y depends on y − 0.1, not y − 0.1f.
            for y, got in zip(ys, lp):
                ref, size = _reference(y, loc, scale, low, high, value_dtype)
                if abs(got - ref) > _tolerance(value_dtype, param_dtype, ref, size):
                    failures.append(f"{value_dtype}/{param_dtype} [{low}, {high}] {y!r}")
    assert not failures, failures


def test_log_prob_interior_has_no_epsilon_distortion():
    """float64, |y| ≤ 1 − 1e-9: agreement with the exact formula to 1e-12."""
    dist = _dist(LOC, SCALE, F64)
    near = [1 - 10.0**-k for k in range(1, 10)]
    ys = [0.0, 1e-300, 0.1, 0.5, 0.9, *near] + [-y for y in near] + [-0.5, -0.1]
    lp = dist.log_prob(torch.tensor(ys, dtype=F64))
    for y, got in zip(ys, lp.tolist()):
        ref, _ = _reference(y, LOC, SCALE, -1.0, 1.0, F64)
        assert abs(got - ref) <= 1e-12 * max(1.0, abs(ref)), f"y={y!r}: {got} vs {ref}"


# ----------------------------------------------------------------- scoring from u vs from y
@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-2.0, 3.0)], ids=str)
def test_replay_buffer_log_prob_matches_rsample_and_log_prob(dtype, bounds):
    """A stored action (fresh tensor, new distribution object) scores like its draw did, to
    within the dtype's accuracy given the conditioning of ``u = atanh(y)`` (tanh not
    saturated)."""
    low, high = bounds
    locs = torch.tensor([0.0, 0.3, -1.0, 2.0, -2.5], dtype=dtype)
    scales = torch.tensor([1.0, 0.5, 1.5, 0.3, 2.0], dtype=dtype)
    policy = D.TanhNormal(locs, scales, low=low, high=high)
    y, lp_draw = policy.rsample_and_log_prob((400,), generator=torch.Generator().manual_seed(7))
    stored = y.detach().clone()
    lp_replay = D.TanhNormal(locs, scales, low=low, high=high).log_prob(stored)
    assert torch.isfinite(lp_replay).all()
    assert torch.equal(policy.log_prob(stored), lp_replay)  # a copy is not the latest draw
    eps = torch.finfo(dtype).eps
    mid, half = (high + low) / 2, (high - low) / 2
    t = ((stored.double() - mid) / half).clamp(-1 + eps, 1 - eps)
    u = torch.atanh(t)
    # δt from rounding tanh(u) and the affine map; d log p / dt = (2t − (u − μ)/σ²)/(1 − t²).
    delta_t = 2 * eps * (t.abs() + abs(mid) / half)
    slope = (2 * t - (u - locs.double()) / scales.double() ** 2).abs() / (1 - t.square())
    tol = delta_t * slope + 16 * eps * (1 + lp_draw.double().abs() + u.square())
    saturated_limit = 5.0 if dtype == F32 else 12.0
    keep = u.abs() < saturated_limit
    assert keep.float().mean() > 0.8
    err = (lp_replay.double() - lp_draw.double()).abs()
    bad = keep & (err > tol)
    assert not bad.any(), f"{err[bad]} > {tol[bad]} at y = {stored[bad]}"


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
def test_rsample_and_log_prob_scores_from_the_pre_tanh_value(dtype):
    """loc = 30: every draw rounds to y = 1 (even in float64), yet the log-density is the exact
    one of u."""
    loc, scale = 30.0, 1.0
    dist = _dist(loc, scale, dtype)
    y, lp = dist.rsample_and_log_prob((64,), generator=torch.Generator().manual_seed(3))
    assert (y == 1).all() and torch.isfinite(lp).all()
    eps = torch.randn(64, dtype=dtype, generator=torch.Generator().manual_seed(3))
    u = torch.addcmul(torch.tensor(loc, dtype=dtype), eps, torch.tensor(scale, dtype=dtype))
    for e, u_i, got in zip(eps.tolist(), u.tolist(), lp.tolist()):
        e, u_i = mpmath.mpf(e), mpmath.mpf(u_i)
        # log N(u) − log(1 − tanh²u) = log N(u) + 2 log cosh u
        ref = float(-e * e / 2 - mpmath.log(2 * mpmath.pi) / 2 + 2 * mpmath.log(mpmath.cosh(u_i)))
        assert abs(got - ref) <= 8 * torch.finfo(dtype).eps * (abs(ref) + 1), (got, ref)
    # The same draw scored from the saturated action alone can only use the clamp convention:
    # finite, but the density at t = 1 − eps/2, far below the density of the actual u.
    stored = dist.log_prob(y.clone())
    assert torch.isfinite(stored).all() and (stored < lp).all()


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
def test_log_prob_of_own_latest_draw_uses_its_pre_image(dtype):
    dist = _dist(30.0, 1.0, dtype)  # every draw is y = 1
    _, lp_ref = dist.rsample_and_log_prob((8,), generator=torch.Generator().manual_seed(5))
    y = dist.rsample((8,), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(dist.log_prob(y), lp_ref)  # eps recomputed as (u − μ)/σ
    modified = y.detach()
    modified.mul_(1.0)  # an in-place change: no longer the unmodified draw
    clamp = dist.log_prob(torch.ones(8, dtype=dtype))
    assert torch.equal(dist.log_prob(modified), clamp)
    y2 = dist.rsample((8,))
    dist.rsample((8,))  # a newer draw replaces the pre-image
    assert torch.equal(dist.log_prob(y2), clamp)


# ----------------------------------------------------------------- gradients at the bounds
@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-2.0, 3.0), (0.1, 0.7)], ids=str)
def test_log_prob_gradients_at_the_bounds_are_finite(dtype, bounds):
    low, high = bounds
    ys = [low, _above(low, dtype), _below(high, dtype), high]
    ys = torch.tensor([y for y in ys if low <= y <= high], dtype=dtype)
    n = ys.numel()
    loc = torch.full((n,), LOC, dtype=dtype, requires_grad=True)
    scale = torch.full((n,), SCALE, dtype=dtype, requires_grad=True)
    low_t = torch.full((n,), low, dtype=dtype, requires_grad=True)
    high_t = torch.full((n,), high, dtype=dtype, requires_grad=True)
    for tensor_bounds in (False, True):
        b = (low_t, high_t) if tensor_bounds else (low, high)
        lp = D.TanhNormal(loc, scale, low=b[0], high=b[1]).log_prob(ys)
        leaves = [loc, scale, *(b if tensor_bounds else ())]
        grads = torch.autograd.grad(lp.sum(), leaves)
        assert all(torch.isfinite(g).all() for g in grads), (bounds, tensor_bounds, grads)
        # d/dμ = z/σ and d/dσ = (z² − 1)/σ at the scored point (clamped at the bounds): for
        # general bounds 1 ± t come from the exact differences y − low and high − y, with the
        # bounds as given (Python floats exact; tensors as the dtype holds them).
        if bounds == (-1.0, 1.0):
            u = torch.atanh(clamp_open_unit(ys).double())
        else:
            lo, hi = (float(b[0][0]), float(b[1][0])) if tensor_bounds else (low, high)
            gap, half, y64 = torch.finfo(dtype).eps / 2, (hi - lo) / 2, ys.double()
            one_plus = ((y64 - lo) / half).clamp(gap, 2 - gap)
            one_minus = ((hi - y64) / half).clamp(gap, 2 - gap)
            u = 0.5 * (one_plus.log() - one_minus.log())
        z = (u - LOC) / SCALE
        rtol = 1e-9 if dtype == F64 else 1e-4
        torch.testing.assert_close(grads[0].double(), z / SCALE, rtol=rtol, atol=rtol)
        torch.testing.assert_close(grads[1].double(), (z * z - 1) / SCALE, rtol=rtol, atol=rtol)


# ----------------------------------------------------------------- summaries
def test_deterministic_sample_is_squashed_loc():
    loc = torch.tensor([-3.0, -0.2, 0.0, 0.7, 25.0], dtype=F64)
    scale = torch.full_like(loc, 2.0)
    assert torch.equal(D.TanhNormal(loc, scale).deterministic_sample, torch.tanh(loc))
    d = D.TanhNormal(loc, scale, low=-2.0, high=3.0)
    torch.testing.assert_close(d.deterministic_sample, 0.5 + 2.5 * torch.tanh(loc))


@pytest.mark.parametrize(
    "loc,scale",
    [(0.0, 0.5), (0.3, 0.5), (2.0, 0.1), (-1.0, 1.5), (0.3, 2.0), (0.0, 3.0), (-4.0, 0.8)],
)
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-2.0, 3.0)], ids=str)
def test_mode_maximizes_the_density(loc, scale, bounds):
    """``mode`` beats every point of a fine grid (the density can be bimodal for σ > 1/√2, and
    it is not ``tanh(loc)``)."""
    low, high = bounds
    dist = _dist(loc, scale, F64, low=low, high=high)
    mode = dist.mode
    assert low < mode < high
    grid = (high + low) / 2 + (high - low) / 2 * torch.tanh(
        torch.linspace(-12, 12, 200_001, dtype=F64)
    )
    best = dist.log_prob(grid).max()
    assert dist.log_prob(mode) >= best - 1e-9, (float(mode), float(best))
    if scale > 1.0:  # far from Gaussian: the modal action differs from the squashed mean of U
        assert abs(float(mode - dist.deterministic_sample)) > 1e-3


def test_mode_of_symmetric_unimodal_case_is_the_centre():
    # 2σ² ≤ 1: t = tanh(2σ²t) has the single root 0.
    assert abs(float(_dist(0.0, 0.5, F64).mode)) < 1e-12
    assert abs(float(_dist(0.0, 0.5, F64, low=-2.0, high=3.0).mode) - 0.5) < 1e-12


def test_summaries_are_deterministic_symmetric_and_differentiable():
    loc = torch.tensor([0.4, -1.3], dtype=F64, requires_grad=True)
    scale = torch.tensor([0.7, 2.5], dtype=F64, requires_grad=True)
    dist = D.TanhNormal(loc, scale)
    assert torch.equal(dist.mean, dist.mean) and torch.equal(dist.entropy(), dist.entropy())
    mirrored = D.TanhNormal(-loc, scale)
    torch.testing.assert_close(mirrored.mean, -dist.mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mirrored.entropy(), dist.entropy(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mirrored.variance, dist.variance, rtol=1e-12, atol=1e-12)
    # Tiny scale: the distribution is a point mass at tanh(loc).
    point = _dist(0.8, 1e-6, F64)
    torch.testing.assert_close(point.mean, torch.tanh(torch.tensor(0.8, dtype=F64)))
    for fn in (
        lambda m, s: D.TanhNormal(m, s).mean,
        lambda m, s: D.TanhNormal(m, s).variance,
        lambda m, s: D.TanhNormal(m, s).entropy(),
    ):
        assert torch.autograd.gradcheck(fn, (loc, scale))
