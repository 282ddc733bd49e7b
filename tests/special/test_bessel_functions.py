"""Modified Bessel functions of the first kind against mpmath (50 digits) and scipy.

Metrics. ``log_iv``, ``log_ive``, ``log_iv_normalized``: error relative to ``max(1, |value|)``
(these logs cross zero, where no method keeps relative accuracy); the ratio ``R_v`` and
``1 − R_v``: relative error. Orders v ∈ [0, 999] (von Mises–Fisher orders d/2 − 1 for
d ≤ 2000), arguments x ∈ {0} ∪ [1e-300, 1e5], including both sides of the method switch
(√(v² + x²) = 30). float32: relative error ≤ 1e-5 against the float64 values.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import torch

from rsample.special import bessel_ratio, bessel_ratio_1m, log_iv, log_iv_normalized, log_ive
from rsample.testing import assert_close

mp = pytest.importorskip("mpmath")
sc = pytest.importorskip("scipy.special")

F64, F32 = torch.float64, torch.float32
V_GRID = [0.0, 0.5, 1.0, 1.5, 4.0, 4.5, 20.0, 29.5, 30.0, 49.0, 100.0, 499.0, 999.0]
X_GRID = [1e-300, 1e-10, 1e-3, 0.1, 1.0, 5.0, 10.0, 25.0, 29.0, 30.0, 31.0, 40.0, 70.0]
X_GRID += [100.0, 127.0, 1e3, 1e4, 1e5]
POINTS = list(itertools.product(V_GRID, X_GRID))


@functools.cache
def _reference() -> dict[str, np.ndarray]:
    """mpmath at 50 digits: log I_v, log I_v − x, Λ_v = log(Γ(v+1)(2/x)^v I_v), R_v, 1 − R_v."""
    out = {k: [] for k in ("log_iv", "log_ive", "lam", "ratio", "ratio_1m")}
    with mp.workdps(50):
        for v, x in POINTS:
            v_, x_ = mp.mpf(v), mp.mpf(x)
            i0 = mp.besseli(v_, x_, maxterms=10**6)
            i1 = mp.besseli(v_ + 1, x_, maxterms=10**6)
            log_i = mp.log(i0)
            out["log_iv"].append(float(log_i))
            out["log_ive"].append(float(log_i - x_))
            lam = mp.log(mp.hyp0f1(v_ + 1, x_ * x_ / 4)) if x < 200 else None
            if lam is None:
                lam = log_i - v_ * mp.log(x_ / 2) + mp.loggamma(v_ + 1)
            out["lam"].append(float(lam))
            out["ratio"].append(float(i1 / i0))
            out["ratio_1m"].append(float(1 - i1 / i0))
    return {k: np.array(v) for k, v in out.items()}


def _grid(dtype=F64):
    v = torch.tensor([p[0] for p in POINTS], dtype=dtype)
    x = torch.tensor([p[1] for p in POINTS], dtype=dtype)
    return v, x


FUNCTIONS = {
    "log_iv": log_iv,
    "log_ive": log_ive,
    "lam": log_iv_normalized,
    "ratio": bessel_ratio,
    "ratio_1m": bessel_ratio_1m,
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float64_against_mpmath(name):
    v, x = _grid()
    got = FUNCTIONS[name](v, x)
    want = _reference()[name]
    if name.startswith("ratio"):
        assert_close(got, want, rtol=5e-14, atol=0, label=name)
    else:
        # log values: relative to max(1, |value|)
        scale = np.maximum(1.0, np.abs(want))
        err = np.abs(got.numpy() - want) / scale
        assert err.max() <= 1e-14, (name, err.max(), POINTS[int(err.argmax())])


def test_scipy_agrees():
    """scipy's ``ive`` (Amos) where its result is a normal float: log ive to 1e-13."""
    v, x = _grid()
    ref = sc.ive(v.numpy(), x.numpy())
    ok = (ref > 1e-290) & np.isfinite(ref)
    got = log_ive(v, x).numpy()
    err = np.abs(got[ok] - np.log(ref[ok])) / np.maximum(1.0, np.abs(np.log(ref[ok])))
    assert err.max() <= 1e-13


def test_special_values():
    v = torch.tensor([0.0, 0.5, 3.0, 0.0, 2.0, 7.5], dtype=F64)
    x = torch.tensor([0.0, 0.0, 0.0, math.inf, math.inf, math.inf], dtype=F64)
    assert log_iv(v, x).tolist() == [0.0, -math.inf, -math.inf, math.inf, math.inf, math.inf]
    assert log_ive(v, x)[:3].tolist() == [0.0, -math.inf, -math.inf]
    assert (log_ive(v, x)[3:] == -math.inf).all()
    assert log_iv_normalized(v, x).tolist() == [0.0, 0.0, 0.0, math.inf, math.inf, math.inf]
    assert bessel_ratio(v, x).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert bessel_ratio_1m(v, x).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    # small x: R_v → x/(2v+2), Λ_v → x²/(4v+4), with full relative accuracy
    tiny = torch.tensor([1e-200, 1e-200], dtype=F64)
    orders = torch.tensor([0.0, 10.0], dtype=F64)
    assert_close(bessel_ratio(orders, tiny), [5e-201, 1e-200 / 22], rtol=1e-15)
    assert_close(log_iv_normalized(orders, tiny * 1e50), [2.5e-301, 1e-300 / 44], rtol=1e-15)
    nan = torch.tensor([math.nan], dtype=F64)
    for fn in FUNCTIONS.values():
        assert torch.isnan(fn(torch.tensor([1.0], dtype=F64), nan)).all()


