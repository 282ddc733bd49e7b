r"""Analytic KL divergences between the discrete families: every pair torch registers.

All forms are written as sums of non-negative terms (or with the cancelling leading terms
removed analytically), so nearly equal distributions keep their relative accuracy; ``0·log 0 = 0``
exactly, and ``+inf`` wherever ``p`` puts mass where ``q`` has none. With
:math:`h(u) = u - \mathrm{log1p}(u) \ge 0` and :math:`\varphi(d) = e^{-d} - 1 + d \ge 0`:

* **Bernoulli‖Bernoulli**, in :math:`\delta = \ell_q - \ell_p` (from probs
  :math:`\mathrm{log1p}((p'-p)/p) - \mathrm{log1p}((p-p')/q)`, exact for close probabilities):
  :math:`\mathrm{KL} = p\,\mathrm{log1p}(a) + q\,\mathrm{log1p}(b)` (:math:`\mathrm{log1p}(a) =
  \log(p/p')`), :math:`a = q\,\mathrm{expm1}(-\delta)`, :math:`b = p\,\mathrm{expm1}(\delta)`;
  for :math:`|\delta| \le 1`, where the two
  terms cancel to :math:`pq\delta^2/2`, as :math:`4pq\sinh^2(\delta/2) - p\,h(a) - q\,h(b)`
  (:math:`pa + qb = 4pq\sinh^2(\delta/2)`; loss at most a factor 2); above, from the logs.
  With a probability of 0 or 1 on either side, :math:`p\log(p/p') + q\log(q/q')` by ``xlogy``.
* **Binomial‖Binomial**: equal counts :math:`n\,\mathrm{KL}_{\mathrm{Bern}}`; :math:`n_p > n_q`:
  ``+inf``; :math:`n_p < n_q` (torch raises): :math:`E_p[\log P(k) - \log Q(k)]` by the lattice
  sum of :mod:`.poisson` with Loader's log-pmfs.
* **Categorical‖Categorical** (and one-hot): with :math:`d_j = \log p_j - \log q_j` and
  :math:`Q_{\mathrm{out}}` the mass of ``q`` where ``p`` has none,
  :math:`\mathrm{KL} = \sum_j p_j\varphi(d_j) + Q_{\mathrm{out}}` (since
  :math:`\sum_j p_j e^{-d_j} = 1 - Q_{\mathrm{out}}`), a sum of non-negative terms;
  :math:`d_j = (\ell_j - \ell'_j) + \mathrm{log1p}(\sum_i p_i\,\mathrm{expm1}(\ell'_i -
  \ell_i)) - \mathrm{log1p}(-Q_{\mathrm{out}})` with the logit differences formed first (exact
  for close logits; from probs :math:`\mathrm{log1p}((w'-w)/w)`), :math:`\varphi` by its series
  for :math:`|d| < \frac12` and as :math:`q_j - p_j + p_j d_j` above.
* **Geometric‖Geometric**: with the means :math:`m = q/p` and :math:`\delta = \log(q'/q)`,
  :math:`\mathrm{KL} = h(u) + m\,\varphi(-\delta)`,
  :math:`u = -m\,\mathrm{expm1}(\delta)` (the Bregman divergence of the log-partition function,
  both terms non-negative).
* **Poisson‖Poisson** :math:`= \mathrm{bd0}(\lambda, \lambda')`
  :math:`= \lambda\log(\lambda/\lambda') + \lambda' - \lambda` (Loader's deviance, a series near
  :math:`\lambda = \lambda'`).
* **Bernoulli(p)‖Poisson(λ)** :math:`= \mathrm{bd0}(p, \lambda) + (1-p)\,h(p/(1-p))`.
* **Poisson‖Bernoulli**, **Poisson‖Binomial**: ``+inf`` (infinite support), except that a
  Poisson of rate 0 is a point mass at 0: :math:`-\log q` and :math:`-n\log q` (torch: ``inf``).
"""

from __future__ import annotations

import math

import torch

from ...kl import register_kl
from ..continuous._kl import _x_minus_log1p
from ._params import softplus
from .bernoulli import Bernoulli
from .binomial import Binomial, binomial_log_pmf
from .categorical import Categorical
from .geometric import Geometric
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson, bd0, lattice_sum

