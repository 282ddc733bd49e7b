r"""Inverse Gaussian (Wald) distribution with mean ``loc`` (μ) and shape ``concentration`` (λ).

.. math:: p(x) = \sqrt{\frac{\lambda}{2\pi x^3}}
    \exp\!\Big(-\frac{\lambda (x-\mu)^2}{2\mu^2 x}\Big), \quad x > 0

Everything is written for the standardized variable :math:`y = x/\mu \sim IG(1, \varphi)`,
:math:`\varphi = \lambda/\mu`, with :math:`k = \sqrt{\lambda/x}`, :math:`a = k(x-\mu)/\mu`,
:math:`b = k(x+\mu)/\mu` (so :math:`b - a = 2k`, :math:`b^2 - a^2 = 4\varphi`).

``rsample`` draws with Michael, Schucany & Haas (1976, "Generating random variates using
transformations with multiple roots", Am. Stat. 30): with :math:`\nu = Z^2` and
:math:`w = \nu/(2\varphi)` the two roots are :math:`y_\mp = (1 + w \pm \sqrt{w(w+2)})^{\mp 1}`
(written as a product of reciprocals, free of cancellation for large and small :math:`w`); the
smaller is kept with probability :math:`1/(1 + y_-)`. Gradients are implicit
(Figurnov, Mohamed & Mnih 2018), :math:`dx/d\theta = -(\partial F/\partial\theta)/p`, in closed
form: with the Mills ratio :math:`R(t) = \Phi(-t)/\phi(t)` and :math:`h(t) = 1/R(t) - t`,

.. math:: \frac{\partial x}{\partial\mu} = \frac{2x/\mu}{1 + q + r}, \qquad
    \frac{\partial x}{\partial\lambda} = \frac{x}{\lambda}\,\frac{q - 1 + r}{1 + q + r},
    \qquad q = \frac{\mu}{x},\; r = \frac{h(b)\,\mu}{\sqrt{\lambda x}},

derived from :math:`\partial F/\partial\varphi = \phi(a)(2R(b) - 1/\sqrt{\varphi y})` and
:math:`e^{2\varphi}\phi(b) = \phi(a)`: the Gaussian factors cancel exactly, so the ratio never
becomes :math:`0\cdot\infty` in the tails, and
:math:`\mu\,\partial_\mu x + \lambda\,\partial_\lambda x = x` (scale equivariance) holds by
construction.

The CDF :math:`F = \Phi(a) + e^{2\varphi}\Phi(-b)` is summed in log space as
``logaddexp(log Φ(a), log φ(a) + log R(b))`` (no :math:`e^{2\varphi}` overflow). The survival
function :math:`\Phi(-a) - e^{2\varphi}\Phi(-b)` cancels badly in the upper tail (six digits at
:math:`y = 10^6`); it is computed as :math:`\Phi(-a)\,R(b)\,(1/R(b) - 1/R(a))` with
:math:`1/R(b) - 1/R(a) = 2k + h(b) - h(a)`, a sum in which nothing cancels because
:math:`h' \in (-0.64, 0)` on :math:`[-1, \infty)`; for :math:`2k < 1` (where the difference of
two nearly equal :math:`h` would keep only their absolute accuracy) as
:math:`\int_a^b h/R` by an 8-point Gauss–Legendre rule. :math:`h` comes from ``erfcx`` for
:math:`t \le 5` and from Laplace's continued fraction above. Measured against mpmath for
:math:`\lambda/\mu` from 1e-6 to 1e8: quantiles from ``p = 1e-300`` to ``1 − 1e-12`` to 2e-15,
the survival function to 2e-14, the CDF to 3e-13 where it is ~1e-300 (the ``exp`` of a log
of size 700), the implicit gradients to 2e-14. ``icdf`` takes fixed Halley steps in
:math:`\log y` on :math:`\log F` or :math:`\log S`, both concave there (:math:`\log Y` has the
log-concave density :math:`\propto e^{-t/2 - \varphi(\cosh t - 1)}`), from the best of three
starting points. The entropy is closed-form,
:math:`H = \tfrac12 + \tfrac12\log(2\pi\mu^3/\lambda) - \tfrac32 e^{2\varphi}E_1(2\varphi)`,
from :math:`E[\log Y] = \partial_\nu \log K_\nu(\varphi)|_{\nu=-1/2} = -e^{2\varphi}E_1(2\varphi)`
(DLMF 10.38.7) and :math:`E[(X-\mu)^2/X] = \mu^2/\lambda`.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ...gradients import implicit_rsample
from ...special import gauss_legendre

__all__ = ["InverseGaussian"]

_HALF_TYPES = (torch.float16, torch.bfloat16)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_HALF_PI = math.sqrt(math.pi / 2)  # R(t) = √(π/2)·erfcx(t/√2)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_2 = math.log(2.0)
_EULER = 0.57721566490153286061
_H_SWITCH = 5.0  # h(t) from erfcx below, from the continued fraction above

# Per working dtype: continued-fraction depth of h, series/continued-fraction terms of
# e^z E1(z), Halley steps of the inverse. Measured against mpmath: h to 2e-16 (6e-8) relative
# for t ≥ 5, e^z E1(z) to 5e-15 (1e-7), the quantile to the rounding floor.
_PLANS = {
    torch.float64: {"h_cf": 32, "e1_series": 32, "e1_cf": 64, "halley": 6},
    torch.float32: {"h_cf": 14, "e1_series": 16, "e1_cf": 24, "halley": 4},
}


class InverseGaussian(Distribution):
    """Inverse Gaussian with mean ``loc`` (μ > 0) and shape ``concentration`` (λ > 0)."""

    arg_constraints = {"loc": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    rsample_kind = "implicit"

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = self._broadcast(loc=loc, concentration=concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        mu, lam = self.loc, self.concentration
        with torch.no_grad():
            mu_w, lam_w = _work(mu.detach()), _work(lam.detach())
            z = torch.empty(shape, dtype=mu_w.dtype, device=mu_w.device).normal_(
                generator=generator
            )
            u = torch.empty(shape, dtype=mu_w.dtype, device=mu_w.device).uniform_(
                generator=generator
            )
            # w = ν/(2φ); the larger root y₊ = 1 + w + √(w(w+2)), the smaller y₋ = 1/y₊.
            w = z.square() * (mu_w / lam_w) * 0.5
            y_plus = 1 + w + torch.sqrt(w) * torch.sqrt(w + 2)
            y_minus = y_plus.reciprocal()
            y = torch.where(u * (1 + y_minus) <= 1, y_minus, y_plus)
            x = (mu_w * y).to(mu.dtype)
        return implicit_rsample(x, (mu, lam), sample_grad=_sample_grad)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        mu, lam = self.loc, self.concentration
        inside = (value > 0) & (value < math.inf)
        x = torch.where(inside, value, 1.0)  # keeps the unused branch (and its gradient) finite
        log_p = 0.5 * lam.log() - _HALF_LOG_2PI - 1.5 * x.log() - _half_square_a(x, mu, lam)
        # Outside (0, ∞) the density is 0; NaN stays NaN.
        return torch.where(inside | value.isnan(), log_p, -math.inf)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        dtype = torch.promote_types(value.dtype, self.loc.dtype)
        mu, lam, x = _work(self.loc), _work(self.concentration), _work(value.to(dtype))
        inside = (x > 0) & (x < math.inf)
        log_f, log_s = _log_cdf_sf(torch.where(inside, x, 1.0), mu, lam)
        out = torch.where(log_f <= log_s, torch.exp(log_f), -torch.expm1(log_s))
        out = torch.where(x <= 0, 0.0, torch.where(x == math.inf, 1.0, out))
        return out.to(dtype)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        dtype = torch.promote_types(value.dtype, self.loc.dtype)
        mu, lam, p = _work(self.loc), _work(self.concentration), _work(value.to(dtype))
        return (mu * _standard_quantile(p, mu, lam)).to(dtype)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    @property
    def mode(self) -> torch.Tensor:
        r""":math:`\mu(\sqrt{1 + r^2} - r) = \mu/(\sqrt{1 + r^2} + r)`,
        :math:`r = 3\mu/(2\lambda)` (no cancellation for large :math:`\mu/\lambda`)."""
        r = 1.5 * (self.loc / self.concentration)
        mode = self.loc / (torch.hypot(r, torch.ones_like(r)) + r)
        return torch.where(r < math.inf, mode, self.concentration / 3)  # μ/λ overflowed

    @property
    def variance(self) -> torch.Tensor:
        mu = self.loc
        return mu * (mu * (mu / self.concentration))

    def entropy(self) -> torch.Tensor:
        r""":math:`\tfrac12(1 + \log 2\pi) + \tfrac32\log\mu - \tfrac12\log\lambda
        - \tfrac32 e^{2\varphi}E_1(2\varphi)`."""
        mu, lam = self.loc, self.concentration
        log_mu, log_lam = mu.log(), lam.log()
        log_z = _work(_LOG_2 + log_lam - log_mu)  # log 2φ, also where 2φ underflows
        e1 = _exp_e1(torch.exp(log_z), log_z).to(mu.dtype)
        return 0.5 + _HALF_LOG_2PI + 1.5 * log_mu - 0.5 * log_lam - 1.5 * e1


# --------------------------------------------------------------------------- helpers
def _work(t: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 are computed in float32 (the special functions lack them on CPU)."""
    return t.float() if t.dtype in _HALF_TYPES else t


