"""Shared scaffolding of the analytic-KL tests (``tests/test_kl.py`` and
``tests/distributions/continuous/test_kl_*.py``).

Every test file keeps its own family table, mpmath closed forms, parameter grids and tolerances;
this module holds only the machinery they have in common:

* ``families`` tables map a family name to ``(rsample class, torch class, scipy frozen factory)``
  and take parameters as positional tuples;
* ``table`` maps a ``(p family, q family)`` pair to a closed form ``f(p_params, q_params)``
  evaluated by mpmath on the exact float inputs.

Importable by plain name (``import kl_reference``) from every test directory: ``tests/`` has no
``__init__.py``, so pytest's default ``prepend`` import mode puts ``tests/`` on ``sys.path`` when
it loads ``tests/conftest.py``, before any test module under ``tests/`` is imported.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import torch
import torch.distributions as td
from scipy import integrate

import rsample

F64, F32 = torch.float64, torch.float32
F32_MAX = float(torch.finfo(F32).max)
_F64_MAX = mp.mpf(np.finfo(np.float64).max)


# --------------------------------------------------------------------------- batches
def make_batch(families, lib: str, family: str, params, dtype=F64, requires_grad=False):
    """A batch of ``len(params)`` distributions of ``family`` from ``lib`` ("rs" or "td"),
    built from the parameter columns of ``params`` (a list of positional tuples), and the columns
    themselves (leaf tensors, for gradients). Arguments are not validated."""
    cls = families[family][0 if lib == "rs" else 1]
    columns = [torch.tensor(col, dtype=dtype, requires_grad=requires_grad) for col in zip(*params)]
    return cls(*columns, validate_args=False), columns


def rs_kl(families, pair, pps, qps, dtype=F64):
    """``rsample.kl_divergence`` between the batches ``pair[0](pps)`` and ``pair[1](qps)``."""
    p, _ = make_batch(families, "rs", pair[0], pps, dtype)
    q, _ = make_batch(families, "rs", pair[1], qps, dtype)
    return rsample.kl_divergence(p, q)


def td_kl(families, pair, pps, qps):
    """``torch.distributions.kl_divergence`` on torch's own classes, float64, no gradient."""
    p, _ = make_batch(families, "td", pair[0], pps)
    q, _ = make_batch(families, "td", pair[1], qps)
    return td.kl_divergence(p, q)


def kl_from_columns(families, pair, pps, qps, lib="rs"):
    """KL of the ``lib`` batches (rsample's or torch's ``kl_divergence``) with every parameter
    column a leaf requiring grad, and the list of columns ``p_cols + q_cols``."""
    p, p_cols = make_batch(families, lib, pair[0], pps, requires_grad=True)
    q, q_cols = make_batch(families, lib, pair[1], qps, requires_grad=True)
    kl_divergence = rsample.kl_divergence if lib == "rs" else td.kl_divergence
    return kl_divergence(p, q), p_cols + q_cols


def gradients_vs_torch(families, pair, pps, qps, keep=None):
    """``(ours, theirs)``: the gradients of ``sum(KL)`` in every parameter column, from rsample
    and from torch. ``keep`` is a boolean mask (or a function of rsample's KL values returning
    one) selecting the entries summed in both; ``None`` sums all of them."""
    kl, cols = kl_from_columns(families, pair, pps, qps)
    kl_td, cols_td = kl_from_columns(families, pair, pps, qps, lib="td")
    if callable(keep):
        keep = keep(kl)
    if keep is not None:
        kl, kl_td = kl[keep], kl_td[keep]
    return torch.autograd.grad(kl.sum(), cols), torch.autograd.grad(kl_td.sum(), cols_td)


def grid(pair, table):
    """All combinations of ``table[pair[0]]`` × ``table[pair[1]]`` as ``(pps, qps)`` lists."""
    combos = list(itertools.product(table[pair[0]], table[pair[1]]))
    return [a for a, _ in combos], [b for _, b in combos]


def round32(params):
    """Each parameter tuple rounded to float32 (so a reference sees the inputs float32 sees)."""
    return [tuple(float(np.float32(x)) for x in t) for t in params]


# --------------------------------------------------------------------------- references
def mp_args(params):
    """Parameters as mpmath numbers, exact from their float values (mpf inputs kept as is)."""
    return [x if isinstance(x, mp.mpf) else mp.mpf(float(x)) for x in params]


