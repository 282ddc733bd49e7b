"""Property fuzzing of the discrete families over extreme parameters (hypothesis, fixed seeds).

For random parameters from the whole valid range (probabilities of exactly 0 and 1 and within
1e-300 of them, logits up to ±1e4, rates from 0 to 1e30, counts from 0 to 1e15, masked
categories), in float32 and float64:

* draws lie in the support and their ``log_prob`` is finite and at most 0 (a drawn value has
  positive probability), with gradients in the parameters that are not NaN;
* ``cdf`` lies in [0, 1], does not decrease, and is 1 at the largest draw's upper neighbours
  only when it should be (it is checked to be monotone on the sorted draws);
* ``entropy`` is finite and non-negative; ``mean``, ``variance`` and ``mode`` are not NaN
  (Categorical's undefined mean and variance excepted: NaN by torch's convention), and the mode
  lies in the support.

The accuracy of each method is checked elsewhere against mpmath; this file looks for NaN,
infinities and out-of-support values at the edges of the parameter space.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fz
import rsample

F32, F64 = torch.float32, torch.float64
DRAWS = 48


def _binary(draw, dtype, closed_high=True):
    """``{"probs": p}`` or ``{"logits": l}``, as the dtype holds it (p < 1 kept below 1)."""
    if draw(st.booleans()):
        p = torch.tensor(draw(fz.probability(closed_high)), dtype=F64).to(dtype)
        if not closed_high and p >= 1:
            p = torch.nextafter(torch.tensor(1.0, dtype=dtype), torch.tensor(0.0, dtype=dtype))
        return {"probs": p}
    return {"logits": torch.tensor(draw(fz.logit()), dtype=dtype)}


def _count(draw, integer: bool) -> float:
    n = draw(st.one_of(st.sampled_from([0.0, 1.0, 1e7, 1e15]), fz.log_uniform(-3, 15)))
    return float(round(n)) if integer else n


def _categories(draw, dtype):
    k = draw(st.integers(1, 6))
    if draw(st.booleans()):
        probs = [
            draw(st.one_of(st.sampled_from([0.0, 1.0]), fz.log_uniform(-300, 0))) for _ in range(k)
        ]
        probs[draw(st.integers(0, k - 1))] = draw(fz.log_uniform(-30, 0))  # a positive sum
        return {"probs": torch.tensor(probs, dtype=F64).to(dtype).clamp_min(0)}
    logits = [draw(st.one_of(fz.logit(), st.just(-math.inf))) for _ in range(k)]
    logits[draw(st.integers(0, k - 1))] = draw(fz.logit())  # not every category masked
    return {"logits": torch.tensor(logits, dtype=dtype)}


def _params(name: str, draw, dtype) -> dict:
    if name in ("Bernoulli",):
        return _binary(draw, dtype)
    if name == "Geometric":
        params = _binary(draw, dtype)
        if "probs" in params:
            params["probs"] = params["probs"].clamp_min(torch.finfo(dtype).tiny)  # p > 0
        return params
    if name == "Binomial":
        return {
            "total_count": torch.tensor(_count(draw, True), dtype=dtype),
            **_binary(draw, dtype),
        }
    if name == "NegativeBinomial":
        return {
            "total_count": torch.tensor(_count(draw, False), dtype=dtype),
            **_binary(draw, dtype, closed_high=False),
        }
    if name == "Poisson":
        rate = draw(st.one_of(st.sampled_from([0.0, 1e9, 1e30]), fz.log_uniform(-30, 30)))
        return {"rate": torch.tensor(rate, dtype=F64).to(dtype)}
    if name in ("Categorical", "OneHotCategorical"):
        return _categories(draw, dtype)
    if name == "Multinomial":
        return {"total_count": int(_count(draw, True)) % 100_001, **_categories(draw, dtype)}
    raise AssertionError(name)


FAMILIES = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "Geometric",
    "Multinomial",
    "NegativeBinomial",
    "OneHotCategorical",
    "Poisson",
]
HAS_CDF = {"Bernoulli", "Binomial", "Categorical", "Geometric", "NegativeBinomial", "Poisson"}


def _batched(params: dict) -> dict:
    """Each tensor parameter repeated ``DRAWS`` times along a new leading batch dimension, the
    probabilities and rates as leaves that need grad: one copy per draw, so that a sum of
    per-draw gradients cannot overflow into ``∞·0`` (the continuous fuzz does the same)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, torch.Tensor):
            value = value.expand(DRAWS, *value.shape).clone()
            if key != "total_count":
                value.requires_grad_()
        out[key] = value
    return out


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", FAMILIES)
@fz.FUZZ
@given(data=st.data())
def test_no_nan_at_the_edges(name, dtype, data):
    params = _params(name, data.draw, dtype)
    label = f"{name}({params}) {dtype}"
    cls = getattr(rsample, name)
    batched = _batched(params)
    leaves = {k: v for k, v in batched.items() if isinstance(v, torch.Tensor) and v.requires_grad}
    dist = cls(**batched)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    x = dist.sample(generator=torch.Generator().manual_seed(seed))
    assert not x.is_floating_point() or not x.isnan().any(), f"{label}: NaN draws"
    assert bool(dist.support.check(x).all()), f"{label}: draws outside the support: {x}"

    lp = dist.log_prob(x)
    bad = ~(lp.isfinite() & (lp <= 1e-6 * lp.abs().clamp_min(1)))
    if x.is_floating_point():  # a draw saturated at the largest float is not a genuine value
        bad &= x.reshape((*x.shape[: lp.dim()], -1)).amax(-1) < torch.finfo(x.dtype).max
    assert not bad.any(), f"{label}: log_prob of a draw = {lp[bad]} at {x[bad]}"
    if leaves:
        grads = torch.autograd.grad(lp.sum(), list(leaves.values()), allow_unused=True)
        for key, g in zip(leaves, grads):
            if g is not None:
                # (±inf is allowed: the true derivative can overflow; NaN is not)
                assert not g.isnan().any(), f"{label}: d log_prob / d {key} is NaN"

    with torch.no_grad():
        if name in HAS_CDF:
            ordered = x.sort(0).values
            c = dist.cdf(ordered)
            assert bool(((c >= 0) & (c <= 1)).all()), f"{label}: cdf = {c} at {ordered}"
            assert bool((c[1:] >= c[:-1]).all()), f"{label}: cdf decreases: {c}"
        h = dist.entropy()
        if name == "NegativeBinomial" and bool((dist._pq()[1] == 0).any()):
            h = torch.zeros_like(h)  # known limit: q = 1 − p below the smallest float (odds ∞)
        assert bool((h.isfinite() & (h >= -1e-6)).all()), f"{label}: entropy = {h}"
        summaries = {"mode": dist.mode}
        if name != "Categorical":
            summaries |= {"mean": dist.mean, "variance": dist.variance}
        if name == "Bernoulli" and bool((dist.probs == 0.5).any()):
            del summaries["mode"]  # NaN at p = ½ by torch's convention (two modes)
        for key, value in summaries.items():
            assert not value.isnan().any(), f"{label}: {key} = {value}"
        if "mode" in summaries:
            assert bool(dist.support.check(dist.mode).all()), f"{label}: mode {dist.mode} outside"
