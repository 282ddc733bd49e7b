"""rsample.Wishart: scipy/mpmath references, torch interop, samples, pathwise gradients, KL.

References are independent of the code under test: scipy.stats.wishart and the textbook
formulas evaluated by mpmath (50 digits) on the exact float64 inputs; the scale matrices of the
hard cases are dyadic, so that the three parameterizations describe exactly the same Σ.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import interpolate, special, stats

import rsample
from matrices import PARAMS, as_parameter, spd
from rsample import Wishart
from rsample.testing import (
    assert_close,
    assert_pathwise_gradient,
    assert_samples_match,
    round_trips,
)

F64, F32 = torch.float64, torch.float32
mpmath.mp.dps = 50


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _exact(p, spread):
    r"""``(L, Σ, P)`` with :math:`\Sigma = LL^\top` and :math:`P = \Sigma^{-1}` exact in float64.

    :math:`L = \operatorname{diag}(2^{-k})\,T`, :math:`T` unit lower triangular with small
    integers (its inverse is an integer matrix): every entry is a short dyadic rational.
    ``spread`` sets the range of scales, :math:`k \in [0, \text{spread}]`.
    """
    T = np.eye(p, dtype=np.int64)
    T[np.tril_indices(p, -1)] = [1, -2, 3, 1, -1, 2, 2, -1, 1, 3][: p * (p - 1) // 2]
    T_inv = np.rint(np.linalg.inv(T)).astype(np.int64)
    assert (T_inv @ T == np.eye(p, dtype=np.int64)).all()
    k = np.linspace(0, spread, p).round().astype(int)
    L = np.diag(2.0**-k) @ T
    L_inv = T_inv @ np.diag(2.0**k)
    return [torch.tensor(a, dtype=F64) for a in (L, L @ L.T, L_inv.T @ L_inv)]


def _in(param, L, cov, precision):
    return {"covariance_matrix": cov, "precision_matrix": precision, "scale_tril": L}[param]


# --------------------------------------------------------------------- mpmath references
def _mp(m):
    return mpmath.matrix(np.asarray(m, dtype=float).tolist())


def _mp_lmvgamma(a, p):
    return p * (p - 1) / mpmath.mpf(4) * mpmath.log(mpmath.pi) + sum(
        mpmath.loggamma(a - mpmath.mpf(j) / 2) for j in range(p)
    )


def _mp_mvdigamma(a, p):
    return sum(mpmath.digamma(a - mpmath.mpf(j) / 2) for j in range(p))


def _mp_log_prob(x, cov, df):
    """The textbook log-density at the exact float64 inputs, 50 digits."""
    p = cov.shape[-1]
    X, S, n = _mp(x), _mp(cov), mpmath.mpf(float(df))
    trace = sum((S**-1 * X)[i, i] for i in range(p))
    return (
        (n - p - 1) / 2 * mpmath.log(mpmath.det(X))
        - trace / 2
        - n * p / 2 * mpmath.log(2)
        - n / 2 * mpmath.log(mpmath.det(S))
        - _mp_lmvgamma(n / 2, p)
    )


def _mp_entropy(cov, df):
    p = cov.shape[-1]
    n, log_det = mpmath.mpf(float(df)), mpmath.log(mpmath.det(_mp(cov)))
    return (
        (p + 1) / mpmath.mpf(2) * log_det
        + p * (p + 1) / mpmath.mpf(2) * mpmath.log(2)
        + _mp_lmvgamma(n / 2, p)
        - (n - p - 1) / 2 * _mp_mvdigamma(n / 2, p)
        + n * p / 2
    )


def _mp_kl(df_p, L_p, df_q, L_q):
    r"""KL from :math:`E_p[\log p(X) - \log q(X)]` with :math:`E_pX = \nu_p\Sigma_p` and
    :math:`E_p\log|X| = \psi_d(\nu_p/2) + d\log 2 + \log|\Sigma_p|`, Σ formed from the exact
    factors at 50 digits."""
    d = L_p.shape[-1]
    Lp, Lq = _mp(L_p), _mp(L_q)
    Sp, Sq = Lp * Lp.T, Lq * Lq.T
    n1, n2 = mpmath.mpf(float(df_p)), mpmath.mpf(float(df_q))
    ld_p, ld_q = mpmath.log(mpmath.det(Sp)), mpmath.log(mpmath.det(Sq))
    e_log_det = _mp_mvdigamma(n1 / 2, d) + d * mpmath.log(2) + ld_p
    trace = sum((Sq**-1 * Sp)[i, i] for i in range(d))
    return (
        (n1 - n2) / 2 * e_log_det
        - n1 / 2 * (d - trace)
        - (n1 - n2) * d / 2 * mpmath.log(2)
        - n1 / 2 * ld_p
        + n2 / 2 * ld_q
        - _mp_lmvgamma(n1 / 2, d)
        + _mp_lmvgamma(n2 / 2, d)
    )


# --------------------------------------------------------------------- references
# Well-scaled Σ (spread 0) given as a covariance; ill-scaled Σ (entries over 2^0 … 2^-40) in
# each parameterization.
HARD_GRID = [
    (p, df, spread, param)
    for p in (1, 2, 5)
    for df in (p - 1 + 1e-3, p - 0.5, p + 2.5, 30.0, 1e6)
    for spread, param in [(0, "covariance_matrix")] + [(20, param) for param in PARAMS]
]


def _values(L, df, p):
    """Three positive-definite values: typical draws at ``df`` (or, near p − 1, where draws are
    numerically singular, draws at p + 1.5) in float64."""
    source = Wishart(torch.tensor(max(df, p + 1.5), dtype=F64), scale_tril=L)
    return source.sample((3,), generator=_gen(7))


@pytest.mark.parametrize(
    "p,df,spread,param", HARD_GRID, ids=[f"p{p}-df{df:g}-s{s}-{m}" for p, df, s, m in HARD_GRID]
)
def test_matches_scipy_and_mpmath_float64(p, df, spread, param):
    """log_prob and entropy: ≤ 1e-11 relative to mpmath (measured ≤ 1.3e-12) and ≤ 1e-10 to
    scipy, except at df = 1e6, where scipy's textbook form itself errs by up to ~1e-9 (the
    mpmath check is the reference there); moments to 1e-10."""
    L, cov, precision = _exact(p, spread)
    dist = Wishart(torch.tensor(df, dtype=F64), **{param: _in(param, L, cov, precision)})
    ref = stats.wishart(df, cov.numpy())
    x = _values(L, df, p)
    log_p = dist.log_prob(x)
    exact = [float(_mp_log_prob(xi.numpy(), cov.numpy(), df)) for xi in x]
    assert_close(log_p, exact, rtol=1e-11, label="log_prob vs mpmath")
    scipy_rtol = 3e-9 if df > 1e5 else 1e-10
    assert_close(log_p, [ref.logpdf(xi.numpy()) for xi in x], rtol=scipy_rtol, label="scipy")
    entropy = float(_mp_entropy(cov.numpy(), df))
    assert_close(dist.entropy(), entropy, rtol=1e-12, atol=1e-12, label="entropy vs mpmath")
    assert_close(dist.entropy(), ref.entropy(), rtol=scipy_rtol, atol=1e-10, label="scipy H")
    # Moments, entrywise relative to the scale of their row and column (off-diagonal entries
    # of Σ may be small differences, rounded when Σ is recovered from P or L).
    diag = np.diag(cov.numpy())
    unit = np.sqrt(np.outer(diag, diag))
    for name, value, want, scale in (
        ("mean", dist.mean, ref.mean(), df * unit),
        ("variance", dist.variance, ref.var(), df * unit**2),
    ):
        got = value.numpy()
        want = np.reshape(want, (p, p))
        assert_close(got / scale, want / scale, rtol=1e-10, atol=1e-14, label=name)
    if df > p + 1:
        mode = np.reshape(ref.mode(), (p, p))
        assert_close(dist.mode.numpy() / unit, mode / unit, rtol=1e-10, atol=1e-13, label="mode")
    else:
        assert torch.isnan(dist.mode).all()  # torch's convention for df ≤ p + 1


def test_mode_at_the_boundary_is_nan_as_in_torch():
    cov = spd(3)
    df = torch.tensor([3.5, 4.0, 4.0 + 1e-9, 6.0], dtype=F64)
    ours, theirs = Wishart(df, cov).mode, td.Wishart(df, cov).mode
    assert torch.isnan(ours[:2]).all() and torch.isfinite(ours[2:]).all()
    assert_close(ours, theirs, rtol=1e-14, label="mode")


def test_huge_df_float32_log_prob_is_as_accurate_as_the_problem_allows():
    """At ν = 1e6 the textbook form cancels ~8 digits (torch's float32 log_prob is off by ~1
    there); the saddle-point form leaves the error that rounding X to float32 implies,
    ~√ν·ε·cond: within 1e-2 of the exact log-density of the rounded matrix."""
    L, cov, _ = _exact(3, 6)
    x64 = Wishart(torch.tensor(1e6, dtype=F64), scale_tril=L).sample((4,), generator=_gen(3))
    x32 = x64.float()
    exact = [float(_mp_log_prob(x.double().numpy(), cov.numpy(), 1e6)) for x in x32]
    ours = Wishart(torch.tensor(1e6, dtype=F32), scale_tril=L.float()).log_prob(x32)
    assert_close(ours, exact, rtol=0, atol=1e-2, label="float32 log_prob at df = 1e6")
    ours64 = Wishart(torch.tensor(1e6, dtype=F64), scale_tril=L).log_prob(x32.double())
    assert_close(ours64, exact, rtol=1e-12, label="float64 log_prob of the rounded draws")


@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("param", PARAMS)
def test_matches_torch_distributions(param, p):
    cov = spd(p, (4,), seed=5)
    df = torch.tensor([[3.5], [7.0]], dtype=F64)  # batch (2, 1) against (4,)
    matrix = as_parameter(param, cov)
    ours, ref = Wishart(df, **{param: matrix}), td.Wishart(df, **{param: matrix})
    assert ours.batch_shape == ref.batch_shape == (2, 4)
    assert ours.event_shape == ref.event_shape == (p, p)
    x = Wishart(torch.tensor(6.0, dtype=F64), cov).sample((3,), generator=_gen(1))
    x = x.unsqueeze(1)  # (3, 1, 4, 3, 3)
    assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-11, atol=1e-11, label="log_prob")
    assert_close(ours.entropy(), ref.entropy(), rtol=1e-11, label="entropy")
    for name in ("mean", "mode", "variance", "stddev", "df", *PARAMS):
        assert getattr(ours, name).shape == getattr(ref, name).shape, name
        assert_close(getattr(ours, name), getattr(ref, name), rtol=1e-10, atol=1e-12, label=name)
    assert ours._unbroadcasted_scale_tril.shape == (4, p, p)
    assert ours.support is td.constraints.positive_definite
    assert set(ours.arg_constraints) == set(ref.arg_constraints)
    assert ours.arg_constraints["df"].lower_bound == ref.arg_constraints["df"].lower_bound == p - 1
    assert rsample.Wishart is Wishart and "Wishart" in rsample.__all__


def test_python_number_df_and_one_dimensional_events():
    cov = spd(2, dtype=F32)
    dist = Wishart(3, cov)
    assert dist.df.dtype == F32 and dist.df.shape == () and dist.batch_shape == ()
    one = Wishart(torch.tensor([0.5, 2.0], dtype=F64), scale_tril=torch.ones(1, 1, dtype=F64))
    x = one.sample((5,), generator=_gen(0))
    assert x.shape == (5, 2, 1, 1) and (x > 0).all()
    ref = stats.chi2(np.array([0.5, 2.0]))  # W_1(ν, 1) is χ²_ν
    assert_close(one.log_prob(x), ref.logpdf(x[..., 0, 0].numpy()), rtol=1e-12, label="chi2")


# --------------------------------------------------------------------- float32
@pytest.mark.parametrize("p", [1, 2, 5])
def test_float32_is_finite(p):
    """Everything finite for df from just above p − 1 to 1e6 and scales over 2^±12."""
    L, cov, precision = (t.float() for t in _exact(p, 24))
    for df, param in itertools.product((p - 1 + 1e-3, p - 0.5, p + 1.0, 40.0, 1e6), PARAMS):
        dist = Wishart(torch.tensor(df), **{param: _in(param, L, cov, precision)})
        x, log_p = dist.rsample_and_log_prob((200,), generator=_gen(4))
        assert x.dtype == F32
        assert torch.equal(x, x.mT)
        for name, value in (
            ("draws", x),
            ("rsample_and_log_prob", log_p),
            ("entropy", dist.entropy()),
            ("mean", dist.mean),
            ("variance", dist.variance),
        ):
            assert torch.isfinite(value).all(), f"p={p} df={df} {param}: {name}"
        # log_prob of the draws whose float32 rounding is still positive definite (all of them
        # from df ≈ p on; near p − 1 the smallest eigenvalue is often below float32's ulp).
        pd = torch.linalg.cholesky_ex(x).info == 0
        assert pd.float().mean() > (0.99 if df >= p else 0.2), f"p={p} df={df} {param}"
        assert torch.isfinite(dist.log_prob(x[pd])).all(), f"p={p} df={df} {param}: log_prob"


def test_float32_log_prob_agrees_with_float64():
    L, _, _ = _exact(3, 8)
    x = Wishart(torch.tensor(9.0, dtype=F64), scale_tril=L).sample((50,), generator=_gen(2))
    for df in (2.5, 9.0, 300.0):
        exact = Wishart(torch.tensor(df, dtype=F64), scale_tril=L).log_prob(x)
        ours = Wishart(torch.tensor(df), scale_tril=L.float()).log_prob(x.float())
        assert_close(ours, exact, rtol=1e-4, atol=1e-3, label=f"float32 log_prob df={df}")


# --------------------------------------------------------------------- samples
def _log_chi2_sum_cdf(ks):
    r"""CDF of :math:`\sum_i \log\chi^2_{k_i}` (independent), by Gil-Pelaez inversion of
    :math:`\varphi(t) = \prod_i 2^{it}\Gamma(k_i/2 + it)/\Gamma(k_i/2)`, midpoint rule in t
    (|φ| decays like :math:`e^{-\pi p t/2}`; the step 0.01 puts the aliasing beyond the tails)
    on a grid, interpolated by a cubic spline."""
    h, t_max = 0.01, 25.0
    t = np.arange(h / 2, t_max, h)
    log_phi = sum(
        1j * t * math.log(2) + special.loggamma(k / 2 + 1j * t) - special.gammaln(k / 2) for k in ks
    )
    mean = sum(special.digamma(k / 2) + math.log(2) for k in ks)
    sd = math.sqrt(sum(special.polygamma(1, k / 2) for k in ks))
    grid = np.linspace(mean - 60 * sd - 40 * len(ks), mean + 15 * sd, 3001)
    values = np.empty_like(grid)
    for start in range(0, grid.size, 500):
        x = grid[start : start + 500, None]
        integrand = np.imag(np.exp(log_phi[None, :] - 1j * t[None, :] * x)) / t[None, :]
        values[start : start + 500] = 0.5 - integrand.sum(-1) * h / math.pi

    spline = interpolate.CubicSpline(grid, values)

    def cdf(v):
        v = np.clip(np.asarray(v, float), grid[0], grid[-1])
        return torch.as_tensor(np.clip(spline(v), 0.0, 1.0))

    return cdf


def test_log_chi2_sum_cdf_reference_is_exact_for_one_term():
    cdf = _log_chi2_sum_cdf([2.7])
    u = np.linspace(-6, 3, 50)
    assert_close(cdf(u), stats.chi2(2.7).cdf(np.exp(u)), rtol=0, atol=1e-6, label="Gil-Pelaez")


@pytest.mark.parametrize("p,df", [(3, 2.8), (3, 7.3), (5, 4.8)])
def test_samples_goodness_of_fit(p, df):
    """KS at alpha = 1e-4 per statistic, fixed seeds: X_ii/Σ_ii ~ χ²_ν, uᵀXu/uᵀΣu ~ χ²_ν for a
    fixed u, and log|X| − log|Σ| = Σ_i log χ²_{ν−i} (independent, Bartlett)."""
    cov = spd(p, seed=12)
    dist = Wishart(torch.tensor(df, dtype=F64), cov)
    x = dist.sample((20_000,), generator=_gen(2024))
    chi2 = stats.chi2(df)

    def chi2_cdf(v):
        return torch.as_tensor(chi2.cdf(v.numpy()))

    for i in range(p):
        assert_samples_match(x[:, i, i] / cov[i, i], chi2_cdf, label=f"X_{i}{i}")
    u = torch.linspace(-1.0, 2.0, p, dtype=F64)
    assert_samples_match((u @ x @ u) / (u @ cov @ u), chi2_cdf, label="uᵀXu")
    log_det = torch.logdet(x) - torch.logdet(cov)
    assert_samples_match(log_det, _log_chi2_sum_cdf([df - i for i in range(p)]), label="log|X|")


def test_draws_are_exactly_symmetric_and_positive_definite():
    """No retry loop: positive definite by construction (in exact arithmetic). The stored
    matrix is exactly symmetric; its factorization succeeds for every draw once the smallest
    Bartlett gamma, Gamma((df − p + 1)/2), is rarely below ulp (df − (p − 1) = 0.8 here; at 0.1
    the draws are numerically singular, see the rsample_and_log_prob test below)."""
    cov = spd(3, seed=1)
    for df in (2.1, 2.8):
        x = Wishart(torch.tensor(df, dtype=F64), cov).sample((2000,), generator=_gen(9))
        assert torch.equal(x, x.mT) and torch.isfinite(x).all()
    assert (torch.linalg.cholesky_ex(x).info == 0).all()


# --------------------------------------------------------------------- pathwise gradients
def _per_draw_grads(param, df, matrix, fs, n=20_000, seed=0):
    """Mean and standard error of the per-draw gradients of each ``f(rsample())`` with respect
    to ``df`` and the matrix (one copy of the parameters per draw)."""
    p = matrix.shape[-1]
    dfs = df.expand(n).clone().requires_grad_()
    matrices = matrix.expand(n, p, p).clone().requires_grad_()
    x = Wishart(dfs, **{param: matrices}).rsample(generator=_gen(seed))
    out = []
    for f in fs:
        grads = torch.autograd.grad(f(x).sum(), (dfs, matrices), retain_graph=True)
        out.append([(g.mean(0), g.std(0) / math.sqrt(n)) for g in grads])
    return out


def _tr(m):
    return m.diagonal(dim1=-2, dim2=-1).sum(-1)


W = torch.tensor([[1.0, 0.5, -0.3], [0.2, -1.0, 0.4], [0.7, 0.1, 2.0]], dtype=F64)
# f(X) and E[f(X)] as a function of (ν, Σ): E[X] = νΣ; E log|X| = ψ_p(ν/2) + p log 2 + log|Σ|;
# E[tr(X)²] = Var(tr X) + (E tr X)² = 2ν‖Σ‖²_F + ν²(tr Σ)² (Cov(X_ii, X_jj) = 2νΣ_ij²).
TEST_FUNCTIONS = {
    "linear": (lambda x: (W * x).sum((-2, -1)), lambda n, s: n * (W * s).sum()),
    "log_det": (
        lambda x: torch.logdet(x),
        lambda n, s: (
            torch.digamma(n / 2 - torch.arange(3, dtype=F64) / 2).sum()
            + 3 * math.log(2)
            + torch.logdet(s)
        ),
    ),
    "trace_squared": (
        lambda x: _tr(x).square(),
        lambda n, s: 2 * n * s.square().sum() + n.square() * _tr(s).square(),
    ),
}


@pytest.mark.parametrize("param", PARAMS)
def test_pathwise_gradients_match_closed_forms(param):
    """d/dν and d/d(matrix) of E[f(X)] for three f, against autograd of the closed forms
    (z = 5 standard errors: a correct sampler fails with probability ≈ 6 × 2 × 6e-7)."""
    df = torch.tensor(4.3, dtype=F64)
    cov = spd(3, seed=9)
    matrix = as_parameter(param, cov)
    estimates = _per_draw_grads(param, df, matrix, [f for f, _ in TEST_FUNCTIONS.values()])
    for (fname, (_, expectation)), est in zip(TEST_FUNCTIONS.items(), estimates):
        n, m = df.clone().requires_grad_(), matrix.clone().requires_grad_()
        s = {"covariance_matrix": m, "precision_matrix": None, "scale_tril": m @ m.mT}[param]
        if param == "precision_matrix":
            s = torch.linalg.inv(m)
        exact_df, exact_m = torch.autograd.grad(expectation(n, s), (n, m))
        if param != "scale_tril":  # symmetric arguments: the symmetrized gradient
            exact_m = 0.5 * (exact_m + exact_m.mT)
        for name, (mean, se), exact in (("df", est[0], exact_df), (param, est[1], exact_m)):
            excess = (mean - exact).abs() - 5 * se - 1e-9
            assert (excess <= 0).all(), f"d/d{name} E[{fname}]: {mean} ± {se}, exact {exact}"


@pytest.mark.parametrize("fname", ["log_det", "trace_squared"])
def test_df_gradient_with_the_generic_checker(fname):
    """The df gradient through the implicit gamma gradients, near p − 1 as well, with
    rsample.testing.assert_pathwise_gradient (central differences of the closed form)."""
    L = torch.linalg.cholesky(spd(3, seed=3))
    cov = L @ L.T
    f, expectation = TEST_FUNCTIONS[fname]
    # log|X| of the stored matrix is only meaningful where it is not numerically singular.
    for df in (3.0 if fname == "log_det" else 2.05, 6.0):
        assert_pathwise_gradient(
            lambda df: Wishart(df, scale_tril=L),
            {"df": df},
            f,
            lambda df: float(expectation(torch.tensor(df, dtype=F64), cov)),
            n=20_000,
            seed=5,
            label=f"Wishart(df={df}) E[{fname}]",
        )


def test_log_prob_supports_repeated_backward():
    L = torch.linalg.cholesky(spd(3)).requires_grad_()
    df = torch.tensor(5.0, dtype=F64, requires_grad=True)
    dist = Wishart(df, scale_tril=L)
    x = 5.0 * torch.eye(3, dtype=F64)
    for _ in range(2):
        dist.log_prob(x).backward()
        dist.entropy().backward()
    assert torch.isfinite(df.grad) and torch.isfinite(L.grad).all()


def test_log_prob_gradient_matches_torch():
    """Autograd of the saddle-point form equals autograd of torch's textbook form."""
    cov = spd(3, seed=4)
    x = Wishart(torch.tensor(6.0, dtype=F64), cov).sample((4,), generator=_gen(1))
    grads = []
    for cls in (Wishart, td.Wishart):
        df = torch.tensor(5.5, dtype=F64, requires_grad=True)
        L = torch.linalg.cholesky(cov).requires_grad_()
        value = x.clone().requires_grad_()
        cls(df, scale_tril=L).log_prob(value).sum().backward()
        grads.append((df.grad, L.grad, value.grad))
    for name, ours, theirs in zip(("df", "scale_tril", "value"), *grads):
        if name == "scale_tril":  # the upper triangle is structurally zero: no gradient there
            assert (ours.triu(1) == 0).all()
            ours, theirs = ours.tril(), theirs.tril()
        assert_close(ours, theirs, rtol=1e-9, atol=1e-10, label=f"d log_prob / d {name}")


