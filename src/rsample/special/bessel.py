r"""Modified Bessel functions of the first kind: logs and ratios, for real order ``v ≥ 0``.

.. math::
    I_v(x) = \sum_{k\ge0} \frac{(x/2)^{2k+v}}{k!\,\Gamma(v+k+1)}, \qquad
    R_v(x) = \frac{I_{v+1}(x)}{I_v(x)} \in [0, 1).

:func:`log_iv`, :func:`log_ive` (:math:`\log I_v(x) - x`), :func:`log_iv_normalized`
(:math:`\Lambda_v(x) = \log(\Gamma(v+1)(2/x)^v I_v(x))`, the von Mises–Fisher normalizer
relative to the uniform one), :func:`bessel_ratio` (:math:`R_v`) and :func:`bessel_ratio_1m`
(:math:`1 - R_v`, accurate as :math:`R_v \to 1`). Every element is
evaluated by one of two methods, chosen by :math:`s = \sqrt{v^2 + x^2}` (for the ratio, with
:math:`v + 1` in place of :math:`v`):

* :math:`s < 30`, **power series** (DLMF 10.25.2): all terms positive, so :math:`\log I_v` and the
  ratio of two series, :math:`R_v = \tfrac x2 \sum_k t_k/(v+k+1) \big/ \sum_k t_k`, have no
  cancellation; 60 terms (40 in float32) cover :math:`x < 30`.
* :math:`s \ge 30`, **uniform asymptotic expansion** (Debye; DLMF 10.41.3 and 10.41.5):
  :math:`I_v(vz) \sim e^{v\eta}(2\pi v)^{-1/2}(1+z^2)^{-1/4}\sum_k U_k(p)/v^k` and
  :math:`I'_v(vz) \sim (1+z^2)^{1/4} e^{v\eta}(2\pi v)^{-1/2} z^{-1} \sum_k V_k(p)/v^k`,
  :math:`p = (1+z^2)^{-1/2}`. Since :math:`U_k(p)` and :math:`V_k(p)` have the factor
  :math:`p^k`, each term is a polynomial in :math:`p^2` over :math:`s^k`: the expansion stays
  valid as :math:`v \to 0` (where it becomes Hankel's large-``x`` expansion, DLMF 10.40.1), and
  one method covers large order, large argument and both. The polynomials are generated exactly
  (``fractions``) from the recurrences DLMF 10.41.10–11; 16 terms (8 in float32).
  In these variables :math:`v\eta - x = v^2/(s + x) - v\,\mathrm{log1p}((v + v^2/(s+x))/x)`,
  so :func:`log_ive` has no cancellation for huge ``x``; the ratio is formed as
  :math:`R_{v} = x/(s Q + v + 1)` with :math:`Q = I'_{v+1}/I_{v+1}\cdot x/s` (from
  :math:`I_v = I'_{v+1} + \frac{v+1}{x} I_{v+1}`, all terms positive), and
  :math:`1 - R_v = (s(Q-1) + (v+1)^2/(s+x) + v + 1)/(sQ + v + 1)` with :math:`Q - 1` summed
  from the differences :math:`V_k - U_k` (the expansions' constant terms cancel exactly).

:math:`\Lambda_v` uses the same series (below :math:`x = \max(30, 4\sqrt{v+1})`, where its terms
decay at least like :math:`4^k/k!`) and, above, the expansion with the :math:`v\log v`-size terms of
:math:`\log I_v - v\log(x/2) + \log\Gamma(v+1)` combined analytically (Stirling's series for
:math:`\log\Gamma`, :math:`v \ge 10`). All sums are vectorized (a cumulative product for the
series, one matrix product for the Debye polynomials); on the CPU only the method a call needs
runs, elsewhere both run and the right one is selected (fixed shapes, no host synchronization).

Measured against mpmath (50 digits) for :math:`v \in [0, 999]`, :math:`x \in \{0\} \cup
[10^{-300}, 10^5]`, float64: :math:`\log I_v`, :math:`\log I_v - x` and :math:`\Lambda_v`
within 5e-15 of their value (relative to :math:`\max(1, |\cdot|)`; :math:`\Lambda_v` to 5e-16
up to :math:`v = 10^5`), :math:`R_v` within 4e-16 and :math:`1 - R_v` within 4e-15 relative.

Derivatives in ``x`` (the order ``v`` is a constant; asking for its gradient raises):
:math:`\frac{d}{dx}\log I_v = R_v + v/x`, and :math:`R_v' = 1 - R_v^2 - (2v+1)R_v/x`
(from :math:`I_v' = I_{v+1} + \frac vx I_v` and the three-term recurrence), evaluated in that form
by the series and, in the expansion region where its terms cancel (:math:`R_v' = O(x^{-2})`),
from the x-derivative of the Debye sums. The first is written with :func:`bessel_ratio`, so
:func:`log_iv` is twice differentiable.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch

from .._eager import host_reads_free
from ._inputs import guard_double_backward
from ._inputs import prepare as _prepare
from .stirling import log_gamma_remainder

__all__ = ["bessel_ratio", "bessel_ratio_1m", "log_iv", "log_iv_normalized", "log_ive"]

_S_SWITCH = 30.0  # series below, uniform asymptotic expansion at and above
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _terms(dtype: torch.dtype) -> tuple[int, int]:
    """(asymptotic terms, series terms) for the working dtype."""
    return (16, 60) if dtype == torch.float64 else (8, 40)


# ---------------------------------------------------------------------------------------------
# the Debye polynomials U_k(p), V_k(p) (DLMF 10.41.10, 10.41.11), exactly
# ---------------------------------------------------------------------------------------------


def _poly_mul(a, b):
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def _poly_add(*polys):
    out = [Fraction(0)] * max(len(p) for p in polys)
    for p in polys:
        for i, c in enumerate(p):
            out[i] += c
    return out


def _poly_deriv(a):
    return [i * a[i] for i in range(1, len(a))] or [Fraction(0)]


def _debye_exact(k_max: int) -> tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]]:
    """Coefficients of :math:`U_k(p)/p^k` and :math:`(V_k(p) - U_k(p))/p^k` in powers of
    :math:`p^2`, for k = 0..k_max.

    :math:`U_{k+1} = \\tfrac12 p^2(1-p^2)U_k' + \\tfrac18\\int_0^p (1-5t^2)U_k(t)\\,dt`,
    :math:`V_{k+1} = U_{k+1} - \\tfrac12 p(1-p^2)U_k - p^2(1-p^2)U_k'`.
    """
    half_p2_1mp2 = [Fraction(0), Fraction(0), Fraction(1, 2), Fraction(0), Fraction(-1, 2)]
    one_m5p2 = [Fraction(1), Fraction(0), Fraction(-5)]
    u = [[Fraction(1)]]
    v = [[Fraction(1)]]
    for _ in range(k_max):
        prev = u[-1]
        deriv = _poly_deriv(prev)
        integrand = _poly_mul(one_m5p2, prev)
        integral = [Fraction(0)] + [c / (i + 1) / 8 for i, c in enumerate(integrand)]
        nxt = _poly_add(_poly_mul(half_p2_1mp2, deriv), integral)
        u.append(nxt)
        v_half = _poly_mul([Fraction(0), Fraction(-1, 2), Fraction(0), Fraction(1, 2)], prev)
        v_deriv = _poly_mul(
            [Fraction(0), Fraction(0), Fraction(-1), Fraction(0), Fraction(1)], deriv
        )
        v.append(_poly_add(nxt, v_half, v_deriv))

    def reduced(poly, k):  # p^k (c_0 + c_1 p^2 + … + c_k p^{2k}) → (c_0, …, c_k)
        padded = poly + [Fraction(0)] * (3 * k + 1)
        return tuple(float(padded[k + 2 * i]) for i in range(k + 1))

    us = tuple(reduced(u[k], k) for k in range(k_max + 1))
    diffs = tuple(reduced(_poly_add(v[k], [-c for c in u[k]]), k) for k in range(k_max + 1))
    return us, diffs


# Built at import (a few ms): under ``torch.compile`` the tables are constants, not traced.
_DEBYE = {k: _debye_exact(k) for k in {_terms(torch.float64)[0], _terms(torch.float32)[0]}}


_TABLES: dict = {}


def _tables(k_max: int, dtype: torch.dtype, device) -> tuple[torch.Tensor, ...]:
    """The Debye coefficients as ``(k_max+1) × (k_max+1)`` matrices, column k holding the
    coefficients of :math:`P_k = U_k/p^k` (resp. :math:`(V_k - U_k)/p^k`) in powers of
    :math:`q = p^2`; then those of :math:`kP_k + 2qP_k'` (for the x-derivative of the sums)."""
    key = (k_max, dtype, device)
    tables = None if torch.compiler.is_compiling() else _TABLES.get(key)
    if tables is None:
        us, diffs = _DEBYE[k_max]
        size = k_max + 1
        tables = tuple(
            torch.tensor(
                [
                    [
                        (k + 2 * i if slope else 1) * rows[k][i] if i <= k else 0.0
                        for k in range(size)
                    ]
                    for i in range(size)
                ],
                dtype=dtype,
                device=device,
            )
            for slope in (False, True)
            for rows in (us, diffs)
        )
        if not torch.compiler.is_compiling():
            _TABLES[key] = tables
    return tables


def _powers(t: torch.Tensor, n: int) -> torch.Tensor:
    """``(1, t, t², …, tⁿ)`` along a new last dimension (repeated products)."""
    rep = t.unsqueeze(-1).expand(*t.shape, n)
    return torch.cat([torch.ones_like(t).unsqueeze(-1), rep.cumprod(-1)], dim=-1)


def _debye_sums(order: torch.Tensor, x: torch.Tensor, k_max: int, with_v: bool):
    """``(s, Σ_{k≥1} U_k/order^k, Σ_{k≥1} (V_k − U_k)/order^k)`` (the last None unless
    ``with_v``), as polynomials in :math:`p^2 = order^2/s^2` over :math:`s^k`: one matrix
    product evaluates every polynomial."""
    u_mat, d_mat, _, _ = _tables(k_max, x.dtype, x.device)
    s = torch.sqrt(order * order + x * x)
    inv_s = s.reciprocal()
    q_pows = _powers((order * inv_s).square(), k_max)
    s_pows = _powers(inv_s, k_max)[..., 1:]
    su = ((q_pows @ u_mat)[..., 1:] * s_pows).sum(-1)
    sd = ((q_pows @ d_mat)[..., 1:] * s_pows).sum(-1) if with_v else None
    return s, su, sd


# ---------------------------------------------------------------------------------------------
# the two methods
# ---------------------------------------------------------------------------------------------


def _series_terms(v: torch.Tensor, x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(t_1 … t_n, k = 1 … n)`` along a new last dimension, :math:`t_k = t_{k-1}\,(x^2/4)/
    (k(v+k))`, :math:`t_0 = 1`."""
    k = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    factors = (x * x / 4).unsqueeze(-1) / (k * (v.unsqueeze(-1) + k))
    return factors.cumprod(-1), k