def test_mixed_lanes_match_single_method_lanes():
    """One call over lanes of both methods (dense evaluation of both, as on accelerators and
    under vmap) gives what each lane gives alone (CPU: one method per call)."""
    v, x = _grid()
    for fn in FUNCTIONS.values():
        together = fn(v, x)
        alone = torch.stack([fn(v[i : i + 1], x[i : i + 1])[0] for i in range(0, len(v), 7)])
        assert_close(together[::7], alone, rtol=0, atol=0, label=fn.__name__)
        mapped = torch.func.vmap(fn)(v, x)
        assert_close(mapped, together, rtol=0, atol=0, label=f"vmap {fn.__name__}")


def test_float32():
    v, x = _grid(F32)
    for name, fn in FUNCTIONS.items():
        got = fn(v, x)
        assert got.dtype == F32
        want = fn(v.double(), x.double())
        finite = torch.isfinite(want)
        assert torch.equal(torch.isfinite(got), finite), name
        scale = 1.0 if name.startswith("ratio") else want[finite].abs().clamp_min(1.0)
        err = (got[finite].double() - want[finite]).abs() / (want[finite].abs() * 0 + scale)
        if name.startswith("ratio"):
            err = err / want[finite].abs().clamp_min(1e-300)
        assert err.max() <= 1e-5, (name, float(err.max()))


# ---------------------------------------------------------------------------------------------
# derivatives in x
# ---------------------------------------------------------------------------------------------


def _mp_derivatives(v: float, x: float) -> tuple[float, float]:
    """(d log I_v/dx, dR_v/dx) from I_v' = I_{v+1} + (v/x) I_v and R' = 1 − R² − (2v+1)R/x."""
    with mp.workdps(60):
        v_, x_ = mp.mpf(v), mp.mpf(x)
        r = mp.besseli(v_ + 1, x_, maxterms=10**6) / mp.besseli(v_, x_, maxterms=10**6)
        return float(r + v_ / x_), float(1 - r * r - (2 * v_ + 1) * r / x_)


@pytest.mark.parametrize(
    "v,x", [(0.0, 0.3), (0.5, 7.0), (4.0, 29.0), (4.0, 45.0), (49.0, 3.0), (0.5, 1e5), (499.0, 3e3)]
)
def test_gradients_against_mpmath(v, x):
    xt = torch.tensor(x, dtype=F64, requires_grad=True)
    d_log, d_ratio = _mp_derivatives(v, x)
    (g,) = torch.autograd.grad(log_iv(v, xt), xt)
    assert_close(g, d_log, rtol=1e-13, label="d log_iv")
    (g,) = torch.autograd.grad(log_ive(v, xt), xt)
    assert_close(g, d_log - 1, rtol=1e-11, label="d log_ive")
    (g,) = torch.autograd.grad(log_iv_normalized(v, xt), xt)
    assert_close(g, d_log - v / x, rtol=1e-13, label="d Lambda")
    # R' = O(1/x²) for large x: formed from the derivative of the expansion, not from
    # 1 − R² − (2v+1)R/x (which would keep only ~1e-6 of it at x = 1e5)
    (g,) = torch.autograd.grad(bessel_ratio(v, xt), xt)
    assert_close(g, d_ratio, rtol=1e-12, label="d ratio")
    (g,) = torch.autograd.grad(bessel_ratio_1m(v, xt), xt)
    assert_close(g, -d_ratio, rtol=1e-12, label="d ratio_1m")


def test_gradcheck_and_second_derivative():
    v = torch.tensor([0.0, 1.5, 4.0, 40.0], dtype=F64)
    x = torch.tensor([0.7, 12.0, 33.0, 8.0], dtype=F64, requires_grad=True)
    for fn in FUNCTIONS.values():
        assert torch.autograd.gradcheck(lambda t, fn=fn: fn(v, t), (x,), fast_mode=True)
    # log I_v is twice differentiable (its derivative uses the differentiable ratio)
    assert torch.autograd.gradgradcheck(lambda t: log_iv(v[1:3], t), (x[1:3],), fast_mode=True)
    # at x = 0: d/dx log I_0 = 0, dR_v/dx = 1/(2v+2), dΛ/dx = 0
    zero = torch.zeros(2, dtype=F64, requires_grad=True)
    orders = torch.tensor([0.0, 2.0], dtype=F64)
    (g,) = torch.autograd.grad(bessel_ratio(orders, zero).sum(), zero)
    assert_close(g, [0.5, 1 / 6], rtol=1e-15)
    (g,) = torch.autograd.grad(log_iv_normalized(orders, zero).sum(), zero)
    assert g.tolist() == [0.0, 0.0]
    (g,) = torch.autograd.grad(log_iv(0.0, zero[:1]), zero)
    assert g.tolist() == [0.0, 0.0]


def test_order_gradient_is_refused():
    v = torch.tensor(1.5, dtype=F64, requires_grad=True)
    x = torch.tensor(2.0, dtype=F64, requires_grad=True)
    for fn in FUNCTIONS.values():
        with pytest.raises(NotImplementedError, match="order"):
            fn(v, x).backward()


def test_double_backward_of_the_ratio_is_refused():
    x = torch.tensor(3.0, dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(bessel_ratio(2.0, x), x, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiable once"):
        g.backward()