# --------------------------------------------------------------------- shapes and randomness
def test_shapes_and_broadcasting():
    df = torch.tensor([[3.0], [4.5]], dtype=F64)
    dist = Wishart(df, scale_tril=torch.linalg.cholesky(spd(3, (4,))))
    assert dist.batch_shape == (2, 4) and dist.event_shape == (3, 3)
    assert dist._unbroadcasted_scale_tril.shape == (4, 3, 3) and dist.df.shape == (2, 4)
    for draw in (dist.sample((5, 6)), dist.rsample((5, 6))):
        assert draw.shape == (5, 6, 2, 4, 3, 3)
    assert dist.log_prob(dist.sample((5,))).shape == (5, 2, 4)
    assert dist.log_prob(torch.eye(3, dtype=F64)).shape == (2, 4)
    x, log_p = dist.rsample_and_log_prob((7,))
    assert x.shape == (7, 2, 4, 3, 3) and log_p.shape == (7, 2, 4)
    assert dist.entropy().shape == (2, 4)
    for name in ("mean", "mode", "variance", *PARAMS):
        assert getattr(dist, name).shape == (2, 4, 3, 3), name
    shared = Wishart(torch.tensor([3.0, 4.0, 5.0], dtype=F64), spd(2))  # one Σ, three dfs
    assert shared.batch_shape == (3,) and shared._unbroadcasted_scale_tril.shape == (2, 2)
    assert shared.sample((2,)).shape == (2, 3, 2, 2)


