"""Property-based fuzzing of every univariate family over its whole valid parameter range.

Hypothesis draws parameters over the valid ranges including the extremes (scales and rates from
1e-30 to 1e30 in float64 and 1e-20 to 1e20 in float32, locations up to ±1e15, uniform and
tanh bounds of any width), and values anywhere in the support: the boundaries, the largest finite
numbers, ±inf where the support is the real line, subnormals, values near the distribution and
values far out in its tails. The guarantees checked, for float32 and float64, are:

* ``sample``/``rsample``/``rsample_and_log_prob`` never return NaN; draws lie in the closure of
  the support (an underflowed log-normal draw is 0, an overflowed one +inf).
* ``log_prob`` is never NaN and +inf only where the true density is (Gamma, α < 1, at 0). It may be
  −inf where the density underflows the dtype, and at ±inf.
* ``cdf`` lies in [0, 1]; ``icdf`` of probabilities in [0, 1], the end points included, is never
  NaN, lies in the closure of the support and is non-decreasing. ``entropy`` is finite (and
  TanhNormal's quadrature ``mean`` and ``mode`` too).
* Gradients. The honest guarantee is *not NaN where the result is finite* (float64) and *finite
  where the true gradient is representable* (float32), not *finite*: many true derivatives
  overflow at these extremes (``d/d rate`` of an exponential draw is ``−x/rate``, about 1e40 at
  rate 1e-20 in float32; ``d/d scale`` of a normal log-density is ``(z² − 1)/scale``). So:

  - every parameter gradient of ``rsample()`` is not NaN (±inf only where the true derivative
    overflows);
  - float64: every parameter gradient of ``log_prob(value)`` is not NaN wherever
    ``log_prob(value)`` is finite (with parameters within 1e±30 no intermediate comes near
    float64's range). Where the density underflows to ``log 0 = −inf`` the function is locally
    the constant −inf and its derivative means nothing (a standardized value
    ``z = (x − μ)/σ`` that overflows to ±inf gives ``0·∞`` in the chain rule): no claim;
  - float32: ``log_prob`` and each of its parameter gradients are finite wherever float64, on the
    same (float32-exact) inputs, finds a value comfortably inside float32's range: float32 may
    not lose a representable result to an intermediate overflow. Where the true gradient itself
    overflows float32, two overflowed chain-rule paths can meet as ``∞ − ∞`` (TanhNormal's
    ``d/d high`` through both ``(low + high)/2`` and ``(high − low)/2``), so no claim either.

Each value and each draw gets its own copy of the parameters (a batch), so that a sum of
per-element gradients never manufactures ``∞ − ∞``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.distributions import constraints

from examples import EXAMPLES

F32, F64 = torch.float32, torch.float64
EXP_RANGE = {F32: 20.0, F64: 30.0}  # scales from 10^-r to 10^r
LOC_MAX = 1e15
MAX_EXAMPLES = 100  # about 30 s for the file on one core, 15 s on two
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# One case per (class, fixed keyword arguments) in the reference table, plus TanhNormal with
# tensor bounds drawn like Uniform's.
CASES: dict[str, tuple[object, bool]] = {}
for _example in EXAMPLES:
    _name = _example.name + "".join(f"-{k}={v:g}" for k, v in _example.fixed.items())
    if _name in CASES and list(CASES[_name][0].grid[0]) != list(_example.grid[0]):
        _name += "-" + "-".join(_example.grid[0])  # another parameterization (probs / logits)
    CASES.setdefault(_name, (_example, False))
CASES["TanhNormal-tensor-bounds"] = (CASES["TanhNormal"][0], True)


# ----------------------------------------------------------------- strategies
def _magnitude(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Log-uniform in [10^lo, 10^hi], with both ends and 1 drawn often."""
    return st.one_of(
        st.sampled_from([10.0**lo, 10.0**hi, 1.0]),
        st.floats(lo, hi).map(lambda e: 10.0**e),
    )


