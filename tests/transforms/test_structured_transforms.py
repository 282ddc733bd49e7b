"""rsample.transforms structured transforms: torch semantics, stable numerics near the edges."""

from __future__ import annotations

import copy
import math
import pickle

import mpmath
import pytest
import torch
import torch.distributions as td
import torch.distributions.transforms as tt
from torch.distributions import constraints

import rsample
from rsample import transforms as T
from rsample.transforms.base import _InverseTransform

F64 = torch.float64


def _randn(*shape, scale=1.0, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, dtype=F64, generator=g).to(dtype)


def _square(shape=(4, 3, 3)):
    return _randn(*shape)


def _cholesky_factor(shape=(4, 3, 3)):
    return tt.LowerCholeskyTransform()(_square(shape))


def _spd(shape=(4, 3, 3)):
    factor = _cholesky_factor(shape)
    return factor @ factor.mT


def _simplex(shape=(4, 5)):
    return torch.softmax(_randn(*shape, scale=2.0), -1)


def _unit(shape=(4,)):
    return torch.sigmoid(_randn(*shape, scale=2.0))


# (id, rsample factory, torch factory, domain sampler)
CASES = [
    ("stick_breaking", T.StickBreakingTransform, tt.StickBreakingTransform, lambda: _randn(4, 5)),
    (
        "stick_breaking_batch",
        T.StickBreakingTransform,
        tt.StickBreakingTransform,
        lambda: _randn(2, 3, 1, scale=2),
    ),
    ("softmax", T.SoftmaxTransform, tt.SoftmaxTransform, lambda: _randn(4, 5, scale=2)),
    ("lower_cholesky", T.LowerCholeskyTransform, tt.LowerCholeskyTransform, _square),
    ("positive_definite", T.PositiveDefiniteTransform, tt.PositiveDefiniteTransform, _square),
    ("corr_cholesky_2", T.CorrCholeskyTransform, tt.CorrCholeskyTransform, lambda: _randn(4, 1)),
    ("corr_cholesky_4", T.CorrCholeskyTransform, tt.CorrCholeskyTransform, lambda: _randn(4, 6)),
    (
        "corr_cholesky_5",
        T.CorrCholeskyTransform,
        tt.CorrCholeskyTransform,
        lambda: _randn(2, 3, 10, scale=1.5),
    ),
    (
        "reshape",
        lambda: T.ReshapeTransform((6,), (2, 3)),
        lambda: tt.ReshapeTransform((6,), (2, 3)),
        lambda: _randn(4, 6),
    ),
    (
        "cat",
        lambda: T.CatTransform(
            [T.ExpTransform(), T.SigmoidTransform(), T.AffineTransform(1.0, 2.0)], -1, [2, 1, 2]
        ),
        lambda: tt.CatTransform(
            [tt.ExpTransform(), tt.SigmoidTransform(), tt.AffineTransform(1.0, 2.0)], -1, [2, 1, 2]
        ),
        lambda: _randn(4, 5),
    ),
    (
        "cat_event",
        lambda: T.CatTransform(
            [T.IndependentTransform(T.ExpTransform(), 1), T.AffineTransform(0.5, 2.0, 1)],
            -1,
            [2, 3],
        ),
        lambda: tt.CatTransform(
            [tt.IndependentTransform(tt.ExpTransform(), 1), tt.AffineTransform(0.5, 2.0, 1)],
            -1,
            [2, 3],
        ),
        lambda: _randn(4, 5),
    ),
    (
        "cat_batch_dim",
        lambda: T.CatTransform(
            [T.IndependentTransform(T.ExpTransform(), 1), T.AffineTransform(0.0, 3.0, 1)],
            0,
            [1, 3],
        ),
        lambda: tt.CatTransform(
            [tt.IndependentTransform(tt.ExpTransform(), 1), tt.AffineTransform(0.0, 3.0, 1)],
            0,
            [1, 3],
        ),
        lambda: _randn(4, 3),
    ),
    (
        "stack",
        lambda: T.StackTransform([T.ExpTransform(), T.TanhTransform(), T.SoftplusTransform()], -1),
        lambda: tt.StackTransform(
            [tt.ExpTransform(), tt.TanhTransform(), tt.SoftplusTransform()], -1
        ),
        lambda: _randn(4, 3) / 2,
    ),
    (
        "stack_dim0",
        lambda: T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], 0),
        lambda: tt.StackTransform([tt.ExpTransform(), tt.SigmoidTransform()], 0),
        lambda: _randn(2, 4),
    ),
    (
        "cdf_normal",
        lambda: T.CumulativeDistributionTransform(rsample.Normal(_LOC, _SCALE)),
        lambda: tt.CumulativeDistributionTransform(td.Normal(_LOC, _SCALE)),
        lambda: _randn(4, 3),
    ),
    (
        "inv_stick_breaking",
        lambda: T.StickBreakingTransform().inv,
        lambda: tt.StickBreakingTransform().inv,
        _simplex,
    ),
    (
        "inv_corr_cholesky",
        lambda: T.CorrCholeskyTransform().inv,
        lambda: tt.CorrCholeskyTransform().inv,
        lambda: tt.CorrCholeskyTransform()(_randn(4, 6)),
    ),
]
_LOC = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
_SCALE = torch.tensor([1.0, 0.5, 3.0], dtype=F64)
IDS = [c[0] for c in CASES]
BIJECTIVE = [c for c in CASES if c[1]().bijective]
BIJECTIVE_IDS = [c[0] for c in BIJECTIVE]


