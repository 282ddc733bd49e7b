"""Property fuzzing of the relaxed (Concrete) families over extreme parameters (hypothesis,
fixed seeds).

Temperatures from the documented minimum (``min_temperature(dtype)``) to 1e4, logits up to
±1e4 (the documented range), probabilities of exactly 0 and 1 and within 1e-300 of them, in
float32 and float64; one parameter copy per draw. Properties:

* ``rsample`` lies in the support and its derivatives in the logits (or probs) and the
  temperature are not NaN;
* ``rsample_and_log_prob`` draws the same value as ``rsample`` for the same seed, and its
  log-density and that of ``log_prob`` at the draw are not NaN (±inf only where the density
  truly over- or underflows) — the log-space formulas are what keeps low temperatures finite.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import fuzz_strategies as fz
import rsample
from rsample.distributions.discrete.relaxed_bernoulli import min_temperature

F32, F64 = torch.float32, torch.float64
DRAWS = 16
FAMILIES = [
    "LogitRelaxedBernoulli",
    "RelaxedBernoulli",
    "RelaxedBernoulliStraightThrough",
    "ExpRelaxedCategorical",
    "RelaxedOneHotCategorical",
    "RelaxedOneHotCategoricalStraightThrough",
]
BINARY = {"LogitRelaxedBernoulli", "RelaxedBernoulli", "RelaxedBernoulliStraightThrough"}


def _temperature(draw, dtype) -> float:
    floor = min_temperature(dtype)
    t = draw(st.one_of(st.sampled_from([floor, 1e4, 1.0]), fz.log_uniform(-30, 4)))
    return max(t, floor * 1.01)


def _params(name: str, draw, dtype) -> dict:
    k = 1 if name in BINARY else draw(st.integers(2, 5))
    shape = () if name in BINARY else (k,)
    if draw(st.booleans()):
        values = [draw(fz.probability()) for _ in range(k)]
        if name not in BINARY:
            values[draw(st.integers(0, k - 1))] = draw(fz.log_uniform(-30, 0))  # positive sum
        param = {"probs": torch.tensor(values, dtype=F64).to(dtype).reshape(shape)}
    else:
        param = {"logits": torch.tensor([draw(fz.logit()) for _ in range(k)], dtype=dtype)}
        param["logits"] = param["logits"].reshape(shape)
    temperature = torch.tensor(_temperature(draw, dtype), dtype=dtype)
    return {"temperature": temperature, **param}


def _probs_slope_overflows(params: dict, dtype) -> bool:
    """Whether the derivative in ``probs`` itself overflows: it is the logits' slope (up to
    1/τ) times ``1/(p·Σp)`` for the smallest positive probability, and where that exceeds the
    dtype two overflowed chain-rule paths may meet as ``∞ − ∞`` (no claim then, as in the
    continuous fuzz); the slopes in the logits and τ are always checked."""
    probs = params["probs"].double()
    smallest = probs[probs > 0].min() if bool((probs > 0).any()) else probs.new_tensor(1.0)
    total = probs.sum().clamp_min(smallest)
    slope = 1 / (params["temperature"].double() * smallest * total)
    return bool(slope > torch.finfo(dtype).max / 64)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", FAMILIES)
@fz.FUZZ
@given(data=st.data())
def test_no_nan_at_low_temperatures_and_extreme_logits(name, dtype, data):
    params = _params(name, data.draw, dtype)
    label = f"{name}({params}) {dtype}"
    leaves = {}
    for key, value in params.items():  # one copy per draw, every parameter a leaf
        leaves[key] = value.expand(DRAWS, *value.shape).clone().requires_grad_()
    if "temperature" in leaves and name not in BINARY:
        leaves["temperature"] = leaves["temperature"].unsqueeze(-1).detach().requires_grad_()
    dist = getattr(rsample, name)(**leaves)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")

    x = dist.rsample(generator=torch.Generator().manual_seed(seed))
    assert not x.isnan().any(), f"{label}: NaN draws {x}"
    assert bool(dist.support.check(x).all()), f"{label}: draws outside the support: {x}"
    grads = torch.autograd.grad(x.sum(), list(leaves.values()), allow_unused=True)
    for key, g in zip(leaves, grads):
        if g is not None and not (key == "probs" and _probs_slope_overflows(params, dtype)):
            assert not g.isnan().any(), f"{label}: d rsample / d {key} is NaN"

    x_joint, lp_joint = dist.rsample_and_log_prob(generator=torch.Generator().manual_seed(seed))
    assert torch.equal(x_joint.detach(), x.detach()), f"{label}: the two draws differ"
    assert not lp_joint.isnan().any(), f"{label}: rsample_and_log_prob gives {lp_joint}"
    lp = dist.log_prob(x.detach())
    assert not lp.isnan().any(), f"{label}: log_prob of a draw is {lp} at {x}"
