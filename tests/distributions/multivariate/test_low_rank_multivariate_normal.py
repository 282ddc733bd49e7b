"""rsample.LowRankMultivariateNormal: references, torch interop, gradients, samples, KL."""

from __future__ import annotations

import copy
import io
import math
import pickle

import numpy as np
import pytest
import torch
import torch.distributions as td
from scipy import stats

import rsample
from rsample import LowRankMultivariateNormal, MultivariateNormal
from rsample.testing import assert_close, assert_samples_match

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _params(d=4, rank=2, batch=(), seed=0, dtype=F64):
    g = _gen(seed)
    loc = torch.randn((*batch, d), dtype=dtype, generator=g)
    W = torch.randn((*batch, d, rank), dtype=dtype, generator=g)
    D = torch.rand((*batch, d), dtype=dtype, generator=g) + 0.3
    return loc, W, D


def _cov(W, D):
    return W @ W.mT + torch.diag_embed(D)


# --------------------------------------------------------------------- references
@pytest.mark.parametrize("d,rank", [(1, 1), (4, 2), (5, 7)])
def test_matches_scipy_float64(d, rank):
    loc, W, D = _params(d, rank, (2,), seed=d)
    dist = LowRankMultivariateNormal(loc, W, D)
    x = dist.sample((5,), generator=_gen(1)) * 1.5
    for b in range(2):
        ref = stats.multivariate_normal(loc[b].numpy(), _cov(W[b], D[b]).numpy())
        assert_close(dist.log_prob(x)[:, b], ref.logpdf(x[:, b].numpy()), rtol=1e-10)
        assert_close(dist.entropy()[b], ref.entropy(), rtol=1e-10)
        assert_close(dist.variance[b], np.diag(ref.cov), rtol=1e-12)
    assert dist.mean is dist.loc and dist.mode is dist.loc


def test_agrees_with_dense_multivariate_normal():
    """Woodbury and the determinant lemma against a Cholesky factor of WWᵀ + D, including a
    nearly singular low-rank part (tiny D)."""
    for scale in (1.0, 1e-4):
        loc, W, D = _params(6, 3, (3,), seed=2)
        D = D * scale
        low_rank = LowRankMultivariateNormal(loc, W, D)
        dense = MultivariateNormal(loc, _cov(W, D))
        x = dense.sample((10,), generator=_gen(3))
        assert_close(low_rank.log_prob(x), dense.log_prob(x), rtol=1e-9 if scale < 1 else 1e-11)
        assert_close(low_rank.entropy(), dense.entropy(), rtol=1e-11)
        for name in ("covariance_matrix", "precision_matrix", "scale_tril", "variance"):
            ref, got = getattr(dense, name), getattr(low_rank, name)
            assert_close(got, ref, rtol=1e-8, atol=1e-10 * float(ref.abs().max()), label=name)


def test_matches_torch_distributions():
    loc = torch.randn(2, 1, 4, dtype=F64, generator=_gen(1))
    _, W, _ = _params(4, 2, (3,), seed=2)
    D = torch.rand(4, dtype=F64, generator=_gen(3)) + 0.2
    ours, ref = LowRankMultivariateNormal(loc, W, D), td.LowRankMultivariateNormal(loc, W, D)
    assert ours.batch_shape == ref.batch_shape == (2, 3)
    assert ours.event_shape == ref.event_shape == (4,)
    x = ref.sample((3,))
    assert_close(ours.log_prob(x), ref.log_prob(x), rtol=1e-12, atol=1e-12)
    assert_close(ours.entropy(), ref.entropy(), rtol=1e-12)
    names = ("loc", "cov_factor", "cov_diag", "mean", "mode", "variance", "stddev")
    for name in (
        *names,
        "covariance_matrix",
        "precision_matrix",
        "scale_tril",
        "_capacitance_tril",
    ):
        assert getattr(ours, name).shape == getattr(ref, name).shape, name
        assert_close(getattr(ours, name), getattr(ref, name), rtol=1e-10, atol=1e-12, label=name)
    assert ours._unbroadcasted_cov_factor is W and ours._unbroadcasted_cov_diag is D
    torch.manual_seed(5)
    expected = ref.rsample((4,))
    torch.manual_seed(5)  # the same noise, drawn in torch's order
    assert_close(ours.rsample((4,)), expected, rtol=1e-14, atol=1e-14)


def test_float32_is_finite():
    loc, W, D = _params(8, 3, (2,), dtype=torch.float32)
    dist = LowRankMultivariateNormal(loc * 100, W * 30, D * 1e-3)
    x, log_p = dist.rsample_and_log_prob((1000,), generator=_gen(4))
    for value in (x, log_p, dist.log_prob(x), dist.entropy(), dist.variance, dist.precision_matrix):
        assert torch.isfinite(value).all()


