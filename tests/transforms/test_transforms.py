"""rsample.transforms: round trips, log-determinants against autograd and torch, extremes."""

from __future__ import annotations

import copy
import math
import pickle
import weakref

import numpy as np
import pytest
import torch
import torch.distributions.transforms as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import constraints

import rsample
from rsample import transforms as T
from rsample.special import clamp_open_unit as clamp_to_open_unit

F64 = torch.float64
ALL_FLOATS = [torch.float64, torch.float32, torch.bfloat16, torch.float16]


def _real(shape=(4, 3)):
    g = torch.Generator().manual_seed(0)
    return 2.0 * torch.randn(shape, dtype=F64, generator=g)


def _positive(shape=(4, 3)):
    return _real(shape).exp()


def _unit(shape=(4, 3)):
    return torch.sigmoid(_real(shape))


def _open_pm1(shape=(4, 3)):
    return torch.tanh(0.7 * _real(shape))


_VEC = torch.tensor([0.5, -1.5, 3.0], dtype=F64)
_LOC = torch.tensor([1.0, -2.0, 0.25], dtype=F64)

# (id, rsample factory, torch factory, domain sampler)
CASES = [
    ("exp", lambda: T.ExpTransform(), lambda: tt.ExpTransform(), _real),
    ("sigmoid", lambda: T.SigmoidTransform(), lambda: tt.SigmoidTransform(), _real),
    ("tanh", lambda: T.TanhTransform(), lambda: tt.TanhTransform(), _real),
    ("softplus", lambda: T.SoftplusTransform(), lambda: tt.SoftplusTransform(), _real),
    # torch stores a number exponent in float32, where 1/2.5 is off by 1.5e-8: give it float64.
    (
        "power",
        lambda: T.PowerTransform(2.5),
        lambda: tt.PowerTransform(torch.tensor(2.5, dtype=F64)),
        _positive,
    ),
    (
        "power_tensor",
        lambda: T.PowerTransform(_VEC),
        lambda: tt.PowerTransform(_VEC),
        _positive,
    ),
    ("affine", lambda: T.AffineTransform(1.5, -2.0), lambda: tt.AffineTransform(1.5, -2.0), _real),
    (
        "affine_tensor",
        lambda: T.AffineTransform(_LOC, _VEC),
        lambda: tt.AffineTransform(_LOC, _VEC),
        _real,
    ),
    (
        "affine_event",
        lambda: T.AffineTransform(_LOC, _VEC, event_dim=1),
        lambda: tt.AffineTransform(_LOC, _VEC, event_dim=1),
        _real,
    ),
    (
        "compose",
        lambda: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.TanhTransform()]),
        lambda: tt.ComposeTransform([tt.AffineTransform(0.5, 2.0), tt.TanhTransform()]),
        lambda: 0.3 * _real(),  # tanh saturates beyond: inverting it is ill-conditioned
    ),
    (
        "compose_event",
        lambda: T.ComposeTransform([T.ExpTransform(), T.AffineTransform(0.0, _VEC, event_dim=1)]),
        lambda: tt.ComposeTransform(
            [tt.ExpTransform(), tt.AffineTransform(0.0, _VEC, event_dim=1)]
        ),
        _real,
    ),
    (
        "independent",
        lambda: T.IndependentTransform(T.SigmoidTransform(), 1),
        lambda: tt.IndependentTransform(tt.SigmoidTransform(), 1),
        _real,
    ),
    ("inv_sigmoid", lambda: T.SigmoidTransform().inv, lambda: tt.SigmoidTransform().inv, _unit),
    ("inv_tanh", lambda: T.TanhTransform().inv, lambda: tt.TanhTransform().inv, _open_pm1),
    (
        "inv_softplus",
        lambda: T.SoftplusTransform().inv,
        lambda: tt.SoftplusTransform().inv,
        _positive,
    ),
    ("identity", lambda: T.identity_transform, lambda: tt.identity_transform, _real),
]
IDS = [c[0] for c in CASES]


def _autograd_log_det(t, x: torch.Tensor) -> torch.Tensor:
    """log|det J| per event from the full Jacobian (elementwise or event_dim 1)."""
    if t.domain.event_dim == 0:
        jac = torch.autograd.functional.jacobian(
            lambda v: t(v.reshape(x.shape)).reshape(-1), x.reshape(-1)
        )
        off_diagonal = jac - torch.diag(jac.diagonal())
        assert off_diagonal.abs().max() == 0
        return jac.diagonal().abs().log().reshape(x.shape)
    assert t.domain.event_dim == 1
    rows = [torch.autograd.functional.jacobian(t, row) for row in x]
    return torch.stack([torch.linalg.slogdet(j).logabsdet for j in rows])


