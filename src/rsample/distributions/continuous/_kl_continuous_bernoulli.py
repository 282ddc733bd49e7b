r"""Analytic KL divergences involving the continuous Bernoulli.

Every pair ``torch.distributions`` registers between ``ContinuousBernoulli`` and a family that
rsample has: CB‖CB, CB‖Exponential, CB‖Normal, CB‖Uniform, and Exponential, Gamma, Gumbel,
Laplace, Normal, Uniform ‖ CB. (CB‖Pareto, Pareto‖CB and Beta‖CB are left to the modules of
those families.) ``+inf`` wherever the support of ``p`` is not inside that of ``q``; for the
Uniform pairs the end points count as inside (``Uniform(0, 1)‖CB`` is finite), where torch
returns ``+inf`` (its comparisons are ``≥``/``≤``).

With :math:`A(\eta) = \log\frac{e^\eta-1}{\eta}`, :math:`\log p(x) = \eta x - A(\eta)`, and the
mean, variance and entropy of :mod:`.continuous_bernoulli`:

* **CB‖CB** is the Bregman divergence of :math:`A`,
  :math:`A(\eta_q) - A(\eta_p) - \delta A'(\eta_p)`, :math:`\delta = \eta_q - \eta_p`, whose
  terms cancel to :math:`\delta^2` (nearly equal distributions) and, for large same-sign
  :math:`\eta`, to the :math:`h(\varepsilon) = \varepsilon - \log(1+\varepsilon)` of their
  logarithms. It is evaluated as the integral remainder
  :math:`\delta^2\int_0^1 (1-s)\,A''(\eta_p + s\delta)\,ds` (a positive integrand, :math:`A''`
  the variance) by Gauss–Legendre wherever the rule converges fast — :math:`A''` is analytic
  except at :math:`\pm 2\pi i k`, and the Bernstein ellipse of the interval around the nearest
  pole must have parameter ρ ≥ 3 — and otherwise (intervals long compared with their distance
  from the poles, where the divergence is ≳ 0.03) in closed form, reflected to :math:`\eta_p \le 0`
  (KL is invariant under :math:`x \mapsto 1 - x`) and with :math:`\log s_p` folded into the
  :math:`A(\eta_q)` term.
* **CB‖Exponential(r)** :math:`= -H - \log r + r m = [1 + \log m - H] + h(rm - 1)`; both brackets
  are non-negative (the first is the KL to the best exponential, ``r = 1/m``) and the first is
  written for :math:`\eta \le -2` as :math:`-\log(1 - e^{-s}) - h(-s/\mathrm{expm1}(s))`, which
  keeps its value ~:math:`e^{-s}` where the CB approaches a truncated exponential.
* **CB‖Normal(μ, σ)**
  :math:`= [\tfrac12\log(2\pi e v) - H] + \tfrac12 d^2 + \tfrac12 h(v/\sigma^2 - 1)`,
  :math:`d = (m - \mu)/\sigma`, each bracket non-negative (the first ≥ 0.17: a CB is never
  close to Gaussian).
* **CB‖Uniform(a, b)** :math:`= -H + \log(b - a)`, **Uniform(a, b)‖CB**
  :math:`= -\log(b-a) - \eta_q(c - \tfrac12) + G(\eta_q/2)`, :math:`c = (a+b)/2`, for
  larger :math:`|\eta_q|` as :math:`-\log(s w) + s\,E[d] + \log(1 - e^{-s})` with :math:`E[d]` the
  mean distance from the favoured end (no :math:`|\eta|`-sized terms that cancel).
"""

from __future__ import annotations

import math

import torch

from ...kl import register_kl
from ...special import gauss_legendre
from ._kl import _full_inf, _ratio, _x_minus_log1p
from .continuous_bernoulli import (
    ContinuousBernoulli,
    _entropy,
    _log_normalizer,
    _mean,
    _series,
    _switch,
    _variance,
)
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .laplace import Laplace
from .normal import Normal
from .uniform import Uniform

_HALF_LOG_2PI_E = 0.5 * (1 + math.log(2 * math.pi))
_TWO_PI = 2 * math.pi
_GL_NODES = {torch.float64: 24, torch.float32: 10}
_MIN_RHO = 3.0  # Bernstein ellipse parameter: error ~ ρ^{−2n} ≤ 3^{−48} (3^{−20} in float32)


def _eta(d: ContinuousBernoulli) -> torch.Tensor:
    return d._eta()


