"""rsample.LKJCholesky: log_prob against torch and an independent formula, the law of the draws,
pathwise gradients in the concentration, float32 extremes, shapes, validation, pickling and
torch.compile; plus the corr_cholesky bijection against torch's.

LKJCholesky is in ``DEDICATED_TESTS`` (its event is a matrix). Statistical tests use fixed seeds
and declare a per-test false-failure rate (Kolmogorov–Smirnov at alpha = 1e-4; gradient checks
at 5 Monte Carlo standard errors, about 6e-7).
"""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
import torch.distributions as td
from scipy import integrate, special, stats

import rsample
from rsample import LKJCholesky
from rsample.testing import (
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
    round_trips,
)

F64, F32 = torch.float64, torch.float32


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _corr(L: torch.Tensor) -> torch.Tensor:
    return L @ L.mT


def _random_factors(d: int, n: int, seed: int, dtype=F64) -> torch.Tensor:
    """Valid Cholesky factors spread over the support (torch's bijection of wide normals)."""
    x = 1.5 * torch.randn(n, d * (d - 1) // 2, generator=_gen(seed), dtype=dtype)
    return td.transforms.CorrCholeskyTransform()(x)


# --------------------------------------------------------------------------- log_prob
@pytest.mark.parametrize("d", [2, 3, 5, 8])
@pytest.mark.parametrize("eta", [0.01, 0.5, 1.0, 2.0, 10.0, 1e3])
def test_log_prob_matches_torch(d, eta):
    L = _random_factors(d, 50, seed=d)
    conc = torch.tensor(eta, dtype=F64)
    ours = LKJCholesky(d, conc).log_prob(L)
    theirs = td.LKJCholesky(d, conc).log_prob(L)
    # Both sum d − 1 lgamma terms of size ~η log η: the absolute rounding floor scales with them.
    scale = (d - 1) * (abs(math.lgamma(eta + d)) + 1)
    assert_close(ours, theirs, rtol=1e-12, atol=1e-14 * scale, label=f"LKJ d={d} eta={eta}")


def _mp_lkj_log_normalizer(d: int, eta: float) -> mpmath.mpf:
    """log ∫ det(C)^{η−1} dC over d×d correlation matrices: LKJ (2009), eq. (16) (the vine
    form, independent of the onion form the implementation uses)."""
    eta = mpmath.mpf(eta)
    total = mpmath.mpf(0)
    for k in range(1, d):
        b = eta + mpmath.mpf(d - k - 1) / 2
        total += (2 * eta - 2 + d - k) * (d - k) * mpmath.log(2)
        total += (d - k) * (2 * mpmath.loggamma(b) - mpmath.loggamma(2 * b))
    return total


def _log_jacobian(L: torch.Tensor) -> float:
    """log |det ∂(off-diagonal of LLᵀ)/∂(strict lower triangle of L)| by autograd."""
    d = L.shape[-1]
    rows, cols = torch.tril_indices(d, d, -1)

    def corr_offdiag(v):
        M = torch.zeros(d, d, dtype=v.dtype).index_put((rows, cols), v)
        diag = (1 - M.square().sum(-1)).sqrt()
        M = M + torch.diag(diag)
        return (M @ M.T)[rows, cols]

    jac = torch.autograd.functional.jacobian(corr_offdiag, L[rows, cols])
    return float(torch.linalg.slogdet(jac)[1])


@pytest.mark.parametrize("d", [2, 3, 4])
@pytest.mark.parametrize("eta", [0.3, 1.0, 2.5])
def test_log_prob_is_lkj_density_times_cholesky_jacobian(d, eta):
    """log p(L) = (η − 1) log det C − log c_d(η) + log |∂C/∂L|, everything computed apart."""
    L = _random_factors(d, 4, seed=10 + d)
    dist = LKJCholesky(d, torch.tensor(eta, dtype=F64))
    log_c = float(_mp_lkj_log_normalizer(d, eta))
    for Li in L:
        log_det = float(torch.linalg.slogdet(_corr(Li))[1])
        expected = (eta - 1) * log_det - log_c + _log_jacobian(Li)
        assert_close(dist.log_prob(Li), expected, rtol=1e-10, atol=1e-10, label=f"d={d} η={eta}")


@pytest.mark.parametrize("eta", [1.0, 3.0])
def test_density_integrates_to_one_for_d2(eta):
    dist = LKJCholesky(2, torch.tensor(eta, dtype=F64))

    def density(r):
        L = torch.tensor([[1.0, 0.0], [r, math.sqrt(1 - r * r)]], dtype=F64)
        return math.exp(float(dist.log_prob(L)))

    total, _ = integrate.quad(density, -1, 1, epsabs=1e-12, epsrel=1e-10, limit=200)
    assert abs(total - 1) < 1e-8


@pytest.mark.parametrize("d", [2, 4])
def test_rsample_and_log_prob_agrees_with_log_prob(d):
    dist = LKJCholesky(d, torch.tensor([0.05, 0.7, 4.0], dtype=F64))
    x1, lp = dist.rsample_and_log_prob((200,), generator=_gen(5))
    x2 = dist.rsample((200,), generator=_gen(5))
    assert torch.equal(x1, x2)
    assert_close(lp, dist.log_prob(x1.clone()), rtol=1e-11, atol=1e-11, label="joint")


# --------------------------------------------------------------------------- the law of the draws
def _cdf_of(frozen):
    return lambda x: torch.as_tensor(frozen.cdf(x.numpy()))


KS_CASES = [(d, eta) for d in (2, 3, 5) for eta in (0.5, 1.0, 2.0, 10.0)]


@pytest.mark.parametrize("d,eta", KS_CASES)
def test_off_diagonal_marginals_are_scaled_beta(d, eta):
    """(r_ij + 1)/2 ~ Beta(η − 1 + d/2, η − 1 + d/2) for every pair (LKJ 2009, §3.2)."""
    dist = LKJCholesky(d, torch.tensor(eta, dtype=F64))
    C = _corr(dist.sample((10_000,), generator=_gen(2024)))
    a = eta - 1 + d / 2
    ref = stats.beta(a, a, loc=-1, scale=2)
    for i, j in {(0, 1), (d - 2, d - 1), (0, d - 1)}:
        assert_samples_match(C[:, i, j], _cdf_of(ref), label=f"r{i}{j}")


@pytest.mark.parametrize("d,eta", [(3, 1.0), (5, 0.5), (5, 10.0)])
def test_squared_row_norms_are_beta(d, eta):
    """y_i = 1 − L_ii² ~ Beta(i/2, η + (d − 1 − i)/2): the onion method's radial law, the one
    the density implies (torch's sampler uses Beta(i − 1/2, ·) and fails this for i ≥ 2)."""
    dist = LKJCholesky(d, torch.tensor(eta, dtype=F64))
    L = dist.sample((20_000,), generator=_gen(7))
    for i in range(1, d):
        ref = stats.beta(i / 2, eta + (d - 1 - i) / 2)
        y = L[:, i, :i].square().sum(-1)  # the same value, without cancellation
        assert_samples_match(y, _cdf_of(ref), label=f"y{i}")


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("d", [2, 5, 20])
@pytest.mark.parametrize("eta", [1e-2, 1.0, 1e3])
def test_draws_are_cholesky_factors(dtype, d, eta):
    dist = LKJCholesky(d, torch.tensor(eta, dtype=dtype))
    L = dist.sample((400,), generator=_gen(3))
    assert L.dtype == dtype and torch.isfinite(L).all()
    assert torch.equal(L, L.tril())
    assert (L.diagonal(dim1=-2, dim2=-1) > 0).all()
    tol = 10 * d * torch.finfo(dtype).eps
    assert ((L.square().sum(-1).sqrt() - 1).abs() <= tol).all()
    assert constraints_ok(L)
    assert torch.isfinite(dist.log_prob(L)).all()


def constraints_ok(L: torch.Tensor) -> bool:
    return bool(rsample.constraints.corr_cholesky.check(L).all())


@pytest.mark.parametrize("eta", [1e-2, 1e3])
def test_float32_gradients_are_finite_at_extremes(eta):
    conc = torch.full((500,), eta, dtype=F32, requires_grad=True)
    x, lp = LKJCholesky(5, conc).rsample_and_log_prob(generator=_gen(4))
    (x.sum() + lp.sum()).backward()
    assert torch.isfinite(lp).all() and torch.isfinite(conc.grad).all()


# --------------------------------------------------------------------------- gradients
def _second_moment(d: int, eta: float) -> float:
    """E[r²] = 1/(2η + d − 1): r = 2B − 1, B ~ Beta(a, a), Var r = 1/(2a + 1), a = η − 1 + d/2."""
    return 1 / (2 * eta + d - 1)


def _fourth_moment(d: int, eta: float) -> float:
    """E[r⁴] = 3/((2η + d − 1)(2η + d + 1)) (r² ~ Beta(1/2, a))."""
    return 3 / ((2 * eta + d - 1) * (2 * eta + d + 1))


def _mean_log_det(d: int, eta: float) -> float:
    """E[log det C] = Σ_i E[log(1 − y_i)] = Σ_i ψ(η + (d−1−i)/2) − ψ(η + (d−1)/2)."""
    return sum(
        special.digamma(eta + (d - 1 - i) / 2) - special.digamma(eta + (d - 1) / 2)
        for i in range(1, d)
    )


@pytest.mark.parametrize("d,eta", [(2, 0.7), (3, 1.5), (5, 4.0)])
def test_closed_form_moments_match_quadrature(d, eta):
    """The closed forms the gradient tests use, against quadrature over the Beta marginals."""
    a = eta - 1 + d / 2
    ref = stats.beta(a, a, loc=-1, scale=2)
    for power, closed in ((2, _second_moment), (4, _fourth_moment)):
        value, _ = integrate.quad(lambda r, k=power: r**k * ref.pdf(r), -1, 1, epsrel=1e-12)
        assert abs(value - closed(d, eta)) < 1e-10
    log_det = 0.0
    for i in range(1, d):
        row = stats.beta(eta + (d - 1 - i) / 2, i / 2)  # 1 − y_i = L_ii²
        log_det += integrate.quad(lambda t, r=row: math.log(t) * r.pdf(t), 0, 1, epsrel=1e-12)[0]
    assert abs(log_det - _mean_log_det(d, eta)) < 1e-8


GRAD_CASES = [
    ("r01^2", lambda L: L[..., 1, 0].square(), _second_moment, 2, 0.7),
    ("r34^2", lambda L: _corr(L)[..., 3, 4].square(), _second_moment, 5, 2.0),
    ("r13^4", lambda L: _corr(L)[..., 1, 3].pow(4), _fourth_moment, 4, 0.6),
    ("logdet", lambda L: 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1), _mean_log_det, 4, 1.3),
]


