r"""Regularized incomplete gamma functions, their logs, inverses and derivatives.

.. math::
    P(a, x) = \frac{1}{\Gamma(a)} \int_0^x t^{a-1} e^{-t}\,dt, \qquad Q(a, x) = 1 - P(a, x).

Everything is vectorized tensor code with fixed iteration counts (no ``.item()``, no loop on
convergence). Every element is evaluated by one of four methods, chosen as in Gil, Segura &
Temme (2012, "Efficient and accurate algorithms for the computation and inversion of the
incomplete gamma function ratios", SIAM J. Sci. Comput. 34) and DiDonato & Morris (1986,
ACM TOMS 12); with :math:`\lambda = x/a`:

* **Temme** — :math:`a \ge 10`, :math:`0.4 \le \lambda \le 2`: Temme's (1979) uniform asymptotic
  expansion :math:`Q = \tfrac12\operatorname{erfc}(\eta\sqrt{a/2}) + R_a(\eta)` (DLMF 8.12.8),
  with the coefficients :math:`c_k(\eta)` as Taylor polynomials generated here from DLMF 8.12.10.
  It covers the transition region, where the series and the continued fraction would need
  :math:`O(\sqrt a)` terms.
* **P series** — :math:`x < a` elsewhere (and small ``x`` with ``a`` not tiny): the power series
  :math:`P = \frac{x^a e^{-x}}{\Gamma(a+1)} \sum_n \frac{x^n}{(a+1)\cdots(a+n)}` (DLMF 8.7.1).
* **Q series** — small ``x`` (≤ 3; ≤ 2 in float32) with small ``a``:
  :math:`Q = -\operatorname{expm1}(a\log x - \log\Gamma(1+a)) - \frac{x^a}{\Gamma(a)}
  \sum_{n\ge1} \frac{(-x)^n}{n!(a+n)}`, which keeps :math:`Q \approx a E_1(x)` accurate as
  ``a → 0`` (DiDonato & Morris §3; scipy's ``igamc``).
* **continued fraction** — :math:`x \ge a`, :math:`x > 3` (2): Legendre's continued fraction
  for :math:`\Gamma(a, x)` (DLMF 8.9.2) in its even contraction, by the modified Lentz method.

On accelerators, under ``torch.compile`` and under ``vmap`` all four methods run on all elements
and the right result is selected (fixed shapes, no host synchronization); on the CPU each runs
only on its own elements (boolean indexing, 3–4× less work, nothing to synchronize with).

The method evaluates the *smaller* of ``P`` and ``Q`` (as a log plus its ``a``-derivative in log
form) and the other side as ``1 − ·`` (``log1p``/``expm1``), so ``log_gammainc`` and
``log_gammaincc`` stay accurate where ``P`` or ``Q`` underflow. The prefactor
:math:`x^a e^{-x}/\Gamma(a)` is computed for ``a ≥ 10`` as
:math:`\sqrt{a/2\pi}\, e^{-a\varphi(\lambda)}/\Gamma^*(a)`, :math:`\varphi(\lambda) = \lambda - 1
- \log\lambda` (a ``log1pmx`` form) and :math:`\Gamma^*` the Stirling series, which avoids the
``a·eps`` error of ``exp(a log x − x − lgamma(a))`` (DiDonato & Morris's ``rcomp``).

The derivative in ``a`` differentiates each method: the series and continued fraction
term by term (forward-mode recurrences, as in Moore 1982, "Algorithm AS 187", and the gamma
implicit gradient of Figurnov, Mohamed & Mnih 2018), Temme's expansion analytically. The
inverse starts from the best of three guesses (small-``x`` series, large-``x`` asymptotics,
Wilson–Hilferty) and takes fixed Halley steps in ``log x`` on ``log P`` or ``log Q``, both
concave in ``log x`` (the log of a gamma variable has a log-concave density).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import NamedTuple

import torch

from .._eager import host_reads_free
from ._inputs import bernoulli_numbers as _bernoulli
from ._inputs import compute_dtype as _compute_dtype
from ._inputs import guard_double_backward
from ._inputs import prepare as _prepare

__all__ = [
    "gammainc",
    "gammainc_grad_a",
    "gammaincc",
    "gammainccinv",
    "gammaincinv",
    "log_gammainc",
    "log_gammaincc",
    "standard_gamma_grad",
]

_EULER = 0.57721566490153286061
_LOG_2PI = math.log(2 * math.pi)
_A_TEMME = 10.0  # Temme's expansion for a ≥ this ...
_LAM_LO, _LAM_HI = 0.4, 2.0  # ... and λ = x/a in this band


class _Plan(NamedTuple):
    """Per-dtype iteration counts, fixed so that no data-dependent control flow is needed.

    Measured over each method's region (random and boundary points, value and ``a``-derivative
    both): the P series needs 40 (float64) / 21 (float32) terms, the Q series 26 / 13 terms.
    The continued fraction, evaluated from its tail, needs a depth that falls with x: measured
    over a ∈ [1e-4, 1e3] (a ≤ x, and x > 2a where a ≥ 10), the depths below are within 1e-14
    (float64) / 6e-7 (float32) of the converged value and derivative in each band. float32
    hands x in (1, 2] to the continued fraction: there the Q series form of the sample
    derivative cancels to −E₁(x) and would lose ten times more. Temme's expansion truncated at
    powers ``a^-K`` and ``η^(N-1)`` is within 5e-17 of Q relatively with K, N = 14, 24, for
    a ≥ 10, 0.4 ≤ λ ≤ 2; float32 takes K, N = 4, 8, where truncation is below rounding. The
    sample derivative's bivariate Temme polynomial takes K, N = 14, 24 / 4, 10 (within 4e-7 of
    float64 at 10 ≤ a ≤ 12, the worst case; N = 8 would give 4e-6).
    """

    x_qser: float  # the Q series serves x ≤ this (where a is small relative to x)
    pser: int
    cf_edges: tuple[float, ...]  # the continued fraction's bands of x ...
    cf_depths: tuple[int, ...]  # ... and the depth each needs (the first is the deepest)
    qser: int
    temme_k: int
    temme_n: int
    phi_terms: int
    lgam_terms: int
    halley: int  # Halley steps of the inverse
    dxda_k: int  # the sample derivative's Temme polynomial: powers of 1/a ...
    dxda_n: int  # ... and of η


_PLANS = {
    torch.float64: _Plan(
        3.0, 42, (4, 6, 8, 12), (30, 26, 20, 16, 12), 28, 14, 24, 10, 24, 3, 14, 24
    ),
    torch.float32: _Plan(1.0, 22, (1.5, 2, 3, 20), (20, 14, 10, 8, 6), 14, 4, 8, 5, 12, 3, 4, 10),
}


# ---------------------------------------------------------------------------------------------
# Coefficient tables (exact rational arithmetic, once per size)
# ---------------------------------------------------------------------------------------------


@functools.cache
def _stirling_log_coeffs(k_max: int) -> tuple[Fraction, ...]:
    # log Γ*(a) = Σ_j l_j a^{-j}, l_{2m-1} = B_{2m} / (2m(2m-1))   (DLMF 5.11.1)
    bern = _bernoulli(k_max + 1)
    return tuple(
        bern[j + 1] / ((j + 1) * j) if j % 2 == 1 else Fraction(0) for j in range(k_max + 1)
    )


@functools.cache
def _stirling_g(k_max: int) -> tuple[Fraction, ...]:
    # Γ*(a) = Σ_k g_k a^{-k} (DLMF 5.11.3) = exp(Σ_j l_j a^{-j}): n g_n = Σ_j j l_j g_{n-j}.
    log_c = _stirling_log_coeffs(k_max)
    g = [Fraction(1)]
    for n in range(1, k_max + 1):
        g.append(sum(j * log_c[j] * g[n - j] for j in range(1, n + 1)) / n)
    return tuple(g)


@functools.cache
def _temme_coeffs(k_max: int, n_max: int) -> tuple[tuple[float, ...], ...]:
    """Taylor coefficients ``d[k][n]`` of Temme's ``c_k(η) = Σ_n d[k][n] ηⁿ``, k ≤ k_max."""
    rows, _ = _temme_exact(k_max, n_max + 1)
    return tuple(tuple(float(c) for c in row[:n_max]) for row in rows)