def _square_coordinates(t, x: torch.Tensor) -> torch.Tensor:
    """The coordinates of ``t(x)`` in which the log-det convention measures the Jacobian."""
    y = t(x)
    if isinstance(t, T.StickBreakingTransform):
        return y[..., :-1]  # the first K − 1 pieces
    if isinstance(t, T.CorrCholeskyTransform):
        rows, cols = torch.tril_indices(y.shape[-1], y.shape[-1], -1)
        return y[..., rows, cols]  # the strict lower triangle
    return y


def _autograd_total_log_det(t, x: torch.Tensor) -> torch.Tensor:
    """log|det| of the Jacobian of the whole (flattened) map: the sum of all events' log-dets."""
    if isinstance(t, _InverseTransform):
        # The inverse of a dimension-changing map: −log-det of the forward at x = t(y).
        return -_autograd_total_log_det(t._inv, t(x))
    flat = x.reshape(-1)
    jac = torch.autograd.functional.jacobian(
        lambda v: _square_coordinates(t, v.reshape(x.shape)).reshape(-1), flat
    )
    return torch.linalg.slogdet(jac).logabsdet


# ----------------------------------------------------------------- generic properties
@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_matches_torch(name, make, make_torch, domain):
    t, ref, x = make(), make_torch(), domain()
    assert isinstance(t, tt.Transform) and isinstance(t, T.Transform)
    assert t.bijective == ref.bijective
    assert t.domain.event_dim == ref.domain.event_dim
    assert t.codomain.event_dim == ref.codomain.event_dim
    assert type(t.domain) is type(ref.domain) and type(t.codomain) is type(ref.codomain)
    y = t(x)
    assert y.shape == t.forward_shape(x.shape) == ref.forward_shape(x.shape)
    assert t.inverse_shape(y.shape) == ref.inverse_shape(y.shape) == x.shape
    torch.testing.assert_close(y, ref(x), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(t.inv(y), ref.inv(y), rtol=1e-12, atol=1e-13)
    if t.bijective:
        expected = ref.log_abs_det_jacobian(x, ref(x))
        torch.testing.assert_close(t.log_abs_det_jacobian(x, y), expected, rtol=1e-12, atol=1e-13)
        torch.testing.assert_close(t.forward_and_log_det(x)[1], expected, rtol=1e-12, atol=1e-13)
    else:
        with pytest.raises(NotImplementedError):
            ref.log_abs_det_jacobian(x, y)
        with pytest.raises(NotImplementedError):
            t.log_abs_det_jacobian(x, y)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), BIJECTIVE, ids=BIJECTIVE_IDS)
def test_round_trip(name, make, make_torch, domain):
    t, x = make(), domain()
    torch.testing.assert_close(t.inv(t(x)), x, rtol=1e-12, atol=1e-12)
    y = t(x)
    torch.testing.assert_close(t(t.inv(y)), y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), BIJECTIVE, ids=BIJECTIVE_IDS)
