"""rsample.LogisticNormal: an independent float64 density, torch interop, boundary, gradients."""

from __future__ import annotations

import copy
import io
import math
import pickle

import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import integrate, stats

import rsample
from rsample import LogisticNormal
from rsample.testing import assert_close, assert_pathwise_gradient

F64, F32 = torch.float64, torch.float32


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _reference_log_prob(y, loc, scale):
    r"""The change-of-variables density written out in numpy, float64.

    The stick-breaking inverse is :math:`x_k = \log y_k - \log\sum_{j>k} y_j + \log(K-k)`, and
    the Jacobian of :math:`x \mapsto (y_1, \dots, y_{K-1})` is lower triangular with diagonal
    :math:`y_k \sum_{j>k} y_j / \sum_{j\ge k} y_j`, whose product telescopes to
    :math:`\prod_{k=1}^{K} y_k` (with :math:`\sum_j y_j = 1`).
    """
    y = np.asarray(y, dtype=float)
    K = y.shape[-1]
    suffix = np.cumsum(y[..., ::-1], axis=-1)[..., ::-1]  # Σ_{j≥k} y_j
    x = np.log(y[..., :-1]) - np.log(suffix[..., 1:]) + np.log(np.arange(K - 1, 0, -1))
    log_normal = stats.norm(np.asarray(loc, float), np.asarray(scale, float)).logpdf(x)
    return log_normal.sum(-1) - np.log(y).sum(-1)


# --------------------------------------------------------------------- references
CASES = [
    ([0.0], [1.0]),
    ([0.3, -1.2], [0.7, 2.0]),
    ([2.0, -3.0, 0.5, 1.0], [1e-3, 5.0, 1.0, 0.3]),
    ([-30.0, 20.0, 0.0], [1.0, 2.0, 0.5]),
    ([45.0, 45.0, 45.0], [0.1, 0.1, 0.1]),
    ([-60.0, -60.0], [1e-6, 30.0]),
]