@pytest.mark.parametrize("param", PARAMS)
def test_sample_has_no_graph_and_rsample_reaches_every_parameter(param):
    df = torch.tensor([3.5, 6.0], dtype=F64, requires_grad=True)
    matrix = as_parameter(param, spd(3, (2,))).requires_grad_()
    dist = Wishart(df, **{param: matrix})
    drawn = dist.sample((4,))
    assert not drawn.requires_grad and drawn.grad_fn is None
    grads = torch.autograd.grad(dist.rsample((4,)).square().sum(), (df, matrix))
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    assert dist.has_rsample and Wishart.rsample_kind == "implicit"


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_generator_determinism(dtype):
    dist = Wishart(torch.tensor([2.5, 5.0], dtype=dtype), spd(3, dtype=dtype))
    state = torch.get_rng_state()
    a = dist.sample((5,), generator=_gen(3))
    assert torch.equal(a, dist.sample((5,), generator=_gen(3)))
    assert torch.equal(a, dist.rsample((5,), generator=_gen(3)))
    x, _ = dist.rsample_and_log_prob((5,), generator=_gen(3))
    assert torch.equal(a, x)
    assert not torch.equal(a, dist.sample((5,), generator=_gen(4)))
    assert torch.equal(torch.get_rng_state(), state), "used the global generator"
    torch.manual_seed(12)
    b = dist.sample((5,))
    torch.manual_seed(12)
    assert torch.equal(b, dist.sample((5,)))