def _half_square_a(x: torch.Tensor, mu: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """``a²/2 = λ(x − μ)²/(2μ²x)``: the value from ``a = (x − μ)·x^{−½}·(√λ/μ)`` (no
    intermediate overflows before ``a`` does), the gradient from
    ``exp(2 log|r| + log λ − log x)/2`` with ``log|r| = log|(x − μ)/μ|`` as ``log1p(−x/μ)``
    below μ/2 and ``log|x − μ| − log μ`` above. The chain rule of the product form overflows in
    float32 where the derivative is representable (``x = 3e38``, ``λ = 1e-20``:
    ``∂(a²/2)/∂λ = a²/(2λ) ≈ 1e36`` through ``a·(x − μ)/μ ≈ 1e45``), and autograd of
    ``(x − μ)/μ`` in μ, ``−1/μ − (x − μ)/μ²``, cancels to nothing for ``x ≪ μ``."""
    diff = x - mu
    a = diff * x.rsqrt() * (lam.sqrt() / mu)
    direct = 0.5 * a * a
    low = x < 0.5 * mu
    nonzero = diff != 0
    log_r = torch.where(
        low,
        torch.log1p(-torch.where(low, x, 0.0) / mu),
        torch.where(nonzero, diff, 1.0).abs().log() - mu.log(),
    )
    logs = torch.exp(2 * log_r + lam.log() - x.log() - _LOG_2)
    # Below μ/2 expanded as λ/(2x) − λ/μ + λx/(2μ²) (each term's share ≤ 4× the sum): the
    # μ-gradient then never passes through λ/(2x), which overflows float32 for subnormal x
    # (x = 1.8e-39: λ/x = 5.6e38) while ∂/∂μ = λ(μ − x)/μ³ is of order one.
    xl = torch.where(low, x, 0.5 * mu)
    lam_mu = lam / mu
    expanded = 0.5 * (lam / xl) - lam_mu + 0.5 * lam_mu * (xl / mu)
    from_logs = torch.where(nonzero, torch.where(low, expanded, logs), 0.0)
    return from_logs + torch.nan_to_num((direct - from_logs).detach(), nan=0.0)


def _plan(dtype: torch.dtype) -> dict:
    return _PLANS[torch.float64 if dtype == torch.float64 else torch.float32]


def _mills_excess(t: torch.Tensor) -> torch.Tensor:
    r""":math:`h(t) = 1/R(t) - t`, :math:`R` the Mills ratio: positive, decreasing, ≈ 1/t.

    For :math:`t \le 5` from ``erfcx`` (relative error ≲ 30 ulp, from the cancellation of
    :math:`1/R \approx t`); above, Laplace's continued fraction
    :math:`h = 1/(t + 2/(t + 3/(t + \dots)))` evaluated backwards at fixed depth.
    """
    large = t > _H_SWITCH
    s = torch.where(large, t, _H_SWITCH)
    v = torch.zeros_like(s)
    for k in range(_plan(t.dtype)["h_cf"] + 1, 1, -1):
        v = k / (s + v)
    from_cf = 1 / (s + v)
    small = torch.where(large, 0.0, t)
    direct = 1 / (_SQRT_HALF_PI * torch.special.erfcx(small * _SQRT_HALF)) - small
    return torch.where(large, from_cf, direct)


def _inv_mills(t: torch.Tensor) -> torch.Tensor:
    """``1/R(t)`` for any real ``t`` (0 where ``R`` overflows, ``t`` ≲ −38)."""
    return 1 / (_SQRT_HALF_PI * torch.special.erfcx(t * _SQRT_HALF))


def _standard_terms(x, mu, lam):
    r"""``(k, a, b)`` at finite ``x > 0``: :math:`k = \sqrt{\lambda/x}`, :math:`a = k(x-\mu)/\mu`,
    :math:`b = k(x+\mu)/\mu`, with ``b = a + 2k`` above the mean (so that ``a`` and ``b``
    overflow together)."""
    k = lam.sqrt() * x.rsqrt()
    a = (x - mu) / mu * k
    b = torch.where(x >= mu, a + 2 * k, (x + mu) / mu * k)
    return k, a, b


def _log_cdf_sf(x, mu, lam):
    """``(log F, log S)`` at finite ``x > 0``; each accurate where it is the smaller one."""
    k, a, b = _standard_terms(x, mu, lam)
    return _log_cdf_sf_abc(a, b, 2 * k)


def _log_cdf_sf_abc(a, b, c):
    """``(log F, log S)`` from ``a``, ``b`` and ``c = b − a = 2k`` (each given accurately)."""
    h_b = _mills_excess(b)
    log_r_b = -torch.log(b + h_b)  # log R(b)
    # F = Φ(a) + e^{2φ}Φ(−b) = Φ(a) + φ(a)R(b): two positive terms.
    log_f = torch.logaddexp(torch.special.log_ndtr(a), -0.5 * a * a - _HALF_LOG_2PI + log_r_b)
    # S = Φ(−a) − φ(a)R(b) = Φ(−a)·R(b)·(1/R(b) − 1/R(a)); the gap 1/R(b) − 1/R(a) is
    # positive and computed without cancellation:
    # * a < −1: directly (then b − a > 2, so 1/R(a) ≤ 0.29 and 1/R(b) ≥ 1.5);
    # * a ≥ −1, 2k ≥ 1: as 2k + h(b) − h(a), since 1 + h' ≥ 0.36 on [−1, ∞);
    # * a ≥ −1, 2k < 1: as ∫ₐᵇ (1/R)' = ∫ₐᵇ h/R by Gauss–Legendre (the difference h(b) − h(a)
    #   of two nearly equal values would keep only the absolute accuracy of h).
    near = a >= -1
    short = near & (c < 1)
    h_a = _mills_excess(torch.where(near, a, 0.0))
    gap = torch.where(near, c + (h_b - h_a), (b + h_b) - _inv_mills(a))
    nodes, weights = _gl_nodes(a.dtype, a.device)
    short = short & (a < math.inf)
    a_s, c_s = torch.where(short, a, 0.0), torch.where(short, c, 0.5)
    t = a_s.unsqueeze(-1) + c_s.unsqueeze(-1) * nodes
    integral = c_s * (weights * _inv_mills(t) * _mills_excess(t)).sum(-1)
    gap = torch.where(short, integral, gap)
    log_s = torch.special.log_ndtr(-a) + log_r_b + torch.log(gap)
    # a = ±∞ (x/μ or λ/x overflowed): the limits, where the sums above meet ∞ − ∞.
    log_f = torch.where(a == math.inf, 0.0, torch.where(a == -math.inf, -math.inf, log_f))
    log_s = torch.where(a == math.inf, -math.inf, torch.where(a == -math.inf, 0.0, log_s))
    return log_f, log_s


def _gl_nodes(dtype, device):
    """8-point Gauss–Legendre rule on [0, 1]: the gap integrand is analytic within 2.8 of the
    real axis, so on intervals shorter than 1 the rule is exact to ~1e-17."""
    nodes, weights = gauss_legendre(8, dtype, device)
    return 0.5 * (nodes + 1), 0.5 * weights


def _standard_quantile(p, mu, lam):
    """``y`` with ``P(Y ≤ y) = p``, ``Y ~ IG(1, φ)``, ``φ = λ/μ``.

    Everything is a function of ``t = log y`` computed from ``t`` itself,
    ``a = 2√φ sinh(t/2)``, ``b = 2√φ cosh(t/2)``, ``2k = 2√φ e^{−t/2}``, never through a rounded
    ``x = μ e^t`` (for φ = 1e18 the whole distribution lies within one float32 ulp of μ).
    """
    dtype = p.dtype
    finfo = torch.finfo(dtype)
    sqrt_phi = lam.sqrt() / mu.sqrt()
    log_phi = lam.log() - mu.log()
    lower = p <= 0.5
    q = 1 - p  # exact for p ≥ ½
    target = torch.log(torch.where(lower, p, q))
    p_in = p.clamp(finfo.tiny, 0.5)
    q_in = q.clamp(finfo.tiny, 0.5)

    def abc(t):
        half = 0.5 * t
        a = 2 * sqrt_phi * torch.sinh(half)
        return a, 2 * sqrt_phi * torch.cosh(half), 2 * sqrt_phi * torch.exp(-half)

    def residual(t):
        a, b, c = abc(t)
        log_f, log_s = _log_cdf_sf_abc(a, b, c)
        return torch.where(lower, log_f, log_s) - target, log_f, log_s

    # (1) F ≈ Φ(a): a = ±Φ⁻¹(·) and a = 2√φ·sinh(t/2).
    a0 = torch.where(lower, torch.special.ndtri(p_in), -torch.special.ndtri(q_in))
    t_normal = 2 * torch.asinh(0.5 * a0 / sqrt_phi)
    # (2) Lévy (φ → 0): F ≈ 2Φ(−√(φ/y)), S ≈ erf(√(φ/2y)).
    levy = torch.where(
        lower,
        torch.special.ndtri(0.5 * p_in).square(),
        2 * torch.special.erfinv(q_in).square(),
    )
    t_levy = log_phi - levy.log()
    # (3) Exponential upper tail: S ≈ g(y)/(φ/2 + 3/(2y)), solved by fixed-point iteration.
    phi = torch.exp(log_phi)
    log_q = torch.log(q_in)
    y_tail = (1 - 2 * log_q / phi).clamp_min(1.0)
    for _ in range(4):
        rhs = (
            0.5 * log_phi
            - 1.5 * torch.log(y_tail)
            - _HALF_LOG_2PI
            - torch.log(0.5 * phi + 1.5 / y_tail)
            - log_q
        )
        y_tail = (2 * rhs / phi + 2 - 1 / y_tail).clamp_min(1.0)
    t_tail = torch.log(y_tail)

    t_lo, t_hi = math.log(finfo.tiny), math.log(finfo.max)
    best = torch.nan_to_num(t_normal, nan=0.0).clamp(t_lo, t_hi)
    f_best, lf_best, ls_best = residual(best)
    for cand in (t_levy, t_tail):
        cand = torch.nan_to_num(cand, nan=0.0).clamp(t_lo, t_hi)
        f, lf, ls = residual(cand)
        take = _abs_or_inf(f) < _abs_or_inf(f_best)
        best = torch.where(take, cand, best)
        f_best = torch.where(take, f, f_best)
        lf_best = torch.where(take, lf, lf_best)
        ls_best = torch.where(take, ls, ls_best)

    # Halley in t on f = log F − log p (or log S − log q): f' = ±(y g)/F (or /S) and
    # f'' = f'(L − f'), with log(y g) = ½log φ − t/2 − a²/2 − ½log 2π the log-density of log Y
    # and L = d log(y g)/dt = −½ − φ sinh t = −½ − ab/2. f is concave: Newton is monotone after
    # its first step; the Halley factor is clamped to [½, 2] of the Newton step.
    t, f, log_f, log_s = best, f_best, lf_best, ls_best
    steps = _plan(dtype)["halley"]
    for step in range(steps):
        a, b, _ = abc(t)
        lyg = 0.5 * log_phi - 0.5 * t - 0.5 * a * a - _HALF_LOG_2PI
        fp = torch.where(lower, torch.exp(lyg - log_f), -torch.exp(lyg - log_s))
        newton = f / fp
        corr = (1 - 0.5 * newton * (-0.5 - 0.5 * a * b - fp)).clamp(0.5, 2.0)
        # A safeguard only: where f' underflows far from the root, at most e^±4 per step.
        step_t = torch.nan_to_num(newton / corr, nan=0.0).clamp(-4.0, 4.0)
        t = (t - step_t).clamp(t_lo, t_hi)
        if step < steps - 1:
            f, log_f, log_s = residual(t)
    y = torch.exp(t)
    y = torch.where(p == 0, 0.0, torch.where(p == 1, math.inf, y))
    return torch.where(p.isnan(), math.nan, y)


def _abs_or_inf(f: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(f.abs(), nan=math.inf)


def _sample_grad(x, mu, lam):
    """``(∂x/∂μ, ∂x/∂λ)`` at draws ``x`` (the implicit engine's ``sample_grad``); see the module
    docstring for the closed forms."""
    dtype = x.dtype
    x, mu, lam = _work(x), _work(mu), _work(lam)
    info = torch.finfo(x.dtype)
    _, _, b = _standard_terms(x.clamp(info.tiny, info.max), mu, lam)
    q = mu / x
    # r = h(b)·μ/√(λx), in logs: each factor may under- or overflow on its own.
    r = torch.exp(torch.log(_mills_excess(b)) - 0.5 * (lam.log() + x.log()) + mu.log())
    den = 1 + q + r
    # q − 1 = (μ − x)/x, exact between x = μ/2 and 2μ (where the sum below may cancel).
    q_minus_1 = torch.where((x > 0.5 * mu) & (x < 2 * mu), (mu - x) / x, q - 1)
    ratio = torch.where(den < math.inf, (q_minus_1 + r) / den, 1.0)
    d_mu = 2 * (x / mu) / den
    d_lam = torch.where(x < math.inf, x / lam * ratio, -math.inf)
    d_mu = torch.where(x == 0, 0.0, d_mu)
    d_lam = torch.where(x == 0, 0.0, d_lam)
    return d_mu.to(dtype), d_lam.to(dtype)


def _exp_e1(z: torch.Tensor, log_z: torch.Tensor) -> torch.Tensor:
    r""":math:`e^z E_1(z)` for :math:`z > 0`: the power series for :math:`z \le 2`
    (:math:`E_1 = -\gamma - \log z - \sum_{k\ge1} (-z)^k/(k\,k!)`), above it the continued
    fraction :math:`1/(z + 1 - 1^2/(z + 3 - 2^2/(z + 5 - \dots)))` (DLMF 6.9.1, even part).
    ``log_z`` is given separately: it stays exact where ``z`` underflows."""
    plan = _plan(z.dtype)
    small = z <= 2
    zs = torch.where(small, z, 1.0)
    term = torch.ones_like(zs)
    total = torch.zeros_like(zs)
    for k in range(1, plan["e1_series"] + 1):
        term = term * (-zs / k)
        total = total + term / k
    series = torch.exp(zs) * (-_EULER - torch.where(small, log_z, 0.0) - total)
    zl = torch.where(small, 2.0, z)
    v = torch.zeros_like(zl)
    for k in range(plan["e1_cf"], 0, -1):
        v = (k * k) / (zl + (2 * k + 1) - v)
    cf = 1 / (zl + 1 - v)
    return torch.where(small, series, cf)