# ----------------------------------------------------------------- generic properties
@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_round_trip(name, make, make_torch, domain):
    t, x = make(), domain()
    torch.testing.assert_close(t.inv(t(x)), x, rtol=1e-12, atol=1e-12)
    y = t(x)
    torch.testing.assert_close(t(t.inv(y)), y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_log_det_matches_autograd(name, make, make_torch, domain):
    t, x = make(), domain()
    expected = _autograd_log_det(t, x)
    torch.testing.assert_close(t.log_abs_det_jacobian(x, t(x)), expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(t.forward_and_log_det(x)[1], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_forward_and_log_det_is_consistent(name, make, make_torch, domain):
    t, x = make(), domain()
    y, log_det = t.forward_and_log_det(x)
    torch.testing.assert_close(y, t(x), rtol=1e-15, atol=0)
    torch.testing.assert_close(log_det, t.log_abs_det_jacobian(x, y), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_matches_torch(name, make, make_torch, domain):
    t, ref, x = make(), make_torch(), domain()
    assert t.domain.event_dim == ref.domain.event_dim
    assert t.codomain.event_dim == ref.codomain.event_dim
    assert t.bijective == ref.bijective
    assert t.forward_shape(x.shape) == ref.forward_shape(x.shape)
    assert t.inverse_shape(x.shape) == ref.inverse_shape(x.shape)
    y = t(x)
    # torch's softplus is linear above 20 (relative error ≤ e^-20/20 ≈ 1e-10): allow for it.
    torch.testing.assert_close(y, ref(x), rtol=1e-10, atol=0)
    torch.testing.assert_close(t.inv(y), ref.inv(y), rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(
        t.log_abs_det_jacobian(x, y), ref.log_abs_det_jacobian(x, y), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_inverse_of_inverse_is_self(name, make, make_torch, domain):
    t = make()
    assert t.inv.inv is t
    assert t.inv is t.inv
    assert isinstance(t, tt.Transform) and isinstance(t.inv, tt.Transform)
    assert t.inv.domain.event_dim == t.codomain.event_dim


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_pickle_and_deepcopy(name, make, make_torch, domain):
    t, x = make().with_cache(1), domain().requires_grad_()
    y = t(x * 1.0)  # the cache now holds tensors with an autograd graph
    for clone in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        torch.testing.assert_close(clone(x.detach()), y.detach())
        torch.testing.assert_close(clone.inv(y.detach()), x.detach(), rtol=1e-12, atol=1e-12)
    inv = pickle.loads(pickle.dumps(t.inv))
    torch.testing.assert_close(inv(y.detach()), x.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "make", "make_torch", "domain"), CASES, ids=IDS)
def test_cache(name, make, make_torch, domain):
    t, x = make().with_cache(1), domain()
    y = t(x)
    assert t(x) is y
    assert t.inv(y) is x
    assert t.forward_and_log_det(x)[0] is y
    uncached = make()
    assert uncached.with_cache(0) is uncached
    if name != "identity":  # the identity hands back its input, cached or not
        assert uncached.inv(uncached(x)) is not x


def _roundoff_bound(y: torch.Tensor, log_det: torch.Tensor) -> torch.Tensor:
    """How far x = f⁻¹(y) may move when y is rounded: a few ulps of y over |dy/dx|."""
    eps = torch.finfo(y.dtype).eps
    return 4 * eps * (y.abs() + torch.finfo(y.dtype).tiny) * torch.exp(-log_det) + 4 * eps


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-30.0, max_value=30.0, allow_nan=False))
def test_elementwise_round_trip_property(value):
    x = torch.tensor([value], dtype=F64)
    for t in (T.SigmoidTransform(), T.TanhTransform(), T.SoftplusTransform(), T.ExpTransform()):
        y, log_det = t.forward_and_log_det(x)
        assert torch.isfinite(log_det).all()
        assert ((t.inv(y) - x).abs() <= _roundoff_bound(y, log_det) * (1 + x.abs())).all()


# ----------------------------------------------------------------- Tanh
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("x", [-50.0, 50.0])
def test_tanh_log_det_extremes(dtype, x):
    t = T.TanhTransform()
    xt = torch.tensor([x], dtype=dtype, requires_grad=True)
    y, log_det = t.forward_and_log_det(xt)
    # log(1 − tanh²x) = log sech²x = 2(log 2 − |x| − log1p(e^{−2|x|})), evaluated in double.
    exact = 2 * (math.log(2) - abs(x) - math.log1p(math.exp(-2 * abs(x))))
    assert torch.isfinite(log_det).all()
    assert abs(log_det.item() - exact) <= 4 * torch.finfo(dtype).eps * abs(exact)
    torch.testing.assert_close(t.log_abs_det_jacobian(xt, y), log_det)
    (grad,) = torch.autograd.grad(log_det.sum(), xt)
    assert abs(grad.item() + 2 * math.tanh(x)) <= 1e-6  # d/dx log sech²x = −2 tanh x


@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_tanh_inverse_at_plus_minus_one_is_finite(dtype):
    y = torch.tensor([-1.0, 1.0], dtype=dtype)
    x = T.TanhTransform().inv(y)
    assert torch.isfinite(x).all()
    eps = torch.finfo(dtype).eps
    edge = 1 - eps / 2
    expected = 0.5 * math.log((1 + edge) / (1 - edge))
    torch.testing.assert_close(
        x.double(), torch.tensor([-expected, expected], dtype=F64), rtol=4 * eps, atol=0
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_inverse_gradient_at_boundary_is_finite(dtype):
    y = torch.tensor([-1.0, -0.5, 1.0], dtype=dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(T.TanhTransform().inv(y).sum(), y)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("dtype", ALL_FLOATS)
def test_clamp_to_open_unit_moves_only_the_endpoints(dtype):
    eps = torch.finfo(dtype).eps
    edge = 1 - eps / 2
    inside = torch.tensor([-edge, -0.5, 0.0, 0.25, edge], dtype=dtype)
    assert float(inside[-1]) == edge and float(inside[-1]) < 1  # exactly representable
    assert torch.equal(clamp_to_open_unit(inside), inside)
    outside = torch.tensor([-2.0, -1.0, 1.0, 3.0, math.inf], dtype=dtype)
    expected = torch.tensor([-edge, -edge, edge, edge, edge], dtype=dtype)
    assert torch.equal(clamp_to_open_unit(outside), expected)
    assert torch.isnan(clamp_to_open_unit(torch.tensor([math.nan], dtype=dtype))).all()


def test_tanh_inverse_accuracy_float64():
    values = [-0.999999999, -0.5, 1e-12, 0.3, 0.99999999]
    x = T.TanhTransform().inv(torch.tensor(values, dtype=F64))
    expected = torch.tensor([math.atanh(v) for v in values], dtype=F64)
    torch.testing.assert_close(x, expected, rtol=1e-14, atol=0)


# ----------------------------------------------------------------- Sigmoid
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_extremes(dtype):
    t = T.SigmoidTransform()
    x = torch.tensor([-1000.0, -100.0, 100.0, 1000.0], dtype=dtype)
    y, log_det = t.forward_and_log_det(x)
    assert ((y > 0) & (y < 1)).all()
    assert torch.isfinite(log_det).all()
    # log σ(x) + log σ(−x) = −|x| − 2 log1p(e^{−|x|}) = −|x| here to working precision.
    torch.testing.assert_close(log_det, -x.abs(), rtol=2 * torch.finfo(dtype).eps, atol=0)
    edge = 1 - torch.finfo(dtype).eps / 2
    u = t.inv(torch.tensor([0.0, 1.0, edge], dtype=dtype))
    assert torch.isfinite(u).all()
    assert u[0] < 0 < u[1] and u[1] == u[2]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_forward_matches_torch_clipping(dtype):
    x = torch.linspace(-200, 200, 4001, dtype=dtype)
    assert torch.equal(T.SigmoidTransform()(x), tt.SigmoidTransform()(x))


# ----------------------------------------------------------------- Softplus
def test_softplus_accuracy_float64():
    values = np.array([-700.0, -50.0, -30.0, -1.0, 0.0, 1e-8, 1.0, 25.0, 30.0, 50.0, 700.0])
    x = torch.tensor(values, dtype=F64)
    t = T.SoftplusTransform()
    y, log_det = t.forward_and_log_det(x)
    np.testing.assert_allclose(y.numpy(), np.logaddexp(0.0, values), rtol=4e-16)
    np.testing.assert_allclose(log_det.numpy(), -np.logaddexp(0.0, -values), rtol=4e-16)
    # Near x = 0, y ≈ log 2 carries an absolute rounding error that no inverse can undo.
    bound = _roundoff_bound(y, log_det)
    assert ((t.inv(y) - x).abs() <= bound * (1 + x.abs())).all()


# ----------------------------------------------------------------- Power, Affine, Abs
def test_power_log_det_does_not_underflow():
    t = T.PowerTransform(3.0)
    x = torch.tensor([1e-200, 1e200], dtype=F64)
    expected = math.log(3.0) + 2 * torch.log(x)
    torch.testing.assert_close(t.log_abs_det_jacobian(x, t(x)), expected, rtol=1e-15, atol=0)
    torch.testing.assert_close(t.forward_and_log_det(x)[1], expected, rtol=1e-15, atol=0)


def test_affine_scalar_tensor_scale_with_event_dim_counts_every_element():
    x = torch.zeros(4, 3, dtype=F64)
    by_tensor = T.AffineTransform(0.0, torch.tensor(2.0, dtype=F64), event_dim=1)
    by_number = T.AffineTransform(0.0, 2.0, event_dim=1)
    expected = torch.full((4,), 3 * math.log(2.0), dtype=F64)
    torch.testing.assert_close(by_tensor.log_abs_det_jacobian(x, by_tensor(x)), expected)
    torch.testing.assert_close(by_number.log_abs_det_jacobian(x, by_number(x)), expected)
    torch.testing.assert_close(by_tensor.forward_and_log_det(x)[1], expected)


def test_affine_log_det_broadcasts_with_its_parameters():
    t = T.AffineTransform(torch.zeros(2, 1), torch.full((3,), 2.0))
    y, log_det = t.forward_and_log_det(torch.ones(3))
    assert y.shape == log_det.shape == (2, 3) == t.forward_shape((3,))
    torch.testing.assert_close(log_det, torch.full((2, 3), math.log(2.0)))
    assert T.AffineTransform(0.0, 0.0).forward_and_log_det(torch.ones(2))[1].eq(-math.inf).all()


def test_sign():
    assert T.AffineTransform(1.0, -2.0).sign == -1
    signs = T.AffineTransform(0.0, torch.tensor([-1.0, 2.0])).sign
    assert torch.equal(signs, torch.tensor([-1.0, 1.0]))
    assert T.ComposeTransform([T.AffineTransform(0.0, -1.0), T.ExpTransform()]).sign == -1
    assert T.AffineTransform(0.0, -3.0).inv.sign == -1
    assert torch.equal(T.PowerTransform(torch.tensor([-2.0, 0.5])).sign, torch.tensor([-1.0, 1.0]))
    with pytest.raises(NotImplementedError):
        _ = T.AbsTransform().sign


def test_abs_is_not_bijective():
    t = T.AbsTransform()
    x = torch.tensor([-2.0, 3.0])
    assert not t.bijective
    assert torch.equal(t(x), x.abs())
    y = t(x)
    assert torch.equal(t(t.inv(y)), y)
    with pytest.raises(NotImplementedError):
        t.log_abs_det_jacobian(x, y)
    with pytest.raises(NotImplementedError):
        t.forward_and_log_det(x)


def test_equality():
    assert T.ExpTransform() == T.ExpTransform()
    assert T.ExpTransform() != T.SigmoidTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, torch.tensor(2.0))
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.AffineTransform(0.0, torch.ones(2)) != T.AffineTransform(0.0, torch.ones(3))
    assert T.PowerTransform(2.0) == T.PowerTransform(torch.tensor(2.0))
    assert T.PowerTransform(2.0) != T.PowerTransform(3.0)
    assert T.TanhTransform().inv == T.TanhTransform().inv
    assert T.TanhTransform().inv != T.TanhTransform()
    parts = [T.ExpTransform(), T.AffineTransform(0.0, 2.0)]
    assert T.ComposeTransform(parts) == T.ComposeTransform(list(parts))
    assert T.IndependentTransform(T.ExpTransform(), 1) != T.IndependentTransform(
        T.ExpTransform(), 2
    )


def test_with_cache_keeps_parameters():
    power = T.PowerTransform(torch.tensor([2.0, 3.0])).with_cache(1)
    assert power._cache_size == 1 and torch.equal(power.exponent, torch.tensor([2.0, 3.0]))
    affine = T.AffineTransform(1.0, 2.0, event_dim=1).with_cache(1)
    assert affine.event_dim == 1 and affine.loc == 1.0 and affine.scale == 2.0
    compose = T.ComposeTransform([T.ExpTransform(), affine]).with_cache(1)
    assert all(p._cache_size == 1 for p in compose.parts)
    independent = T.IndependentTransform(T.ExpTransform(), 1).with_cache(1)
    assert independent.base_transform._cache_size == 1
    inverse = T.TanhTransform().inv.with_cache(1)
    assert inverse._cache_size == 1 and isinstance(inverse.inv, T.TanhTransform)
    with pytest.raises(ValueError, match="cache_size"):
        T.ExpTransform(cache_size=2)


def test_forward_holds_its_inverse_weakly():
    t = T.ExpTransform()
    inv = t.inv
    ref = weakref.ref(inv)
    del inv
    assert ref() is None  # no reference cycle: freed as soon as unused
    inv = T.ComposeTransform([T.ExpTransform()]).inv  # the inverse keeps its forward alive
    assert isinstance(inv.inv, T.ComposeTransform)
    assert inv.inv.inv is inv


# ----------------------------------------------------------------- Compose and Independent
_EVENT_CHAINS = [
    lambda m: [m.AffineTransform(0.0, _VEC, event_dim=1), m.ExpTransform()],
    lambda m: [m.ExpTransform(), m.IndependentTransform(m.TanhTransform(), 1)],
    lambda m: [
        m.IndependentTransform(m.ExpTransform(), 2),
        m.AffineTransform(0.0, _VEC, event_dim=1),
        m.SigmoidTransform(),
    ],
    lambda m: [m.SigmoidTransform(), m.SigmoidTransform().inv, m.AffineTransform(1.0, 2.0)],
]


@pytest.mark.parametrize("chain", _EVENT_CHAINS)
def test_compose_event_dim_bookkeeping_matches_torch(chain):
    ours, ref = T.ComposeTransform(chain(T)), tt.ComposeTransform(chain(tt))
    x = 0.3 * _real((5, 4, 3))  # keep tanh/sigmoid off saturation, where inversion is lossy
    assert ours.domain.event_dim == ref.domain.event_dim
    assert ours.codomain.event_dim == ref.codomain.event_dim
    y, log_det = ours.forward_and_log_det(x)
    expected = ref.log_abs_det_jacobian(x, ref(x))
    assert log_det.shape == expected.shape
    torch.testing.assert_close(y, ref(x), rtol=1e-14, atol=0)
    # torch's softplus inside its sigmoid log-det is linear above 20: an error up to e^-20.
    torch.testing.assert_close(log_det, expected, rtol=1e-12, atol=5e-9)
    torch.testing.assert_close(ours.log_abs_det_jacobian(x, y), log_det, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(ours.inv(y), x, rtol=1e-10, atol=1e-10)


def test_compose_accepts_torch_parts_and_torch_accepts_ours():
    x = _real()
    mixed = T.ComposeTransform([tt.ExpTransform(), T.AffineTransform(1.0, 2.0)])
    torch_mixed = tt.ComposeTransform([T.ExpTransform(), tt.AffineTransform(1.0, 2.0)])
    expected = x + math.log(2.0)
    torch.testing.assert_close(mixed.forward_and_log_det(x)[1], expected)
    torch.testing.assert_close(torch_mixed.log_abs_det_jacobian(x, torch_mixed(x)), expected)
    torch.testing.assert_close(torch_mixed.inv(torch_mixed(x)), x)


def test_identity_transform():
    x = _real()
    assert T.identity_transform(x) is x
    assert T.identity_transform.inv(x) is x
    assert torch.equal(T.identity_transform.forward_and_log_det(x)[1], torch.zeros_like(x))
    assert T.identity_transform.domain is constraints.real
    assert rsample.identity_transform is T.identity_transform


def test_independent_transform_sums_and_checks_dims():
    t = T.IndependentTransform(T.ExpTransform(), 2)
    x = _real((5, 4, 3))
    y, log_det = t.forward_and_log_det(x)
    torch.testing.assert_close(y, x.exp())
    torch.testing.assert_close(log_det, x.sum((-1, -2)))
    assert t.domain.event_dim == 2 and t.sign == 1 and t.bijective
    with pytest.raises(ValueError, match="fewer than its event_dim"):
        t(torch.zeros(3))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        T.IndependentTransform(T.ExpTransform(), -1)


def test_submodule_exports_torch_names():
    for name in set(tt.__all__) & set(T.__all__) - {"identity_transform"}:
        assert issubclass(getattr(T, name), tt.Transform)
    assert isinstance(T.identity_transform, T.ComposeTransform)
    expected = {
        "Transform", "ComposeTransform", "IndependentTransform", "AffineTransform",
        "ExpTransform", "SigmoidTransform", "TanhTransform", "SoftplusTransform",
        "PowerTransform", "AbsTransform", "identity_transform",
    }  # fmt: skip
    assert expected <= set(T.__all__)
    assert rsample.transforms is T and "transforms" in rsample.__all__