# --------------------------------------------------------------------- shapes, graphs, randomness
def test_shapes_and_broadcasting():
    loc = torch.zeros(2, 1, 4, dtype=F64)
    _, W, D = _params(4, 3, (5,))
    dist = LowRankMultivariateNormal(loc, W, D[0])
    assert dist.batch_shape == (2, 5) and dist.event_shape == (4,)
    assert dist.cov_factor.shape == (2, 5, 4, 3) and dist.cov_diag.shape == (2, 5, 4)
    assert dist._capacitance_tril.shape == (5, 3, 3)
    for draw in (dist.sample((6, 7)), dist.rsample((6, 7))):
        assert draw.shape == (6, 7, 2, 5, 4)
    assert dist.log_prob(dist.sample((6,))).shape == (6, 2, 5)
    assert dist.log_prob(torch.zeros(4, dtype=F64)).shape == (2, 5)
    x, log_p = dist.rsample_and_log_prob((3,))
    assert x.shape == (3, 2, 5, 4) and log_p.shape == (3, 2, 5)
    assert dist.entropy().shape == (2, 5) and dist.variance.shape == (2, 5, 4)


def test_sample_has_no_graph_and_rsample_reaches_every_parameter():
    leaves = [t.requires_grad_() for t in _params(4, 2, (3,))]
    dist = LowRankMultivariateNormal(*leaves)
    drawn = dist.sample((5,))
    assert not drawn.requires_grad and drawn.grad_fn is None
    grads = torch.autograd.grad(dist.rsample((5,)).square().sum(), leaves)
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    assert dist.has_rsample and LowRankMultivariateNormal.rsample_kind == "explicit"


def test_generator_determinism_and_rsample_and_log_prob():
    dist = LowRankMultivariateNormal(*_params(4, 2, (3,)))
    assert torch.equal(dist.sample((5,), generator=_gen(3)), dist.sample((5,), generator=_gen(3)))
    assert not torch.equal(dist.sample(generator=_gen(3)), dist.sample(generator=_gen(4)))
    x, log_p = dist.rsample_and_log_prob((50,), generator=_gen(8))
    assert torch.equal(x, dist.rsample((50,), generator=_gen(8)))
    assert_close(log_p, dist.log_prob(x), rtol=1e-10, atol=1e-10)


def test_pathwise_gradient_of_a_quadratic_form():
    """E[xᵀAx] = μᵀAμ + tr(A(WWᵀ + D)): exact gradients, per-draw MC within 5 standard errors
    (failure rate ≈ 20 × 6e-7)."""
    n, (loc, W, D) = 40_000, _params(3, 2, seed=6)
    A = torch.tensor([[1.0, 0.5, 0.0], [-0.2, 2.0, 0.3], [0.4, 0.0, 0.7]], dtype=F64)
    leaves = [t.expand(n, *t.shape).clone().requires_grad_() for t in (loc, W, D)]
    x = LowRankMultivariateNormal(*leaves).rsample(generator=_gen(1))
    torch.einsum("ni,ij,nj->n", x, A, x).sum().backward()
    exact = ((A + A.T) @ loc, (A + A.T) @ W, torch.diagonal(A))
    for name, leaf, ex in zip(("loc", "cov_factor", "cov_diag"), leaves, exact):
        mean, se = leaf.grad.mean(0), leaf.grad.std(0) / math.sqrt(n)
        assert ((mean - ex).abs() <= 5 * se + 1e-9).all(), f"d/d{name}: {mean} ± {se}, exact {ex}"


def test_samples_goodness_of_fit():
    """KS at alpha = 1e-4, fixed seed: the Mahalanobis distances follow chi²(d)."""
    loc, W, D = _params(5, 2, seed=7)
    x = LowRankMultivariateNormal(loc, W, D).sample((20_000,), generator=_gen(2024))
    diff = (x - loc).unsqueeze(-1)
    maha = (diff.mT @ torch.linalg.solve(_cov(W, D), diff)).flatten()
    assert_samples_match(maha, lambda v: torch.as_tensor(stats.chi2(5).cdf(v.numpy())))


# --------------------------------------------------------------------- KL
def _dense_kl(loc_p, cov_p, loc_q, cov_q):
    """KL(N_p ‖ N_q) straight from the formula, with explicit inverses, in float64."""
    inv_q = torch.linalg.inv(cov_q)
    delta = (loc_q - loc_p).unsqueeze(-1)
    trace = torch.diagonal(inv_q @ cov_p, dim1=-2, dim2=-1).sum(-1)
    maha = (delta.mT @ inv_q @ delta)[..., 0, 0]
    log_det = torch.logdet(cov_q) - torch.logdet(cov_p)
    return 0.5 * (trace + maha - loc_p.shape[-1] + log_det)


def _pair(kind, batch, seed):
    """(rsample distribution, torch distribution, loc, covariance)."""
    loc, W, D = _params(4, 2, batch, seed=seed)
    if kind == "low_rank":
        ours, theirs = LowRankMultivariateNormal(loc, W, D), td.LowRankMultivariateNormal(loc, W, D)
        return ours, theirs, loc, _cov(W, D)
    cov = W @ W.mT + torch.eye(4, dtype=F64)
    return MultivariateNormal(loc, cov), td.MultivariateNormal(loc, cov), loc, cov