@pytest.mark.parametrize("loc,scale", CASES, ids=[str(len(c[0]) + 1) for c in CASES])
def test_log_prob_matches_change_of_variables_and_torch(loc, scale):
    """float64 against the density written out (rtol 1e-12) at draws, near-vertex points and
    the uniform point. Against torch: rtol 1e-10 on the moderate cases; elsewhere torch's
    inverse (``1 − cumsum(y)``, which cancels when the remaining stick is small) loses digits,
    and ours is never farther from the reference than torch's."""
    loc_t, scale_t = torch.tensor(loc, dtype=F64), torch.tensor(scale, dtype=F64)
    dist = LogisticNormal(loc_t, scale_t)
    K = len(loc) + 1
    assert dist.event_shape == (K,) and dist.batch_shape == ()
    draws = dist.sample((200,), generator=_gen(1))
    vertex = np.full(K, 1e-250)
    vertex[K // 2] = 1.0 - (K - 1) * 1e-250
    points = np.stack([np.full(K, 1.0 / K), vertex, np.linspace(1, 2 * K, K) / (K * (K * 2 + 1))])
    points[-1] /= points[-1].sum()
    for y in (draws, torch.tensor(points, dtype=F64)):
        assert_close(dist.log_prob(y), _reference_log_prob(y.numpy(), loc, scale), rtol=1e-12)
    ours, theirs = dist.log_prob(draws), td.LogisticNormal(loc_t, scale_t).log_prob(draws)
    if (loc, scale) in CASES[:2]:
        assert_close(ours, theirs, rtol=1e-10, label="torch")
    reference = _reference_log_prob(draws.numpy(), loc, scale)
    error_ours, error_torch = np.abs(ours.numpy() - reference), np.abs(theirs.numpy() - reference)
    finite = np.isfinite(error_torch)  # torch's clipping can leave the support entirely
    assert (error_ours[finite] <= error_torch[finite] + 1e-12 * np.abs(reference[finite])).all()


def test_matches_torch_in_structure():
    loc = torch.randn(4, 1, 3, dtype=F64, generator=_gen(0))
    scale = torch.rand(2, 3, dtype=F64, generator=_gen(1)) + 0.5
    ours, ref = LogisticNormal(loc, scale), td.LogisticNormal(loc, scale)
    assert ours.batch_shape == ref.batch_shape == (4, 2)
    assert ours.event_shape == ref.event_shape == (4,)
    assert torch.equal(ours.loc, ref.loc) and torch.equal(ours.scale, ref.scale)
    assert ours.support is td.constraints.simplex
    assert set(ours.arg_constraints) == set(ref.arg_constraints) == {"loc", "scale"}
    assert ours.has_rsample and ours.rsample_kind == "explicit"
    y = ref.sample((5,))
    assert_close(ours.log_prob(y), ref.log_prob(y), rtol=1e-10, label="log_prob")
    # Like torch: no closed-form moments or entropy.
    for name in ("mean", "variance"):
        with pytest.raises(NotImplementedError):
            getattr(ours, name)
        with pytest.raises(NotImplementedError):
            getattr(ref, name)
    with pytest.raises(NotImplementedError):
        ours.entropy()
    scalar = LogisticNormal(0.5, 2.0)  # scalars: a distribution on the 2-simplex, as in torch
    assert scalar.event_shape == td.LogisticNormal(0.5, 2.0).event_shape == (2,)
    assert scalar.loc.shape == (1,) and scalar.sample().shape == (2,)


def test_draws_match_torch_for_the_same_global_seed():
    loc, scale = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([1.0, 0.3], dtype=F64)
    torch.manual_seed(5)
    ref = td.LogisticNormal(loc, scale).rsample((6,))
    torch.manual_seed(5)
    assert_close(LogisticNormal(loc, scale).rsample((6,)), ref, rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------- near the boundary
@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_finite_near_the_simplex_boundary(dtype):
    """Draws pinned to vertices and faces (|loc| up to 60, scales 1e-6 … 30): the draws, their
    log-densities from the noise and by inversion, and log_prob at points with components down
    to the smallest normal number (or exactly 0, clamped as the inverse documents) are finite."""
    for loc, scale in CASES[3:]:
        dist = LogisticNormal(torch.tensor(loc, dtype=dtype), torch.tensor(scale, dtype=dtype))
        x, log_p = dist.rsample_and_log_prob((1000,), generator=_gen(2))
        assert torch.isfinite(x).all() and (x >= 0).all()
        assert ((x.sum(-1) - 1).abs() < 1e-5).all()
        assert torch.isfinite(log_p).all() and torch.isfinite(dist.log_prob(x)).all()
        K = len(loc) + 1
        tiny = torch.finfo(dtype).tiny
        for small in (tiny, 0.0):
            y = torch.full((K, K), small, dtype=dtype)
            y.diagonal().fill_(1.0)
            assert torch.isfinite(dist.log_prob(y)).all(), (loc, scale, small)


def test_float32_agrees_with_float64_where_representable():
    loc, scale = [-3.0, 4.0, 0.5], [0.5, 2.0, 1.0]
    d64 = LogisticNormal(torch.tensor(loc, dtype=F64), torch.tensor(scale, dtype=F64))
    d32 = LogisticNormal(torch.tensor(loc), torch.tensor(scale))
    y = d64.sample((500,), generator=_gen(3))
    y = y[(y > 1e-30).all(-1)].float()  # components representable in float32
    expected = d64.log_prob(y.double())
    assert_close(d32.log_prob(y), expected, rtol=1e-4, atol=1e-3, label="float32 log_prob")


# --------------------------------------------------------------------- gradients
def test_rsample_gradients_match_finite_differences_with_fixed_noise():
    """Explicit reparameterization: d/dθ Σ w·y(θ, ε) by autograd equals central differences of
    draws with the same generator state."""
    loc = torch.tensor([[0.3, -1.0, 2.0]], dtype=F64)
    scale = torch.tensor([[0.5, 1.5, 0.2]], dtype=F64)
    w = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=F64)

    def objective(loc, scale):
        y = LogisticNormal(loc, scale).rsample((64,), generator=_gen(4))
        return (torch.sin(3 * y) * w).sum()

    leaves = [loc.clone().requires_grad_(), scale.clone().requires_grad_()]
    grads = torch.autograd.grad(objective(*leaves), leaves)
    h = 1e-6
    for i, grad in enumerate(grads):
        for j in range(3):
            up, down = [loc.clone(), scale.clone()], [loc.clone(), scale.clone()]
            up[i][0, j] += h
            down[i][0, j] -= h
            numeric = (objective(*up) - objective(*down)) / (2 * h)
            assert_close(grad[0, j], numeric, rtol=1e-6, atol=1e-8, label=f"param {i}, {j}")


@pytest.mark.parametrize("fname", ["square", "log"])
def test_pathwise_gradient_matches_quadrature(fname):
    """K = 2: Y₁ = sigmoid(U), U ~ N(μ, σ²). E[f(Y₁)] by adaptive quadrature, its derivatives
    by central differences (rsample.testing.assert_pathwise_gradient)."""
    f_torch, f_np = {
        "square": (lambda y: y[..., 0].square(), lambda u: (1 / (1 + np.exp(-u))) ** 2),
        "log": (lambda y: y[..., 1].log(), lambda u: -np.logaddexp(0.0, u)),
    }[fname]

    def expectation(loc, scale):
        ref = stats.norm(loc, scale)
        value, _ = integrate.quad(
            lambda u: f_np(u) * ref.pdf(u), loc - 40 * scale, loc + 40 * scale, epsabs=1e-13
        )
        return value

    for point in ({"loc": 0.4, "scale": 1.3}, {"loc": -2.0, "scale": 0.3}):
        assert_pathwise_gradient(
            lambda loc, scale: LogisticNormal(loc.unsqueeze(-1), scale.unsqueeze(-1)),
            point,
            f_torch,
            expectation,
            n=50_000,
            seed=7,
            label=f"LogisticNormal E[{fname}]",
        )


# --------------------------------------------------------------------- shapes and randomness
def test_shapes_and_rsample_and_log_prob():
    loc = torch.zeros(2, 1, 3, dtype=F64, requires_grad=True)
    scale = torch.ones(4, 3, dtype=F64, requires_grad=True)
    dist = LogisticNormal(loc, scale)
    assert dist.batch_shape == (2, 4) and dist.event_shape == (4,)
    drawn = dist.sample((5, 6))
    assert drawn.shape == (5, 6, 2, 4, 4) and not drawn.requires_grad
    assert dist.log_prob(drawn).shape == (5, 6, 2, 4)
    assert dist.log_prob(torch.full((4,), 0.25, dtype=F64)).shape == (2, 4)
    x, log_p = dist.rsample_and_log_prob((7,), generator=_gen(1))
    assert x.shape == (7, 2, 4, 4) and log_p.shape == (7, 2, 4)
    assert torch.equal(x, dist.rsample((7,), generator=_gen(1)))
    assert_close(log_p, dist.log_prob(x.detach().clone()), rtol=1e-12, atol=1e-12, label="fwd")
    grads = torch.autograd.grad(x.square().sum(), (loc, scale))
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_generator_determinism(dtype):
    dist = LogisticNormal(torch.zeros(3, dtype=dtype), torch.ones(3, dtype=dtype))
    state = torch.get_rng_state()
    a = dist.sample((5,), generator=_gen(3))
    assert torch.equal(a, dist.sample((5,), generator=_gen(3)))
    assert torch.equal(a, dist.rsample((5,), generator=_gen(3)))
    assert torch.equal(a, dist.rsample_and_log_prob((5,), generator=_gen(3))[0])
    assert not torch.equal(a, dist.sample((5,), generator=_gen(4)))
    assert torch.equal(torch.get_rng_state(), state), "used the global generator"
    assert a.dtype == dtype


def test_expand_is_a_view():
    dist = LogisticNormal(torch.randn(1, 3, dtype=F64), torch.rand(1, 3, dtype=F64) + 0.5)
    big = dist.expand((6, 2))
    assert type(big) is LogisticNormal and big.batch_shape == (6, 2) and big.event_shape == (4,)
    assert big.loc.data_ptr() == dist.loc.data_ptr()
    assert big.scale.data_ptr() == dist.scale.data_ptr()
    x = big.sample(generator=_gen(0)).clone()
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")
    assert big._validate_args == dist._validate_args


def test_pickle_deepcopy_and_torch_save():
    dist = LogisticNormal(torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64))
    x = dist.sample((3,), generator=_gen()).clone()
    buffer = io.BytesIO()
    torch.save(dist, buffer)
    buffer.seek(0)
    clones = (
        pickle.loads(pickle.dumps(dist)),
        copy.deepcopy(dist),
        torch.load(buffer, weights_only=False),
    )
    for clone in clones:
        assert type(clone) is LogisticNormal
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