def _out(value: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
    dtype = params[0].dtype
    for p in params[1:]:
        dtype = torch.promote_types(dtype, p.dtype)
    return value.to(dtype)


# --------------------------------------------------------------------------- CB ‖ CB
def _bregman_quadrature(eta_p: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """``δ² ∫₀¹ (1 − s) A''(η_p + sδ) ds`` by Gauss–Legendre (``A''`` = the CB variance)."""
    n = _GL_NODES[torch.float64 if eta_p.dtype == torch.float64 else torch.float32]
    nodes, weights = gauss_legendre(n, eta_p.dtype, eta_p.device)
    s = 0.5 * (nodes + 1)
    w = 0.5 * weights * (1 - s)
    points = eta_p.unsqueeze(-1) + delta.unsqueeze(-1) * s
    return delta.square() * (w * _variance(points)).sum(-1)


def _ellipse_rho(eta_p: torch.Tensor, eta_q: torch.Tensor) -> torch.Tensor:
    """Bernstein-ellipse parameter of [η_p, η_q] through the nearest poles ±2πi of ``A''``.

    With the interval mapped to [−1, 1], the pole lands at ``z``; ``ρ = S + √(S² − 1)``, ``S``
    half the sum of the distances from ``z`` to the foci ±1.
    """
    centre = 0.5 * eta_p + 0.5 * eta_q
    half = (0.5 * (eta_q - eta_p)).abs().clamp_min(torch.finfo(eta_p.dtype).tiny)
    x, y = -centre / half, _TWO_PI / half
    big_s = 0.5 * (torch.hypot(x - 1, y) + torch.hypot(x + 1, y))
    return big_s + torch.sqrt((big_s - 1) * (big_s + 1))


def _bregman_closed_form(eta_p: torch.Tensor, eta_q: torch.Tensor) -> torch.Tensor:
    """``A(η_q) − A(η_p) − δ A'(η_p)``, reflected to ``η_p ≤ 0``; for ``η_p ≤ −2`` with
    ``s_p = −η_p``: ``[A(η_q) + log s_p] − log(1 − e^{−s_p}) − δ μ_p``, ``μ_p = 1/s_p −
    1/expm1(s_p)``, and for ``η_q ≤ −2`` as well the logs as ``h(s_q/s_p − 1)``."""
    flip = eta_p > 0
    ep = torch.where(flip, -eta_p, eta_p)
    eq = torch.where(flip, -eta_q, eta_q)
    delta = eq - ep
    generic = _log_normalizer(eq) - _log_normalizer(ep) - delta * _mean(ep)
    far_p = ep <= -2
    sp = torch.where(far_p, -ep, 2.0)
    em1_p = torch.expm1(sp)
    log_tail_p = torch.log(-torch.expm1(-sp))
    # η_q ≤ −2 too: log(s_p/s_q) − δ/s_p = h(ε), ε = s_q/s_p − 1 (exact digits from _ratio).
    far_q = far_p & (eq <= -2)
    sq = torch.where(far_q, -eq, 2.0)
    _, eps, log_r = _ratio(sq, sp)
    both = _x_minus_log1p(eps, log_r) + torch.log(-torch.expm1(-sq)) - log_tail_p + delta / em1_p
    one = (
        _log_normalizer(eq)
        + torch.log(sp)
        - log_tail_p
        - delta * (sp.reciprocal() - em1_p.reciprocal())
    )
    return torch.where(far_q, both, torch.where(far_p, one, generic))


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p: ContinuousBernoulli, q: ContinuousBernoulli) -> torch.Tensor:
    r""":math:`\mathrm{KL} = A(\eta_q) - A(\eta_p) - (\eta_q - \eta_p)A'(\eta_p)
    = \delta^2\int_0^1 (1-s)\,\mathrm{Var}_{\eta_p + s\delta}[X]\,ds`."""
    eta_p, eta_q = torch.broadcast_tensors(_eta(p), _eta(q))
    quad = _ellipse_rho(eta_p, eta_q) >= _MIN_RHO
    delta = eta_q - eta_p
    if p._param_name == "probs" and q._param_name == "probs":
        # δ from the probabilities: λ_q − λ_p is exact where they are close, while the
        # difference of two logits keeps only their absolute accuracy (KL ∝ δ²).
        lp, lq = torch.broadcast_tensors(p._clamped_probs(), q._clamped_probs())
        up, down = (lq - lp) / lp, (lp - lq) / (1 - lp)
        interior = (p.probs > 0) & (p.probs < 1) & (q.probs > 0) & (q.probs < 1)
        close = (up.abs() <= 0.5) & (down.abs() <= 0.5) & interior
        from_probs = torch.log1p(torch.where(close, up, 0.0)) - torch.log1p(
            torch.where(close, down, 0.0)
        )
        delta = torch.where(close, from_probs, delta)
    delta = torch.where(quad, delta, 0.0)
    kl = torch.where(quad, _bregman_quadrature(eta_p, delta), _bregman_closed_form(eta_p, eta_q))
    return _out(kl.clamp_min(0), p._param, q._param)


# --------------------------------------------------------------------------- CB ‖ others
def _kl_to_best_exponential(eta: torch.Tensor) -> torch.Tensor:
    """``1 + log m − H ≥ 0``: the KL from CB(η) to the exponential with its mean."""
    generic = 1 + torch.log(_mean(eta)) - _entropy(eta)
    far = eta <= -2
    s = torch.where(far, -eta, 2.0)
    x = s / torch.expm1(s)
    log1m_x = torch.log1p(-x)
    limit = -torch.log1p(-torch.exp(-s)) - _x_minus_log1p(-x, log1m_x)
    return torch.where(far, limit, generic)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p: ContinuousBernoulli, q: Exponential) -> torch.Tensor:
    r""":math:`-H - \log r + r m = [1 + \log m - H] + h(rm - 1)`."""
    eta, rate = _eta(p), q.rate
    m = _mean(eta)
    rm = rate * m
    log_rm = torch.log(rate) + torch.log(m)
    return _out(_kl_to_best_exponential(eta) + _x_minus_log1p(rm - 1, log_rm), p._param, q.rate)


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p: ContinuousBernoulli, q: Normal) -> torch.Tensor:
    r""":math:`[\tfrac12\log(2\pi e v) - H] + \tfrac12((m-\mu)/\sigma)^2
    + \tfrac12 h(v/\sigma^2 - 1)`."""
    eta = _eta(p)
    v = _variance(eta)
    best = _HALF_LOG_2PI_E + 0.5 * torch.log(v) - _entropy(eta)
    _, eps, log_r = _ratio(v.sqrt(), q.scale)
    d = (_mean(eta) - q.loc) / q.scale
    kl = best + 0.5 * d.square() + 0.5 * _x_minus_log1p(eps * (2 + eps), 2 * log_r)
    return _out(kl, p._param, q.loc)


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p: ContinuousBernoulli, q: Uniform) -> torch.Tensor:
    """``−H + log(b − a)`` where ``a ≤ 0`` and ``b ≥ 1``, else ``+inf``; the log as
    ``log1p((b − 1) − a)``, a sum of two non-negative terms (``b − 1`` exact up to ``b = 2``)."""
    kl = -_entropy(_eta(p)) + torch.log1p((q.high - 1) - q.low)
    kl = torch.where((q.low > 0) | (q.high < 1), math.inf, kl)
    return _out(kl, p._param, q.low)