@pytest.mark.parametrize(
    "kind_p,kind_q", [("mvn", "low_rank"), ("low_rank", "mvn"), ("low_rank", "low_rank")]
)
def test_kl_matches_torch_and_formula(kind_p, kind_q):
    p, tp, loc_p, cov_p = _pair(kind_p, (2, 1), seed=1)
    q, tq, loc_q, cov_q = _pair(kind_q, (3,), seed=2)
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (2, 3)
    assert_close(kl, td.kl_divergence(tp, tq), rtol=1e-10, atol=1e-12)
    assert_close(kl, _dense_kl(loc_p, cov_p, loc_q, cov_q), rtol=1e-10, atol=1e-12)
    assert torch.equal(td.kl_divergence(p, q), kl)  # torch's registry finds rsample's KL
    assert_close(rsample.kl_divergence(p, p), torch.zeros(2, 1), rtol=0, atol=1e-12)


def test_kl_rejects_different_event_shapes():
    p = LowRankMultivariateNormal(*_params(3, 1))
    with pytest.raises(ValueError, match="event shapes"):
        rsample.kl_divergence(p, LowRankMultivariateNormal(*_params(4, 1)))


# --------------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    "arg,index,value,pattern",
    [
        ("cov_diag", 2, 0.0, "positive"),
        ("cov_diag", 1, -1.0, "positive"),
        ("cov_diag", 0, math.inf, "finite"),
        ("cov_factor", 3, math.nan, "finite"),
        ("loc", 1, math.inf, "finite"),
    ],
)
def test_invalid_parameters_raise(arg, index, value, pattern):
    params = dict(zip(("loc", "cov_factor", "cov_diag"), _params(4, 2)))
    params[arg].view(-1)[index] = value
    with pytest.raises(
        ValueError, match=rf"LowRankMultivariateNormal: argument '{arg}'.*{pattern}"
    ):
        LowRankMultivariateNormal(**params)
    LowRankMultivariateNormal(**params, validate_args=False)


def test_invalid_shapes_and_values_raise():
    loc, W, D = _params(4, 2)
    with pytest.raises(ValueError, match=r"disagree on d.*cov_factor\(3, 2\)"):
        LowRankMultivariateNormal(loc, W[:3], D)
    with pytest.raises(ValueError, match=r"disagree on d.*cov_diag\(3,\)"):
        LowRankMultivariateNormal(loc, W, D[:3])
    with pytest.raises(ValueError, match=r"do not broadcast.*loc\(2, 4\).*cov_factor\(3, 4, 2\)"):
        LowRankMultivariateNormal(loc.expand(2, 4), W.expand(3, 4, 2), D)
    with pytest.raises(ValueError, match="two-dimensional"):
        LowRankMultivariateNormal(loc, D, D)
    dist = LowRankMultivariateNormal(loc, W, D)
    with pytest.raises(ValueError, match=r"LowRankMultivariateNormal.*'value'"):
        dist.log_prob(torch.tensor([0.0, math.nan, 0.0, 0.0], dtype=F64))
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.zeros(3, dtype=F64))


# --------------------------------------------------------------------- expand, copies, compile
def test_expand_shares_storage():
    loc, W, D = _params(4, 2, (1,))
    dist = LowRankMultivariateNormal(loc, W, D)
    big = dist.expand((5, 3))
    assert big.batch_shape == (5, 3) and type(big) is LowRankMultivariateNormal
    for name, param in (("loc", loc), ("cov_factor", W), ("cov_diag", D)):
        assert getattr(big, name).data_ptr() == param.data_ptr(), f"{name} was copied"
    assert big._capacitance_tril is dist._capacitance_tril
    assert big._unbroadcasted_cov_factor is W
    x = big.sample(generator=_gen())
    assert_close(big.log_prob(x), dist.log_prob(x), rtol=0, label="expanded log_prob")
    assert big.covariance_matrix.shape == (5, 3, 4, 4)


def test_pickle_deepcopy_and_torch_save():
    dist = LowRankMultivariateNormal(*_params(4, 2, (2,)))
    x = dist.sample((3,), generator=_gen())
    buffer = io.BytesIO()
    torch.save(dist, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    for clone in (pickle.loads(pickle.dumps(dist)), copy.deepcopy(dist), loaded):
        assert type(clone) is LowRankMultivariateNormal and clone.batch_shape == (2,)
        assert torch.equal(clone.log_prob(x), dist.log_prob(x))


def test_torch_compile_fullgraph():
    torch._dynamo.reset()

    def step(loc, W, D):
        dist = LowRankMultivariateNormal(loc, W, D)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    compiled = torch.compile(step, fullgraph=True, backend="eager")
    leaves = [t.requires_grad_() for t in _params(4, 2, (2,), dtype=torch.float32)]
    x, log_p = compiled(*leaves)
    assert x.shape == (8, 2, 4) and log_p.shape == (8, 2) and torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert all(leaf.grad is not None for leaf in leaves)