@functools.cache
def _temme_exact(k_max: int, n_max: int):
    """(rows, ρ): c_k(η) for k ≤ k_max and ρ(η) = (λ − 1)/η, exact to ηⁿ, n < n_max."""
    n_lam = n_max + 2 * k_max + 4
    # μ = λ − 1 as a series in η, from ½η² = μ − log(1 + μ): differentiating, μ μ' = η(1 + μ);
    # matching ηⁿ gives (n + 1) m_n + Σ_{i=2}^{n-1} (n + 1 − i) m_i m_{n+1-i} = m_{n-1}.
    m = [Fraction(0), Fraction(1)]
    for n in range(2, n_lam + 1):
        s = sum(m[i] * (n + 1 - i) * m[n + 1 - i] for i in range(2, n))
        m.append((m[n - 1] - s) / (n + 1))
    # w = η/μ as a power series (the reciprocal of μ/η = 1 + m_2 η + ...).
    v = m[1:]
    w = [Fraction(1)]
    for n in range(1, n_lam):
        w.append(-sum(v[j] * w[n - j] for j in range(1, n + 1)))
    g = _stirling_g(k_max)
    # c_0 = 1/μ − 1/η = Σ w_{n+1} ηⁿ;  c_k = c'_{k-1}/η + (−1)^k g_k / μ  (DLMF 8.12.9–10).
    rows = [[w[n + 1] for n in range(n_lam - 1)]]
    for k in range(1, k_max + 1):
        prev, sign = rows[-1], (-1) ** k
        if prev[1] + sign * g[k] != 0:  # the 1/η terms must cancel
            raise AssertionError("Temme coefficient recursion is inconsistent")
        rows.append([(j + 2) * prev[j + 2] + sign * g[k] * w[j + 1] for j in range(len(prev) - 2)])
    return tuple(tuple(row[:n_max]) for row in rows), tuple(m[1 : n_max + 1])


@functools.cache
def _temme_dxda_coeffs(k_max: int, n_max: int) -> tuple[tuple[float, ...], ...]:
    r"""``γ[k][n]`` with :math:`dx/da = x z \sum_{k,n} γ_{kn} z^k η^n`, z = 1/a (Temme region).

    From :math:`dx/da = (x/a)\,Γ^*(a)\,B` (see :func:`_dxda_temme`) with every factor a power
    series: :math:`B = \sum_k B_k(η) z^k`, :math:`B_0 = ρ − η/2 + (ηρ − η^2/2) c_0`,
    :math:`B_k = (ηρ − η^2/2) c_k − c_{k−1}/2 − ρ c'_{k−1} − (k − 1) c_{k−1}`, and
    :math:`Γ^*(a) = \sum_j g_j z^j` (DLMF 5.11.3), multiplied out in exact arithmetic.
    """
    rows, rho = _temme_exact(k_max, n_max + 1)

    def mul(p, q):
        return [sum(p[i] * q[n - i] for i in range(n + 1)) for n in range(n_max)]

    def lin(*terms):  # Σ coefficient · polynomial
        return [sum(c * p[n] for c, p in terms) for n in range(n_max)]

    eta = [Fraction(0), Fraction(1)] + [Fraction(0)] * n_max
    eta_rho_minus = lin((1, mul(eta, rho)), (Fraction(-1, 2), mul(eta, eta)))  # ηρ − η²/2
    deriv = [[(n + 1) * row[n + 1] for n in range(n_max)] for row in rows]
    b = [lin((1, rho), (Fraction(-1, 2), eta), (1, mul(eta_rho_minus, rows[0])))]
    for k in range(1, k_max + 1):
        prev = rows[k - 1]
        b.append(
            lin(
                (1, mul(eta_rho_minus, rows[k])),
                (Fraction(-1, 2) - (k - 1), prev),
                (-1, mul(rho, deriv[k - 1])),
            )
        )
    g = _stirling_g(k_max)
    return tuple(
        tuple(float(sum(g[j] * b[k - j][n] for j in range(k + 1))) for n in range(n_max))
        for k in range(k_max + 1)
    )


def _zeta(k: int) -> float:
    # Riemann ζ(k), k ≥ 2: partial sum plus the Euler–Maclaurin tail (error ≪ 1e-17).
    n = 64
    head = math.fsum(j ** (-k) for j in range(1, n))
    tail = n ** (1 - k) / (k - 1) + 0.5 * n ** (-k) + k * n ** (-k - 1) / 12
    tail -= k * (k + 1) * (k + 2) * n ** (-k - 3) / 720
    return head + tail


class _Tables(NamedTuple):
    plan: _Plan
    temme_c: torch.Tensor  # (K+1, N): c_k(η) = temme_c @ (1, η, η², …)
    temme_dc: torch.Tensor  # (K+1, N-1): c_k'(η)
    temme_k: torch.Tensor  # (K+1,): 0, 1, ..., K
    temme_dxda: torch.Tensor  # (K+1, N): dx/da = x z Σ_k z^k (temme_dxda @ (1, η, …))_k
    stirling: list[float]  # log Γ*(a) = Σ stirling[m] a^{-(2m+1)}
    lgam1p: list[float]  # log Γ(1+a) = −γ a + a² Σ lgam1p[j] a^j


_CONSTANTS: dict = {}


@torch.compiler.assume_constant_result  # plain numbers: torch.compile calls it, not traces it
def _constants(plan: _Plan):
    if plan not in _CONSTANTS:
        _CONSTANTS[plan] = _build_constants(plan)
    return _CONSTANTS[plan]


