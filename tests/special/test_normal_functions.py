"""``log_ndtr_diff`` (log of a normal interval probability) and ``ndtri_exp`` (the normal
quantile of a log-probability).

References: 60-digit mpmath. ``Φ(b) − Φ(a)`` is evaluated from the side where both terms are
small, so it keeps its digits in both tails; the quantile is Newton's method on the 60-digit
log-CDF, and for ``|ℓ| > 1e6`` (where mpmath's ``erfc`` of a huge argument is impractical) on the
asymptotic series :math:`\\log\\Phi(-y) = -y^2/2 - \\log y - \\tfrac12\\log 2\\pi
+ \\log(1 - y^{-2} + 3y^{-4} - 15y^{-6})`, whose omitted terms are below 1e-20 there. scipy's
``ndtri_exp`` is compared too; it is itself only accurate to ~2e-14 at ``ℓ = −1e4``.

Error metrics: ``log_ndtr_diff`` — absolute error of the log, i.e. the relative error of the
difference, plus ``2e-16·|log|`` (rounding the result itself: for an interval 40 σ out the
log is −800, and its last bit is 1e-13); ``ndtri_exp`` — relative error of the quantile, plus the
error that rounding the input ℓ alone causes (``ε·|ℓ|·dx/dℓ``).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc
import torch
from torch.autograd import gradcheck

from rsample.special import log_ndtr_diff, ndtri_exp

F32, F64 = torch.float32, torch.float64
INF = math.inf
EPS64 = 2.0**-52

PAIRS = [
    (-INF, INF),
    (-INF, 0.0),
    (0.0, INF),
    (-1.0, 1.0),
    (-1.0, 2.0),
    (-5.0, 3.0),
    (-0.5, -0.1),
    (2.0, 2.2),
    (-0.2, 0.05),
    (-1e-3, 1e-3),  # narrow, centred
    (1.0, 1.001),  # narrow, off-centre
    (0.0, 1e-6),
    (10.0, 10.000000001),
    (-40.0, -39.999),
    (8.0, 9.0),  # far upper tail
    (-40.0, -39.0),  # far lower tail
    (39.0, 40.0),
    (30.0, INF),
    (-INF, -30.0),
    (-30.0, 0.5),
    (3.0, 1e3),
    (-8.0, -7.95),
    (-1e3, -999.0),
    (-1e5, -1e5 + 1e-3),
    (5e7, 5e7 + 1.0),
    (-1e150, -1e150 + 1e140),
    (-37.0, 40.0),
    (-10.0, 10.0),
    (-0.1, 0.2),  # just outside the narrow series' range
    (4.0, 4.03),
]


def _mp_log_diff(a: float, b: float) -> mp.mpf:
    with mp.workdps(60):
        a, b = mp.mpf(a), mp.mpf(b)
        if a + b > 0:
            return mp.log(mp.ncdf(-a) - mp.ncdf(-b))
        return mp.log(mp.ncdf(b) - mp.ncdf(a))


def _mp_log_phi_ratio(x: float, a: float, b: float) -> mp.mpf:
    """log(φ(x)/(Φ(b) − Φ(a)))."""
    with mp.workdps(60):
        return -(mp.mpf(x) ** 2) / 2 - mp.log(mp.sqrt(2 * mp.pi)) - _mp_log_diff(a, b)


@pytest.fixture(scope="module")
def pairs():
    a = torch.tensor([p[0] for p in PAIRS], dtype=F64)
    b = torch.tensor([p[1] for p in PAIRS], dtype=F64)
    ref = torch.tensor([float(_mp_log_diff(*p)) for p in zip(a.tolist(), b.tolist())], dtype=F64)
    return a, b, ref


# ---------------------------------------------------------------------------------------------
# log_ndtr_diff
# ---------------------------------------------------------------------------------------------


def test_log_ndtr_diff_float64(pairs):
    a, b, ref = pairs
    got = log_ndtr_diff(a, b)
    err = (got - ref).abs()
    bound = 1e-14 + 2 * EPS64 * ref.abs()
    assert (err <= bound).all(), [(PAIRS[i], float(err[i])) for i in torch.nonzero(err > bound)]


def test_log_ndtr_diff_is_symmetric_and_broadcasts():
    a = torch.tensor([[-3.0], [0.5], [8.0]], dtype=F64)
    b = torch.tensor([-2.0, 1.0, 9.0, INF], dtype=F64)
    ok = a < b
    lhs = log_ndtr_diff(a, b)
    rhs = log_ndtr_diff(-b, -a)
    assert lhs.shape == (3, 4)
    assert torch.allclose(lhs[ok], rhs[ok], rtol=1e-15, atol=0)
    assert log_ndtr_diff(torch.tensor(0.3), torch.tensor(0.3)) == -INF
    assert log_ndtr_diff(1.0, 2.0).dtype == torch.get_default_dtype()


def test_log_ndtr_diff_float32(pairs):
    """float32 agrees with float64 at the float32-rounded inputs (relative error of the
    difference ≤ 1e-6, plus the rounding of a large log)."""
    a, b, _ = pairs
    a32, b32 = a.float(), b.float()
    keep = (a32 < b32) & torch.isfinite(log_ndtr_diff(a32.double(), b32.double()))
    keep &= log_ndtr_diff(a32.double(), b32.double()).abs() < 1e30
    got = log_ndtr_diff(a32, b32)[keep].double()
    ref = log_ndtr_diff(a32.double(), b32.double())[keep]
    assert torch.isfinite(got).all()
    err = (got - ref).abs()
    assert (err <= 1e-6 + 4e-7 * ref.abs()).all(), err.max()


def test_log_ndtr_diff_gradients_match_mpmath(pairs):
    """∂/∂a = −φ(a)/(Φ(b) − Φ(a)), ∂/∂b = φ(b)/(Φ(b) − Φ(a)): relative error ≤ 1e-12."""
    a, b, _ = pairs
    keep = [i for i, (x, y) in enumerate(PAIRS) if abs(x) < 1e6 and abs(y) < 1e6]
    a = a[keep].clone().requires_grad_()
    b = b[keep].clone().requires_grad_()
    ga, gb = torch.autograd.grad(log_ndtr_diff(a, b).sum(), (a, b))
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
        for value, got, sign in ((x, ga[i], -1.0), (y, gb[i], 1.0)):
            if math.isinf(value):
                assert got == 0
                continue
            ref = sign * float(mp.exp(_mp_log_phi_ratio(value, x, y)))
            assert abs(float(got) - ref) <= 1e-12 * abs(ref) + 1e-300, (x, y, float(got), ref)


def test_log_ndtr_diff_gradcheck_and_second_derivatives():
    a = torch.tensor([-1.0, 0.5, -40.0, 1.0, -0.2], dtype=F64, requires_grad=True)
    b = torch.tensor([2.0, 0.51, -39.0, 1.001, 0.05], dtype=F64, requires_grad=True)
    assert gradcheck(log_ndtr_diff, (a, b))
    assert torch.autograd.gradgradcheck(log_ndtr_diff, (a, b))


def test_log_ndtr_diff_under_vmap_and_compile():
    a = torch.tensor([-1.0, 8.0, -40.0, -1e-3], dtype=F64)
    b = torch.tensor([2.0, 9.0, -39.0, 1e-3], dtype=F64)
    expected = log_ndtr_diff(a, b)
    torch.testing.assert_close(torch.func.vmap(log_ndtr_diff)(a, b), expected)
    grads = torch.func.vmap(torch.func.grad(log_ndtr_diff, argnums=(0, 1)))(a, b)
    torch.testing.assert_close(
        grads[0], torch.autograd.functional.jacobian(lambda t: log_ndtr_diff(t, b), a).diagonal()
    )
    torch._dynamo.reset()
    compiled = torch.compile(log_ndtr_diff, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(a, b), expected)


# ---------------------------------------------------------------------------------------------
# ndtri_exp
# ---------------------------------------------------------------------------------------------

LOG_P = [
    -1e-300,
    -1e-20,
    -1e-10,
    -1e-3,
    -0.1,
    -0.5,
    -math.log(2) - 1e-9,
    -0.7,
    -1.0,
    -5.0,
    -50.0,
    -700.0,
    -700.4,
    -701.0,
    -708.0,
    -745.0,
    -1e3,
    -1e4,
    -1e6,
    -1e10,
    -1e100,
    -1e300,
    -1e307,
]


def _mp_ndtri_exp(log_p: float) -> mp.mpf:
    with mp.workdps(60):
        lp = mp.mpf(log_p)
        if lp > -mp.log(2):  # upper half: Φ(−x) = 1 − p
            big_l, sign = mp.log(-mp.expm1(lp)), -1
        else:
            big_l, sign = lp, 1
        if -big_l > 1e6:

            def log_cdf(x):  # asymptotic series, omitted terms < 1e-20 here
                y = -x
                return (
                    -(y**2) / 2
                    - mp.log(y)
                    - mp.log(mp.sqrt(2 * mp.pi))
                    + mp.log(1 - y**-2 + 3 * y**-4 - 15 * y**-6)
                )

            def mills(x):
                return 1 / (-x)  # enough for Newton's step direction; converges anyway

        else:

            def log_cdf(x):
                return mp.log(mp.ncdf(x))

            def mills(x):
                return mp.ncdf(x) / mp.npdf(x)

        x = -mp.sqrt(-2 * big_l) if big_l < -1 else mp.mpf(-0.5)
        for _ in range(200):
            step = (log_cdf(x) - big_l) * mills(x)
            x -= step
            if abs(step) <= abs(x) * mp.mpf(10) ** -45:
                break
        return sign * x


@pytest.fixture(scope="module")
def quantiles():
    ref = [_mp_ndtri_exp(v) for v in LOG_P]
    return torch.tensor(LOG_P, dtype=F64), ref


def test_ndtri_exp_float64(quantiles):
    lp, ref = quantiles
    got = ndtri_exp(lp)
    for value, x, r in zip(LOG_P, got.tolist(), ref):
        r = float(r)
        slope = float(mp.exp(mp.mpf(value) + mp.mpf(r) ** 2 / 2) * mp.sqrt(2 * mp.pi))  # dx/dℓ
        bound = 4 * EPS64 * abs(r) + 2 * EPS64 * abs(value) * slope
        assert abs(x - r) <= bound, (value, x, r)


def test_ndtri_exp_agrees_with_scipy_where_scipy_is_accurate(quantiles):
    lp, _ = quantiles
    keep = lp > -1e3
    ours = ndtri_exp(lp[keep]).numpy()
    theirs = sc.ndtri_exp(lp[keep].numpy())
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-13)


def test_ndtri_exp_special_values():
    out = ndtri_exp(torch.tensor([0.0, -INF, 0.5, math.nan], dtype=F64))
    assert out[0] == INF and out[1] == -INF and out[2:].isnan().all()
    assert ndtri_exp(torch.tensor(-math.log(2), dtype=F64)).abs() < 1e-15


def test_ndtri_exp_float32(quantiles):
    lp, _ = quantiles
    lp32 = lp.float()
    keep = torch.isfinite(lp32) & (lp32 < 0)  # −1e-300 rounds to −0: quantile +inf
    got = ndtri_exp(lp32[keep]).double()
    ref = ndtri_exp(lp32[keep].double())
    assert torch.isfinite(got).all()
    assert ((got - ref).abs() <= 2e-6 * ref.abs() + 1e-6).all()


def test_ndtri_exp_derivative_and_inverse():
    """dx/dℓ = Φ(x)/φ(x), and log Φ(ndtri_exp(ℓ)) = ℓ."""
    lp = torch.tensor([-1e-8, -0.3, -2.0, -80.0, -800.0, -1e5], dtype=F64, requires_grad=True)
    x = ndtri_exp(lp)
    (grad,) = torch.autograd.grad(x.sum(), lp)
    for xi, gi in zip(x.tolist(), grad.tolist()):
        ref = float(mp.ncdf(xi) / mp.npdf(xi))
        assert abs(gi - ref) <= 1e-13 * ref
    back = torch.special.log_ndtr(x.detach())
    assert torch.allclose(back, lp.detach(), rtol=1e-14, atol=1e-22)
    small = torch.tensor([-0.3, -2.0, -80.0], dtype=F64, requires_grad=True)
    assert gradcheck(ndtri_exp, (small,))
    assert torch.autograd.gradgradcheck(ndtri_exp, (small,))