@pytest.mark.parametrize("param", PARAMS)
def test_rsample_and_log_prob_equals_log_prob_of_rsample(param):
    df = torch.tensor([4.5, 8.0, 60.0], dtype=F64)  # draws well conditioned (see below)
    dist = Wishart(df, **{param: as_parameter(param, spd(4, (3,), seed=2))})
    x, log_p = dist.rsample_and_log_prob((50,), generator=_gen(8))
    assert torch.equal(x, dist.rsample((50,), generator=_gen(8)))
    assert_close(log_p, dist.log_prob(x.clone()), rtol=1e-9, atol=1e-9, label="from the noise")


def test_rsample_and_log_prob_scores_numerically_singular_draws():
    """Just above p − 1 many draws round to singular matrices: their log-density from the
    noise is still the exact one of the (unrounded) draw, finite; log_prob of the rounded
    matrix is -inf where its factorization fails, never NaN."""
    dist = Wishart(torch.tensor(2.001, dtype=F64), spd(3))
    x, log_p = dist.rsample_and_log_prob((400,), generator=_gen(1))
    assert torch.isfinite(log_p).all()
    scored = Wishart(torch.tensor(2.001, dtype=F64), spd(3), validate_args=False).log_prob(x)
    ok = torch.linalg.cholesky_ex(x).info == 0
    assert (scored[~ok] == -math.inf).all() and not torch.isnan(scored).any()
    assert ok.any() and (~ok).any()