def test_log_det_matches_autograd(name, make, make_torch, domain):
    t, x = make(), domain()
    expected = _autograd_total_log_det(t, x)
    y, log_det = t.forward_and_log_det(x)
    torch.testing.assert_close(log_det.sum(), expected, rtol=1e-11, atol=1e-11)
    torch.testing.assert_close(t.log_abs_det_jacobian(x, y).sum(), expected, rtol=1e-11, atol=1e-11)
    torch.testing.assert_close(y, t(x), rtol=0, atol=0)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_batch_shapes(name, make, make_torch, domain):
    t, x = make(), domain()
    if name.startswith(("cat_batch", "stack_dim0")):  # the split dim is a batch dim
        return
    big = torch.stack([x, x.flip(0)])  # one more batch dim
    y = t(big)
    assert y.shape == t.forward_shape(big.shape)
    torch.testing.assert_close(y[1], t(big[1]), rtol=0, atol=0)
    if t.bijective:
        log_det = t.log_abs_det_jacobian(big, y)
        assert log_det.shape[0] == 2
        torch.testing.assert_close(log_det[1], t.log_abs_det_jacobian(big[1], y[1]))


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_cache_pickle_and_inverse_identity(name, make, make_torch, domain):
    t, x = make().with_cache(1), domain()
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    assert t.inv.inv is t and t.inv is t.inv
    assert t.with_cache(1) is t and make().with_cache(0)._cache_size == 0
    xg = x.clone().requires_grad_()
    t(xg * 1.0)  # the cache now holds tensors with an autograd graph
    for clone in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        torch.testing.assert_close(clone(x), y, rtol=1e-15, atol=0)
        torch.testing.assert_close(clone.inv(y), t.inv(y.clone()), rtol=1e-15, atol=0)
    inv = pickle.loads(pickle.dumps(t.inv))
    torch.testing.assert_close(inv(y), t.inv(y.clone()), rtol=1e-15, atol=0)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_equality(name, make, make_torch, domain):
    t = make()
    assert t == t and (t != t) is False
    assert t != make_torch()  # rsample's and torch's are different classes, as in torch
    assert t.inv == t.inv
    assert t != T.ExpTransform()
    if not name.startswith("cdf"):
        assert t == make()  # structural, where torch's Cat/Stack/Reshape/CorrCholesky compare `is`


def test_equality_of_parameterized_functors():
    assert T.ReshapeTransform((6,), (2, 3)) != T.ReshapeTransform((6,), (3, 2))
    parts = [T.ExpTransform(), T.SigmoidTransform()]
    assert T.CatTransform(parts, 0, [1, 2]) != T.CatTransform(parts, 0, [2, 1])
    assert T.CatTransform(parts, 0) != T.CatTransform(parts, 1)
    assert T.StackTransform(parts, 0) != T.StackTransform(parts[::-1], 0)
    normal = rsample.Normal(0.0, 1.0)
    assert T.CumulativeDistributionTransform(normal) == T.CumulativeDistributionTransform(normal)
    assert T.CumulativeDistributionTransform(normal) != T.CumulativeDistributionTransform(
        rsample.Normal(0.0, 1.0)
    )


def test_exports():
    names = {
        "StickBreakingTransform", "SoftmaxTransform", "LowerCholeskyTransform",
        "PositiveDefiniteTransform", "CorrCholeskyTransform", "CatTransform", "StackTransform",
        "ReshapeTransform", "CumulativeDistributionTransform",
    }  # fmt: skip
    assert names <= set(T.__all__) <= set(tt.__all__) | {"Transform"}
    for name in names:
        assert issubclass(getattr(T, name), tt.Transform)


# ----------------------------------------------------------------- StickBreaking
def test_stick_breaking_extreme_inputs_float64():
    t = T.StickBreakingTransform()
    x = torch.tensor(
        [[30.0, -30.0, 30.0, -30.0], [30.0] * 4, [-30.0] * 4, [-30.0, 30.0, -5.0, 12.0]], dtype=F64
    )
    y, log_det = t.forward_and_log_det(x)
    assert constraints.simplex.check(y).all() and (y > 0).all()
    torch.testing.assert_close(t.inv(y), x, rtol=1e-12, atol=1e-12)
    # autograd's σ' = σ(1 − σ) cancels here, so the reference is the triangular Jacobian's
    # diagonal z_k (1 − z_k) Π_{j<k} (1 − z_j) in 50-digit arithmetic
    torch.testing.assert_close(log_det, _mp_stick_log_det(x), rtol=1e-14, atol=0)
    # exact values of the first and last pieces: σ(u₁) and Π σ(−u_k), u_k = x_k − log(K − k)
    u = x - torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=F64).log()
    torch.testing.assert_close(y[:, 0], torch.sigmoid(u[:, 0]), rtol=1e-15, atol=0)
    torch.testing.assert_close(y[:, -1], torch.sigmoid(-u).prod(-1), rtol=1e-14, atol=0)