def _series_log_hyp(v: torch.Tensor, x: torch.Tensor, n: int) -> torch.Tensor:
    r""":math:`\mathrm{log1p}(\sum_{k\ge1} t_k)`: the log of :math:`\Gamma(v+1)(2/x)^v I_v(x) =
    {}_0F_1(;v+1;x^2/4)`, all terms positive."""
    terms, _ = _series_terms(v, x, n)
    return torch.log1p(terms.sum(-1))


def _series_ratio(v: torch.Tensor, x: torch.Tensor, n: int):
    r"""``(R_v/x, 1 − R_v)`` from the two positive series
    :math:`R_v = \tfrac x2 \sum_k t_k/(v+k+1) / \sum_k t_k`."""
    terms, k = _series_terms(v, x, n)
    total = 1 + terms.sum(-1)
    weighted = (v + 1).reciprocal() + (terms / (v.unsqueeze(-1) + k + 1)).sum(-1)
    g = weighted / (2 * total)
    return g, 1 - x * g


def _asymptotic_log_ive(v: torch.Tensor, x: torch.Tensor, k_max: int) -> torch.Tensor:
    """:math:`\\log I_v(x) - x` from the uniform expansion, without cancellation."""
    s, su, _ = _debye_sums(v, x, k_max, with_v=False)
    ds = v * v / (s + x)  # s − x
    log_ratio = torch.log1p((v + ds) / x)  # −log(x/(v + s))
    return ds - v * log_ratio - _HALF_LOG_2PI - 0.5 * torch.log(s) + torch.log1p(su)