# --------------------------------------------------------------------- invalid input
def test_invalid_df_raises():
    cov = spd(3)
    for bad in (2.0, 1.5, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"Wishart: argument 'df'.*GreaterThan \(2, inf\)"):
            Wishart(torch.tensor([4.0, bad], dtype=F64), cov)
        Wishart(torch.tensor([4.0, bad], dtype=F64), cov, validate_args=False)
    Wishart(torch.tensor(2.0 + 1e-12, dtype=F64), cov)  # just above p − 1 is valid


BAD_MATRIX = {
    "not positive definite": torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64),
    "not symmetric": torch.tensor([[2.0, 0.5], [0.0, 2.0]], dtype=F64),
    "finite": torch.tensor([[1.0, 0.0], [0.0, math.nan]], dtype=F64),
}


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix"])
@pytest.mark.parametrize("problem", BAD_MATRIX)
def test_invalid_covariance_or_precision_raises(param, problem):
    matrix = torch.stack([torch.eye(2, dtype=F64), BAD_MATRIX[problem]])
    with pytest.raises(ValueError, match=rf"Wishart: argument '{param}'.*{problem}"):
        Wishart(3.0, **{param: matrix})
    Wishart(3.0, **{param: matrix}, validate_args=False)


@pytest.mark.parametrize(
    "L,pattern",
    [
        ([[1.0, 0.0], [0.5, 0.0]], "diagonal is not positive"),
        ([[1.0, 1e-30], [0.5, 2.0]], "nonzero entry above the diagonal"),
        ([[1.0, 0.0], [math.nan, 2.0]], "non-finite"),
    ],
)
def test_invalid_scale_tril_raises(L, pattern):
    with pytest.raises(ValueError, match=rf"Wishart: argument 'scale_tril'.*{pattern}"):
        Wishart(3.0, scale_tril=torch.tensor(L, dtype=F64))