def _autograd_log_dets(t, x):
    return torch.stack([_autograd_total_log_det(t, row) for row in x])


def _mp_stick_log_det(x: torch.Tensor) -> torch.Tensor:
    out = []
    with mpmath.workdps(50):
        for row in x.tolist():
            k_total = len(row) + 1
            z = [1 / (1 + mpmath.exp(-(mpmath.mpf(v) - mpmath.log(k_total - 1 - k))))
                 for k, v in enumerate(row)]  # fmt: skip
            total, stick = mpmath.mpf(0), mpmath.mpf(1)
            for zk in z:
                total += mpmath.log(zk * (1 - zk) * stick)
                stick *= 1 - zk
            out.append(float(total))
    return torch.tensor(out, dtype=F64)


def _mp_corr_log_det(x: torch.Tensor, d: int) -> torch.Tensor:
    """log of the triangular Jacobian's diagonal, sech²(x_ij) Π_{k<j} sech(x_ik), in mpmath."""
    rows, cols = torch.tril_indices(d, d, -1).tolist()
    out = []
    with mpmath.workdps(50):
        for vec in x.tolist():
            total, stick = mpmath.mpf(0), {}
            for i, _, v in zip(rows, cols, vec):
                before = stick.get(i, mpmath.mpf(1))
                total += mpmath.log(mpmath.sech(v) ** 2 * before)
                stick[i] = before * mpmath.sech(v)
            out.append(float(total))
    return torch.tensor(out, dtype=F64)


@pytest.mark.parametrize(("dtype", "small"), [(F64, 1e-300), (torch.float32, 1e-30)])
def test_stick_breaking_inverse_of_tiny_components(dtype, small):
    t = T.StickBreakingTransform()
    y = torch.tensor(
        [
            [small, 0.5, 0.5 - 2 * small, small],
            [0.5, small, small, 0.5 - 2 * small],
            [1 - 3 * small, small, small, small],  # 1 − 3·small rounds to 1
            [small, small, small, 1 - 3 * small],
        ],
        dtype=dtype,
    )
    x = t.inv(y)
    assert torch.isfinite(x).all()
    # each piece comes back to a relative 1e-12 (float64), tiny ones included
    rtol = 1e-12 if dtype == F64 else 1e-5
    torch.testing.assert_close(t(x), y, rtol=rtol, atol=0)
    # x_k = log y_k − log(y_{k+1} + … + y_K) + log(K − k), from the suffix sums
    ref = y.double()
    rest = ref.flip(-1).cumsum(-1).flip(-1)[:, 1:]
    expected = ref[:, :-1].log() - rest.log() + torch.tensor([3.0, 2.0, 1.0], dtype=F64).log()
    eps = torch.finfo(dtype).eps  # absolute: each log term carries eps·|log y| ≤ 700·eps
    torch.testing.assert_close(x.double(), expected, rtol=4 * eps, atol=4 * eps * 700)


def test_stick_breaking_inverse_beats_one_minus_cumsum():
    # y₁ rounds to 1: 1 − cumsum(y) is 0 and torch's inverse saturates; suffix sums are exact.
    y = torch.tensor([1.0, 1e-20, 2e-20], dtype=F64)
    x = T.StickBreakingTransform().inv(y)
    expected = [math.log(2) - math.log(3e-20), math.log(1e-20) - math.log(2e-20)]
    torch.testing.assert_close(x, torch.tensor(expected, dtype=F64), rtol=1e-15, atol=0)
    assert tt.StickBreakingTransform().inv(y)[0] > 700  # torch: log(1/tiny)


@pytest.mark.parametrize("value", [30.0, 100.0, 1e4])
def test_stick_breaking_float32_extremes_are_finite(value):
    t = T.StickBreakingTransform()
    x = torch.tensor([[value, -value, value], [-value] * 3, [value] * 3], dtype=torch.float32)
    x = x.requires_grad_()
    y, log_det = t.forward_and_log_det(x)
    assert constraints.simplex.check(y).all()
    assert torch.isfinite(log_det).all() and torch.isfinite(t.inv(y)).all()
    (grad,) = torch.autograd.grad(log_det.sum() + y.sum(), x)
    assert torch.isfinite(grad).all()