def _asymptotic_ratio(v: torch.Tensor, x: torch.Tensor, k_max: int):
    """``(R_v/x, 1 − R_v)`` from the expansions of :math:`I_{v+1}` and :math:`I'_{v+1}`."""
    mu = v + 1
    s, su, sd = _debye_sums(mu, x, k_max, with_v=True)
    q_m1 = sd / (1 + su)  # Q − 1 = Σ(V_k − U_k)/Σ U_k
    den = s * (1 + q_m1) + mu
    return den.reciprocal(), (s * q_m1 + mu * mu / (s + x) + mu) / den


def _asymptotic_ratio_slope(v: torch.Tensor, x: torch.Tensor, k_max: int) -> torch.Tensor:
    r""":math:`R_v'(x)` from the expansion, without the cancellation of
    :math:`1 - R^2 - (2v+1)R/x` (whose terms are :math:`O(1/x)` and the result :math:`O(1/x^2)`).

    With :math:`\mu = v + 1`, :math:`s = \sqrt{\mu^2 + x^2}`, :math:`R = x/(sQ + \mu)`:
    :math:`R' = (Q\mu^2/s + \mu - xsQ')/(sQ + \mu)^2` (using :math:`s - x^2/s = \mu^2/s`), and for
    a Debye sum :math:`\sum_k P_k(q)s^{-k}`, :math:`q = \mu^2/s^2`, the x-derivative is
    :math:`-(x/s^2)\sum_k (kP_k + 2qP_k')s^{-k}`, so :math:`-xsQ' = (x^2/s)(\Sigma_d'(1 + \Sigma_u)
    - \Sigma_d\Sigma_u')/(1 + \Sigma_u)^2` with the primed sums from the derivative
    coefficients. For large x the numerator is :math:`\approx \mu - \tfrac12`: nothing cancels.
    """
    mu = v + 1
    u_mat, d_mat, du_mat, dd_mat = _tables(k_max, x.dtype, x.device)
    s = torch.sqrt(mu * mu + x * x)
    inv_s = s.reciprocal()
    q_pows = _powers((mu * inv_s).square(), k_max)
    s_pows = _powers(inv_s, k_max)[..., 1:]
    su = ((q_pows @ u_mat)[..., 1:] * s_pows).sum(-1)
    sd = ((q_pows @ d_mat)[..., 1:] * s_pows).sum(-1)
    dsu = ((q_pows @ du_mat)[..., 1:] * s_pows).sum(-1)
    dsd = ((q_pows @ dd_mat)[..., 1:] * s_pows).sum(-1)
    one_su = 1 + su
    q = 1 + sd / one_su
    num = q * mu * mu * inv_s + mu + x * x * inv_s * (dsd * one_su - sd * dsu) / one_su.square()
    return num / (s * q + mu).square()