def _build_constants(plan: _Plan):
    temme = _temme_coeffs(plan.temme_k, plan.temme_n)
    temme_d = tuple(tuple(n * row[n] for n in range(1, plan.temme_n)) for row in temme)
    temme_dxda = _temme_dxda_coeffs(plan.dxda_k, plan.dxda_n)
    lgam_terms = plan.lgam_terms
    stirling = tuple(float(c) for c in _stirling_log_coeffs(15)[1::2])
    # log Γ(1 + a) = −γ a + Σ_{k≥2} (−1)^k ζ(k) a^k / k  (DLMF 5.7.3)
    lgam1p = tuple((-1) ** k * _zeta(k) / k for k in range(2, lgam_terms + 2))
    return temme, temme_d, temme_dxda, stirling, lgam1p


def _tables(dtype: torch.dtype, device: torch.device) -> _Tables:
    plan = _PLANS[dtype]
    temme, temme_d, temme_dxda, stirling, lgam1p = _constants(plan)
    as_tensor = functools.partial(torch.tensor, dtype=dtype, device=device)
    return _Tables(
        plan=plan,
        temme_c=as_tensor(temme),
        temme_dc=as_tensor(temme_d),
        temme_k=torch.arange(plan.temme_k + 1, dtype=dtype, device=device),
        temme_dxda=as_tensor(temme_dxda),
        stirling=list(stirling),
        lgam1p=list(lgam1p),
    )


# ---------------------------------------------------------------------------------------------
# Elementary pieces (differentiable: they also serve the x-derivative)
# ---------------------------------------------------------------------------------------------


def _horner(z: torch.Tensor, coeffs) -> torch.Tensor:
    out = torch.full_like(z, coeffs[-1])
    if z.requires_grad:  # keep the graph simple for the differentiable x-derivative
        for c in reversed(coeffs[:-1]):
            out = out * z + c
        return out
    for c in reversed(coeffs[:-1]):
        out.mul_(z).add_(c)
    return out


def _phi(lam: torch.Tensor, terms: int, t: torch.Tensor | None = None) -> torch.Tensor:
    r"""φ(λ) = λ − 1 − log λ, accurate near λ = 1 (a ``log1pmx``).

    With t = λ − 1 and y = t/(2 + t), log(1 + t) = 2 atanh y and t − 2y = 2y²/(1 − y), so
    φ = 2y²/(1 − y) − 2 Σ_{k≥1} y^{2k+1}/(2k+1); for |t| < 1/4, |y| < 1/7 and the series is
    short. Elsewhere the direct form loses at most a few bits. ``t`` may be passed in: for
    λ = x/a it is (x − a)/a with x − a exact, where ``x/a − 1`` keeps only
    ``eps·a/|x − a|`` of its digits (a = x = 1e29: none; found by fuzzing a Poisson CDF).
    """
    t = lam - 1 if t is None else t
    near = t.abs() < 0.25
    tn = t.clamp(-0.25, 0.25)
    y = tn / (2 + tn)
    y2 = y * y
    ser = y * y2 * _horner(y2, [2.0 / (2 * k + 1) for k in range(1, terms + 1)])
    return torch.where(near, 2 * y2 / (1 - y) - ser, t - torch.log(lam))


def _lgamma1p(a: torch.Tensor, tab: _Tables) -> torch.Tensor:
    """log Γ(1 + a), relatively accurate for small ``a`` (``lgamma(1 + a)`` rounds ``1 + a``)."""
    s = a.clamp(max=0.2)
    ser = s * (-_EULER + s * _horner(s, tab.lgam1p))
    return torch.where(a < 0.2, ser, torch.lgamma(1 + a))


def _log_pref_q(a, x, tab: _Tables, log_x=None, phi=None) -> torch.Tensor:
    r"""log(x^a e^{-x} / Γ(a)), i.e. log(x · gamma density).

    For a ≥ 10 as ½ log(a/2π) − a φ(x/a) − log Γ*(a) (Temme's form; DiDonato & Morris's
    ``rcomp``): the naive ``a log x − x − lgamma(a)`` cancels to a relative error ~ a·eps.
    ``log_x`` and ``phi`` (φ(x / max(a, 10))) may be passed in.
    """
    a_big = a.clamp(min=_A_TEMME)
    if phi is None:
        phi = _phi(x / a_big, tab.plan.phi_terms, (x - a_big) / a_big)
    if log_x is None:
        log_x = torch.log(x)
    r = torch.reciprocal(a_big)
    log_gamma_star = r * _horner(r * r, tab.stirling)  # Stirling series of log Γ*(a)
    large = 0.5 * (torch.log(a_big) - _LOG_2PI) - a_big * phi - log_gamma_star
    small = a * log_x - x - torch.lgamma(a)
    return torch.where(a >= _A_TEMME, large, small)


# ---------------------------------------------------------------------------------------------
# The four methods. Under dense dispatch they run on every element (lanes outside a method's
# region may produce inf/NaN; they are never selected). In-place updates keep the loops
# allocation-free (and vmap-compatible: no out= arguments).
# ---------------------------------------------------------------------------------------------


def _tolerance(a: torch.Tensor) -> float:
    """Relative tolerance for stopping a loop early, or 0 where loops must run their full count.

    On the CPU a convergence test is a cheap read of host memory, and most lanes need far fewer
    terms than the worst case the fixed counts are sized for (``Gamma(0.1)`` draws: 4 series
    terms instead of 22). On accelerators it would be a synchronization, and under
    ``torch.compile``/``vmap`` data-dependent control flow: there the counts are fixed.
    """
    return torch.finfo(a.dtype).eps / 2 if _compact_dispatch(a) else 0.0


def _within(tol: float, ratio: torch.Tensor) -> bool:
    """Every lane of ``ratio`` (a last term over its sum) within ``tol`` in magnitude."""
    return bool(ratio.abs().max() <= tol)


def _p_series(a, x, n_iter, need_da):
    """S and dS/da, S = Σ_n xⁿ/((a+1)⋯(a+n)), so P = x^a e^{-x}/Γ(a+1) · S."""
    # t_n = t_{n-1} x/(a+n);  differentiating, t_n' = (x t_{n-1}' − t_n)/(a+n).
    ap = a.clone()  # a + n
    t, s = torch.ones_like(x), torch.ones_like(x)
    dt = torch.zeros_like(x) if need_da else None
    ds = torch.zeros_like(x) if need_da else None
    tol = _tolerance(a)
    for n in range(n_iter):
        ap.add_(1)
        t.mul_(x).div_(ap)
        s.add_(t)
        if need_da:
            dt.mul_(x).sub_(t).div_(ap)
            ds.add_(dt)
        # S ≥ 1 and t ≥ 0; the derivative terms and their sum are ≤ 0.
        if tol and n % 4 == 3 and _within(tol, t) and (not need_da or _within(tol, dt / ds)):
            break
    return s, ds