def test_torch_compile_fullgraph():
    torch._dynamo.reset()

    def step(loc, scale):
        dist = LogisticNormal(loc, scale)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    loc = torch.zeros(2, 3, requires_grad=True)
    scale = torch.ones(3, requires_grad=True)
    x, log_p = compiled(loc, scale)
    assert x.shape == (8, 2, 4) and log_p.shape == (8, 2) and torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert loc.grad is not None and scale.grad is not None


# --------------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    "loc,scale,arg",
    [
        ([0.0, math.nan], [1.0, 1.0], "loc"),
        ([0.0, math.inf], [1.0, 1.0], "loc"),
        ([0.0, 0.0], [1.0, 0.0], "scale"),
        ([0.0, 0.0], [1.0, -2.0], "scale"),
        ([0.0, 0.0], [math.nan, 1.0], "scale"),
    ],
)
def test_invalid_parameters_raise(loc, scale, arg):
    loc, scale = torch.tensor(loc, dtype=F64), torch.tensor(scale, dtype=F64)
    with pytest.raises(ValueError, match=rf"LogisticNormal: argument '{arg}'"):
        LogisticNormal(loc, scale)
    LogisticNormal(loc, scale, validate_args=False)


def test_invalid_values_and_shapes_raise():
    dist = LogisticNormal(torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64))
    for bad in ([0.5, 0.6, -0.1], [0.2, 0.2, 0.2], [0.5, math.nan, 0.5]):
        with pytest.raises(ValueError, match=r"LogisticNormal: argument 'value'.*Simplex"):
            dist.log_prob(torch.tensor(bad, dtype=F64))
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.full((4,), 0.25, dtype=F64))
    with pytest.raises(ValueError, match="do not broadcast"):
        LogisticNormal(torch.zeros(3, dtype=F64), torch.ones(2, dtype=F64))
    assert rsample.LogisticNormal is LogisticNormal and "LogisticNormal" in rsample.__all__
