"""rsample.Categorical, OneHotCategorical and OneHotCategoricalStraightThrough against 40-digit
mpmath references (explicit arrays), torch and the shared checks."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as td

import discrete_checks as dc
import rsample
from rsample import Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from rsample.testing import assert_close

F64, F32 = dc.F64, dc.F32
INF = math.inf


def _big_logits() -> list[float]:
    g = np.random.default_rng(5)
    x = 3 * g.standard_normal(10_000)
    x[17] = 40.0  # one dominant category: its log-probability is tiny but not 0
    return x.tolist()


# (kind, values): hard corners — ±30 logits (log p of the winner is −8.8e-27), a 1e-8 gap, masked
# categories, normalized and unnormalized probs with zeros and 1 ∓ 1e-12, 10^4 categories.
CASES = [
    ("logits", [30.0, -30.0]),
    ("logits", [0.0, 0.0]),
    ("logits", [1e-8, 0.0]),
    ("logits", [0.0, -INF, 2.0, 700.0, 699.5]),
    ("logits", [-1000.0, -1001.0, -1003.0]),
    ("probs", [1 - 1e-12, 1e-12, 0.0]),
    ("probs", [0.2, 0.3, 0.5]),
    ("probs", [1.0, 2.0, 7.0]),
    ("probs", [1e-300, 1.0, 1e-12, 0.0]),
    ("probs", [3e-300, 1e-300]),
    ("logits", _big_logits()),
]
IDS = [f"{k}-{len(v)}-{i}" for i, (k, v) in enumerate(CASES)]


def _mp_log_probs(kind: str, values: list[float]) -> list:
    """Normalized log-probabilities in mpmath, from the exact float inputs."""
    with mp.workdps(dc.MP_DPS):
        if kind == "logits":
            xs = [mp.mpf(v) for v in values]
            top = max(x for x in xs if x != -mp.inf)
            lse = top + mp.log(mp.fsum(mp.exp(x - top) for x in xs if x != -mp.inf))
            return [x - lse if x != -mp.inf else -mp.inf for x in xs]
        total = mp.fsum(mp.mpf(v) for v in values)
        return [mp.log(mp.mpf(v) / total) if v > 0 else -mp.inf for v in values]


def _reference(kind, values):
    lp = _mp_log_probs(kind, values)
    with mp.workdps(dc.MP_DPS):
        probs = [mp.exp(x) if x != -mp.inf else mp.mpf(0) for x in lp]
        entropy = -mp.fsum(p * x for p, x in zip(probs, lp) if p > 0)
        cdf = []
        acc = mp.mpf(0)
        for p in probs:
            acc += p
            cdf.append(acc)
        total = mp.fsum(probs)  # 1 to 40 digits; 1 − p keeps 13 digits even for 1 − 1e-27
        complement = [total - p for p in probs]
    return {
        "log_prob": [dc.finite_float(x) for x in lp],
        "probs": [float(p) for p in probs],
        "cdf": [float(c) for c in cdf],
        "entropy": float(entropy),
        "mode": int(np.argmax([float(x) for x in lp])),
        "variance": [float(p * c) for p, c in zip(probs, complement)],
    }


@pytest.mark.parametrize(("kind", "values"), CASES, ids=IDS)
def test_matches_mpmath_float64(kind, values):
    ref = _reference(kind, values)
    k = len(values)
    d = Categorical(**{kind: torch.tensor(values, dtype=F64)})
    support = torch.arange(k)
    assert_close(d.log_prob(support), ref["log_prob"], rtol=1e-10, label="log_prob")
    assert_close(d.logits, ref["log_prob"], rtol=1e-10, label="logits")
    assert_close(d.probs, ref["probs"], rtol=1e-10, label="probs")
    assert_close(d.cdf(support), ref["cdf"], rtol=1e-10, label="cdf")
    assert_close(d.entropy(), ref["entropy"], rtol=1e-10, label="entropy")
    assert int(d.mode) == ref["mode"]
    assert torch.isnan(d.mean) and torch.isnan(d.variance)
    one_hot = OneHotCategorical(**{kind: torch.tensor(values, dtype=F64)})
    assert_close(one_hot.variance, ref["variance"], rtol=1e-10, label="one-hot variance")
    assert_close(one_hot.mean, ref["probs"], rtol=1e-10, label="one-hot mean")
    assert_close(one_hot.entropy(), ref["entropy"], rtol=1e-10, label="one-hot entropy")
    eye = torch.eye(k, dtype=F64)
    assert_close(one_hot.log_prob(eye), ref["log_prob"], rtol=1e-10, label="one-hot log_prob")
    assert one_hot.mode.argmax().item() == ref["mode"] and one_hot.mode.sum() == 1


def test_float32_is_finite_where_representable():
    for kind, values in CASES:
        if kind == "probs" and min(v for v in values if v > 0) < 1e-40:
            continue  # not representable in float32
        values32 = torch.tensor(values, dtype=F32)
        d32 = Categorical(**{kind: values32})
        d64 = Categorical(**{kind: values32.double()})
        support = torch.arange(len(values))
        dc.assert_finite_where(d32.log_prob(support), d64.log_prob(support), "log_prob")
        dc.assert_finite_where(d32.entropy(), d64.entropy(), "entropy")
        assert_close(d32.entropy(), d64.entropy(), rtol=1e-4, atol=1e-30, label="entropy")
        lp64 = d64.log_prob(support)
        finite = torch.isfinite(lp64) & (lp64 > -80)
        assert_close(d32.log_prob(support)[finite], lp64[finite], rtol=1e-5, atol=1e-6)


def test_batches_and_both_parameterizations_agree():
    g = torch.Generator().manual_seed(0)
    logits = 4 * torch.randn(3, 4, 7, generator=g, dtype=F64)
    logits[0, 1, 2] = -INF
    a, b = Categorical(logits=logits), Categorical(probs=torch.softmax(logits, -1))
    support = torch.arange(7).view(7, 1, 1)
    assert_close(b.log_prob(support), a.log_prob(support), rtol=1e-12)
    assert_close(b.entropy(), a.entropy(), rtol=1e-12)
    assert_close(b.cdf(support), a.cdf(support), rtol=1e-12)
    assert torch.equal(a.mode, b.mode)
    # value broadcasting against the batch, as torch does
    value = torch.tensor([0, 3, 6, 2])
    assert a.log_prob(value).shape == (3, 4)
    assert_close(a.log_prob(value), td.Categorical(logits=logits).log_prob(value), rtol=1e-12)


def test_agrees_with_torch_where_torch_is_accurate():
    g = torch.Generator().manual_seed(1)
    for kind in ("logits", "probs"):
        param = torch.randn(5, 6, generator=g, dtype=F64)
        if kind == "probs":
            param = param.exp()  # unnormalized, as torch accepts
        ours, theirs = Categorical(**{kind: param}), td.Categorical(**{kind: param})
        support = theirs.enumerate_support()
        assert torch.equal(ours.enumerate_support(), support)
        assert torch.equal(ours.enumerate_support(False), theirs.enumerate_support(False))
        assert_close(ours.log_prob(support), theirs.log_prob(support), rtol=1e-12)
        assert_close(ours.entropy(), theirs.entropy(), rtol=1e-12)
        assert_close(ours.probs, theirs.probs, rtol=1e-12)
        assert_close(ours.logits, theirs.logits, rtol=1e-12, atol=1e-14)
        assert torch.equal(ours.mode, theirs.mode)
        assert ours.param_shape == theirs.param_shape and ours.batch_shape == theirs.batch_shape
        oh, toh = OneHotCategorical(**{kind: param}), td.OneHotCategorical(**{kind: param})
        values = toh.enumerate_support()
        assert torch.equal(oh.enumerate_support(), values)
        assert_close(oh.log_prob(values), toh.log_prob(values), rtol=1e-12)
        assert_close(oh.variance, toh.variance, rtol=1e-12)
        assert torch.equal(oh.mode, toh.mode)
        assert oh.event_shape == toh.event_shape and oh.batch_shape == toh.batch_shape


def test_ties_choose_the_first_category_like_torch():
    logits = torch.tensor([[1.0, 3.0, 3.0], [0.0, 0.0, 0.0]])
    assert Categorical(logits=logits).mode.tolist() == [1, 0]
    assert torch.equal(
        OneHotCategorical(logits=logits).mode, td.OneHotCategorical(logits=logits).mode
    )


@pytest.mark.parametrize("kind", ["logits", "probs"])
def test_samples_chi_square(kind):
    logits = torch.tensor([[0.0, 1.0, -2.0, 3.0, -INF], [2.0, 2.0, 2.0, 2.0, -1.0]])
    param = logits if kind == "logits" else logits.exp() * 3.0  # unnormalized probs
    d = Categorical(**{kind: param})
    draws = d.sample((20000,), generator=dc.gen(0))
    probs = torch.softmax(logits.double(), -1).numpy()
    for j in range(2):
        dc.assert_chi_square(
            draws[:, j].numpy(), lambda k, j=j: probs[j][k.astype(int)], np.arange(5)
        )
    assert (draws[:, 0] != 4).all(), "a masked category was drawn"
    # many categories, with a long tail of improbable ones
    big = torch.linspace(-8, 2, 1000)
    d = Categorical(**{kind: big if kind == "logits" else big.exp()})
    draws = d.sample((50000,), generator=dc.gen(1)).numpy()
    probs = torch.softmax(big.double(), -1).numpy()
    order = np.argsort(-probs)  # bins merged from the most likely category down
    dc.assert_chi_square(
        order.argsort()[draws], lambda k: probs[order][k.astype(int)], np.arange(1000)
    )


def test_one_hot_samples_and_straight_through():
    logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]], requires_grad=True)
    d = OneHotCategorical(logits=logits)
    x = d.sample((4000,), generator=dc.gen(2))
    assert ((x == 0) | (x == 1)).all() and (x.sum(-1) == 1).all() and x.dtype == logits.dtype
    index = Categorical(logits=logits).sample((4000,), generator=dc.gen(2))
    assert torch.equal(x.argmax(-1), index)  # the same race, written one-hot
    st = OneHotCategoricalStraightThrough(logits=logits)
    assert st.has_rsample and st.rsample_kind == "straight_through"
    assert not d.has_rsample and d.rsample_kind is None
    y = st.rsample((3,), generator=dc.gen(3))
    assert torch.equal(y.detach(), st.sample((3,), generator=dc.gen(3)))
    weights = torch.tensor([1.0, -2.0, 0.5])
    (g,) = torch.autograd.grad((y * weights).sum(), logits)
    (g_ref,) = torch.autograd.grad((3 * torch.softmax(logits, -1) * weights).sum(), logits)
    torch.testing.assert_close(g, g_ref)
    assert torch.equal(st.sample(generator=dc.gen(4)), d.sample(generator=dc.gen(4)))


@pytest.mark.parametrize("cls", [Categorical, OneHotCategorical, OneHotCategoricalStraightThrough])
@pytest.mark.parametrize("kind", ["logits", "probs"])
def test_shapes_generator_expand_pickle(cls, kind):
    param = torch.rand(2, 1, 5, generator=dc.gen(7)) + 0.1
    if kind == "logits":
        param = param.log()
    d = cls(**{kind: param.requires_grad_()})
    x = dc.assert_shapes(d)
    dc.assert_generator_determinism(d)
    dc.assert_expand(d, (3,))
    dc.assert_round_trips(cls(**{kind: param.detach()}), x)
    support = d.enumerate_support()
    assert support.shape == (5, 2, 1, *d.event_shape)
    assert d.enumerate_support(False).shape == (5, 1, 1, *d.event_shape)
    assert torch.isfinite(d.log_prob(support)).all()


def test_invalid_arguments_and_values():
    with pytest.raises(ValueError, match=r"Categorical: argument 'probs'.*nonnegative.*-0.5"):
        Categorical(probs=torch.tensor([0.5, -0.5, 1.0]))
    with pytest.raises(ValueError, match=r"Categorical: argument 'probs'.*simplex.*sums to 0"):
        Categorical(probs=torch.tensor([[0.5, 0.5], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"Categorical: argument 'probs'.*finite.*inf"):
        Categorical(probs=torch.tensor([0.5, INF]))
    with pytest.raises(ValueError, match=r"Categorical: argument 'logits'.*largest logit.*nan"):
        Categorical(logits=torch.tensor([0.0, math.nan]))
    with pytest.raises(ValueError, match=r"Categorical: argument 'logits'.*largest logit.*inf"):
        Categorical(logits=torch.tensor([0.0, INF]))
    with pytest.raises(ValueError, match=r"argument 'logits'.*largest logit of a row is -inf"):
        OneHotCategorical(logits=torch.tensor([[0.0, 1.0], [-INF, -INF]]))
    with pytest.raises(ValueError, match=r"at least one-dimensional"):
        Categorical(probs=torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"exactly one of 'probs' or 'logits'"):
        Categorical()
    d = Categorical(logits=torch.zeros(3))
    for bad in ([3], [-1], [0.5]):
        with pytest.raises(ValueError, match=r"Categorical: argument 'value'.*IntegerInterval"):
            d.log_prob(torch.tensor(bad))
    oh = OneHotCategorical(logits=torch.zeros(3))
    with pytest.raises(ValueError, match=r"OneHotCategorical: argument 'value'.*OneHot"):
        oh.log_prob(torch.tensor([1.0, 1.0, 0.0]))
    # unnormalized probs are accepted and normalized, as in torch (its simplex check runs on
    # the normalized probs)
    assert_close(Categorical(probs=torch.tensor([1.0, 3.0])).probs, [0.25, 0.75], rtol=1e-7)


def test_torch_compile_fullgraph():
    def step(x, v):
        a, b, c = Categorical(logits=x), Categorical(probs=x.exp()), OneHotCategorical(logits=x)
        one_hot = torch.nn.functional.one_hot(v, 6).to(x.dtype)
        return (
            a.log_prob(v),
            b.log_prob(v),
            a.entropy(),
            b.cdf(v),
            c.log_prob(one_hot),
            c.sample().argmax(-1) + a.sample((3,)),
        )

    dc.assert_compiles(step, torch.randn(4, 6, generator=dc.gen(8)), torch.tensor([0, 5, 2, 3]))


def test_kl_registered_for_torch_too():
    p, q = Categorical(logits=torch.zeros(3)), Categorical(logits=torch.tensor([0.0, 1.0, 2.0]))
    assert_close(td.kl_divergence(p, q), rsample.kl_divergence(p, q), rtol=1e-6)