def test_invalid_shapes_and_arguments_raise():
    eye = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match=r"exactly one.*none"):
        Wishart(3.0)
    with pytest.raises(ValueError, match=r"exactly one.*\['covariance_matrix', 'scale_tril'\]"):
        Wishart(3.0, eye, scale_tril=eye)
    with pytest.raises(ValueError, match="square"):
        Wishart(3.0, torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="square"):
        Wishart(3.0, torch.ones(2, dtype=F64))
    with pytest.raises(
        ValueError, match=r"do not broadcast.*df\(3,\), covariance_matrix\(2, 2, 2\)"
    ):
        Wishart(torch.full((3,), 4.0, dtype=F64), eye.expand(2, 2, 2))
    with pytest.raises(TypeError, match="df"):
        Wishart("3", eye)


def test_invalid_values_raise_in_log_prob():
    dist = Wishart(torch.tensor([3.0, 4.0], dtype=F64), spd(2))
    for problem, value in BAD_MATRIX.items():
        with pytest.raises(ValueError, match=rf"Wishart: argument 'value'.*{problem}"):
            dist.log_prob(value)
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="does not broadcast"):
        dist.log_prob(torch.eye(2, dtype=F64).expand(3, 2, 2))
    loose = Wishart(torch.tensor([3.0, 4.0], dtype=F64), spd(2), validate_args=False)
    assert (loose.log_prob(BAD_MATRIX["not positive definite"]) == -math.inf).all()
    assert torch.isnan(loose.log_prob(BAD_MATRIX["finite"])).all()
    x = dist.rsample()
    with torch.no_grad():
        x[0, 0, 0] = -1.0  # an in-place change: the own-draw shortcut no longer applies
    with pytest.raises(ValueError, match="'value'"):
        dist.log_prob(x)