def _series_ratio_slope(v: torch.Tensor, x: torch.Tensor, n: int) -> torch.Tensor:
    """:math:`R' = (1 - R)(1 + R) - (2v+1)R/x` (x < 30: at most ~2 digits cancel)."""
    g, c = _series_ratio(v, x, n)
    return c * (2 - c) - (2 * v + 1) * g


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------


def _one_method(asym: torch.Tensor) -> bool | None:
    """Whether every lane takes the expansion (True) or the series (False), where that can be
    read without a host synchronization (CPU, eager); None otherwise (evaluate both)."""
    if host_reads_free(asym):
        if bool(asym.all()):
            return True
        if not bool(asym.any()):
            return False
    return None


def _log_ive_core(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    k_max, n = _terms(x.dtype)
    asym = torch.hypot(v, x) >= _S_SWITCH
    which = _one_method(asym)
    if which is True:
        out = _asymptotic_log_ive(v, x, k_max)
    elif which is False:
        out = torch.xlogy(v, x / 2) - torch.lgamma(v + 1) + _series_log_hyp(v, x, n) - x
    else:  # both, on inputs that keep the unused method finite
        cap = torch.full_like(x, _S_SWITCH)
        xs, vs = torch.minimum(x, cap), torch.minimum(v, cap)
        series = torch.xlogy(vs, xs / 2) - torch.lgamma(vs + 1) + _series_log_hyp(vs, xs, n) - xs
        out = torch.where(asym, _asymptotic_log_ive(v, torch.where(asym, x, cap), k_max), series)
    return torch.where(x == math.inf, -math.inf, out)


_V_STIRLING = 10.0  # the series' first omitted term is < 2e-18 from here on


def _asymptotic_log_hyp(v: torch.Tensor, x: torch.Tensor, k_max: int) -> torch.Tensor:
    r""":math:`\Lambda_v(x)` from the uniform expansion.

    For :math:`v \ge 10` the terms of :math:`\log I_v - v\log(x/2) + \log\Gamma(v+1)` that
    grow like :math:`v\log v` are combined analytically (with Stirling's series for
    :math:`\log\Gamma`): :math:`\Lambda_v = (s - v) - v\,\mathrm{log1p}\big(\tfrac{s-v}{2v}\big)
    - \tfrac14\mathrm{log1p}(x^2/v^2) + \mathrm{log1p}(\sum_{k\ge1} U_k/v^k) + S(v)`,
    :math:`s - v = x^2/(s + v)`, each piece no larger than the result. Smaller orders subtract
    ``v log(x/2) − lgamma(v+1)`` (at most ~110, against :math:`\Lambda \gtrsim 20`).
    """
    s, su, _ = _debye_sums(v, x, k_max, with_v=False)
    vs = v.clamp_min(_V_STIRLING)
    excess = x * x / (s + vs)  # s − v
    inv = vs.reciprocal()
    combined = (
        excess
        - vs * torch.log1p(excess * inv / 2)
        - 0.25 * torch.log1p((x * inv).square())
        + torch.log1p(su)
        + log_gamma_remainder(vs, 8)  # log Γ(v+1) − (v + ½) log v + v − ½ log 2π
    )
    ds = v * v / (s + x)  # s − x, as in _asymptotic_log_ive
    log_ive = ds - v * torch.log1p((v + ds) / x) - _HALF_LOG_2PI - 0.5 * torch.log(s)
    direct = log_ive + torch.log1p(su) + x - torch.xlogy(v, x / 2) + torch.lgamma(v + 1)
    return torch.where(v >= _V_STIRLING, combined, direct)


def _log_hyp_core(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`\Lambda_v(x) = \log(\Gamma(v+1)(2/x)^v I_v(x))`. The series converges fast while
    :math:`x^2/4 \le 4(v+1)` (term ratio ≤ 4/k), so it serves any order below
    :math:`x = \max(30, 4\sqrt{v+1})`; above, :func:`_asymptotic_log_hyp`."""
    k_max, n = _terms(x.dtype)
    edge = torch.clamp_min(4 * torch.sqrt(v + 1), _S_SWITCH)
    asym = x >= edge
    which = _one_method(asym)
    if which is True:
        out = _asymptotic_log_hyp(v, x, k_max)
    elif which is False:
        out = _series_log_hyp(v, x, n)
    else:
        out = torch.where(
            asym,
            _asymptotic_log_hyp(v, torch.where(asym, x, edge), k_max),
            _series_log_hyp(v, torch.where(asym, 0.0, x), n),
        )
    return torch.where(x == math.inf, math.inf, out)


def _ratio_slope_core(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """:math:`R_v'(x) = dR_v/dx`, accurate in both regions (0 at x = ∞, 1/(2v+2) at 0)."""
    k_max, n = _terms(x.dtype)
    asym = torch.hypot(v + 1, x) >= _S_SWITCH
    which = _one_method(asym)
    if which is True:
        out = _asymptotic_ratio_slope(v, x, k_max)
    elif which is False:
        out = _series_ratio_slope(v, x, n)
    else:
        cap = torch.full_like(x, _S_SWITCH)
        series = _series_ratio_slope(torch.minimum(v, cap), torch.minimum(x, cap), n)
        out = torch.where(
            asym, _asymptotic_ratio_slope(v, torch.where(asym, x, cap), k_max), series
        )
    return torch.where(x == math.inf, 0.0, out)


def _ratio_core(v: torch.Tensor, x: torch.Tensor):
    """``(R_v/x, 1 − R_v)``; R itself is ``x·(R/x)`` (exact at x = 0)."""
    k_max, n = _terms(x.dtype)
    asym = torch.hypot(v + 1, x) >= _S_SWITCH
    which = _one_method(asym)
    if which is True:
        g, c = _asymptotic_ratio(v, x, k_max)
    elif which is False:
        g, c = _series_ratio(v, x, n)
    else:
        cap = torch.full_like(x, _S_SWITCH)
        gs, cs = _series_ratio(torch.minimum(v, cap), torch.minimum(x, cap), n)
        ga, ca = _asymptotic_ratio(v, torch.where(asym, x, cap), k_max)
        g, c = torch.where(asym, ga, gs), torch.where(asym, ca, cs)
    at_inf = x == math.inf
    return torch.where(at_inf, 0.0, g), torch.where(at_inf, 0.0, c)


# ---------------------------------------------------------------------------------------------
# autograd
# ---------------------------------------------------------------------------------------------


def _refuse_order_grad(needs_v: bool) -> None:
    if needs_v:
        raise NotImplementedError(
            "rsample.special: the derivative of a Bessel function in its order v is not "
            "implemented (v is treated as a constant; detach it)"
        )


class _LogIve(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(v, x, scaled):
        out = _log_ive_core(v, x)
        return out if scaled else torch.where(x == math.inf, math.inf, out + x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        v, x, scaled = inputs
        ctx.scaled = scaled
        ctx.save_for_backward(v, x)

    @staticmethod
    def backward(ctx, grad):
        v, x = ctx.saved_tensors
        _refuse_order_grad(ctx.needs_input_grad[0])
        # d/dx log I_v = R_v + v/x (v/x → 0 for v = 0); minus 1 for the scaled form, which is
        # v/x − (1 − R_v). Written with the differentiable ratio: double backward works.
        v_over_x = torch.where(v == 0, 0.0, v / x)
        if ctx.scaled:
            slope = v_over_x - _Ratio.apply(v, x, True)
        else:
            slope = v_over_x + _Ratio.apply(v, x, False)
        return None, grad * slope, None


class _LogHyp(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(v, x):
        return _log_hyp_core(v, x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        v, x = ctx.saved_tensors
        _refuse_order_grad(ctx.needs_input_grad[0])
        return None, grad * _Ratio.apply(v, x, False)  # dΛ/dx = R_v(x)


class _Ratio(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(v, x, complement):
        g, c = _ratio_core(v, x)
        return c if complement else torch.where(x == math.inf, 1.0, x * g)

    @staticmethod
    def setup_context(ctx, inputs, output):
        v, x, complement = inputs
        ctx.complement = complement
        ctx.save_for_backward(v, x)

    @staticmethod
    def backward(ctx, grad):
        v, x = ctx.saved_tensors
        _refuse_order_grad(ctx.needs_input_grad[0])
        with torch.no_grad():
            slope = _ratio_slope_core(v, x)
        if ctx.complement:
            slope = -slope
        return None, guard_double_backward(grad * slope, "bessel_ratio", v, x), None


def _inputs(v, x):
    (v, x), dtype = _prepare(v, x)
    return v, x, dtype


def log_ive(v, x) -> torch.Tensor:
    """:math:`\\log I_v(x) - x` (the log of scipy's ``ive``) for ``v ≥ 0``, ``x ≥ 0``;
    differentiable in ``x``."""
    v, x, dtype = _inputs(v, x)
    return _LogIve.apply(v, x, True).to(dtype)


def log_iv(v, x) -> torch.Tensor:
    """:math:`\\log I_v(x)` for ``v ≥ 0``, ``x ≥ 0`` (``−inf`` at ``x = 0 < v``); differentiable
    in ``x``."""
    v, x, dtype = _inputs(v, x)
    return _LogIve.apply(v, x, False).to(dtype)


def log_iv_normalized(v, x) -> torch.Tensor:
    r""":math:`\Lambda_v(x) = \log\big(\Gamma(v+1)(2/x)^v I_v(x)\big) = \log{}_0F_1(;v+1;x^2/4)`:
    :math:`\log I_v` without its small-``x`` power, ``0`` at ``x = 0`` and ``≈ x²/(4v+4)`` for
    small ``x``, with full relative accuracy there (no cancellation against ``v log(x/2)``).
    :math:`\Lambda_v(\kappa)` is the log of the von Mises–Fisher normalizer relative to the
    uniform distribution on the sphere. Differentiable in ``x``: :math:`\Lambda_v' = R_v`."""
    v, x, dtype = _inputs(v, x)
    return _LogHyp.apply(v, x).to(dtype)


def bessel_ratio(v, x) -> torch.Tensor:
    """:math:`I_{v+1}(x)/I_v(x)` for ``v ≥ 0``, ``x ≥ 0`` (``x/(2v+2)`` as ``x → 0``, → 1 as
    ``x → ∞``); differentiable in ``x``. For ``v = d/2 − 1`` this is the mean resultant length
    :math:`A_d(\\kappa)` of a von Mises–Fisher distribution on :math:`S^{d-1}`."""
    v, x, dtype = _inputs(v, x)
    return _Ratio.apply(v, x, False).to(dtype)


def bessel_ratio_1m(v, x) -> torch.Tensor:
    """:math:`1 - I_{v+1}(x)/I_v(x)`, with full relative accuracy as the ratio tends to 1
    (``≈ (v + 1/2)/x`` for large ``x``); differentiable in ``x``."""
    v, x, dtype = _inputs(v, x)
    return _Ratio.apply(v, x, True).to(dtype)