@pytest.mark.parametrize(
    "name,f,moment,d,eta", GRAD_CASES, ids=[f"{c[0]}-d{c[3]}-eta{c[4]}" for c in GRAD_CASES]
)
def test_pathwise_gradient_matches_closed_form(name, f, moment, d, eta):
    assert_pathwise_gradient(
        lambda concentration: LKJCholesky(d, concentration),
        {"concentration": eta},
        f,
        lambda concentration: moment(d, concentration),
        n=30_000,
        seed=11,
        label=f"LKJCholesky d={d} E[{name}]",
    )


# --------------------------------------------------------------------------- API
def test_shapes_graph_generator_and_expand():
    conc = torch.full((4, 3), 1.7, dtype=F64, requires_grad=True)
    dist = LKJCholesky(3, conc)
    assert dist.batch_shape == (4, 3) and dist.event_shape == (3, 3)
    drawn = dist.sample((5, 2))
    assert drawn.shape == (5, 2, 4, 3, 3, 3) and drawn.grad_fn is None
    assert dist.log_prob(drawn).shape == (5, 2, 4, 3)
    x = dist.rsample((5,))
    assert x.shape == (5, 4, 3, 3, 3) and x.requires_grad
    (grad,) = torch.autograd.grad(x.sum(), conc)
    assert torch.isfinite(grad).all()
    g1, g2 = _gen(3), _gen(3)
    assert torch.equal(dist.sample((7,), generator=g1), dist.sample((7,), generator=g2))
    assert torch.equal(dist.rsample(generator=g1), dist.rsample(generator=g2))
    assert dist.has_rsample and LKJCholesky.rsample_kind == "implicit"
    small = LKJCholesky(3, torch.tensor(1.7, dtype=F64))
    big = small.expand((6, 2))
    assert (
        big.batch_shape == (6, 2) and big.concentration.data_ptr() == small.concentration.data_ptr()
    )
    y = big.sample(generator=_gen(0))
    assert_close(big.log_prob(y), small.log_prob(y), rtol=0, label="expand")
    assert LKJCholesky(4).sample().shape == (4, 4)