# --------------------------------------------------------------------- expand, copies, compile
@pytest.mark.parametrize("param", PARAMS)
def test_expand_shares_storage(param):
    matrix = as_parameter(param, spd(3, (1,)))
    dist = Wishart(torch.tensor([4.0], dtype=F64), **{param: matrix})
    _ = dist.covariance_matrix  # a cached lazy value is expanded too
    big = dist.expand((5, 4))
    assert big.batch_shape == (5, 4) and type(big) is Wishart
    assert big.df.data_ptr() == dist.df.data_ptr()
    assert big.__dict__[param].data_ptr() == matrix.data_ptr()
    assert big._unbroadcasted_scale_tril is dist._unbroadcasted_scale_tril
    assert big.covariance_matrix.data_ptr() == dist.covariance_matrix.data_ptr()
    x = big.sample(generator=_gen()).clone()
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")
    assert big._validate_args == dist._validate_args
    assert big.sample((2,)).shape == (2, 5, 4, 3, 3)


@pytest.mark.parametrize("param", PARAMS)
def test_pickle_deepcopy_and_torch_save(param):
    dist = Wishart(torch.tensor([3.0, 5.0], dtype=F64), **{param: as_parameter(param, spd(3))})
    x = dist.sample((3,), generator=_gen()).clone()
    for clone in round_trips(dist):
        assert type(clone) is Wishart and clone.batch_shape == (2,)
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


@pytest.mark.parametrize("param", PARAMS)
def test_torch_compile_fullgraph(param):
    """rsample and log_prob (and, for scale_tril, rsample_and_log_prob) in one graph."""
    torch._dynamo.reset()

    def step(df, matrix):
        dist = Wishart(df, **{param: matrix})
        x = dist.rsample((8,))
        log_p = dist.log_prob(x)
        if param == "scale_tril":
            log_p = log_p + dist.rsample_and_log_prob((8,))[1]
        return x, log_p

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    df = torch.tensor([3.0, 6.0], requires_grad=True)
    matrix = as_parameter(param, spd(3, dtype=F32)).requires_grad_()
    x, log_p = compiled(df, matrix)
    assert x.shape == (8, 2, 3, 3) and log_p.shape == (8, 2) and torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert df.grad is not None and matrix.grad is not None


# --------------------------------------------------------------------- KL
KL_CASES = [
    # (p, df_p, df_q, perturbation of q's factor)
    (p, df_p, df_q, eps)
    for p in (1, 2, 5)
    for df_p, df_q in (
        (p + 0.5, p + 2.0),
        (p - 1 + 1e-3, p + 3.0),
        (p - 1 + 1e-3, p - 1 + 2e-3),
        (30.0, 30.0 + 1e-9),
        (1e6, 2e6),
        (1e6, 1e6 + 1),
        (5e5, 4e5),
    )
    for eps in (0.0, 1e-7, 0.5)
]