# φ(d) = Σ_{k≥2} (−d)^k/k! for |d| < ½ (16 terms: the next is below 1e-17 relative).
_PHI_COEFFS = tuple((-1.0) ** k / math.factorial(k) for k in range(2, 18))


def _h(u: torch.Tensor) -> torch.Tensor:
    """:math:`u - \\mathrm{log1p}(u)` for :math:`u > -1`."""
    return _x_minus_log1p(u, torch.log1p(u))


def _phi(d: torch.Tensor) -> torch.Tensor:
    """:math:`\\varphi(d) = e^{-d} - 1 + d \\ge 0`, by its series for :math:`|d| < \\tfrac12`."""
    small = d.abs() < 0.5
    ds = torch.where(small, d, 0.0)
    acc = torch.full_like(ds, _PHI_COEFFS[-1])
    for c in reversed(_PHI_COEFFS[:-1]):
        acc = acc * ds + c
    series = acc * ds * ds
    return torch.where(small, series, torch.expm1(-d) + d)


# --------------------------------------------------------------------------- Bernoulli
def _bernoulli_kl(p_dist, q_dist) -> torch.Tensor:
    """Bernoulli‖Bernoulli, also the per-trial KL of two binomials."""
    p, q = p_dist._pq()
    p2, q2 = q_dist._pq()
    lp, lq = p_dist.logits, q_dist.logits
    interior = torch.isfinite(lp) & torch.isfinite(lq)
    if p_dist._given == q_dist._given == "probs":
        # δ = log(p'/p) − log(q'/q) from p' − p (exact for close probabilities, Sterbenz)
        ps, qs = torch.where(interior, p, 0.5), torch.where(interior, q, 0.5)
        gap = torch.where(interior, p2 - p, 0.0)
        delta = torch.log1p(gap / ps) - torch.log1p(-gap / qs)
    else:
        delta = torch.where(interior, lq - lp, 0.0)
    near = delta.abs() <= 1
    a = q * torch.expm1(-torch.where(near, delta, 0.0))
    b = p * torch.expm1(torch.where(near, delta, 0.0))
    # |δ| > 1: p log(p/p') + q log(q/q') from the logs (no cancellation left to avoid)
    (lp1, lq1), (lp2, lq2) = p_dist._log_pq(), q_dist._log_pq()
    direct = p * (lp1 - lp2) + q * (lq1 - lq2)
    sinh = torch.sinh(torch.where(near, delta, 0.0) / 2)
    close = 4 * p * q * sinh * sinh - p * _h(a) - q * _h(b)
    stable = torch.where(near, close, direct)
    # A probability of 0 or 1 on either side: the definition, with 0·log 0 = 0.
    edge = torch.xlogy(p, p) - torch.xlogy(p, p2) + torch.xlogy(q, q) - torch.xlogy(q, q2)
    edge = torch.where((p > 0) & (p2 == 0) | (q > 0) & (q2 == 0), math.inf, edge)
    return torch.where(interior, stable, edge).clamp_min(0)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    return _bernoulli_kl(p, q)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    n_p, n_q = torch.broadcast_tensors(p.total_count, q.total_count)
    same = torch.where(n_p == 0, 0.0, n_p * _bernoulli_kl(p, q))
    # n_p < n_q: E_p[log P(k) − log Q(k)] over p's lattice.
    args_p = [t.unsqueeze(-1) for t in (n_p, *p._pq(), *p._log_pq())]
    pq_q = [t.expand_as(n_p).unsqueeze(-1) for t in (*q._pq(), *q._log_pq())]
    nq = n_q.unsqueeze(-1)
    mean = n_p * p._pq()[0]
    sd = (mean * p._pq()[1]).sqrt()
    smaller = lattice_sum(
        lambda x: binomial_log_pmf(x, *args_p),
        mean.expand_as(n_p),
        sd.expand_as(n_p),
        0.0,
        n_p,
        fn=lambda x, lf: lf - binomial_log_pmf(x, nq, *pq_q),
    ).clamp_min(0)
    out = torch.where(n_p < n_q, smaller, same)
    return torch.where(n_p > n_q, math.inf, out)