def infinite(p, q):
    """The reference of a pair whose KL is ``+inf`` (``q`` misses part of the support of ``p``);
    a closed-form table marks such pairs by this very function (see ``split_pairs``)."""
    return mp.inf


def split_pairs(table):
    """``(pairs, finite_pairs, inf_pairs)`` of a closed-form table, in its order; the infinite
    pairs are those whose reference is ``infinite``."""
    pairs = list(table)
    return (
        pairs,
        [pq for pq in pairs if table[pq] is not infinite],
        [pq for pq in pairs if table[pq] is infinite],
    )


def mp_reference(table, dps, pair, pp, qp) -> float:
    """``table[pair](pp, qp)`` evaluated at ``dps`` digits and rounded to float64; exactly 0 for
    identical parameters of one family (the closed forms leave ~10^-dps there) and ``+inf``
    beyond the float64 range."""
    if pair[0] == pair[1] and tuple(pp) == tuple(qp):
        return 0.0
    with mp.workdps(dps):
        value = table[pair](pp, qp)
        return math.inf if value > _F64_MAX else float(value)


def quad_kl_quantile(sp, logq, *, epsrel=1e-10, limit=50) -> float:
    """``∫ p log(p/q) dx = ∫₀¹ (log p − log q)(F_p⁻¹(u)) du`` for a scipy frozen ``sp`` and the
    log-density ``logq`` of ``q``, in two halves: ``ppf`` on ``u < ½`` and ``isf`` above, so each
    tail keeps its own accuracy. The quantile substitution puts the integral on a finite interval
    inside the support of ``p`` (hence of ``q`` where the KL is finite)."""
    total = 0.0
    for quantile in (sp.ppf, sp.isf):

        def f(u, quantile=quantile):
            x = quantile(u)
            return sp.logpdf(x) - logq(x)

        total += integrate.quad(f, 0.0, 0.5, epsabs=1e-13, epsrel=epsrel, limit=limit)[0]
    return total


# --------------------------------------------------------------------------- comparisons
def rel_err(got: torch.Tensor, want, *, signed_inf=True) -> torch.Tensor:
    """Elementwise relative error of ``got`` against the float64 list ``want``; the absolute
    error where ``want`` is 0, and 0 where both are infinite (of the same sign unless
    ``signed_inf`` is false)."""
    want_t = torch.tensor(want, dtype=F64)
    got = got.detach().to(F64)
    both_inf = torch.isinf(got) & torch.isinf(want_t)
    if signed_inf:
        both_inf &= got.sign() == want_t.sign()
    err = (got - want_t).abs() / want_t.abs().clamp_min(1e-300)
    err = torch.where(want_t == 0, got.abs(), err)
    return torch.where(both_inf, 0.0, err)


def worst(err, pps, qps, got, want, k=3):
    """The ``k`` cases with the largest ``err`` as ``(p params, q params, got, want)``, for
    assertion messages."""
    return [(pps[i], qps[i], got[i].item(), want[i]) for i in err.argsort()[-k:]]


def float32_check(families, reference, pair, table):
    """KL in float32 on the grid ``table`` (inputs rounded to float32 for the reference too).

    Checks the result is float32 and finite wherever the reference is below ``F32_MAX / 2``;
    returns ``(got, want, ok)`` with ``ok`` the indices of those representable cases, so the
    caller asserts its own tolerance on ``rel_err(got[ok], [want[i] for i in ok])``."""
    pps, qps = grid(pair, table)
    pps, qps = round32(pps), round32(qps)
    got = rs_kl(families, pair, pps, qps, dtype=F32)
    assert got.dtype == F32
    want = [reference(pair, a, b) for a, b in zip(pps, qps)]
    ok = [i for i, w in enumerate(want) if w < F32_MAX / 2]
    assert torch.isfinite(got[ok]).all(), [(pps[i], qps[i]) for i in ok if not got[i].isfinite()]
    return got, want, ok