def _perturbed(L, eps, seed=7):
    """A lower-triangular factor near ``L`` (relative perturbation ``eps``, positive diagonal)."""
    E = torch.randn(L.shape, dtype=F64, generator=_gen(seed)).tril()
    return _positive_diagonal(L + eps * E * L.diagonal().abs().min())


def _positive_diagonal(L):
    return L.tril(-1) + torch.diag_embed(L.diagonal(dim1=-2, dim2=-1).abs())


@pytest.mark.parametrize(
    "p,df_p,df_q,eps", KL_CASES, ids=[f"p{p}-{a:g}-{b:.12g}-{e:g}" for p, a, b, e in KL_CASES]
)
def test_kl_matches_mpmath(p, df_p, df_q, eps):
    """Relative error ≤ 1e-12 against 50-digit mpmath everywhere, including nearly equal pairs
    (KL ~ 1e-20) where the textbook form cancels completely; KL ≥ 0."""
    L_p = torch.linalg.cholesky(spd(p, seed=1))
    L_q = _perturbed(L_p, eps)
    kl = rsample.kl_divergence(
        Wishart(torch.tensor(df_p, dtype=F64), scale_tril=L_p),
        Wishart(torch.tensor(df_q, dtype=F64), scale_tril=L_q),
    )
    exact = float(_mp_kl(df_p, L_p.numpy(), df_q, L_q.numpy()))
    assert kl >= 0
    assert_close(kl, exact, rtol=1e-12, atol=1e-300, label="KL vs mpmath")


def test_kl_of_a_distribution_with_itself_is_exactly_zero():
    df = torch.tensor([2.0 + 1e-3, 3.5, 1e6], dtype=F64)
    for param in PARAMS:
        p = Wishart(df, **{param: as_parameter(param, spd(3, (3,), seed=3))})
        assert torch.equal(rsample.kl_divergence(p, p), torch.zeros(3, dtype=F64))


def test_kl_of_nearly_equal_pairs_is_non_negative_in_float32_and_float64():
    for dtype in (F32, F64):
        L = torch.linalg.cholesky(spd(4, (200,), seed=5, dtype=dtype))
        df = torch.linspace(3.001, 1e4, 200, dtype=dtype)
        E = torch.randn(L.shape, dtype=dtype, generator=_gen(6)).tril() * 1e-6
        q = Wishart(df * (1 + 1e-6), scale_tril=_positive_diagonal(L + E * L))
        kl = rsample.kl_divergence(Wishart(df, scale_tril=L), q)
        assert torch.isfinite(kl).all() and (kl >= 0).all(), dtype


def test_kl_matches_a_monte_carlo_estimate():
    """E_p[log p(X) − log q(X)] from 40k draws (5 standard errors): checks the closed form's
    derivation, independently of the mpmath transcription."""
    p = Wishart(torch.tensor(5.5, dtype=F64), spd(3, seed=1))
    q = Wishart(torch.tensor(7.0, dtype=F64), spd(3, seed=2))
    x, log_p = p.rsample_and_log_prob((40_000,), generator=_gen(3))
    diff = log_p - q.log_prob(x)
    se = float(diff.std()) / math.sqrt(diff.numel())
    assert abs(float(diff.mean()) - float(rsample.kl_divergence(p, q))) < 5 * se


def test_kl_broadcasts_is_registered_with_torch_and_checks_dimensions():
    p = Wishart(torch.tensor([[3.0], [4.0]], dtype=F64), spd(3, (1,), seed=1))
    q = Wishart(torch.tensor([5.0, 6.0, 7.0], dtype=F64), spd(3, (3,), seed=2))
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (2, 3)
    assert torch.equal(td.kl_divergence(p, q), kl)
    for i, j in itertools.product(range(2), range(3)):
        one = rsample.kl_divergence(
            Wishart(p.df[i, 0], scale_tril=p.scale_tril[i, 0]),
            Wishart(q.df[j], scale_tril=q.scale_tril[j]),
        )
        assert_close(kl[i, j], one, rtol=1e-13, label="broadcast KL")
    with pytest.raises(ValueError, match="event shapes"):
        rsample.kl_divergence(p, Wishart(4.0, torch.eye(2, dtype=F64)))


def test_kl_gradients_are_finite():
    df_p = torch.tensor(4.0, dtype=F64, requires_grad=True)
    L_p = torch.linalg.cholesky(spd(3, seed=1)).requires_grad_()
    L_other = torch.linalg.cholesky(spd(3, seed=2))
    for df_q, L_q in ((4.0, L_p.detach()), (4.0 + 1e-8, L_p.detach()), (9.0, L_other)):
        q = Wishart(torch.tensor(df_q, dtype=F64), scale_tril=L_q)
        kl = rsample.kl_divergence(Wishart(df_p, scale_tril=L_p), q)
        grads = torch.autograd.grad(kl, (df_p, L_p))
        assert all(torch.isfinite(g).all() for g in grads)