def _q_cf(a, x, depth: int, need_da: bool):
    """F and d log F/da, F the continued fraction with Q = x^a e^{-x}/Γ(a) · F."""
    # F = 1/t_0, t_{i-1} = b_{i-1} + a_i/t_i from t_depth = b_depth, with b_i = x + 1 − a + 2i,
    # a_i = i(a − i): the even contraction of Legendre's fraction (DLMF 8.9.2) evaluated from
    # its tail, a fixed depth chosen per band of x (:func:`_cf`). Forward mode in a (b_i' = −1,
    # a_i' = i): t_{i-1}' = −1 + (i − (a_i/t_i) t_i')/t_i. Half the operations of modified
    # Lentz with its derivative, and a lower rounding floor (3e-7 against 3e-6 in float32).
    base = x - a + 1
    t = base + 2 * depth
    dt = torch.full_like(x, -1.0) if need_da else None
    ratio = torch.empty_like(x)  # a_i / t_i
    for i in range(depth, 0, -1):
        r = t.reciprocal_()
        ratio.copy_(a).sub_(i).mul_(i).mul_(r)
        if need_da:
            dt.mul_(ratio).neg_().add_(i).mul_(r).sub_(1)
        t = r.copy_(base).add_(ratio).add_(2 * (i - 1))
    f = torch.reciprocal(t)
    return f, (dt.mul_(f).neg_() if need_da else None)


def _cf(lanes: _Lanes, need_da: bool):
    """:func:`_q_cf` at the depth each lane needs: on the CPU lanes are grouped by bands of x
    (convergence is fastest for large x), elsewhere all run the deepest count."""
    plan = lanes.tab.plan
    x = lanes.x
    if not _compact_dispatch(x):
        return _q_cf(lanes.a, x, plan.cf_depths[0], need_da)
    band = _flag(x).gt_(plan.cf_edges[0])
    for edge in plan.cf_edges[1:]:
        band.add_(_flag(x).gt_(edge))
    methods = [
        lambda sub, depth=depth: _q_cf(sub.a, sub.x, depth, need_da) for depth in plan.cf_depths
    ]
    return _dispatch(lanes, band.to(torch.uint8), methods)


def _q_series_sums(a, x, n_iter, need_da):
    """T = Σ_{n≥1} (−x)ⁿ/(n!(a+n)) and T' = dT/da = −Σ (−x)ⁿ/(n!(a+n)²)."""
    # With g = a log x − log Γ(1+a): Q = −expm1(g) − a e^g T and
    # dQ/da = −e^g [g'(1 + aT) + T + a T'],  g' = log x − ψ(1+a)  (DiDonato & Morris 1986 §3,
    # scipy's ``igamc``): it keeps Q ≈ a E₁(x) accurate for small x and a.
    ap = a.clone()  # a + n
    fac, tsum, term = torch.ones_like(x), torch.zeros_like(x), torch.empty_like(x)
    dt = torch.zeros_like(x) if need_da else None
    tol = _tolerance(a)
    for n in range(1, n_iter + 1):
        fac.mul_(x).mul_(-1.0 / n)
        ap.add_(1)
        term.copy_(fac).div_(ap)
        tsum.add_(term)
        if need_da:
            dt.sub_(term.div_(ap))  # term now holds the derivative's term (sign flipped)
        if (
            tol
            and n % 4 == 0
            and _within(tol, fac / ap / tsum)
            and (not need_da or _within(tol, term / dt))
        ):
            break
    return tsum, dt


def _temme_eta(lam, phi):
    """η with ½η² = φ(λ) and sign(η) = sign(λ − 1), and σ = sign(η) (±1)."""
    sigma = 1 - 2 * (lam < 1).to(lam.dtype)
    return torch.sqrt(2 * phi).mul_(sigma), sigma


def _temme_series(a, eta, tab: _Tables):
    """S = Σ_k c_k(η) a^{-k} and the powers η, η², … it used."""
    powers = eta.expand(tab.plan.temme_n - 1, -1).cumprod(0)  # (N-1, M): η, η², …
    ck = torch.addmm(tab.temme_c[:, :1], tab.temme_c[:, 1:], powers)  # (K+1, M): c_k(η)
    return _horner_rows(ck, torch.reciprocal(a)), ck, powers


def _temme_dq_da(a, lam_m1, eta, s, ck, powers, tab: _Tables):
    r"""B with :math:`\partial Q/\partial a = e^{-a\varphi}/\sqrt{2\pi a}\cdot B` (Temme)."""
    # ρ = (λ−1)/η, dη/da = −ρ/a (η dη = (1 − 1/λ) dλ), differentiating DLMF 8.12.8:
    # B = ρ − η/2 + (ηρ − η²/2 − 1/(2a)) S − (ρ S' + Σ_k k c_k a^{-k}) / a.
    ainv = torch.reciprocal(a)
    dck = torch.addmm(tab.temme_dc[:, :1], tab.temme_dc[:, 1:], powers[:-1])  # c_k'(η)
    sp = _horner_rows(dck, ainv)
    sk = _horner_rows(ck * tab.temme_k[:, None], ainv)  # Σ_k k c_k a^{-k}
    small = eta.abs() < 1e-3  # ρ = 1 + η/3 + η²/36 − η³/270 + O(η⁴) there
    rho_series = 1 + eta * (1.0 / 3 + eta * (1.0 / 36 - eta / 270))
    rho = torch.where(small, rho_series, lam_m1 / torch.where(small, 1.0, eta))
    return rho - eta / 2 + (eta * rho - eta * eta / 2 - 0.5 * ainv) * s - (rho * sp + sk) * ainv


def _temme(a, lam, phi, tab: _Tables, need_da, lam_m1=None):
    """log v and d log v/da for the smaller side v (P if λ < 1, else Q), Temme's expansion."""
    # Q = ½ erfc(η√(a/2)) + e^{-aη²/2}/√(2πa) · S,  ½η² = φ(λ);
    # with σ = sign(η), v = e^{-aφ} [½ erfcx(|η|√(a/2)) + σ S/√(2πa)]  (DLMF 8.12.8).
    eta, sigma = _temme_eta(lam, phi)
    s, ck, powers = _temme_series(a, eta, tab)
    sq2pia = torch.sqrt(2 * math.pi * a)
    bracket = torch.special.erfcx(torch.sqrt(phi * a)).mul_(0.5).add_(sigma * s / sq2pia)
    log_v = torch.log(bracket).sub_(a * phi)
    if not need_da:
        return log_v, None
    bb = _temme_dq_da(a, lam - 1 if lam_m1 is None else lam_m1, eta, s, ck, powers, tab)
    return log_v, sigma * bb / (sq2pia * bracket)