def test_stick_breaking_gradcheck():
    t = T.StickBreakingTransform()
    x = _randn(3, 4).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: t.forward_and_log_det(v), (x,))
    y = _simplex((3, 5)).requires_grad_()
    assert torch.autograd.gradcheck(t.inv, (y,))


def test_stick_breaking_zero_input_is_uniform():
    y = T.StickBreakingTransform()(torch.zeros(2, 4, dtype=F64))
    torch.testing.assert_close(y, torch.full((2, 5), 0.2, dtype=F64), rtol=1e-15, atol=0)
    assert T.StickBreakingTransform()(torch.zeros(0, dtype=F64)).tolist() == [1.0]


def test_stick_breaking_shape_errors():
    with pytest.raises(ValueError, match="Too few dimensions"):
        T.StickBreakingTransform().forward_shape(())


# ----------------------------------------------------------------- Softmax
def test_softmax_right_inverse_and_zero_components():
    t = T.SoftmaxTransform()
    y = _simplex()
    torch.testing.assert_close(t(t.inv(y)), y, rtol=1e-14, atol=0)
    edge = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float32)
    assert torch.isfinite(t.inv(edge)).all()  # torch: log 0 = −inf
    torch.testing.assert_close(t(t.inv(edge)), edge, rtol=0, atol=1e-30)
    x = torch.tensor([[-1e4, 0.0, 1e4]], dtype=torch.float32)
    assert torch.isfinite(t(x)).all() and constraints.simplex.check(t(x)).all()
    assert not t.bijective


# ----------------------------------------------------------------- Cholesky factors
def test_lower_cholesky_and_positive_definite_right_inverses():
    lower, pd = T.LowerCholeskyTransform(), T.PositiveDefiniteTransform()
    factor, spd, x = _cholesky_factor(), _spd(), _square()
    torch.testing.assert_close(lower(lower.inv(factor)), factor, rtol=1e-14, atol=0)
    torch.testing.assert_close(lower.inv(lower(x)), x.tril(), rtol=1e-14, atol=0)
    torch.testing.assert_close(pd(pd.inv(spd)), spd, rtol=1e-12, atol=1e-14)
    assert constraints.lower_cholesky.check(lower(x)).all()
    assert constraints.positive_definite.check(pd(x)).all()
    assert not lower.bijective and not pd.bijective


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_lower_cholesky_float32_extremes(dtype):
    t = T.LowerCholeskyTransform()
    x = torch.tensor([[30.0, 5.0], [-30.0, -30.0]], dtype=dtype)
    y = t(x)
    assert torch.isfinite(y).all() and constraints.lower_cholesky.check(y).all()
    torch.testing.assert_close(t.inv(y), x.tril(), rtol=4 * torch.finfo(dtype).eps, atol=0)


# ----------------------------------------------------------------- CorrCholesky
def _corr_log_det_reference(x: torch.Tensor, d: int) -> torch.Tensor:
    """Σ (i + 1 − k) log sech x_ik, in mpmath-free double: log sech via log1p, no tanh."""
    rows, cols = torch.tril_indices(d, d, -1)
    log_sech = math.log(2) - x.abs() - torch.log1p(torch.exp(-2 * x.abs()))
    return (log_sech * (rows + 1 - cols)).sum(-1)