def test_no_moments_like_torch():
    dist = LKJCholesky(3, 2.0)
    for name in ("mean", "variance"):
        with pytest.raises(NotImplementedError):
            getattr(dist, name)
        with pytest.raises(NotImplementedError):
            getattr(td.LKJCholesky(3, 2.0), name)


@pytest.mark.parametrize("dim", [1, 0, -3, 2.5, True, "3"])
def test_bad_dim_raises(dim):
    with pytest.raises(ValueError, match=r"LKJCholesky.*'dim'"):
        LKJCholesky(dim, 1.0)


@pytest.mark.parametrize("conc", [0.0, -1.0, math.nan, math.inf])
def test_bad_concentration_raises(conc):
    with pytest.raises(ValueError, match=r"LKJCholesky.*'concentration'"):
        LKJCholesky(3, torch.tensor([1.0, conc]))
    LKJCholesky(3, torch.tensor([1.0, conc]), validate_args=False)


def test_out_of_support_values_raise():
    dist = LKJCholesky(3, 1.5)
    good = _random_factors(3, 1, seed=0, dtype=F32)[0]
    bad_values = [good * 1.1, good.mT, good * torch.tensor([1.0, 1.0, -1.0])]
    for bad in bad_values:
        with pytest.raises(ValueError, match="LKJCholesky"):
            dist.log_prob(bad)
    with pytest.raises(ValueError, match="LKJCholesky"):
        dist.log_prob(torch.eye(4))  # wrong event shape
    dist.log_prob(good)