def _powers(z: torch.Tensor, n: int) -> torch.Tensor:
    """The (n, M) rows 1, z, z², …, z^{n−1}."""
    if not _compact_dispatch(z):  # out= arguments are not allowed under vmap
        powers = [torch.ones_like(z), z]
        for _ in range(n - 2):
            powers.append(powers[-1] * z)
        return torch.stack(powers)
    out = torch.empty((n, z.numel()), dtype=z.dtype, device=z.device)
    out[0].fill_(1)
    out[1].copy_(z)
    for k in range(2, n):
        torch.mul(out[k - 1], z, out=out[k])
    return out


def _horner_rows(rows: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Σ_k rows[k] z^k for a (K+1, M) tensor of per-element coefficients."""
    out = rows[-1].clone()
    for k in range(rows.shape[0] - 2, -1, -1):
        out.mul_(z).add_(rows[k])
    return out


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------


class _lazy:  # a lock-free functools.cached_property (its RLock stops torch.compile)
    def __init__(self, fn):
        self.fn, self.name = fn, fn.__name__

    def __get__(self, obj, cls=None):
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


class _Lanes:
    """A set of (a, x) lanes with the pieces shared by the methods computed on first use."""

    def __init__(self, a: torch.Tensor, x: torch.Tensor, tab: _Tables):
        self.a, self.x, self.tab = a, x, tab

    @_lazy
    def log_x(self):
        return torch.log(self.x)

    @_lazy
    def lgam1p(self):
        return _lgamma1p(self.a, self.tab)

    @_lazy
    def a_big(self):
        return self.a.clamp(min=_A_TEMME)

    @_lazy
    def lam(self):
        return self.x / self.a_big

    @_lazy
    def lam_m1(self):  # λ − 1 with x − a exact (Sterbenz) where λ is near 1
        return (self.x - self.a_big) / self.a_big

    @_lazy
    def phi(self):
        return _phi(self.lam, self.tab.plan.phi_terms, self.lam_m1)

    @_lazy
    def log_pref(self):  # log(x^a e^{-x}/Γ(a))
        return _log_pref_q(self.a, self.x, self.tab, self.log_x, self.phi)

    @_lazy
    def psi1(self):
        return torch.digamma(self.a + 1)

    @_lazy
    def psi(self):  # ψ(a) = ψ(a+1) − 1/a
        return self.psi1 - torch.reciprocal(self.a)


def _eval_pser(lanes: _Lanes, need_da: bool):
    s, ds = _p_series(lanes.a, lanes.x, lanes.tab.plan.pser, need_da)
    log_v = torch.log(s).add_(lanes.log_pref).sub_(torch.log(lanes.a))
    if not need_da:
        return log_v, None
    # d log(x^a e^{-x}/Γ(a+1))/da = log x − ψ(a+1)
    return log_v, ds.div_(s).add_(lanes.log_x).sub_(lanes.psi1)


def _eval_cf(lanes: _Lanes, need_da: bool):
    f, *dlog_f = _cf(lanes, need_da)
    dlog_f = dlog_f[0] if dlog_f else None
    log_v = torch.log(f).add_(lanes.log_pref)
    if not need_da:
        return log_v, None
    return log_v, dlog_f.add_(lanes.log_x).sub_(lanes.psi)


def _eval_qser(lanes: _Lanes, need_da: bool):
    a, x = lanes.a, lanes.x
    tsum, dt = _q_series_sums(a, x, lanes.tab.plan.qser, need_da)
    g = a * lanes.log_x - lanes.lgam1p
    eg = torch.exp(g)
    q = -torch.expm1(g) - a * eg * tsum
    if not need_da:
        return torch.log(q), None
    dq = -eg * ((lanes.log_x - lanes.psi1) * (1 + a * tsum) + tsum + a * dt)
    return torch.log(q), dq / q


def _eval_temme(lanes: _Lanes, need_da: bool):
    return _temme(lanes.a_big, lanes.lam, lanes.phi, lanes.tab, need_da, lanes.lam_m1)


_METHODS = (_eval_pser, _eval_cf, _eval_qser, _eval_temme)  # is_p: True, False, False, λ < 1


# The sample derivative dx/da = −(∂P/∂a)/p(x), p(x) = x^{a−1}e^{−x}/Γ(a), from each method's
# own representation: the prefactor x^a e^{−x}/Γ(a) cancels against the density, so no
# exponential, log-gamma or 1 − v is needed (cheaper, and exact where P, Q and p underflow).
def _dxda_pser(lanes: _Lanes):
    # P = x^a e^{-x}/Γ(a+1) · S:  dx/da = −(x/a) [S (log x − ψ(a+1)) + S'].
    s, ds = _p_series(lanes.a, lanes.x, lanes.tab.plan.pser, True)
    return (s.mul_(lanes.log_x - lanes.psi1).add_(ds).mul_(lanes.x).div_(lanes.a).neg_(),)


def _dxda_cf(lanes: _Lanes):
    # Q = x^a e^{-x}/Γ(a) · F:  dx/da = ∂Q/∂a / p = x F (log x − ψ(a) + (log F)').
    f, dlog_f = _cf(lanes, True)
    return (dlog_f.add_(lanes.log_x).sub_(lanes.psi).mul_(f).mul_(lanes.x),)


def _dxda_qser(lanes: _Lanes):
    # p = a e^g e^{-x}/x, so dx/da = −(x e^x/a) [g'(1 + aT) + T + aT'].
    # As a → 0 the bracket tends to −E₁(x) while g' = log x − ψ(1+a) and T are of order one:
    # ψ(1+a) is taken from float64 here (torch's float32 digamma is off by ~1e-6 near 1).
    a, x = lanes.a, lanes.x
    tsum, dt = _q_series_sums(a, x, lanes.tab.plan.qser, True)
    psi1 = torch.digamma(a.to(torch.float64) + 1).to(a.dtype)
    bracket = (lanes.log_x - psi1).mul_(a * tsum + 1).add_(tsum).add_(dt.mul_(a))
    return (bracket.mul_(x * torch.exp(x)).div_(a).neg_(),)


def _dxda_temme(lanes: _Lanes):
    # p = √(a/2π) e^{−aφ}/(Γ*(a) x), so dx/da = ∂Q/∂a / p = (x/a) Γ*(a) B: a polynomial in
    # (1/a, η) whose coefficients are multiplied out once (:func:`_temme_dxda_coeffs`).
    eta, _ = _temme_eta(lanes.lam, lanes.phi)
    coeffs = lanes.tab.temme_dxda
    rows = coeffs @ _powers(eta, coeffs.shape[1])  # (K+1, M): Σ_n γ_kn ηⁿ
    z = torch.reciprocal(lanes.a_big)
    return (_horner_rows(rows, z).mul_(z).mul_(lanes.x),)


_DXDA_METHODS = (_dxda_pser, _dxda_cf, _dxda_qser, _dxda_temme)


def _compact_dispatch(a: torch.Tensor) -> bool:
    """Evaluate each method only on its own lanes (boolean indexing) or on all lanes.

    Indexing has data-dependent shapes: harmless on the CPU (no device to synchronize with) and
    3–4× less work there, but a host synchronization on accelerators and a graph break under
    ``torch.compile``/``vmap``, which therefore get the dense, fixed-shape evaluation.
    """
    return host_reads_free(a)


def _flag(t: torch.Tensor) -> torch.Tensor:
    """A copy of float ``t`` for an in-place comparison: 1.0 where true, 0.0 where not (NaN)."""
    return t.clone()


def _regions(lanes: _Lanes, *, need_is_p: bool = False):
    """Each lane's method as a uint8 code (0 P series, 1 continued fraction, 2 Q series,
    3 Temme), and where v = P (``None`` unless ``need_is_p``).

    The code is built with float 0/1 flags and arithmetic: comparisons into boolean tensors,
    ``&``, ``|`` and ``where`` cost 4–20× a float multiply on the CPU.
    """
    # Regions (Gil, Segura & Temme 2012 §3; DiDonato & Morris 1986): P is the smaller side for
    # x < a roughly; for small x the split is P(a, x) ≈ x^a/Γ(a+1) ≶ e^{-0.4}.
    a, x = lanes.a, lanes.x
    small_power = torch.mul(a, lanes.log_x).lt_(-0.4)  # x^a < e^{-0.4}
    below_a = _flag(x).lt_(a)
    p_side = torch.lerp(below_a, small_power, _flag(x).le_(0.5))  # x ≤ ½ ? x^a small : x < a
    small_x = _flag(x).le_(lanes.tab.plan.x_qser)
    code = p_side.neg_().add_(1).mul_(small_x.add_(1))  # P side → 0, else Q series 2 / CF 1
    temme = None
    if not _compact_dispatch(a) or bool(a.max() >= _A_TEMME):
        lam = lanes.lam
        temme = _flag(a).ge_(_A_TEMME).mul_(_flag(lam).ge_(_LAM_LO)).mul_(_flag(lam).le_(_LAM_HI))
        code.lerp_(torch.full_like(code, 3.0), temme)
    region = code.to(torch.uint8)
    if not need_is_p:
        return region, None
    is_p = region == 0
    if temme is not None:
        is_p |= (region == 3) & (lanes.lam < 1)
    return region, is_p


def _dispatch(lanes: _Lanes, region: torch.Tensor, methods) -> list[torch.Tensor]:
    """Each element's outputs from the method of its ``region`` code (methods return tuples).

    The last method (Temme's) has no loop and is finite on every lane: on the CPU, when it
    serves most lanes it runs on all of them and only the others are gathered.
    """
    a = lanes.a
    m = a.numel()
    if not _compact_dispatch(a):
        pick = region.to(torch.int64) * m + torch.arange(m, device=a.device)
        results = [[r for r in method(lanes) if r is not None] for method in methods]
        return [
            torch.stack([r[j] for r in results]).view(-1).index_select(0, pick)
            for j in range(len(results[0]))
        ]
    counts = torch.bincount(region, minlength=len(methods)).tolist()
    if max(counts) == m:  # one region: no gathering
        return [r for r in methods[counts.index(m)](lanes) if r is not None]
    if counts[-1] >= 0.75 * m:
        outs = [r for r in methods[-1](lanes) if r is not None]
        rest = torch.nonzero(region != len(methods) - 1).squeeze(1)
        _gathered(lanes, rest, region, counts[:-1], methods[:-1], outs)
        return outs
    return _gathered(lanes, None, region, counts, methods, None)


def _gathered(lanes: _Lanes, subset, region, counts, methods, outs):
    """Run each method on its own lanes (of ``subset``: indices, or None for all), in ``outs``."""
    a, tab = lanes.a, lanes.tab
    if subset is not None:
        region = region.index_select(0, subset)
    # One stable sort groups the lanes by region (cheaper than a nonzero per region).
    order = torch.sort(region, stable=True).indices
    if subset is not None:
        order = subset.index_select(0, order)
    start = 0
    for count, method in zip(counts, methods):
        if count == 0:
            continue
        idx = order[start : start + count]
        start += count
        sub = _Lanes(a.index_select(0, idx), lanes.x.index_select(0, idx), tab)
        sub.log_x = lanes.log_x.index_select(0, idx)
        results = [r for r in method(sub) if r is not None]
        if outs is None:
            outs = [torch.empty_like(a) for _ in results]
        for out, r in zip(outs, results):
            out.index_copy_(0, idx, r)
    return outs if outs is not None else []


def _core(a: torch.Tensor, x: torch.Tensor, need_da: bool = False):
    """The smaller side of P/Q for broadcast, same-dtype (float32/64) ``a > 0``, ``x > 0``.

    Returns ``(log_v, is_p, dlog_v)``: ``v = P`` where ``is_p`` else ``Q``, and
    ``dlog_v = d log v/da`` (``None`` unless ``need_da``). Edge values (x = 0 or ∞, a = 0,
    NaN, negative) are patched by :func:`_sides`.
    """
    shape = a.shape
    lanes = _Lanes(a.reshape(-1), x.reshape(-1), _tables(a.dtype, a.device))
    region, is_p = _regions(lanes, need_is_p=True)
    methods = [functools.partial(method, need_da=need_da) for method in _METHODS]
    log_v, *rest = _dispatch(lanes, region, methods)
    dlog_v = rest[0].reshape(shape) if need_da else None
    return log_v.reshape(shape), is_p.reshape(shape), dlog_v


def _sides(a: torch.Tensor, x: torch.Tensor, need_da: bool = False):
    """``(log P, log Q, dP/da, d log P/da, d log Q/da)`` with edge cases patched.

    The derivative entries are ``None`` unless ``need_da``.
    """
    log_v, is_p, dlog_v = _core(a, x, need_da)
    # log(1 − v) = log1p(−e^{log v}) is accurate here: the smaller side is v ≤ 0.7.
    log_w = torch.log1p(-torch.exp(log_v))
    log_p = torch.where(is_p, log_v, log_w)
    log_q = torch.where(is_p, log_w, log_v)
    bad = (a < 0) | (x < 0) | torch.isnan(a) | torch.isnan(x) | ((a == 0) & (x == 0))
    at_inf = x == math.inf  # x = 0 and a = 0 come out right by themselves
    log_p.masked_fill_(at_inf, 0.0).masked_fill_(bad, math.nan)
    log_q.masked_fill_(at_inf, -math.inf).masked_fill_(bad, math.nan)
    if not need_da:
        return log_p, log_q, None, None, None
    # dP/da = ±v · dlog_v; for the other side w = 1 − v, d log w/da = −(v/w) dlog_v.
    dv = torch.exp(log_v) * dlog_v
    dp = torch.where(is_p, dv, -dv)
    ratio = -torch.exp(log_v - log_w) * dlog_v
    dlog_p = torch.where(is_p, dlog_v, ratio)
    dlog_q = torch.where(is_p, ratio, dlog_v)
    edge = at_inf | (x == 0)
    for t in (dp, dlog_p, dlog_q):
        t.masked_fill_(edge, 0.0).masked_fill_(bad, math.nan)
    return log_p, log_q, dp, dlog_p, dlog_q


def _log_density_x(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log ∂P/∂x = log(x^{a−1} e^{−x}/Γ(a)); plain differentiable torch ops."""
    tab = _tables(_compute_dtype(a.dtype), a.device)
    inside = (x > 0) & (x < math.inf)
    xs = torch.where(inside, x, torch.ones_like(x))
    at0 = torch.xlogy(a - 1, torch.zeros_like(x)) - torch.lgamma(a)  # x = 0: +∞, 0 or −∞
    edge = torch.where(x == 0, at0, torch.full_like(x, -math.inf))
    return torch.where(inside, _log_pref_q(a, xs, tab) - torch.log(xs), edge)


# ---------------------------------------------------------------------------------------------
# autograd
# ---------------------------------------------------------------------------------------------


class _IncGamma(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(a, x, kind):
        log_p, log_q, *_ = _sides(a, x)
        if kind == "P":
            return torch.exp(log_p)
        if kind == "Q":
            return torch.exp(log_q)
        return log_p if kind == "logP" else log_q

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, x, kind = inputs
        ctx.kind = kind
        ctx.save_for_backward(a, x, output)

    @staticmethod
    def backward(ctx, grad):
        a, x, out = ctx.saved_tensors
        kind = ctx.kind
        grad_a = grad_x = None
        if ctx.needs_input_grad[0]:
            with torch.no_grad():
                _, _, dp, dlog_p, dlog_q = _sides(a.detach(), x.detach(), need_da=True)
                da = {"P": dp, "Q": -dp, "logP": dlog_p, "logQ": dlog_q}[kind]
            grad_a = grad * _guard(da, a, x)
        if ctx.needs_input_grad[1]:
            # ∂P/∂x = x^{a-1} e^{-x}/Γ(a): written with differentiable ops, so double
            # backward through the x-derivative works.
            log_dens = _log_density_x(a, x)
            if kind == "P":
                dx = torch.exp(log_dens)
            elif kind == "Q":
                dx = -torch.exp(log_dens)
            else:
                # p/P can exceed the dtype (α/x at a floored draw, 4e39 for α = 50 in float32):
                # saturate it, so that a zero incoming gradient stays 0 rather than 0·∞ = NaN.
                big = math.log(torch.finfo(out.dtype).max) - 1  # exp(big) rounds finite
                dx = torch.exp((log_dens - out).clamp(max=big))
                dx = dx if kind == "logP" else -dx
            grad_x = grad * dx
        return grad_a, grad_x, None


def _apply(kind: str, a, x) -> torch.Tensor:
    (a, x), dtype = _prepare(a, x)
    return _IncGamma.apply(a, x, kind).to(dtype)


def gammainc(a, x) -> torch.Tensor:
    r"""Regularized lower incomplete gamma function :math:`P(a, x)`.

    Differentiable in both arguments: :math:`\partial P/\partial x = x^{a-1}e^{-x}/\Gamma(a)`
    in closed form, :math:`\partial P/\partial a` by differentiated series, continued fraction
    and Temme expansion (see :func:`gammainc_grad_a`). ``P(0, x) = 1`` for ``x > 0``; negative
    arguments give NaN, as in scipy.
    """
    return _apply("P", a, x)


def gammaincc(a, x) -> torch.Tensor:
    r"""Regularized upper incomplete gamma function :math:`Q(a, x) = 1 - P(a, x)`, computed
    directly where it is small (full relative accuracy in the upper tail)."""
    return _apply("Q", a, x)


def log_gammainc(a, x) -> torch.Tensor:
    r""":math:`\log P(a, x)`, accurate where ``P`` underflows (e.g. ``x ≪ a``)."""
    return _apply("logP", a, x)


def log_gammaincc(a, x) -> torch.Tensor:
    r""":math:`\log Q(a, x)`, accurate where ``Q`` underflows: ``log_gammaincc(1, 800) = −800``."""
    return _apply("logQ", a, x)


def gammainc_grad_a(a, x) -> torch.Tensor:
    r""":math:`\partial P(a, x)/\partial a` (always ≤ 0).

    The quantity the implicit reparameterization of the Gamma distribution needs:
    :math:`dx/da = -(\partial P/\partial a)/p(x; a)`. Accurate to ~1e-13 relative in float64
    (where it does not underflow). It has no derivative of its own: backpropagating through it
    raises ``NotImplementedError``.
    """
    (a, x), dtype = _prepare(a, x)
    with torch.no_grad():
        _, _, dp, _, _ = _sides(a.detach(), x.detach(), need_da=True)
    return _guard(dp, a, x).to(dtype)


def _all_inside(a: torch.Tensor, x: torch.Tensor) -> bool:
    """0 < x < ∞ and a > 0 everywhere, none NaN (a host read: CPU only)."""
    if x.numel() == 0:
        return False
    x_min, x_max = torch.aminmax(x)
    return bool((x_min > 0) & (x_max < math.inf) & (a.min() > 0))


def _sample_grad_inside(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dx/da for flat ``a > 0`` and ``0 < x < ∞``."""
    lanes = _Lanes(a, x, _tables(a.dtype, a.device))
    region, _ = _regions(lanes)
    (grad,) = _dispatch(lanes, region, _DXDA_METHODS)
    return grad


def standard_gamma_grad(a, x) -> torch.Tensor:
    r""":math:`\partial x/\partial a` of a ``Gamma(a, 1)`` draw ``x``, at fixed :math:`P(a, x)`.

    Implicit reparameterization (Figurnov, Mohamed & Mnih 2018):
    :math:`-(\partial P/\partial a)/p(x; a)`, with the prefactor
    :math:`x^a e^{-x}/\Gamma(a)` cancelled analytically in each method (series, continued
    fraction, Temme's expansion), so it stays finite where ``P``, ``Q`` and the density
    underflow. The role of torch's ``_standard_gamma_grad`` (~1e-4 relative error), here
    accurate to ~1e-13 in float64. Not differentiable itself.
    """
    (a, x), dtype = _prepare(a, x)
    with torch.no_grad():
        if _compact_dispatch(a) and _all_inside(a, x):  # the CPU's common case: no patching
            return _sample_grad_inside(a.reshape(-1), x.reshape(-1)).view(a.shape).to(dtype)
        inside = (x > 0) & (x < math.inf) & (a > 0)
        # Edge lanes get harmless stand-ins; their values are patched below.
        stand_in = [torch.where(inside, t, 1.0).reshape(-1) for t in (a, x)]
        grad = _sample_grad_inside(*stand_in).view(a.shape)
        # At x = 0 and x = ∞ the quantile does not move; invalid a or x (NaN, a ≤ 0) give NaN.
        bad = ~(a > 0) | ~(x >= 0)
        grad = torch.where(inside, grad, torch.where(bad, math.nan, 0.0))
    return grad.to(dtype)


# ---------------------------------------------------------------------------------------------
# Inverse
# ---------------------------------------------------------------------------------------------


def _inverse(a: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """x with P(a, x) = p, Q(a, x) = q (given both; the smaller one is used as the target)."""
    dtype = a.dtype
    plan = _PLANS[dtype]
    finfo = torch.finfo(dtype)
    lower = p <= q
    log_p, log_q = torch.log(p), torch.log(q)
    target = torch.where(lower, log_p, log_q)
    lgam_a1 = torch.lgamma(a + 1)
    lgam_a = lgam_a1 - torch.log(a)

    # Three starting points; the one with the smallest residual wins (measured on 2e5 random
    # (a, p): from it, two Halley steps reach |Δ log P| < 2e-11, the third the rounding floor).
    # (1) small x: P = x^a/Γ(a+1) · ₁F₁(a; a+1; −x) with ₁F₁ ≈ e^{-ax/(a+1)}, fixed-point iterated.
    r = torch.exp((log_p + lgam_a1) / a)
    x_ser = r
    for _ in range(3):
        x_ser = r * torch.exp(x_ser.clamp(max=a + 1) / (a + 1))
    # (2) large x: Q ≈ x^{a-1} e^{-x}/Γ(a) (1 + (a−1)/x).
    x_asy = (-log_q - lgam_a).clamp(min=1.0)
    for _ in range(3):
        x_asy = -log_q - lgam_a + (a - 1) * torch.log(x_asy)
        x_asy = x_asy + torch.log1p(((a - 1) / x_asy.clamp(min=1.0)).clamp(min=-0.5))
        x_asy = x_asy.clamp(min=finfo.tiny)
    # (3) Wilson–Hilferty: (X/a)^{1/3} ≈ N(1 − 1/(9a), 1/(9a)).
    z = torch.where(lower, torch.special.ndtri(p), -torch.special.ndtri(q))
    c = 1 / (9 * a)
    base = (1 - c + z * torch.sqrt(c)).clamp(min=1e-3)
    x_wh = a * base**3

    lo_clamp = 1e-280 if dtype == torch.float64 else 1e-30
    hi_clamp = finfo.max / 4

    def residual(xc):
        xc = xc.clamp(lo_clamp, hi_clamp)
        log_pp, log_qq, *_ = _sides(a, xc)
        return torch.where(lower, log_pp, log_qq) - target, log_pp, log_qq, xc

    best = x_ser.clamp(lo_clamp, hi_clamp)
    f_best, lp_best, lq_best, _ = residual(best)
    for cand in (x_asy, x_wh):
        f, lpp, lqq, xc = residual(cand)
        take = torch.nan_to_num(f.abs(), nan=math.inf) < torch.nan_to_num(
            f_best.abs(), nan=math.inf
        )
        best = torch.where(take, xc, best)
        f_best = torch.where(take, f, f_best)
        lp_best = torch.where(take, lpp, lp_best)
        lq_best = torch.where(take, lqq, lq_best)

    # Halley in t = log x on f(t) = log P − log p (or log Q − log q): f' = ±x p(x)/P (or /Q),
    # f'' = f'(a − x − f'). Both are concave in t, so Newton is monotone after one step; the
    # Halley factor is clamped to [½, 2] of the Newton step.
    t = torch.log(best)
    f, lpp, lqq = f_best, lp_best, lq_best
    log_lo, log_hi = math.log(lo_clamp), math.log(hi_clamp)
    for step in range(plan.halley):
        xc = torch.exp(t)
        lpref = _log_density_x(a, xc) + t
        fp = torch.where(lower, torch.exp(lpref - lpp), -torch.exp(lpref - lqq))
        newton = f / fp
        corr = (1 - 0.5 * newton * (a - xc - fp)).clamp(0.5, 2.0)
        t = (t - newton / corr).clamp(log_lo, log_hi)
        if step < plan.halley - 1:
            f, lpp, lqq, _ = residual(torch.exp(t))
    x = torch.exp(t)
    # Where the root is below the clamp the leading series term is exact to O(x).
    x = torch.where(r < lo_clamp, r, x)
    zero, inf = torch.zeros_like(x), torch.full_like(x, math.inf)
    x = torch.where(p == 0, zero, torch.where(q == 0, inf, x))
    bad = (a <= 0) | ~((p >= 0) & (q >= 0)) | torch.isnan(a) | torch.isnan(p) | torch.isnan(q)
    return torch.where(bad, torch.full_like(x, math.nan), x)


class _IncGammaInv(torch.autograd.Function):
    # x(a, p) with P(a, x) = p: dx/dp = 1/p(x), dx/da = −(∂P/∂a)/p(x) (implicit function).
    generate_vmap_rule = True

    @staticmethod
    def forward(a, prob, upper):
        other = 1 - prob  # exact for prob ≥ ½; the smaller of the two is the target
        return _inverse(a, other, prob) if upper else _inverse(a, prob, other)

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, _, upper = inputs
        ctx.upper = upper
        ctx.save_for_backward(a, output)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        grad_a = grad_p = None
        with torch.no_grad():
            inv_dens = torch.exp(-_log_density_x(a, x))
            if ctx.needs_input_grad[0]:
                _, _, dp, _, _ = _sides(a, x, need_da=True)
                grad_a = grad * _guard(-dp * inv_dens, a)
            if ctx.needs_input_grad[1]:
                grad_p = grad * _guard(-inv_dens if ctx.upper else inv_dens, a)
        return grad_a, grad_p, None


def gammaincinv(a, p) -> torch.Tensor:
    r"""Inverse of :math:`P(a, \cdot)`: the ``x`` with :math:`P(a, x) = p` (the Gamma(a)
    quantile). Differentiable in ``a`` and ``p`` by the implicit function theorem.

    Roots below the smallest normal number are returned from the leading series term (exact
    there); roots that underflow are 0, as in scipy.
    """
    (a, p), dtype = _prepare(a, p)
    return _IncGammaInv.apply(a, p, False).to(dtype)


def gammainccinv(a, q) -> torch.Tensor:
    r"""Inverse of :math:`Q(a, \cdot)`: the ``x`` with :math:`Q(a, x) = q`."""
    (a, q), dtype = _prepare(a, q)
    return _IncGammaInv.apply(a, q, True).to(dtype)


def _guard(value, *inputs):
    return guard_double_backward(value, "the incomplete gamma function's derivative in a", *inputs)