@pytest.mark.parametrize("scale", [1.0, 10.0, 30.0])
def test_corr_cholesky_large_inputs_float64(scale):
    t = T.CorrCholeskyTransform()
    x = _randn(3, 10, scale=scale, seed=1)
    x[0] = scale * torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0, -1.0])
    y, log_det = t.forward_and_log_det(x)
    assert constraints.corr_cholesky.check(y).all()
    torch.testing.assert_close(t.inv(y), x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(log_det, _corr_log_det_reference(x, 5), rtol=1e-14, atol=0)
    torch.testing.assert_close(log_det, _mp_corr_log_det(x, 5), rtol=1e-14, atol=0)
    if scale == 1.0:  # beyond, autograd's tanh' = 1 − tanh² cancels
        torch.testing.assert_close(log_det, _autograd_log_dets(t, x), rtol=1e-11, atol=1e-11)
    # the diagonal is the product of sech: exact where torch's clipped tanh is not
    torch.testing.assert_close(
        y[..., 1, 1], 1 / torch.cosh(x[..., 0]), rtol=1e-14 * (1 + scale), atol=0
    )


def test_corr_cholesky_inverse_with_tiny_and_zero_entries():
    t = T.CorrCholeskyTransform()
    x = torch.tensor([[200.0, -200.0, 200.0, 0.0, -300.0, 250.0]], dtype=F64)
    y = t(x)  # entries ~1e-87 … 1e-200: their squares underflow
    assert (y.diagonal(dim1=-2, dim2=-1) > 0).all()
    torch.testing.assert_close(t.inv(y), x, rtol=1e-13, atol=1e-13)
    identity = torch.eye(4, dtype=F64, requires_grad=True)
    x0 = t.inv(identity)
    assert (x0 == 0).all()
    (grad,) = torch.autograd.grad(x0.sum(), identity)
    rows, cols = torch.tril_indices(4, 4, -1)
    expected = torch.zeros(4, 4, dtype=F64)
    expected[rows, cols] = 1.0  # d asinh(y/q)/dy = 1/q = 1 at the identity
    torch.testing.assert_close(grad, expected, rtol=0, atol=0)


@pytest.mark.parametrize("value", [10.0, 30.0, 100.0, 1e4])
def test_corr_cholesky_float32_extremes_are_finite(value):
    t = T.CorrCholeskyTransform()
    signs = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
    x = (value * signs).reshape(1, 10).float().requires_grad_()
    y, log_det = t.forward_and_log_det(x)
    assert constraints.corr_cholesky.check(y).all()
    assert torch.isfinite(log_det).all() and torch.isfinite(t.inv(y)).all()
    (grad,) = torch.autograd.grad(log_det.sum() + y.sum(), x)
    assert torch.isfinite(grad).all()
    y = y.detach().requires_grad_()
    (grad,) = torch.autograd.grad(t.inv(y).sum(), y)
    assert torch.isfinite(grad).all()
    ref = _corr_log_det_reference(x.detach().double(), 5)
    torch.testing.assert_close(log_det.double(), ref, rtol=1e-6, atol=0)


def test_corr_cholesky_gradcheck():
    t = T.CorrCholeskyTransform()
    x = _randn(2, 6).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: t.forward_and_log_det(v), (x,))
    y = t(_randn(2, 6, seed=3)).requires_grad_()
    assert torch.autograd.gradcheck(t.inv, (y,))


def test_corr_cholesky_shape_errors():
    t = T.CorrCholeskyTransform()
    with pytest.raises(ValueError, match="D\\(D-1\\)/2"):
        t(torch.zeros(4))
    with pytest.raises(ValueError, match="not square"):
        t.inverse_shape((3, 4))
    assert t.forward_shape((7, 6)) == (7, 4, 4) and t.inverse_shape((7, 4, 4)) == (7, 6)


# ----------------------------------------------------------------- Reshape, Cat, Stack, CDF
def test_reshape_shapes_and_errors():
    t = T.ReshapeTransform((2, 3), (6,))
    assert t.forward_shape((5, 2, 3)) == (5, 6) and t.inverse_shape((5, 6)) == (5, 2, 3)
    assert t.domain.event_dim == 2 and t.codomain.event_dim == 1
    with pytest.raises(ValueError, match="different numbers"):
        T.ReshapeTransform((2, 3), (5,))
    with pytest.raises(ValueError, match="ending in"):
        t.forward_shape((5, 3, 2))


def test_cat_and_stack_errors_and_caching_of_parts():
    with pytest.raises(TypeError, match="Transform"):
        T.CatTransform([T.ExpTransform(), "exp"])
    with pytest.raises(ValueError, match="lengths"):
        T.CatTransform([T.ExpTransform()], 0, [1, 2])
    cat = T.CatTransform([T.ExpTransform(), T.ExpTransform()], 0, [1, 2])
    with pytest.raises(ValueError, match="lengths sum to 3"):
        cat(torch.zeros(4))
    with pytest.raises(ValueError, match="out of range"):
        T.StackTransform([T.ExpTransform()], 2)(torch.zeros(1, 3))
    cached = cat.with_cache(1)
    assert all(p._cache_size == 1 for p in cached.transforms) and cached.lengths == [1, 2]
    stack = T.StackTransform([tt.ExpTransform(), T.ExpTransform()], 1).with_cache(1)
    assert stack.dim == 1 and all(p._cache_size == 1 for p in stack.transforms)