def check_torch_dispatch(families, module, pair, pps=None, qps=None):
    """``torch.distributions.kl_divergence`` reaches rsample's registered KL from ``module`` for
    the rsample classes of ``pair`` (rsample's own dispatch finds the same function) and, given
    parameters, returns bit-for-bit the same values as ``rsample.kl_divergence``."""
    p_cls, q_cls = families[pair[0]][0], families[pair[1]][0]
    fn = td.kl._dispatch_kl(p_cls, q_cls)
    assert fn is rsample.kl._dispatch(p_cls, q_cls)
    assert fn.__module__ == module.__name__
    if pps is not None:
        p, _ = make_batch(families, "rs", pair[0], pps)
        q, _ = make_batch(families, "rs", pair[1], qps)
        torch.testing.assert_close(
            td.kl_divergence(p, q), rsample.kl_divergence(p, q), rtol=0, atol=0
        )


def check_broadcasting(families, pair, pps, qps):
    """A ``(3, 1)`` batch of ``p`` (three parameter tuples ``pps``) against a ``(2,)`` batch of
    ``q`` (two tuples ``qps``) gives a float64 ``(3, 2)`` KL whose every entry equals, to 1e-15,
    the KL of the single pair. Returns the ``(3, 2)`` KL."""
    p_cls, q_cls = families[pair[0]][0], families[pair[1]][0]
    p = p_cls(*(torch.tensor(c, dtype=F64).reshape(3, 1) for c in zip(*pps)), validate_args=False)
    q = q_cls(*(torch.tensor(c, dtype=F64) for c in zip(*qps)), validate_args=False)
    kl = rsample.kl_divergence(p, q)
    assert kl.shape == (3, 2) and kl.dtype == F64
    for i, j in itertools.product(range(3), range(2)):
        one = rs_kl(families, pair, [pps[i]], [qps[j]])
        torch.testing.assert_close(kl[i, j], one[0], rtol=1e-15, atol=0)
    return kl


def cb_logpdf(lam):
    """Log-density ``x ↦ log C(η) + η x`` on [0, 1] of a continuous Bernoulli with ``probs``
    ``lam`` (``η = logit λ``, ``C(η) = η / (e^η − 1)``; scipy has no such family), for quadrature
    references; the uniform density at ``λ = ½``."""
    if lam == 0.5:
        return lambda x: 0.0 * x
    eta = math.log(lam) - math.log1p(-lam)
    log_c = math.log(abs(eta / math.expm1(eta)))
    return lambda x: log_c + eta * x


def check_reference(families, reference, pair, pps, qps, rtol):
    """rsample's float64 KL on the batch ``(pps, qps)`` agrees with ``reference`` (the mpmath
    closed form) to relative ``rtol`` (``+inf`` where the reference is); the message names the
    three worst cases. Returns ``(got, want)``."""
    got = rs_kl(families, pair, pps, qps)
    want = [reference(pair, a, b) for a, b in zip(pps, qps)]
    err = rel_err(got, want)
    assert err.max() < rtol, worst(err, pps, qps, got, want)
    return got, want


def check_matches_torch(families, pair, pps, qps, rtol, atol):
    """rsample's float64 KL on the batch ``(pps, qps)`` agrees with torch's on its own classes to
    ``rtol``/``atol`` (infinities included, as ``assert_close`` compares them). Returns rsample's
    KL."""
    got = rs_kl(families, pair, pps, qps)
    want = td_kl(families, pair, pps, qps).expand_as(got)
    torch.testing.assert_close(got, want, rtol=rtol, atol=atol)
    return got


def check_gradcheck(families, pair, pps, qps, fast_mode=False):
    """``torch.autograd.gradcheck`` (finite differences, step 1e-7, atol 1e-6, rtol 1e-5) of
    rsample's float64 KL in every parameter column of ``p`` (``pps``) and ``q`` (``qps``)."""
    n_p = len(pps[0])

    def fn(*cols):
        p = families[pair[0]][0](*cols[:n_p], validate_args=False)
        q = families[pair[1]][0](*cols[n_p:], validate_args=False)
        return rsample.kl_divergence(p, q)

    cols = [torch.tensor(c, dtype=F64, requires_grad=True) for c in zip(*pps)]
    cols += [torch.tensor(c, dtype=F64, requires_grad=True) for c in zip(*qps)]
    assert torch.autograd.gradcheck(fn, cols, eps=1e-7, atol=1e-6, rtol=1e-5, fast_mode=fast_mode)