def test_pickle_and_deepcopy():
    dist = LKJCholesky(4, torch.tensor([0.5, 3.0], dtype=F64))
    x = dist.sample((3,)).clone()
    for clone in round_trips(dist):
        assert type(clone) is LKJCholesky and clone.dim == 4
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


def test_torch_compile_fullgraph():
    torch._dynamo.reset()

    def step(conc):
        dist = LKJCholesky(4, conc)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    conc = torch.full((3,), 1.5, requires_grad=True)
    x, lp = compiled(conc)
    assert x.shape == (8, 3, 4, 4) and torch.isfinite(lp).all()
    (lp.sum() + x.sum()).backward()
    assert conc.grad is not None and torch.isfinite(conc.grad).all()


# --------------------------------------------------------------------------- the bijection
def test_corr_cholesky_bijection_matches_torch():
    assert isinstance(
        rsample.biject_to(rsample.constraints.corr_cholesky),
        rsample.transforms.CorrCholeskyTransform,
    )
    assert isinstance(
        rsample.transform_to(rsample.constraints.corr_cholesky),
        rsample.transforms.CorrCholeskyTransform,
    )
    ours = rsample.biject_to(rsample.constraints.corr_cholesky)
    theirs = td.biject_to(td.constraints.corr_cholesky)
    x = torch.randn(50, 10, generator=_gen(8), dtype=F64)
    y = ours(x)
    assert_close(y, theirs(x), rtol=1e-12, atol=1e-14, label="forward")
    assert_close(ours.inv(y), x, rtol=1e-9, atol=1e-12, label="inverse")
    assert_close(
        ours.log_abs_det_jacobian(x, y),
        theirs.log_abs_det_jacobian(x, y),
        rtol=1e-12,
        atol=1e-12,
        label="log det",
    )
    # An LKJ draw maps back to finite reals and forward again.
    L = LKJCholesky(5, torch.tensor(2.0, dtype=F64)).sample((100,), generator=_gen(9))
    assert_close(ours(ours.inv(L)), L, rtol=0, atol=1e-12, label="round trip")