def test_cdf_transform_domain_and_copula():
    normal = rsample.Normal(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64))
    t = T.CumulativeDistributionTransform(normal)
    assert t.domain is normal.support and t.codomain is constraints.unit_interval and t.sign == 1
    u = _unit((5,))
    torch.testing.assert_close(t(t.inv(u)), u, rtol=1e-13, atol=0)
    scale_tril = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=F64)
    base = rsample.MultivariateNormal(torch.zeros(2, dtype=F64), scale_tril=scale_tril)
    copula = rsample.TransformedDistribution(base, [t])
    ref = td.TransformedDistribution(
        td.MultivariateNormal(torch.zeros(2, dtype=F64), scale_tril=scale_tril),
        [tt.CumulativeDistributionTransform(td.Normal(0.0, 1.0))],
    )
    value = torch.tensor([[0.3, 0.7], [0.9, 0.85]], dtype=F64)
    torch.testing.assert_close(copula.log_prob(value), ref.log_prob(value), rtol=1e-12, atol=0)


# ----------------------------------------------------------------- inside distributions
@pytest.mark.parametrize("wrapper", ["rsample", "torch"])
def test_stick_breaking_logistic_normal(wrapper):
    k = 5
    loc, scale = _randn(k - 1), _randn(k - 1).exp()
    ours = (rsample if wrapper == "rsample" else td).TransformedDistribution(
        rsample.Independent(rsample.Normal(loc, scale), 1), T.StickBreakingTransform()
    )
    ref = td.TransformedDistribution(
        td.Independent(td.Normal(loc, scale), 1), tt.StickBreakingTransform()
    )
    assert ours.event_shape == ref.event_shape == (k,)
    torch.manual_seed(0)
    y = ours.rsample((6,))
    assert constraints.simplex.check(y).all()
    log_p = ours.log_prob(y)
    assert torch.isfinite(log_p).all()
    torch.testing.assert_close(log_p, ref.log_prob(y), rtol=1e-11, atol=1e-11)
    if wrapper == "rsample":
        y2, log_p2 = ours.rsample_and_log_prob((6,))
        torch.testing.assert_close(log_p2, ours.log_prob(y2), rtol=1e-12, atol=1e-12)


def test_corr_cholesky_distribution_matches_torch():
    base = rsample.Independent(rsample.Normal(_randn(6), _randn(6).exp()), 1)
    ours = rsample.TransformedDistribution(base, [T.CorrCholeskyTransform()])
    ref = td.TransformedDistribution(
        td.Independent(td.Normal(base.base_dist.loc, base.base_dist.scale), 1),
        [tt.CorrCholeskyTransform()],
    )
    assert ours.event_shape == ref.event_shape == (4, 4)
    y = ours.sample((5,), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(ours.log_prob(y), ref.log_prob(y), rtol=1e-10, atol=1e-10)
    torch_wrapped = td.TransformedDistribution(base, [T.CorrCholeskyTransform()])
    torch.testing.assert_close(torch_wrapped.log_prob(y), ref.log_prob(y), rtol=1e-10, atol=1e-10)


def test_reshape_inside_distribution():
    base = rsample.Normal(torch.zeros(6, dtype=F64), torch.ones(6, dtype=F64))
    d = rsample.TransformedDistribution(base, [T.ReshapeTransform((6,), (2, 3))])
    assert d.event_shape == (2, 3) and d.batch_shape == ()
    y = d.rsample((4,))
    assert y.shape == (4, 2, 3)
    torch.testing.assert_close(d.log_prob(y), base.log_prob(y.reshape(4, 6)).sum(-1))


@pytest.mark.parametrize(
    "make", [T.StickBreakingTransform, T.CorrCholeskyTransform], ids=["stick", "corr"]
)
def test_vmap(make):
    t, x = make(), _randn(3, 6)
    y, log_det = t.forward_and_log_det(x)
    torch.testing.assert_close(torch.func.vmap(t)(x), y, rtol=0, atol=0)
    torch.testing.assert_close(torch.func.vmap(t.inv)(y), t.inv(y), rtol=0, atol=0)
    vmapped = torch.func.vmap(lambda v: t.forward_and_log_det(v)[1])(x)
    torch.testing.assert_close(vmapped, log_det, rtol=0, atol=0)