def _scale(dtype) -> st.SearchStrategy[float]:
    r = EXP_RANGE[dtype]
    return _magnitude(-r, r)


def _location(dtype) -> st.SearchStrategy[float]:
    r = EXP_RANGE[dtype]
    return st.one_of(
        st.sampled_from([0.0, 1.0, -1.0, LOC_MAX, -LOC_MAX]),
        st.floats(-10.0, 10.0),
        st.floats(-LOC_MAX, LOC_MAX),
        st.tuples(st.sampled_from([-1.0, 1.0]), _magnitude(-r, 15.0)).map(lambda t: t[0] * t[1]),
    )


def _pow10(e: float, limit: float) -> float:
    return min(10.0 ** min(e, 308.25), limit)


def _round(x: float, dtype) -> float:
    return float(torch.tensor(x, dtype=F64).to(dtype))


def _bounds(draw, dtype) -> tuple[float, float]:
    """``low < high`` as the dtype holds them; widths from 10^-r to 10^r."""
    low = _round(draw(_location(dtype)), dtype)
    high = _round(low + draw(_scale(dtype)), dtype)
    if not high > low:  # the width vanished in rounding: take the next representable number
        high = float(torch.nextafter(torch.tensor(low, dtype=dtype), torch.tensor(math.inf)))
    if dtype == torch.float32:
        # Known limit (tracked in the issue notes): for float32 intervals narrower than ~1e-6
        # relative, products in the chain rule of d log_prob / d low overflow (∞ − ∞); such an
        # interval holds only a handful of float32 actions.
        high = max(high, _round(low + 1e-6 * max(1.0, abs(low)), dtype))
    return low, high


# Shape parameters are fuzzed up to the range the special functions are validated on (see
# tests/special): icdf of Gamma(1e30) is outside it.
SHAPE_LIMITS = {"concentration": 1e6, "df": 2e6}