# --------------------------------------------------------------------------- categorical
def _categorical_kl(p: Categorical, q: Categorical) -> torch.Tensor:
    logp = p.logits  # normalized, cancellation-free
    logq = q.logits
    logp, logq = torch.broadcast_tensors(logp, logq)
    raw_p, raw_q = torch.broadcast_tensors(p._raw, q._raw)
    has_p = logp > -math.inf
    both = has_p & (logq > -math.inf)
    if p._given == q._given == "logits":
        diff = torch.where(both, raw_q - raw_p, 0.0)  # ℓ'_j − ℓ_j, exact for close logits
    elif p._given == q._given == "probs":
        w, w2 = torch.where(both, raw_p, 1.0), torch.where(both, raw_q, 1.0)
        rel = (w2 - w) / w
        diff = torch.where(rel.abs() < 0.5, torch.log1p(rel), torch.log(w2) - torch.log(w))
    else:
        diff = torch.where(both, logq - logp, 0.0)
    probs_p, probs_q = torch.exp(logp), torch.exp(logq)
    # q's mass where p has none, Q_out; then d_j = log p_j − log q_j = −diff_j + (L' − L), the
    # normalizers' difference, = log1p(Σ_i p_i expm1(diff_i)) − log1p(−Q_out) (≈ 0 up to
    # rounding when diff comes from normalized logits)
    q_out = torch.where(has_p, 0.0, probs_q).sum(-1)
    inside = torch.where(both, probs_p * torch.expm1(diff), 0.0).sum(-1)
    shift = torch.log1p(inside) - torch.log1p(-q_out)
    d = shift.unsqueeze(-1) - diff
    small = d.abs() < 0.5
    big = probs_q - probs_p + probs_p * d
    terms = torch.where(small, probs_p * _phi(torch.where(small, d, 0.0)), big)
    terms = torch.where(both, terms, torch.where(has_p, math.inf, 0.0))
    return (terms.sum(-1) + q_out).clamp_min(0)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    return _categorical_kl(p, q)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _categorical_kl(p._categorical, q._categorical)


# --------------------------------------------------------------------------- Geometric
@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    pp, qp = p._pq()
    pq_, qq = q._pq()
    m = qp / pp
    if p._given == q._given == "logits":  # δ = log(q'/q) = −log1p(p·expm1(ℓ' − ℓ))
        delta = -torch.log1p(pp * torch.expm1(q.logits - p.logits))
    else:
        delta = torch.log1p((pp - pq_) / qp)
        delta = torch.where(qp > 0, delta, 0.0)
    u = -m * torch.expm1(delta)
    out = _h(u) + m * _phi(-delta)  # φ(−δ) = expm1(δ) − δ, by its series for small δ
    out = torch.where(qp == 0, -torch.log(pq_), out)  # p = 1: a point mass at 0
    out = torch.where((qq == 0) & (qp > 0), math.inf, out)
    return out.clamp_min(0)


# --------------------------------------------------------------------------- Poisson
@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    lam, lam2 = torch.broadcast_tensors(p.rate, q.rate)
    pos = lam > 0
    return torch.where(pos, bd0(torch.where(pos, lam, 1.0), lam2), lam2)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    prob, comp = p._pq()
    lam = q.rate
    prob, comp, lam = torch.broadcast_tensors(prob, comp, lam)
    pos = prob > 0
    dev = torch.where(pos, bd0(torch.where(pos, prob, 1.0), lam), lam)
    inner = comp > 0
    rest = torch.where(inner, comp * _h(prob / torch.where(inner, comp, 1.0)), prob)
    return dev + rest


@register_kl(Poisson, Bernoulli)
def _kl_poisson_bernoulli(p, q):
    lam, logits = torch.broadcast_tensors(p.rate, q.logits)
    return torch.where(lam > 0, math.inf, softplus(logits))


@register_kl(Poisson, Binomial)
def _kl_poisson_binomial(p, q):
    lam, n, log_q = torch.broadcast_tensors(p.rate, q.total_count, q._log_pq()[1])
    at_zero = torch.where(n == 0, 0.0, -n * log_q)
    return torch.where(lam > 0, math.inf, at_zero)
