"""rsample.MultivariateNormal: scipy/mpmath references, torch interop, gradients, samples, KL."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import rsample
from matrices import PARAMS, as_parameter, spd
from rsample import MultivariateNormal
from rsample.testing import assert_close, assert_samples_match, quadrature_expectation, round_trips
from rsample.testing.gradients import central_difference

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _covariance(param, matrix):
    """The covariance a given matrix represents, in float64 numpy."""
    m = matrix.numpy()
    if param == "covariance_matrix":
        return m
    if param == "precision_matrix":
        return np.linalg.inv(m)
    return m @ np.swapaxes(m, -1, -2)


def _exact_ill_conditioned(d=4):
    r"""``loc, L, Σ, P`` with :math:`\Sigma = LL^\top` and :math:`P = \Sigma^{-1}` exact in float64.

    :math:`L = \operatorname{diag}(2^{-k})\,T` with :math:`T` unit lower triangular with small
    integer entries: every product is a dyadic rational with few bits, so the three
    parameterizations describe exactly the same distribution, with cond(Σ) ≈ 1e8.
    """
    T = np.eye(d, dtype=np.int64)
    T[np.tril_indices(d, -1)] = [1, -2, 3, 1, -1, 2][: d * (d - 1) // 2]
    T_inv = np.rint(np.linalg.inv(T)).astype(np.int64)
    assert (T_inv @ T == np.eye(d, dtype=np.int64)).all()
    k = np.linspace(0, 13, d).round().astype(int)
    L = np.diag(2.0**-k) @ T
    L_inv = T_inv @ np.diag(2.0**k)
    cov, precision = L @ L.T, L_inv.T @ L_inv
    loc = np.linspace(-1.0, 2.0, d)
    return [torch.tensor(a, dtype=F64) for a in (loc, L, cov, precision)]


def _mp_log_prob(x, loc, param, matrix):
    """The exact log-density of the distribution the float64 inputs describe (50 digits)."""
    mpmath.mp.dps = 50
    d = len(loc)
    M = mpmath.matrix(matrix.tolist())
    delta = mpmath.matrix([mpmath.mpf(a) - mpmath.mpf(b) for a, b in zip(x.tolist(), loc.tolist())])
    if param == "covariance_matrix":
        log_det, maha = mpmath.log(mpmath.det(M)), (delta.T * mpmath.lu_solve(M, delta))[0]
    elif param == "precision_matrix":
        log_det, maha = -mpmath.log(mpmath.det(M)), (delta.T * M * delta)[0]
    else:
        z = mpmath.lu_solve(M, delta)
        log_det, maha = 2 * sum(mpmath.log(M[i, i]) for i in range(d)), sum(v**2 for v in z)
    return float(-(d * mpmath.log(2 * mpmath.pi) + log_det + maha) / 2), float(log_det)


# --------------------------------------------------------------------- references
@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("param", PARAMS)
def test_matches_scipy_float64(param, d):
    cov = spd(d, (2,), seed=d)
    loc = torch.randn(2, d, dtype=F64, generator=_gen(1))
    dist = MultivariateNormal(loc, **{param: as_parameter(param, cov)})
    x = dist.sample((5,), generator=_gen(2)) * 1.5
    for b in range(2):
        ref = stats.multivariate_normal(loc[b].numpy(), _covariance(param, dist.__dict__[param][b]))
        assert_close(dist.log_prob(x)[:, b], ref.logpdf(x[:, b].numpy()), rtol=1e-10)
        assert_close(dist.entropy()[b], ref.entropy(), rtol=1e-10)
        assert_close(dist.variance[b], np.diag(ref.cov), rtol=1e-10)
    assert dist.mean is dist.loc and dist.mode is dist.loc


@pytest.mark.parametrize("param", PARAMS)
def test_ill_conditioned_matches_exact_reference(param):
    """cond(Σ) ≈ 7e7 from the scales of the coordinates, with the three parameterizations exact
    in float64: log_prob and entropy agree with mpmath (50 digits) and scipy to 1e-10."""
    loc, L, cov, precision = _exact_ill_conditioned()
    assert np.linalg.cond(cov.numpy()) > 5e7
    matrix = {"covariance_matrix": cov, "precision_matrix": precision, "scale_tril": L}[param]
    dist = MultivariateNormal(loc, **{param: matrix})
    x = loc + torch.randn(6, 4, dtype=F64, generator=_gen(3)) @ L.T * 2.0
    expected = [_mp_log_prob(xi, loc, param, matrix) for xi in x]
    assert_close(dist.log_prob(x), [e[0] for e in expected], rtol=1e-10)
    ref = stats.multivariate_normal(loc.numpy(), cov.numpy())
    assert_close(dist.log_prob(x), ref.logpdf(x.numpy()), rtol=1e-10)
    entropy = 0.5 * 4 * (1 + math.log(2 * math.pi)) + 0.5 * expected[0][1]
    assert_close(dist.entropy(), entropy, rtol=1e-10)
    assert_close(dist.entropy(), ref.entropy(), rtol=1e-10)
    assert_close(dist.variance, np.diag(cov.numpy()), rtol=1e-12)
    assert_close(dist.covariance_matrix, cov, rtol=1e-10, atol=1e-12 * float(cov.abs().max()))


@pytest.mark.parametrize("param", PARAMS)
def test_intrinsically_ill_conditioned_is_as_accurate_as_the_problem_allows(param):
    """cond(Σ) = 1e8 from a rotation: rounding the factorization perturbs Σ (or P) by about
    ε‖Σ‖, which moves the Mahalanobis term by up to ε·cond(Σ) relative, for any backward-stable
    method (scipy's and torch's included). Bound: 10·ε·cond against mpmath, and never worse than
    torch.distributions."""
    d, g = 4, _gen(5)
    Q, _ = torch.linalg.qr(torch.randn(d, d, dtype=F64, generator=g))
    cov = (Q * torch.logspace(0, -8, d, dtype=F64)) @ Q.T
    cov = 0.5 * (cov + cov.T)
    loc, matrix = torch.zeros(d, dtype=F64), as_parameter(param, cov)
    x = torch.randn(6, d, dtype=F64, generator=g) @ torch.linalg.cholesky(cov).T * 2
    expected = np.array([_mp_log_prob(xi, loc, param, matrix)[0] for xi in x])
    ours = MultivariateNormal(loc, **{param: matrix}).log_prob(x).numpy()
    theirs = td.MultivariateNormal(loc, **{param: matrix}).log_prob(x).numpy()
    error = np.abs(ours - expected).max() / np.abs(expected).max()
    assert error <= 10 * np.finfo(float).eps * 1e8
    assert error <= 2 * np.abs(theirs - expected).max() / np.abs(expected).max() + 1e-15


@pytest.mark.parametrize("param", PARAMS)
def test_matches_torch_distributions(param):
    cov = spd(3, (4,), seed=5)
    loc = torch.randn(2, 1, 3, dtype=F64, generator=_gen(6))  # batch (2, 1) against (4,)
    matrix = as_parameter(param, cov)
    ours = MultivariateNormal(loc, **{param: matrix})
    ref = td.MultivariateNormal(loc, **{param: matrix})
    assert ours.batch_shape == ref.batch_shape == (2, 4)
    assert ours.event_shape == ref.event_shape == (3,)
    x = ref.sample((3,))
    assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-12, atol=1e-12)
    assert_close(ours.entropy(), ref.entropy(), rtol=1e-12)
    for name in ("mean", "mode", "variance", "stddev", *PARAMS):
        assert getattr(ours, name).shape == getattr(ref, name).shape, name
        assert_close(getattr(ours, name), getattr(ref, name), rtol=1e-10, atol=1e-12, label=name)
    assert ours._unbroadcasted_scale_tril.shape == ref._unbroadcasted_scale_tril.shape == (4, 3, 3)


def test_draws_match_torch_for_the_same_global_seed():
    loc, cov = torch.zeros(2, 3, dtype=F64), spd(3, seed=7)
    torch.manual_seed(11)
    ref = td.MultivariateNormal(loc, cov).rsample((4,))
    torch.manual_seed(11)
    assert_close(MultivariateNormal(loc, cov).rsample((4,)), ref, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("param", PARAMS)
def test_float32_is_finite_when_ill_conditioned(param):
    loc, L, cov, precision = (t.float() for t in _exact_ill_conditioned())
    matrix = {"covariance_matrix": cov, "precision_matrix": precision, "scale_tril": L}[param]
    dist = MultivariateNormal(loc, **{param: matrix})
    x, log_p = dist.rsample_and_log_prob((1000,), generator=_gen(4))
    assert x.dtype == torch.float32
    for value in (x, log_p, dist.log_prob(x), dist.entropy(), dist.variance):
        assert torch.isfinite(value).all()
    assert_close(dist.log_prob(x), log_p, rtol=1e-3, atol=1e-3)


# --------------------------------------------------------------------- shapes, graphs, randomness
def test_shapes_and_broadcasting():
    loc = torch.randn(2, 1, 3, dtype=F64)
    dist = MultivariateNormal(loc, scale_tril=torch.linalg.cholesky(spd(3, (4,))))
    assert dist.batch_shape == (2, 4) and dist.event_shape == (3,)
    assert dist._unbroadcasted_scale_tril.shape == (4, 3, 3)
    assert dist.loc.shape == (2, 4, 3) and dist.scale_tril.shape == (2, 4, 3, 3)
    for draw in (dist.sample((5, 6)), dist.rsample((5, 6))):
        assert draw.shape == (5, 6, 2, 4, 3)
    assert dist.log_prob(dist.sample((5,))).shape == (5, 2, 4)
    assert dist.log_prob(torch.zeros(3, dtype=F64)).shape == (2, 4)
    assert dist.entropy().shape == (2, 4) and dist.variance.shape == (2, 4, 3)
    x, log_p = dist.rsample_and_log_prob((7,))
    assert x.shape == (7, 2, 4, 3) and log_p.shape == (7, 2, 4)
    one = MultivariateNormal(torch.zeros(1, dtype=F64), torch.ones(1, 1, dtype=F64))
    assert one.sample().shape == (1,) and one.log_prob(torch.zeros(1, dtype=F64)).shape == ()


@pytest.mark.parametrize("param", PARAMS)
def test_sample_has_no_graph_and_rsample_reaches_every_parameter(param):
    loc = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    matrix = as_parameter(param, spd(3, (2,))).requires_grad_()
    dist = MultivariateNormal(loc, **{param: matrix})
    drawn = dist.sample((4,))
    assert not drawn.requires_grad and drawn.grad_fn is None
    grads = torch.autograd.grad(dist.rsample((4,)).square().sum(), (loc, matrix))
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    assert dist.has_rsample and MultivariateNormal.rsample_kind == "explicit"


def test_log_prob_supports_repeated_backward():
    """Nothing derived from ``scale_tril`` is cached with a graph, as in torch."""
    L = torch.linalg.cholesky(spd(3)).requires_grad_()
    dist = MultivariateNormal(torch.zeros(3, dtype=F64), scale_tril=L)
    x = torch.ones(3, dtype=F64)
    for _ in range(2):
        dist.log_prob(x).backward()
        dist.entropy().backward()


def test_generator_determinism():
    dist = MultivariateNormal(torch.zeros(2, 3, dtype=F64), spd(3))
    assert torch.equal(dist.sample((5,), generator=_gen(3)), dist.sample((5,), generator=_gen(3)))
    assert torch.equal(dist.rsample(generator=_gen(4)), dist.rsample(generator=_gen(4)))
    assert not torch.equal(dist.sample(generator=_gen(3)), dist.sample(generator=_gen(4)))


@pytest.mark.parametrize("param", PARAMS)
def test_rsample_and_log_prob_equals_log_prob_of_rsample(param):
    loc = torch.randn(3, 4, dtype=F64, generator=_gen(1))
    dist = MultivariateNormal(loc, **{param: as_parameter(param, spd(4, (3,), seed=2))})
    x, log_p = dist.rsample_and_log_prob((50,), generator=_gen(8))
    assert torch.equal(x, dist.rsample((50,), generator=_gen(8)))
    assert_close(log_p, dist.log_prob(x), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------- pathwise gradients
def _per_draw_gradients(param, loc, matrix, f, n=40_000, seed=0):
    """Mean and standard error of the per-draw gradients of ``f(rsample())`` (one copy of the
    parameters per draw)."""
    d = loc.shape[-1]
    locs = loc.expand(n, d).clone().requires_grad_()
    matrices = matrix.expand(n, d, d).clone().requires_grad_()
    x = MultivariateNormal(locs, **{param: matrices}).rsample(generator=_gen(seed))
    f(x).sum().backward()
    return [(g.mean(0), g.std(0) / math.sqrt(n)) for g in (locs.grad, matrices.grad)]


def _closed_form_gradient(param, loc, matrix, expectation):
    """Gradients of the exact ``expectation(loc, Σ)``, by autograd through Σ(matrix).

    A covariance or precision matrix is symmetric: its gradient is taken symmetrized, as the
    Cholesky backward gives it.
    """
    loc, matrix = loc.clone().requires_grad_(), matrix.clone().requires_grad_()
    cov = {"covariance_matrix": matrix, "precision_matrix": None, "scale_tril": None}[param]
    if param == "precision_matrix":
        cov = torch.linalg.inv(matrix)
    elif param == "scale_tril":
        cov = matrix @ matrix.mT
    g_loc, g_matrix = torch.autograd.grad(expectation(loc, cov), (loc, matrix))
    if param != "scale_tril":
        g_matrix = 0.5 * (g_matrix + g_matrix.mT)
    return g_loc, g_matrix


def _assert_within(estimate, exact, label, z=5.0):
    (mean, se) = estimate
    excess = (mean - exact).abs() - z * se - 1e-9
    assert (excess <= 0).all(), f"{label}: pathwise {mean}, ± {se}, exact {exact}"


@pytest.mark.parametrize("param", PARAMS)
def test_pathwise_gradient_of_a_quadratic_form(param):
    """E[xᵀAx] = μᵀAμ + tr(AΣ): the gradient is known exactly (failure rate ≈ 12 × 6e-7)."""
    loc = torch.tensor([0.3, -1.0, 0.5], dtype=F64)
    matrix = as_parameter(param, spd(3, seed=9))
    A = torch.tensor([[1.0, 0.5, 0.0], [-0.2, 2.0, 0.3], [0.4, 0.0, 0.7]], dtype=F64)

    def f(x):
        return torch.einsum("...i,ij,...j->...", x, A, x)

    def expectation(m, cov):
        return m @ A @ m + torch.trace(A @ cov)

    estimates = _per_draw_gradients(param, loc, matrix, f)
    exact = _closed_form_gradient(param, loc, matrix, expectation)
    for name, est, ex in zip(("loc", param), estimates, exact):
        _assert_within(est, ex, f"d/d{name} E[xᵀAx]")


def test_pathwise_gradient_of_tanh_matches_quadrature():
    """E[Σ tanh(x_i)] = Σ g(μ_i, Σ_ii), g by adaptive quadrature and central differences."""
    loc = torch.tensor([0.3, -1.0, 0.5], dtype=F64)
    L = torch.linalg.cholesky(spd(3, seed=10))
    cov = L @ L.T

    def g(m, s2):
        return quadrature_expectation(np.tanh, stats.norm(m, math.sqrt(s2)))

    d_mean, d_var = [], []
    for i in range(3):
        point = {"m": float(loc[i]), "s2": float(cov[i, i])}
        d_mean.append(central_difference(g, point, "m"))
        d_var.append(central_difference(g, point, "s2"))
    # Σ_ii = Σ_j L_ij², so dE/dL = 2 diag(dE/dΣ_ii) L.
    exact = (torch.tensor(d_mean, dtype=F64), 2 * torch.tensor(d_var, dtype=F64)[:, None] * L)
    estimates = _per_draw_gradients("scale_tril", loc, L, lambda x: torch.tanh(x).sum(-1))
    for name, est, ex in zip(("loc", "scale_tril"), estimates, exact):
        _assert_within(est, ex, f"d/d{name} E[Σ tanh]")


# --------------------------------------------------------------------- samples
@pytest.mark.parametrize("param", PARAMS)
def test_samples_goodness_of_fit(param):
    """KS at alpha = 1e-4 per test, fixed seed: the Mahalanobis distances follow chi²(d), and a
    fixed projection uᵀx follows N(uᵀμ, uᵀΣu)."""
    d = 4
    loc, cov = torch.tensor([1.0, -2.0, 0.0, 3.0], dtype=F64), spd(d, seed=12)
    dist = MultivariateNormal(loc, **{param: as_parameter(param, cov)})
    x = dist.sample((20_000,), generator=_gen(2024))
    diff = (x - loc).unsqueeze(-1)
    maha = (diff.mT @ torch.linalg.solve(cov, diff)).flatten()
    assert_samples_match(maha, lambda v: torch.as_tensor(stats.chi2(d).cdf(v.numpy())))
    u = torch.tensor([0.5, -1.0, 2.0, 0.1], dtype=F64)
    ref = stats.norm(float(u @ loc), math.sqrt(float(u @ cov @ u)))
    assert_samples_match(x @ u, lambda v: torch.as_tensor(ref.cdf(v.numpy())))


# --------------------------------------------------------------------- KL
def _dense_kl(loc_p, cov_p, loc_q, cov_q):
    """KL(N_p ‖ N_q) straight from the formula, with explicit inverses, in float64."""
    d = loc_p.shape[-1]
    inv_q = torch.linalg.inv(cov_q)
    delta = (loc_q - loc_p).unsqueeze(-1)
    trace = torch.diagonal(inv_q @ cov_p, dim1=-2, dim2=-1).sum(-1)
    maha = (delta.mT @ inv_q @ delta)[..., 0, 0]
    log_det = torch.logdet(cov_q) - torch.logdet(cov_p)
    return 0.5 * (trace + maha - d + log_det)


@pytest.mark.parametrize("param_q", PARAMS)
@pytest.mark.parametrize("param_p", PARAMS)
def test_kl_matches_torch_and_formula(param_p, param_q):
    loc_p = torch.randn(2, 1, 3, dtype=F64, generator=_gen(1))
    loc_q = torch.randn(4, 3, dtype=F64, generator=_gen(2))
    cov_p, cov_q = spd(3, (1,), seed=3), spd(3, (4,), seed=4)
    p = MultivariateNormal(loc_p, **{param_p: as_parameter(param_p, cov_p)})
    q = MultivariateNormal(loc_q, **{param_q: as_parameter(param_q, cov_q)})
    tp = td.MultivariateNormal(loc_p, **{param_p: as_parameter(param_p, cov_p)})
    tq = td.MultivariateNormal(loc_q, **{param_q: as_parameter(param_q, cov_q)})
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (2, 4)
    assert_close(kl, td.kl_divergence(tp, tq), rtol=1e-10, atol=1e-12)
    assert_close(kl, _dense_kl(loc_p, cov_p, loc_q, cov_q), rtol=1e-10, atol=1e-12)
    assert torch.equal(td.kl_divergence(p, q), kl)  # torch's registry finds rsample's KL
    assert_close(rsample.kl_divergence(p, p), torch.zeros(2, 1), rtol=0, atol=1e-12)


def test_kl_rejects_different_event_shapes():
    p = MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
    q = MultivariateNormal(torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="event shapes"):
        rsample.kl_divergence(p, q)


# --------------------------------------------------------------------- invalid input
BAD_COV = {
    "not positive definite": torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64),
    "not symmetric": torch.tensor([[2.0, 0.5], [0.0, 2.0]], dtype=F64),
    "non-finite": torch.tensor([[1.0, 0.0], [0.0, math.inf]], dtype=F64),
}


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix"])
@pytest.mark.parametrize("problem", BAD_COV)
def test_invalid_covariance_or_precision_raises(param, problem):
    matrix = torch.stack([torch.eye(2, dtype=F64), BAD_COV[problem]])
    pattern = {"non-finite": "finite", "not symmetric": "not symmetric"}.get(problem, problem)
    with pytest.raises(ValueError, match=rf"MultivariateNormal: argument '{param}'.*{pattern}"):
        MultivariateNormal(torch.zeros(2, dtype=F64), **{param: matrix})
    if problem != "non-finite":
        with pytest.raises(ValueError, match=r"batch index \[1\]"):
            MultivariateNormal(torch.zeros(2, dtype=F64), **{param: matrix})


@pytest.mark.parametrize(
    "L,pattern",
    [
        ([[1.0, 0.0], [0.5, 0.0]], "diagonal is not positive"),
        ([[1.0, 0.0], [0.5, -2.0]], "diagonal is not positive"),
        ([[1.0, 1e-30], [0.5, 2.0]], "nonzero entry above the diagonal"),
        ([[1.0, 0.0], [math.nan, 2.0]], "non-finite"),
    ],
)
def test_invalid_scale_tril_raises(L, pattern):
    with pytest.raises(ValueError, match=rf"'scale_tril'.*lower_cholesky.*{pattern}"):
        MultivariateNormal(torch.zeros(2, dtype=F64), scale_tril=torch.tensor(L, dtype=F64))


def test_invalid_loc_and_shapes_raise():
    eye = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match=r"'loc'.*finite.*nan at index \[1\]"):
        MultivariateNormal(torch.tensor([0.0, math.nan], dtype=F64), eye)
    with pytest.raises(ValueError, match=r"disagree.*loc\(3,\), covariance_matrix\(2, 2\)"):
        MultivariateNormal(torch.zeros(3, dtype=F64), eye)
    with pytest.raises(ValueError, match=r"do not broadcast.*loc\(2, 2\), scale_tril\(3, 2, 2\)"):
        MultivariateNormal(torch.zeros(2, 2, dtype=F64), scale_tril=eye.expand(3, 2, 2))
    with pytest.raises(ValueError, match="square"):
        MultivariateNormal(torch.zeros(2, dtype=F64), torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="one-dimensional"):
        MultivariateNormal(torch.tensor(0.0, dtype=F64), eye)
    with pytest.raises(ValueError, match=r"exactly one.*none"):
        MultivariateNormal(torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match=r"exactly one.*\['covariance_matrix', 'scale_tril'\]"):
        MultivariateNormal(torch.zeros(2, dtype=F64), eye, scale_tril=eye)


def test_validate_args_false_skips_checks_and_invalid_values_raise():
    asym = BAD_COV["not symmetric"]
    MultivariateNormal(torch.zeros(2, dtype=F64), asym, validate_args=False)
    dist = MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
    with pytest.raises(ValueError, match=r"MultivariateNormal.*'value'"):
        dist.log_prob(torch.tensor([0.0, math.nan], dtype=F64))
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="does not broadcast"):
        dist.expand((4,)).log_prob(torch.zeros(3, 2, dtype=F64))


# --------------------------------------------------------------------- expand, copies, compile
@pytest.mark.parametrize("param", PARAMS)
def test_expand_shares_storage(param):
    matrix = as_parameter(param, spd(3, (1,)))
    dist = MultivariateNormal(torch.zeros(1, 3, dtype=F64), **{param: matrix})
    _ = dist.covariance_matrix  # a cached lazy value is expanded too
    big = dist.expand((5, 4))
    assert big.batch_shape == (5, 4) and type(big) is MultivariateNormal
    assert big.loc.data_ptr() == dist.loc.data_ptr()
    assert big.__dict__[param].data_ptr() == matrix.data_ptr()
    assert big._unbroadcasted_scale_tril is dist._unbroadcasted_scale_tril
    assert big.covariance_matrix.data_ptr() == dist.covariance_matrix.data_ptr()
    x = big.sample(generator=_gen())
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")
    assert big._validate_args == dist._validate_args


@pytest.mark.parametrize("param", PARAMS)
def test_pickle_deepcopy_and_torch_save(param):
    dist = MultivariateNormal(torch.ones(2, 3, dtype=F64), **{param: as_parameter(param, spd(3))})
    x = dist.sample((3,), generator=_gen())
    for clone in round_trips(dist):
        assert type(clone) is MultivariateNormal and clone.batch_shape == (2,)
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


@pytest.mark.parametrize("param", PARAMS)
def test_torch_compile_fullgraph(param):
    torch._dynamo.reset()

    def step(loc, matrix):
        dist = MultivariateNormal(loc, **{param: matrix})
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    loc = torch.zeros(2, 3, requires_grad=True)
    matrix = as_parameter(param, spd(3, dtype=torch.float32)).requires_grad_()
    x, log_p = compiled(loc, matrix)
    assert x.shape == (8, 2, 3) and log_p.shape == (8, 2) and torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert loc.grad is not None and matrix.grad is not None