def _within(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Log-uniform in [lo, hi] when 0 < lo, else uniform; both ends drawn often."""
    inner = (
        st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)
        if lo > 0
        else st.floats(lo, hi)
    )
    return st.one_of(st.sampled_from([lo, hi]), inner)


def _probability(dtype) -> st.SearchStrategy[float]:
    """A value in [0, 1]: both ends and ½ often, and values close to each of them."""
    lowest = math.log10(torch.finfo(dtype).smallest_normal)
    digits = -math.log10(torch.finfo(dtype).eps)
    return st.one_of(
        st.sampled_from([0.0, 0.5, 1.0]),
        st.floats(0.0, 1.0),
        st.floats(lowest, 0.0).map(lambda e: 10.0**e),
        st.floats(-digits, 0.0).map(lambda e: 1.0 - 10.0**e),
        st.tuples(st.sampled_from([-0.5, 0.5]), st.floats(-digits, 0.0)).map(
            lambda t: 0.5 + t[0] * 10.0 ** t[1]
        ),
    )


def _params(draw, example, tensor_bounds: bool, dtype) -> dict[str, float]:
    names = list(example.grid[0])
    params: dict[str, float] = {}
    if "low" in names:
        params["low"], params["high"] = _bounds(draw, dtype)
    for name in names:
        if name in params:
            continue
        constraint = example.cls.arg_constraints[name]
        if name in example.fuzz_limits:
            params[name] = _round(draw(_within(*example.fuzz_limits[name])), dtype)
        elif constraint is constraints.positive:
            value = draw(_scale(dtype))
            if name in SHAPE_LIMITS:  # the incomplete-gamma inverse is validated for a ≤ 1e6
                value = min(value, SHAPE_LIMITS[name])
            params[name] = _round(value, dtype)
        elif constraint is constraints.real:
            params[name] = _round(draw(_location(dtype)), dtype)
        elif constraint is constraints.unit_interval:
            params[name] = _round(draw(_probability(dtype)), dtype)
        else:
            raise AssertionError(f"no strategy for {example.name}.{name}")
    if tensor_bounds:
        params["low"], params["high"] = _bounds(draw, dtype)
    return params


def _support(example, params, dtype=F64) -> tuple[str, float, float]:
    """('real' | 'nonneg' | 'positive' | 'interval' | 'lower', low, high) of the distribution.

    'lower' is ``[low, inf)`` with a parameter-dependent ``low`` (Pareto's scale, a generalized
    Pareto's location for ξ ≥ 0). Bounds computed from parameters (``μ − σ/ξ``) are taken as the
    distribution computes them in ``dtype``."""
    dist = example.build(**{k: torch.tensor(v, dtype=dtype) for k, v in params.items()})
    support = dist.support
    if support is constraints.real:
        return "real", -math.inf, math.inf
    if support is constraints.nonnegative:
        return "nonneg", 0.0, math.inf
    if support is constraints.positive:
        return "positive", 0.0, math.inf
    if isinstance(support, constraints.greater_than_eq):
        return "lower", float(support.lower_bound), math.inf
    if isinstance(support, constraints.interval):
        low, high = float(support.lower_bound), float(support.upper_bound)
        return ("interval" if high < math.inf else "lower"), low, high
    raise AssertionError(f"unknown support {support} of {example.name}")


def _round_inward(x: float, dtype, up: bool) -> float:
    """``x`` rounded to ``dtype`` toward +inf (``up``) or −inf."""
    t = torch.tensor(x, dtype=F64).to(dtype)
    if (float(t) < x) if up else (float(t) > x):
        t = torch.nextafter(t, torch.tensor(math.inf if up else -math.inf, dtype=dtype))
    return float(t)


def _scored_support(example, params, dtype) -> tuple[str, float, float]:
    """The support in ``dtype`` intersected with the float64 one, rounded inward: float32 values
    are also scored in float64 (``_check_float32_scoring``), and a bound computed from the
    parameters (``μ − σ/ξ``) rounds differently in the two."""
    kind, low, high = _support(example, params, dtype)
    if dtype != F64:
        _, low64, high64 = _support(example, params, F64)
        low = max(low, _round_inward(low64, dtype, up=True))
        high = min(high, _round_inward(high64, dtype, up=False))
    return kind, low, high


def _values(draw, example, params, dtype) -> torch.Tensor:
    """A handful of drawn values in the support plus its boundaries, in ``dtype``."""
    kind, low, high = _scored_support(example, params, dtype)
    info = torch.finfo(dtype)
    loc = params.get("loc", 0.0)
    spread = params.get("scale", 1.0 / params.get("rate", 1.0))
    max_exp = math.log10(info.max)
    min_exp = math.log10(info.smallest_normal) - 7  # into the subnormals
    sign = st.sampled_from([-1.0, 1.0])
    k = st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-60.0, 60.0))
    far = st.tuples(sign, st.floats(min_exp, max_exp)).map(lambda t: t[0] * _pow10(t[1], info.max))
    if kind == "interval":
        width = high - low
        frac = st.one_of(
            st.floats(0.0, 1.0),
            st.floats(-16.0, 0.0).map(lambda e: 10.0**e),  # near low
            st.floats(-16.0, 0.0).map(lambda e: 1.0 - 10.0**e),  # near high
        )
        recipe = frac.map(lambda f: low + f * width)
        fixed = [low, high, low + width / 2]
    elif kind == "lower":
        recipe = st.one_of(k.map(lambda k_: low + abs(k_) * spread), far.map(abs))
        fixed = [low, info.max, math.inf]
    elif kind == "real":
        recipe = st.one_of(k.map(lambda k_: loc + k_ * spread), far)
        fixed = [0.0, loc, info.max, -info.max, math.inf, -math.inf]
    else:
        near = k.map(lambda k_: abs(k_) * spread)
        if kind == "positive":  # log-normal: near means exp(loc + k·scale)
            near = k.map(lambda k_: math.exp(min(loc + k_ * spread, 700.0)))
        recipe = st.one_of(near, far.map(abs))
        fixed = [info.tiny, info.max, math.inf, 0.0 if kind == "nonneg" else info.smallest_normal]
    drawn = draw(st.lists(recipe, min_size=1, max_size=6))
    x = torch.tensor(drawn + fixed, dtype=F64).to(dtype)
    # Rounding to the dtype may step outside; put such values back on the closed support.
    lo = torch.tensor(low, dtype=dtype)
    if kind == "positive":
        lo = torch.nextafter(torch.tensor(0.0, dtype=dtype), torch.tensor(1.0, dtype=dtype))
    return x.clamp(lo, torch.tensor(high, dtype=dtype))


# ----------------------------------------------------------------- helpers
def _infinite_density(example, params, values: torch.Tensor) -> torch.Tensor:
    """Where the true density is +inf (Gamma with concentration < 1 at 0), per scipy."""
    ref = example.reference(**params, **example.fixed)
    with np.errstate(all="ignore"):
        return torch.as_tensor(np.isposinf(ref.logpdf(values.detach().double().numpy())))


def _build(example, params, dtype, n, *, grad=True):
    leaves = {k: torch.full((n,), v, dtype=dtype, requires_grad=grad) for k, v in params.items()}
    return example.build(**leaves), leaves


def _grads(out: torch.Tensor, leaves: dict) -> dict[str, torch.Tensor]:
    grads = torch.autograd.grad(out.sum(), list(leaves.values()), allow_unused=True)
    return {k: torch.zeros_like(v) if g is None else g for (k, v), g in zip(leaves.items(), grads)}


def _in_closure(x: torch.Tensor, kind: str, low: float, high: float) -> torch.Tensor:
    if kind == "real":
        return ~x.isnan()
    return (x >= low) & (x <= high)


def _label(example, params, dtype) -> str:
    return f"{example.name}{example.fixed or ''}({params}) {dtype}"


# ----------------------------------------------------------------- the property
@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
@FUZZ
@given(data=st.data())
def test_no_nan_anywhere(case, dtype, data):
    example, tensor_bounds = CASES[case]
    params = _params(data.draw, example, tensor_bounds, dtype)
    values = _values(data.draw, example, params, dtype)
    kind, low, high = _support(example, params)
    label = _label(example, params, dtype)
    n = values.numel()

    # Draws and their parameter gradients (one parameter copy per draw).
    dist, leaves = _build(example, params, dtype, 64)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    x = dist.rsample(generator=torch.Generator().manual_seed(seed))
    assert _in_closure(x, kind, low, high).all(), f"{label}: rsample outside the support: {x}"
    for name, g in _grads(x, leaves).items():
        assert not g.isnan().any(), f"{label}: d rsample / d {name} is NaN at {x[g.isnan()]}"
    x_s = dist.sample((3,), generator=torch.Generator().manual_seed(seed))
    assert _in_closure(x_s, kind, low, high).all(), f"{label}: sample outside support: {x_s}"
    x_r, lp_r = dist.rsample_and_log_prob(generator=torch.Generator().manual_seed(seed))
    assert torch.equal(x_r.detach(), x.detach()), f"{label}: rsample_and_log_prob draws differ"
    bad = lp_r.isnan() | (lp_r == math.inf)
    if bad.any():
        bad &= ~_infinite_density(example, params, x_r)
    assert not bad.any(), f"{label}: rsample_and_log_prob gives {lp_r[bad]} at {x_r[bad]}"

    # Scoring: log_prob, its gradients, cdf.
    dist, leaves = _build(example, params, dtype, n)
    lp = dist.log_prob(values)
    bad = lp.isnan() | (lp == math.inf)
    if bad.any():
        bad &= ~_infinite_density(example, params, values)
    assert not bad.any(), f"{label}: log_prob = {lp[bad]} at {values[bad]}"
    grads = _grads(lp, leaves)
    if dtype == F64:
        for name, g in grads.items():
            nan = g.isnan() & lp.isfinite()
            assert not nan.any(), f"{label}: d log_prob / d {name} is NaN at {values[nan]}"
    else:
        _check_float32_scoring(example, params, values, lp, grads, label)
    with torch.no_grad():
        c = dist.cdf(values)
    bad = ~((c >= 0) & (c <= 1))
    assert not bad.any(), f"{label}: cdf = {c[bad]} at {values[bad]}"

    # icdf of probabilities across [0, 1], end points included.
    q = torch.tensor(
        [0.0, 1e-300, 1e-30, 1e-7, 0.25, 0.5, 1 - 2**-20, 1 - 2**-40, 1.0], dtype=F64
    ).to(dtype)
    dist, _ = _build(example, params, dtype, q.numel(), grad=False)
    icdf = dist.icdf(q)
    assert not icdf.isnan().any(), f"{label}: icdf is NaN at {q[icdf.isnan()]}"
    assert _in_closure(icdf, kind, low, high).all(), f"{label}: icdf outside support: {icdf}"
    assert (icdf[1:] >= icdf[:-1]).all(), f"{label}: icdf decreases: {icdf}"

    # Summaries that exist for every parameter value (TanhNormal's by quadrature).
    summaries = {"entropy": dist.entropy()}
    if example.name == "TanhNormal":
        summaries.update(mean=dist.mean, mode=dist.mode)
    for name, value in summaries.items():
        assert value.isfinite().all(), f"{label}: {name} = {value[0]}"


def _check_float32_scoring(example, params, values, lp, grads, label):
    """float32 log-densities and their gradients are finite where float64, on the same inputs,
    finds them well inside float32's range."""
    dist64, leaves64 = _build(example, params, F64, values.numel())
    lp64 = dist64.log_prob(values.double())
    grads64 = _grads(lp64, leaves64)
    limit = torch.finfo(F32).max / 64
    comparable = torch.ones_like(values, dtype=torch.bool)
    if example.name == "TanhNormal":
        # An action exactly at a bound is scored at the nearest float inside, which depends on
        # the dtype (atanh(1 − 2⁻²⁴) ≈ 8.7 in float32, atanh(1 − 2⁻⁵³) ≈ 18.7 in float64): the
        # two dtypes then score different points, and the float32 one may truly underflow.
        bounds = {"low": -1.0, "high": 1.0} | example.fixed | params
        comparable = (values.double() != bounds["low"]) & (values.double() != bounds["high"])
    lost = comparable & lp64.isfinite() & (lp64.abs() < limit) & ~lp.isfinite()
    grad_comparable = comparable
    if example.name == "TanhNormal":
        # The chain rule passes through d log_prob/du = −(u − loc)/scale² of the pre-tanh
        # value u: where that factor alone overflows float32, the gradient may be lost even
        # when the product with du/dθ is representable (a known limit, see the issue notes).
        low, high = bounds["low"], bounds["high"]
        t = ((2 * values.double() - low - high) / (high - low)).clamp(-1, 1)
        factor = (torch.atanh(t) - params["loc"]).abs() / params["scale"] ** 2
        grad_comparable = comparable & (factor < limit)
    assert not lost.any(), (
        f"{label}: float32 log_prob = {lp[lost]} at {values[lost]}, float64 finds {lp64[lost]}"
    )
    for name, g in grads.items():
        g64 = grads64[name]
        representable = grad_comparable & lp.isfinite() & lp64.isfinite() & (g64.abs() < limit)
        lost = representable & ~g.isfinite()
        assert not lost.any(), (
            f"{label}: float32 d log_prob / d {name} = {g[lost]} at {values[lost]}, "
            f"float64 finds {g64[lost]}"
        )