# --------------------------------------------------------------------------- others ‖ CB
@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p: Uniform, q: ContinuousBernoulli) -> torch.Tensor:
    r""":math:`-\log w - \eta(c - \tfrac12) + G(\eta/2)` for :math:`0 \le a < b \le 1`, else
    ``+inf``; for larger :math:`|\eta|`, :math:`-\log(sw) + s E[d] + \log(1 - e^{-s})`."""
    eta = _eta(q)
    low, high = p.low, p.high
    # log w as log1p(−(a + (1 − b))) where w > ½ (1 − b exact there, a ≥ 0): exact near 1.
    width = high - low
    wide = width > 0.5
    log_w = torch.where(
        wide, torch.log1p(-(low + (1 - high)).clamp(max=0.5)), torch.log(width.clamp(max=0.5))
    )
    small = eta.abs() < _switch(eta)
    t = torch.where(small, 0.5 * eta, 0.0)
    centred = 0.5 * (low - 0.5) + 0.5 * (high - 0.5)
    near = -log_w - eta * centred + _series(t, "G")
    s = torch.where(small, _switch(eta), eta.abs())
    mean_distance = torch.where(eta > 0, 0.5 * (1 - low) + 0.5 * (1 - high), 0.5 * low + 0.5 * high)
    far = -log_w - torch.log(s) + s * mean_distance + torch.log(-torch.expm1(-s))
    kl = torch.where(small, near, far)
    kl = torch.where((low < 0) | (high > 1), math.inf, kl)
    return _out(kl, p.low, q._param)


@register_kl(Exponential, ContinuousBernoulli)
def _kl_exponential_cb(p: Exponential, q: ContinuousBernoulli) -> torch.Tensor:
    """``+inf``: the exponential has mass above 1."""
    return _full_inf(p.rate, q._param)


@register_kl(Gamma, ContinuousBernoulli)
def _kl_gamma_cb(p: Gamma, q: ContinuousBernoulli) -> torch.Tensor:
    """``+inf``: the gamma has mass above 1."""
    return _full_inf(p.concentration, q._param)


@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Normal, ContinuousBernoulli)
def _kl_real_cb(p, q: ContinuousBernoulli) -> torch.Tensor:
    """``+inf``: ``p`` has mass outside [0, 1]."""
    return _full_inf(p.loc, q._param)
