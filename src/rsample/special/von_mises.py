r"""The von Mises distribution function on one period, its κ-derivative and its inverse.

For the centred von Mises variable on :math:`[-\pi, \pi]`,

.. math:: G(y;\kappa) = \frac{1}{2\pi I_0(\kappa)}\int_{-\pi}^{y} e^{\kappa\cos t}\,dt,
    \qquad p(y;\kappa) = \frac{e^{\kappa(\cos y - 1)}}{2\pi\,\mathrm{i0e}(\kappa)} .

Symmetry gives :math:`G(y) = 1 - G(-y)`; each point is evaluated in whichever of three
representations is free of cancellation there (the tail series on the lower half, mirrored).
With :math:`\delta = \pi + y` (the distance from the antimode, formed with compensated sums),
:math:`\sigma^2 = \cos^2(y/2)` and :math:`s^2 = \sin^2(y/2)`:

* **F, Fourier series** (Hill 1977, *Algorithm 518*): :math:`G = \tfrac12 + \tfrac{y}{2\pi} +
  \tfrac1\pi\sum_n r_n \sin(ny)/n`, :math:`r_n = I_n(\kappa)/I_0(\kappa)` from the backward
  recurrence of the ratios :math:`R_n = I_n/I_{n-1} = 1/(2n/\kappa + R_{n+1})`, summed by
  Clenshaw's recurrence (at the signed ``y``: the series is odd about ½). Its error is
  absolute (~ε), so it serves κ < 20 away from the tail, where :math:`p(y)\,\delta` (a bound
  of G there) exceeds 1e-3 (float32: 1e-2).
* **A, antimode series**: substituting :math:`u = \sin((t+\pi)/2)` and expanding,
  :math:`G = \frac{\sigma}{\pi\,\mathrm{i0e}(\kappa)}\sum_n \tilde d_n\,\sigma^{2n}/(2n+1)` with
  :math:`\sum_n \tilde d_n x^n = e^{-2\kappa(1-x)}(1-x)^{-1/2}`, i.e. :math:`\tilde d_{n} =
  ((n-\tfrac12+2\kappa)\tilde d_{n-1} - 2\kappa\,\tilde d_{n-2})/n`. All terms are positive and
  they converge fast near the antimode: the lower tail (:math:`\sigma^2 \le 0.8` for κ < 20;
  :math:`\sigma^2 < 0.45` or :math:`2\kappa\sigma^2 < 30` from κ = 20), to full relative
  accuracy.
* **M, mode series** (in place of Hill's normal approximation, which errs by 2e-6 at κ = 100):
  with :math:`w = 2\sqrt\kappa\sin(t/2)` the integrand :math:`e^{\kappa(\cos t - 1)}` is
  :math:`e^{-w^2/2}` and :math:`dt = dw/\sqrt{\kappa(1 - w^2/4\kappa)}`. Expanding
  :math:`(1-w^2/4\kappa)^{-1/2} = \sum_j c_j (w^2/4\kappa)^j`, :math:`c_j = \binom{2j}{j}4^{-j}`,
  and integrating term by term from :math:`-\infty`,
  :math:`G = p(y)\,\kappa^{-1/2}\sum_j c_j a_j` with :math:`v = 2\sqrt\kappa|\sin(y/2)|`,
  :math:`a_0 = \sqrt{\pi/2}\,\mathrm{erfcx}(v/\sqrt2)` and :math:`a_j = (v s^{2j-2} + (2j-1)
  a_{j-1})/(4\kappa)`: positive terms again, for κ ≥ 20 away from the antimode (the integral
  beyond :math:`w = -2\sqrt\kappa` that the expansion adds is :math:`\sim e^{-2\kappa\sigma^2}`
  relative).

The κ-derivatives follow term by term: :math:`r_n'` from the differentiated ratio recurrence;
:math:`\tilde d_n' = 2(\tilde d_{n-1} - \tilde d_n)` (the generating function's κ-derivative is
:math:`-2(1-x)` times itself); and for M, :math:`\partial_\kappa G = (1 - A)G -
2\,p\,\kappa^{-1/2}\sum_j c_j a_{j+1}` with :math:`A = I_1/I_0` (from
:math:`\cos t = 1 - w^2/2\kappa`). Each method returns :math:`G/p` and :math:`\partial_\kappa G/p`,
so the implicit reparameterization gradient :math:`-\partial_\kappa G/p` never divides two
underflowing numbers.

Accuracy (float64, against 30-digit quadrature; ``tests/special/test_von_mises_functions.py``):
relative error ≤ 2e-12 for κ from 1e-30 to 1e6 wherever :math:`G \ge 10^{-37}` (largest at
the Fourier/antimode switch for κ ≈ 15–20, G ≈ 4e-5; ≤ 1e-13 in the tails);
:math:`\partial G/\partial\kappa` to 1e-10 relative plus 2e-14/κ absolute. On the CPU the
series stop once converged and the antimode series runs as long as it needs (up to 2000 terms),
so this holds wherever G is a normal float. Elsewhere the series run fixed term counts
(``_PLANS``), and for κ > 80 far in the tail (:math:`G < e^{-1.1\kappa} < 10^{-37}`) the value
is then an underestimate (a partial sum of positive terms, still in [0, ½]). float32 computes in
float32: 5e-7 absolute. The quantile solves :math:`\log G(y) = \log q` by Halley steps inside
a bisection bracket.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .._eager import host_reads_free
from .._shapes import broadcast_shapes
from ._inputs import compute_dtype, guard_double_backward

__all__ = [
    "i1_i0_ratio",
    "log_i0",
    "one_minus_i1_i0_ratio",
    "von_mises_cdf",
    "von_mises_cdf_grad",
    "von_mises_icdf",
    "von_mises_log_prob",
    "von_mises_sample_grad",
]

_LOG_2PI = math.log(2 * math.pi)
_INV_2PI = 1 / (2 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2)
_INV_SQRT2 = 1 / math.sqrt(2)
_KAPPA_MODE = 20.0  # from here on the mode series replaces the Fourier series
_ASYMPTOTIC = 30.0  # 1 − I1/I0 from its asymptotic expansion from here on


@dataclass(frozen=True)
class _Plan:
    fourier: int  # terms of the Fourier series (and start of the ratio recurrence)
    antimode: int  # terms of the antimode series
    mode: int  # terms of the mode series
    halley: int  # quantile iterations on the fixed-shape path
    tiny: float  # coefficients below this (relative) are dropped on the CPU
    tail: float  # κ < 20: the antimode series takes over where p(y)·δ < this


_PLANS = {
    torch.float64: _Plan(fourier=48, antimode=150, mode=50, halley=12, tiny=1e-18, tail=1e-3),
    torch.float32: _Plan(fourier=26, antimode=90, mode=26, halley=8, tiny=1e-9, tail=0.01),
}


# π as each dtype holds it, and the remainder π − that (for compensated sums near ±π).
_PI = {
    torch.float64: (math.pi, 1.2246467991473532e-16),
    torch.float32: (3.1415927410125732, -8.742278000372485e-08),
}


# ---------------------------------------------------------------------------------------------
# Bessel-function helpers
# ---------------------------------------------------------------------------------------------


def log_i0(concentration) -> torch.Tensor:
    r""":math:`\log I_0(\kappa)`: :math:`\kappa + \log \mathrm{i0e}(\kappa)` (no overflow), and
    for κ < 1 ``log1p`` of the series :math:`\sum_{m \ge 1} (\kappa^2/4)^m/m!^2` (relative
    accuracy as κ → 0, where the other form cancels)."""
    (k,), dtype = _prepare(concentration)
    quarter = 0.25 * k.clamp_max(1.0).square()
    series = torch.zeros_like(quarter)
    for m in range(12, 0, -1):  # Horner: (q/m²)(1 + (q/(m+1)²)(1 + …))
        series = quarter / (m * m) * (1 + series)
    small = torch.log1p(series)
    return torch.where(k < 1, small, k + torch.log(torch.special.i0e(k))).to(dtype)


def i1_i0_ratio(concentration) -> torch.Tensor:
    r""":math:`A(\kappa) = I_1(\kappa)/I_0(\kappa)`, the mean resultant length."""
    (k,), dtype = _prepare(concentration)
    return (torch.special.i1e(k) / torch.special.i0e(k)).to(dtype)


def _asymptotic_coefficients(terms: int) -> tuple[list[float], list[float]]:
    r"""Coefficients of ``√(2πz) e^{−z} I0(z)`` and of ``√(2πz) e^{−z} (I0 − I1)(z)`` in ``1/z``.

    Hankel's expansion :math:`I_\nu(z) \sim \frac{e^z}{\sqrt{2\pi z}}\sum_k (-1)^k
    \prod_{i\le k}(4\nu^2 - (2i-1)^2)/(k!\,8^k z^k)` (DLMF 10.40.1), differenced exactly.
    """
    from fractions import Fraction

    s0, s1 = [Fraction(1)], [Fraction(1)]
    for k in range(1, terms):
        s0.append(s0[-1] * Fraction(-(0 - (2 * k - 1) ** 2), 8 * k))
        s1.append(s1[-1] * Fraction(-(4 - (2 * k - 1) ** 2), 8 * k))
    return [float(c) for c in s0], [float(a - b) for a, b in zip(s0, s1)]


_S0, _S0_MINUS_S1 = _asymptotic_coefficients(18)


def _horner(coefficients: list[float], z: torch.Tensor) -> torch.Tensor:
    out = torch.full_like(z, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        out = out * z + c
    return out


def one_minus_i1_i0_ratio(concentration) -> torch.Tensor:
    r""":math:`1 - I_1(\kappa)/I_0(\kappa)`, the circular variance, to full relative accuracy.

    Directly for κ < 30 (losing at most a factor 2κ of precision); from Hankel's expansions of
    :math:`I_0` and :math:`I_0 - I_1` beyond (18 terms: the smallest term is below 1e-17 there).
    """
    (k,), dtype = _prepare(concentration)
    direct = 1 - torch.special.i1e(k) / torch.special.i0e(k)
    z = torch.reciprocal(k.clamp_min(_ASYMPTOTIC))  # both branches finite, for autograd
    asymptotic = _horner(_S0_MINUS_S1, z) / _horner(_S0, z)
    return torch.where(k < _ASYMPTOTIC, direct, asymptotic).to(dtype)


def _log_norm(k: torch.Tensor) -> torch.Tensor:
    """log(2π I0(κ)) − κ, the log-normalizer of p(y) = exp(κ(cos y − 1) − this)."""
    return _LOG_2PI + torch.log(torch.special.i0e(k))


def von_mises_log_prob(y, concentration) -> torch.Tensor:
    r"""Log density of the centred von Mises, :math:`-2\kappa\sin^2(y/2) - \log(2\pi
    \mathrm{i0e}(\kappa))` (periodic in ``y``; cancellation-free near the mode)."""
    if not (isinstance(y, torch.Tensor) and isinstance(concentration, torch.Tensor)):
        (y, concentration), dtype = _prepare(y, concentration)
        return von_mises_log_prob(y, concentration).to(dtype)
    return -2 * concentration * torch.sin(0.5 * y).square() - _log_norm(concentration)


# ---------------------------------------------------------------------------------------------
# the three series, each giving (G/p, ∂G/∂κ / p) on the lower half
# ---------------------------------------------------------------------------------------------


def _fourier_coefficients(k: torch.Tensor, terms: int, grad: bool):
    """``r_n = I_n/I_0`` for n = 1..terms (stacked on dim 0), and ``dr_n/dκ`` if ``grad``.

    Backward recurrence of the ratios with ``R_m/κ = 1/(2m + κ R_{m+1})`` (bounded as κ → 0)
    and its derivative ``R_m' = 2m (R_m/κ)² − R_m² R_{m+1}'``.
    """
    ratio = torch.zeros_like(k)
    d_ratio = torch.zeros_like(k)
    ratios, d_ratios = [], []
    for m in range(terms, 0, -1):
        g = torch.reciprocal(2 * m + k * ratio)
        new = k * g
        if grad:
            d_ratio = 2 * m * g * g - new * new * d_ratio
            d_ratios.append(d_ratio)
        ratio = new
        ratios.append(ratio)
    r, dr = [], []
    prod, d_prod = torch.ones_like(k), torch.zeros_like(k)
    for i in range(terms):
        big_r = ratios[terms - 1 - i]
        if grad:
            d_prod = d_prod * big_r + prod * d_ratios[terms - 1 - i]
            dr.append(d_prod)
        prod = prod * big_r
        r.append(prod)
    return torch.stack(r), (torch.stack(dr) if grad else None)


def _clenshaw_sine(coefficients: torch.Tensor, two_cos: torch.Tensor, sin: torch.Tensor):
    """``Σ_{n≥1} c_{n−1} sin(n y) / n`` by Clenshaw's recurrence."""
    b1 = torch.zeros_like(two_cos)
    b2 = torch.zeros_like(two_cos)
    for n in range(coefficients.shape[0], 0, -1):
        b1, b2 = torch.addcmul(coefficients[n - 1] / n - b2, two_cos, b1), b1
    return b1 * sin


def _used_terms(coefficients: torch.Tensor, tiny: float) -> int:
    """How many leading coefficients matter (CPU only: reads the values)."""
    big = (coefficients.abs().reshape(coefficients.shape[0], -1).amax(1) > tiny).nonzero()
    return int(big[-1]) + 1 if big.numel() else 1


def _fourier(pt, k, density, plan: _Plan, want: str, compact: bool):
    """F at the signed ``y`` (the series holds on all of [−π, π]): ``G(y)`` ("value"),
    ``G/p`` ("scaled") or ``∂G/∂κ / p`` ("grad"). ``cos y = 1 − 2 sin²(y/2)``."""
    grad = want == "grad"
    r, dr = _fourier_coefficients(k, plan.fourier, grad)
    coefficients = dr if grad else r
    if compact:
        coefficients = coefficients[: _used_terms(coefficients, plan.tiny)]
    two_cos = torch.add(2.0, pt.s2, alpha=-4.0)
    series = _clenshaw_sine(coefficients, two_cos, torch.sin(pt.y)) / math.pi
    if grad:
        return series.div_(density)
    value = series.add_(pt.y, alpha=_INV_2PI).add_(0.5)
    return value if want == "value" else value.div_(density)


def _antimode(sigma2, k, plan: _Plan, want: str, compact: bool = False):
    """A: ``G/p = 2σ Σ_n ŝ_n/(2n+1)`` with ``ŝ_n = d̃_n σ^{2n} e^{2κσ²}`` (Poisson-weighted,
    bounded), and ``∂G/∂κ / p = 2σ(2σ² Σ ŝ_{n−1}/(2n+1) − (1 + A) Σ ŝ_n/(2n+1))``. On the
    CPU the sum runs past the Poisson peak (n > X, up to 2000 terms) and stops once the terms
    are below ε: there it is accurate wherever G is a normal float."""
    x = 2 * k * sigma2
    prev = torch.zeros_like(x)
    cur = torch.exp(-x)
    total = cur.clone()
    shifted = torch.zeros_like(x)
    eps = torch.finfo(x.dtype).eps
    x_max = float(x.max()) if compact and x.numel() else math.inf
    terms = plan.antimode
    if compact and x_max < math.inf:  # the Poisson(X) weights peak at n ≈ X: go past them
        terms = max(terms, min(2000, int(x_max + 12 * math.sqrt(x_max)) + 30))
    for n in range(1, terms + 1):
        # ŝ_n = (σ²((n − ½) ŝ_{n−1} − X ŝ_{n−2}) + X ŝ_{n−1})/n
        inner = torch.addcmul(cur * (n - 0.5), x, prev, value=-1.0)
        nxt = torch.addcmul(x * cur, inner, sigma2).mul_(1.0 / n)
        shifted.add_(cur, alpha=1.0 / (2 * n + 1))
        prev, cur = cur, nxt
        total.add_(cur, alpha=1.0 / (2 * n + 1))
        if compact and n % 8 == 0 and n > x_max and bool((cur <= eps * total).all()):
            shifted.add_(cur, alpha=1.0 / (2 * n + 3))
            break
    two_sigma = 2 * sigma2.sqrt()
    g = two_sigma * total if want != "grad" else None
    dg = None
    if want != "value":
        dg = two_sigma * (2 * sigma2 * shifted - (1 + i1_i0_ratio(k)) * total)
    return g, dg


_C = [1.0]
for _j in range(1, 64):
    _C.append(_C[-1] * (2 * _j - 1) / (2 * _j))


def _mode(s2, k, plan: _Plan, want: str, compact: bool, skip=None):
    """M: ``G/p = κ^{−½} Σ c_j a_j`` and
    ``∂G/∂κ / p = κ^{−½}((1 − A) Σ c_j a_j − 2 Σ c_j a_{j+1})`` (on the CPU the sums stop once
    the terms are below ε of the total on every lane outside ``skip``)."""
    v = 2 * torch.sqrt(k * s2)
    a = _SQRT_HALF_PI * torch.special.erfcx(v * _INV_SQRT2)
    total = a.clone()
    total1 = torch.zeros_like(a)
    power = torch.ones_like(a)
    inv4k = 0.25 / k
    eps = torch.finfo(a.dtype).eps
    for j in range(1, plan.mode + 2):
        a = (v * power + (2 * j - 1) * a) * inv4k
        power = power * s2
        if j <= plan.mode:
            total = total + _C[j] * a
        total1 = total1 + _C[j - 1] * a
        if compact and j % 4 == 0 and bool(((_C[j] * a <= eps * total) | skip).all()):
            a = (v * power + (2 * j + 1) * a) * inv4k
            total1 = total1 + _C[j] * a
            break
    scale = torch.rsqrt(k)
    g = scale * total if want != "grad" else None
    dg = scale * (one_minus_i1_i0_ratio(k) * total - 2 * total1) if want != "value" else None
    return g, dg


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------


class _Point:
    """Where to evaluate: ``y ∈ [−π, π]`` (signed), ``δ = π − |y|`` (accurate next to the
    antimode), the concentration (broadcastable to ``y``) and ``s2 = sin²(y/2)``. (A plain
    class: ``functools.cached_property`` takes a lock that ``torch.compile`` cannot trace.)"""

    def __init__(self, y, delta, k, s2=None):
        self.y, self.delta, self.k = y, delta, k
        self.s2 = torch.sin(0.5 * y).square() if s2 is None else s2


def _centre(x: torch.Tensor, loc: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``y = x − loc`` reduced to [−π, π] and ``δ = π − |y|``, both with compensated sums so
    that ``δ`` keeps its relative accuracy next to the antimode (``x − loc ≈ ±π``)."""
    pi_hi, pi_lo = _PI[x.dtype]
    if loc is None:
        d, d_lo = x, torch.zeros_like(x)
    else:
        d = x - loc
        bp = d - x
        d_lo = (x - (d - bp)) + (-loc - bp)  # Knuth's TwoSum: d + d_lo = x − loc exactly
    k = torch.round(d * _INV_2PI)
    y = d - k * (2 * pi_hi)  # exact when it matters: d within a few π of 2πk (Sterbenz)
    y_lo = d_lo - k * (2 * pi_lo)
    delta = (pi_hi - y.abs()) + (pi_lo - torch.sign(y) * y_lo)
    return y.clamp(-pi_hi, pi_hi), delta.clamp(0.0, 2 * pi_hi)


def _point(y: torch.Tensor, k: torch.Tensor) -> _Point:
    """A point from an exact ``y`` (a draw): ``δ = (π_hi − |y|) + π_lo``."""
    pi_hi, pi_lo = _PI[y.dtype]
    delta = (pi_hi - y.abs()).add_(pi_lo).clamp_min_(0.0)
    return _Point(y=y.clamp(-pi_hi, pi_hi), delta=delta, k=k)


def _use_antimode(sigma2, density, delta, k, classes: str) -> torch.Tensor:
    """Where the antimode series is used (bool): the lower tail (``sigma2 = cos²(y/2)``)."""
    # κ < 20: where p·δ (an upper bound of G near the antimode) is small, as F's error is
    # absolute; the antimode series converges for cos²(y/2) ≤ 0.8 in its term count.
    small_k = (sigma2 <= 0.8) & (density * delta < _PLANS[sigma2.dtype].tail)
    if classes == "small":
        return small_k
    # κ ≥ 20: the mode series is exact to e^{−2κ cos²(y/2)} and converges for sin² ≤ 0.55.
    big_k = (sigma2 < 0.45) | (2 * k * sigma2 < 30)
    return big_k if classes == "big" else torch.where(k < _KAPPA_MODE, small_k, big_k)


def _mirrored(want: str, g, dg, density, y):
    """A lower-half method's ``(G/p, ∂G/∂κ / p)`` at ``−|y|`` as ``want`` at the signed ``y``:
    ``G(y) = 1 − G(−y)`` and ``∂G/∂κ`` is odd (``dg ≤ 0`` on the lower half)."""
    if want == "scaled":  # the quantile: lower half only
        return g
    if want == "grad":
        return torch.copysign(dg, y)
    lower = g * density
    return torch.where(y > 0, 1 - lower, lower)


def _evaluate(pt: _Point, want: str):
    """``G(y)`` ("value"), ``G/p`` ("scaled", for ``y ≤ 0``) or ``∂G/∂κ / p`` ("grad") at the
    points, and ``log p``.

    On the CPU the body (Fourier or mode series) runs on every element, for the concentration
    classes present, and the antimode series only on the tail elements (gathered); elsewhere
    (accelerators, ``torch.compile``, ``vmap``) all three run on every element and ``where``
    picks, with no host synchronization.
    """
    y, k = pt.y, pt.k
    plan = _PLANS[y.dtype]
    s2 = pt.s2
    log_density = -2 * k * s2 - _log_norm(k)
    density = torch.exp(log_density)
    compact = host_reads_free(y)
    small = k < _KAPPA_MODE
    any_small = not compact or bool(small.any())
    any_big = not compact or not bool(small.all())
    classes = "both" if any_small and any_big else ("small" if any_small else "big")
    tail = _use_antimode(1 - s2, density, pt.delta, k, classes)
    lower_want = "grad" if want == "grad" else "value"
    parts = []
    if any_small:
        kk = k if not any_big else k.clamp_max(_KAPPA_MODE)
        parts.append(_fourier_chunked(pt, kk, density, plan, want, compact))
    if any_big:
        kk = k if not any_small else k.clamp_min(_KAPPA_MODE)
        g, dg = _mode(s2, kk, plan, lower_want, compact, skip=tail | small)
        parts.append(_mirrored(want, g, dg, density, y))
    out = parts[0] if len(parts) == 1 else torch.where(small, parts[0], parts[1])
    if not compact:
        g, dg = _antimode(torch.sin(0.5 * pt.delta).square(), k, plan, lower_want)
        return torch.where(tail, _mirrored(want, g, dg, density, y), out), log_density
    shape = out.shape
    idx = tail.reshape(-1).nonzero().squeeze(1)
    if idx.numel():

        def gather(t):
            return t.expand(shape).reshape(-1).index_select(0, idx)

        delta, y_sub, density_sub = gather(pt.delta), gather(y), gather(density)
        k_sub = k.reshape(()) if k.numel() == 1 else gather(k)
        sigma2 = torch.sin(0.5 * delta).square()  # cos²(y/2), exact next to the antimode
        g, dg = _antimode(sigma2, k_sub, plan, lower_want, compact=True)
        part = _mirrored(want, g, dg, density_sub, y_sub)
        out = out.expand(shape).reshape(-1).index_copy(0, idx, part).reshape(shape)
    return out, log_density


_CHUNK = 1 << 15


def _fourier_chunked(pt: _Point, k, density, plan, want, compact):
    """The Fourier series with its coefficients computed per concentration: a concentration
    of the elements' own shape is processed in chunks on the CPU (bounded memory)."""
    y = pt.y
    if not compact or k.numel() * plan.fourier <= max(1 << 22, y.numel()):
        return _fourier(pt, k, density, plan, want, compact)
    shape = broadcast_shapes(y.shape, k.shape)
    flat = [t.expand(shape).reshape(-1) for t in (y, pt.s2, k, density)]
    outs = []
    for i in range(0, flat[0].numel(), _CHUNK):
        yc, s2c, kc, dc = (t[i : i + _CHUNK] for t in flat)
        chunk = _Point(y=yc, delta=yc, k=kc, s2=s2c)
        outs.append(_fourier(chunk, kc, dc, plan, want, compact))
    return torch.cat(outs).reshape(shape)


# ---------------------------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------------------------


def _prepare(*args):
    """Promote to one floating dtype (computing in float64 or float32) without broadcasting."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    dtype = functools.reduce(torch.promote_types, floats) if floats else torch.get_default_dtype()
    work = compute_dtype(dtype)
    device = tensors[0].device if tensors else None
    out = [None if a is None else torch.as_tensor(a, dtype=work, device=device) for a in args]
    return out, dtype


def _cdf_value(x, k, loc):
    y, delta = _centre(x, loc)
    value, _ = _evaluate(_Point(y=y, delta=delta, k=k), "value")
    # ±inf are no angles: the limits of the CDF on the period, 0 and 1 (NaN stays NaN).
    return torch.where(x.isinf(), (x > 0).to(value.dtype), value.clamp(0.0, 1.0))


def _cdf_grad_k(x, k, loc):
    y, delta = _centre(x, loc)
    dg, log_density = _evaluate(_Point(y=y, delta=delta, k=k), "grad")
    return torch.where(x.isinf(), 0.0, dg * torch.exp(log_density))


class _VonMisesCdf(torch.autograd.Function):
    generate_vmap_rule = True  # with setup_context: usable under torch.func transforms

    @staticmethod
    def forward(x, k, loc):
        return _cdf_value(x, k, loc)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, k, loc = inputs
        ctx.has_loc = loc is not None
        ctx.save_for_backward(x, k, loc if loc is not None else x)

    @staticmethod
    def backward(ctx, grad):
        x, k, loc = ctx.saved_tensors
        if not ctx.has_loc:
            loc = None
        need_x, need_k, need_loc = ctx.needs_input_grad
        gx = gk = gl = None
        with torch.no_grad():
            if need_x or need_loc:
                d = x if loc is None else x - loc
                big = torch.finfo(d.dtype).max
                p = torch.exp(von_mises_log_prob(d.clamp(-big, big), k))
                p = torch.where(d.isinf(), 0.0, p) * grad
                gx = p.sum_to_size(x.shape) if need_x else None
                gl = (-p).sum_to_size(loc.shape) if need_loc else None
            if need_k:
                gk = (grad * _cdf_grad_k(x, k, loc)).sum_to_size(k.shape)
        what = "von_mises_cdf"
        return (
            guard_double_backward(gx, what, x, k, grad),
            guard_double_backward(gk, what, x, k, grad),
            guard_double_backward(gl, what, x, k, grad),
        )


def von_mises_cdf(x, concentration, loc=None) -> torch.Tensor:
    r"""Distribution function of the von Mises distribution on the period centred at ``loc``.

    :math:`G(y;\kappa)` at :math:`y = x - \text{loc}` reduced modulo :math:`2\pi` into
    :math:`[-\pi, \pi]` (so :math:`F(\text{loc} - \pi) = 0`, :math:`F(\text{loc} + \pi) = 1`, as
    scipy's ``vonmises(κ, loc).cdf`` on that period, and periodic outside it). The reduction is
    compensated, so the lower tail next to ``loc − π`` keeps its relative accuracy.
    Differentiable in ``x`` and ``loc`` (the density) and in ``concentration`` (series).
    """
    (x, k, loc), dtype = _prepare(x, concentration, loc)
    return _VonMisesCdf.apply(x, k, loc).to(dtype)


def von_mises_cdf_grad(x, concentration, loc=None) -> torch.Tensor:
    r""":math:`\partial G/\partial\kappa` at :math:`y = x - \text{loc}` (reduced as in
    :func:`von_mises_cdf`): zero at the mode and at ±π, negative below the mode."""
    (x, k, loc), dtype = _prepare(x, concentration, loc)
    shape = broadcast_shapes(x.shape, k.shape, *(() if loc is None else (loc.shape,)))
    return _cdf_grad_k(x, k, loc).expand(shape).to(dtype)


def von_mises_sample_grad(y, concentration) -> torch.Tensor:
    r""":math:`\partial y/\partial\kappa = -(\partial G/\partial\kappa)/p` at centred draws
    ``y ∈ [−π, π]`` with ``G(y)`` held fixed: the implicit reparameterization gradient, formed
    from the scaled series so that it stays finite where ``p`` and ``∂G/∂κ`` underflow."""
    if not (isinstance(y, torch.Tensor) and isinstance(concentration, torch.Tensor)):
        (y, concentration), dtype = _prepare(y, concentration)
        return von_mises_sample_grad(y, concentration).to(dtype)
    dg, _ = _evaluate(_point(y, concentration), "grad")
    return dg.neg_()


def _initial_guess(q, k):
    """A start for the lower-half quantile, and whether it is already the answer.

    Next to the antimode ``G(−π + δ) = p(−π)·δ·(1 + O(κδ²))`` (the density grows from its
    minimum there), so ``δ = q/p(−π)`` is exact to rounding once ``κδ² < ε``; further out it
    is an upper bound of the root. Elsewhere the leading term of the mode series,
    ``G ≈ Φ(−v)/(√(2πκ) i0e(κ))``, ``v = 2√κ sin(−y/2)``, is the better start.
    """
    pi_hi = _PI[q.dtype][0]
    delta_b = torch.exp(torch.log(q) + 2 * k + _log_norm(k)).clamp_max(pi_hi)
    norm = torch.sqrt(2 * math.pi * k) * torch.special.i0e(k)
    v = -torch.special.ndtri((q * norm).clamp(max=0.5))
    y_mode = -2 * torch.asin((v / (2 * torch.sqrt(k))).clamp(0.0, 1.0))
    y_bound = delta_b - pi_hi
    kd2 = k * delta_b.square()
    start = torch.where(kd2 < 1, y_bound, torch.minimum(y_mode, y_bound))
    return start, kd2 < torch.finfo(q.dtype).eps


def _lower_quantile(q, k):
    """``yl ∈ [−π, 0]`` with ``G(yl) = q`` for ``q ∈ (0, ½]``: Halley's method on
    ``log G(y) − log q`` (``(log G)' = p/G``, ``(log G)'' = (p/G)(−κ sin y − p/G)``) inside a
    shrinking bracket, bisecting when a step leaves it (or ``G`` underflows)."""
    pi_hi, pi_lo = _PI[q.dtype]
    plan = _PLANS[q.dtype]
    shape = broadcast_shapes(q.shape, k.shape)
    q = q.expand(shape)
    k_full = k.expand(shape)
    log_q = torch.log(q)
    start, exact = _initial_guess(q, k_full)
    y = start.clamp(-pi_hi, 0.0)
    lo = torch.full_like(y, -pi_hi)
    hi = torch.zeros_like(y)
    compact = host_reads_free(y)
    if compact and bool(exact.all()):
        return y
    eps = torch.finfo(y.dtype).eps
    steps = 60 if compact else plan.halley
    for _ in range(steps):
        delta = ((y + pi_hi) + pi_lo).clamp_min(0.0)
        g, log_density = _evaluate(_Point(y=y, delta=delta, k=k_full), "scaled")
        f = torch.log(g) + log_density - log_q
        above = f > 0
        hi = torch.where(above, y, hi)
        lo = torch.where(above, lo, y)
        newton = f * g
        halley = 1 + 0.5 * f * (k_full * g * torch.sin(y) + 1)
        new = y - newton / halley.clamp_min(0.5)
        inside = (new >= lo) & (new <= hi)  # False for NaN (G = 0 gives −inf·0)
        new = torch.where(inside, new, 0.5 * (lo + hi))
        moved = (new - y).abs()
        y = new
        # The root is resolved to ~ε·|y| in the tails and to ~ε·G/p next to the median.
        if compact and bool(((moved <= 4 * eps * (y.abs() + g)) | exact).all()):
            break
    return torch.where(exact, start.clamp(-pi_hi, 0.0), y)


class _VonMisesIcdf(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(q, k):
        pi_hi = _PI[q.dtype][0]
        upper = q > 0.5
        qq = torch.where(upper, 1 - q, q)
        yl = _lower_quantile(qq.clamp_min(torch.finfo(q.dtype).tiny), k)
        yl = torch.where(qq > 0, yl, -pi_hi)
        return torch.where(upper, -yl, yl)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output, inputs[1])

    @staticmethod
    def backward(ctx, grad):
        y, k = ctx.saved_tensors
        gq = gk = None
        with torch.no_grad():
            if ctx.needs_input_grad[0]:
                gq = grad * torch.exp(-von_mises_log_prob(y, k))
            if ctx.needs_input_grad[1]:
                gk = (grad * von_mises_sample_grad(y, k)).sum_to_size(k.shape)
        what = "von_mises_icdf"
        return (
            guard_double_backward(gq, what, y, k, grad),
            guard_double_backward(gk, what, y, k, grad),
        )


def von_mises_icdf(q, concentration) -> torch.Tensor:
    r"""Quantile of the centred von Mises: ``y ∈ [−π, π]`` with :math:`G(y;\kappa) = q`.

    Differentiable in ``q`` (:math:`1/p`) and ``concentration`` (:math:`-\partial_\kappa G/p`).
    """
    (q, k), dtype = _prepare(q, concentration)
    shape = broadcast_shapes(q.shape, k.shape)
    return _VonMisesIcdf.apply(q.expand(shape), k).to(dtype)
