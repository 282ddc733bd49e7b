r"""Beta prime distribution (beta distribution of the second kind).

.. math:: p(x) = \frac{x^{a-1}(1+x)^{-a-b}}{B(a, b)}, \quad x > 0

(scipy's ``betaprime(a, b)``; ``a = concentration1``, ``b = concentration0``). If
:math:`Y \sim \mathrm{Beta}(a, b)` then :math:`X = Y/(1-Y)`, and ``rsample`` draws
:math:`X = G_a/G_b` with independent :math:`G_a \sim \mathrm{Gamma}(a, 1)`,
:math:`G_b \sim \mathrm{Gamma}(b, 1)`, both in log space
(:func:`~.inverse_gamma.log_standard_gamma_draw`), so the ratio neither overflows nor loses
its tails for tiny shapes; a draw beyond the dtype's range saturates at its largest finite number
(or smallest normal one). Gradients: the implicit ones of the gamma draws (Figurnov, Mohamed &
Mnih 2018), exact.

CDF: :math:`I_u(a, b)` with :math:`u = x/(1+x)` for ``x ≤ 1``, and, above, its complement
``betaincc(b, a, v)`` with :math:`v = 1/(1+x)` formed directly (not as ``1 − u``), so each tail
keeps its relative accuracy; where ``u`` or ``v`` falls below :math:`\sqrt{\text{tiny}}` the
leading term of the series, :math:`I_u(a, b) \approx u^a/(a B(a, b))`, is written in logs. The
quantile inverts :math:`I` for ``u`` and ``1 − u`` *both* accurately (``rsample.special``'s
logit-space Newton solver) and returns ``u/(1 − u)``; its gradients come from the implicit
function theorem. The entropy avoids the cancellation of its ``a log a``-sized terms with
Stirling remainders for large shapes.

The helpers here are shared with :class:`~.fisher_snedecor.FisherSnedecor`,
:math:`F = (d_2/d_1)\,\mathrm{BetaPrime}(d_1/2, d_2/2)`.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ...gradients import implicit_rsample
from ...special import betainc, betainc_grad_ab, betaincc, lbeta
from ...special._inputs import compute_dtype
from ...special.beta import _chunked, _inverse
from .inverse_gamma import (
    HALF_LOG_2PI,
    STIRLING_MIN,
    digamma_difference,
    dlog_gamma,
    log_standard_gamma_draw,
    ratio_value,
    stirling_mu,
    unsaturated,
)

__all__ = ["BetaPrime"]


class BetaPrime(Distribution):
    """Beta prime distribution with shapes ``concentration1`` (a) and ``concentration0`` (b)."""

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.nonnegative  # the density extends to 0 (as Gamma's)
    rsample_kind = "implicit"

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = self._broadcast(
            concentration1=concentration1, concentration0=concentration0
        )
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        a, b = self.concentration1, self.concentration0
        return gamma_ratio_rsample(a, b, self._extended_shape(sample_shape), generator)[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        a, b = self.concentration1, self.concentration0
        x, log_p = gamma_ratio_rsample(a, b, self._extended_shape(sample_shape), generator)
        return x, torch.where(unsaturated(x), log_p, log_density(a, b, x, x.log(), False))

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        # 0 is in the support's closure, but (as scipy's betaprime) the density there is 0
        x = value.clamp_min(0)
        lp = log_density(self.concentration1, self.concentration0, x, x.log(), False)
        return torch.where(value < 0, -math.inf, lp)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        x = value.clamp_min(0)
        return beta_prime_cdf(self.concentration1, self.concentration0, x, x.log())

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        """The quantile; inside (0, 1) one beyond the dtype's range saturates at max."""
        self._validate_probability(value)
        return saturate(beta_prime_icdf(self.concentration1, self.concentration0, value), value)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """``a/(b − 1)`` for b > 1, else ``inf`` (as scipy)."""
        a, b = self.concentration1, self.concentration0
        return torch.where(b > 1, a / (b - 1), math.inf)

    @property
    def mode(self) -> torch.Tensor:
        """``(a − 1)/(b + 1)`` for a ≥ 1, else 0 (where the density is unbounded)."""
        a, b = self.concentration1, self.concentration0
        return ((a - 1) / (b + 1)).clamp_min(0)

    @property
    def variance(self) -> torch.Tensor:
        """``a(a + b − 1)/((b − 2)(b − 1)²)`` for b > 2, else ``inf`` (as scipy)."""
        a, b = self.concentration1, self.concentration0
        var = a * (a + b - 1) / ((b - 2) * (b - 1).square())
        return torch.where(b > 2, var, math.inf)

    def entropy(self) -> torch.Tensor:
        return beta_prime_entropy(self.concentration1, self.concentration0)


# --------------------------------------------------------------------------- shared helpers
def saturate(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Quantiles inside (0, 1) beyond the dtype's range are clamped to its largest number."""
    return torch.where((p > 0) & (p < 1), x.clamp(max=torch.finfo(x.dtype).max), x)


def gamma_ratio_rsample(a, b, shape, generator, df=None):
    r"""``(x, log p_{a,b}(y))``: the draw :math:`x = c\,G_a/G_b` (``c = 1``, or ``b/a`` with
    ``df = (d₁, d₂) = (2a, 2b)`` for the F distribution, differentiable in ``df`` then) and the
    BetaPrime(a, b) log-density at :math:`y = G_a/G_b` from the draws,
    :math:`(a-1)\log y - (a+b)\log(1+y) - \log B(a,b)` with
    :math:`\log(1+y) = \mathrm{logaddexp}(\log G_a, \log G_b) - \log G_b`.

    The gradient is :math:`\partial x/\partial a = x\,d\log G_a/da`,
    :math:`\partial x/\partial b = -x\,d\log G_b/db` (through the implicit engine, with the
    bracket formed before multiplying by ``x``: two overflowing paths never meet as ∞ − ∞).
    """
    # both gammas in one call (one sampler launch)
    lead = (1,) * (len(shape) - a.dim())
    both = torch.stack([a, b]).reshape(2, *lead, *a.shape)
    g, log_g, g1, e = log_standard_gamma_draw(both, torch.Size((2, *shape)), generator=generator)
    with torch.no_grad():
        (ga, gb), (log_ga, log_gb) = g.unbind(0), log_g.unbind(0)
        if df is None:
            x = ratio_value(ga, gb, log_ga, log_gb)
        else:
            log_c = df[1].log() - df[0].log()
            x = ratio_value(ga * log_c.exp(), gb, log_ga + log_c, log_gb)
    params = (a, b) if df is None else df
    grad_fn = _ratio_sample_grad if df is None else _f_sample_grad
    x = implicit_rsample(x, (*params, g1[0], g1[1], e[0], e[1]), sample_grad=grad_fn)
    log_y = log_ga - log_gb
    log1p_y = torch.logaddexp(log_ga, log_gb) - log_gb
    log_p = (a - 1) * log_y - (a + b) * log1p_y - lbeta(a, b)
    return x, log_p


def _ratio_sample_grad(x, a, b, g1a, g1b, ea, eb):
    """``(∂x/∂a, ∂x/∂b, −, −, −, −)`` of ``x = G_a/G_b`` (0 where the draw saturated)."""
    free = unsaturated(x)
    d_a = torch.where(free, x * dlog_gamma(a, g1a, ea), 0.0)
    d_b = torch.where(free, -x * dlog_gamma(b, g1b, eb), 0.0)
    return d_a, d_b, None, None, None, None


def _f_sample_grad(x, df1, df2, g1a, g1b, ea, eb):
    """``(∂x/∂d₁, ∂x/∂d₂, …)`` of ``x = (d₂/d₁) G_{d₁/2}/G_{d₂/2}``."""
    free = unsaturated(x)
    d_1 = torch.where(free, x * (0.5 * dlog_gamma(0.5 * df1, g1a, ea) - df1.reciprocal()), 0.0)
    d_2 = torch.where(free, x * (df2.reciprocal() - 0.5 * dlog_gamma(0.5 * df2, g1b, eb)), 0.0)
    return d_1, d_2, None, None, None, None


def log_density(a, b, y, log_y, limit_at_zero: bool = True):
    r""":math:`(a-1)\log y - (a+b)\log(1+y) - \log B(a, b)` for ``y ≥ 0``; ``log_y`` is
    :math:`\log y`, finite where ``y`` itself over- or underflowed (a scaled argument). At
    ``y = 0``: the limit (``+inf``, finite or ``−inf`` as a <, =, > 1) or, with
    ``limit_at_zero=False``, ``−inf`` (0 outside the open support, scipy's ``betaprime``)."""
    finite = (log_y > -math.inf) & (log_y < math.inf)
    big = y > 1
    ly = torch.where(finite, log_y, 0.0)
    ys = torch.where(finite & ~big, y, 0.0)
    yb = torch.where(finite & big, y, 2.0)
    # log(1 + y) = log y + log1p(1/y) above 1, with 1/y from the logs where y overflowed
    inv = torch.where(yb < math.inf, yb.reciprocal(), torch.exp(-torch.where(big, ly, 0.0)))
    log1p_y = torch.where(big, ly + torch.log1p(inv), torch.log1p(ys))
    lbeta_ab = lbeta(a, b)
    out = (a - 1) * ly - (a + b) * log1p_y - lbeta_ab
    at_zero = torch.where(a < 1, math.inf, torch.where(a == 1, -lbeta_ab, -math.inf))
    if not limit_at_zero:
        at_zero = torch.full_like(at_zero, -math.inf)
    out = torch.where(log_y == -math.inf, at_zero, out)
    out = torch.where(log_y == math.inf, -math.inf, out)
    return torch.where(log_y.isnan(), log_y, out)


def beta_prime_cdf(a, b, y, log_y):
    r""":math:`I_{y/(1+y)}(a, b)` for ``y ≥ 0`` (``log_y`` as in :func:`log_density`)."""
    info = torch.finfo(y.dtype)
    edge = -0.5 * math.log(info.tiny)  # the beta argument below √tiny: series' leading term
    lower = log_y <= 0
    lbeta_ab = lbeta(a, b)
    # lower tail: u = y/(1+y) ≈ y; upper tail: v = 1/(1+y) ≈ 1/y
    far_low = lower & (log_y < -edge)
    far_up = ~lower & (log_y > edge)
    log_low = a * torch.where(far_low, log_y, 0.0) - a.log() - lbeta_ab
    log_up = -b * torch.where(far_up, log_y, 0.0) - b.log() - lbeta_ab
    ys = torch.where(far_low | far_up, 1.0, y)
    u = ys / (1 + ys)
    v = (1 + ys).reciprocal()
    main = torch.where(lower, betainc(a, b, torch.where(lower, u, 0.5)), 0.0)
    main = torch.where(lower, main, betaincc(b, a, torch.where(lower, 0.5, v)))
    far = torch.where(far_low, log_low.exp(), -torch.expm1(log_up))
    return torch.where(far_low | far_up, far, main)


def beta_prime_icdf(a, b, p):
    r"""``x`` with :math:`I_{x/(1+x)}(a, b) = p`; differentiable in ``a``, ``b`` and ``p``."""
    a, b, p = torch.broadcast_tensors(a, b, p.to(a.dtype))
    dtype = a.dtype
    work = compute_dtype(dtype)
    return _BetaPrimeQuantile.apply(a.to(work), b.to(work), p.to(work))[0].to(dtype)


class _BetaPrimeQuantile(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(a, b, p):
        info = torch.finfo(a.dtype)
        u, v, log_u, log_v = _chunked(_inverse, a, b, p, 1 - p)
        normal = (u >= info.tiny) & (v >= info.tiny)
        x = torch.where(normal, u / torch.where(normal, v, 1.0), torch.exp(log_u - log_v))
        return x, u, v

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, b, _ = inputs
        x, u, v = output
        ctx.mark_non_differentiable(u, v)
        ctx.save_for_backward(a, b, x, u, v)

    @staticmethod
    def backward(ctx, grad, _grad_u, _grad_v):
        # F(x(θ, p); θ) = p: ∂x/∂p = 1/f(x), ∂x/∂θ = −(∂I_u(a, b)/∂θ)/f(x)
        a, b, x, u, v = ctx.saved_tensors
        with torch.no_grad():
            inner = (x > 0) & (x < math.inf)
            xs = torch.where(inner, x, 1.0)
            inv_pdf = torch.where(inner, torch.exp(-log_density(a, b, xs, xs.log())), 0.0)
            grad_a = grad_b = grad_p = None
            if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
                # ∂I/∂θ on the side whose argument is small: I_u(a, b) = 1 − I_v(b, a)
                low = u <= 0.5
                da_low, db_low = betainc_grad_ab(a, b, torch.where(low, u, 0.5))
                db_up, da_up = betainc_grad_ab(b, a, torch.where(low, 0.5, v))
                da = torch.where(low, da_low, -da_up)
                db = torch.where(low, db_low, -db_up)
                grad_a = -grad * da * inv_pdf
                grad_b = -grad * db * inv_pdf
            if ctx.needs_input_grad[2]:
                grad_p = grad * inv_pdf
        return grad_a, grad_b, grad_p


def beta_prime_entropy(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`H = \log B(a,b) - (a-1)\psi(a) - (b+1)\psi(b) + (a+b)\psi(a+b)`.

    Its terms are of size :math:`a\log a` and cancel for large shapes. With ``s = a + b``,
    :math:`H = \log B + s(\psi(s) - \psi(b)) - (a-1)(\psi(a) - \psi(b))` (or the same with
    ``a`` and ``b`` exchanged in the first difference, ``+ (b+1)(\psi(a) - \psi(b))``) keeps
    the larger shape's digamma only in a difference (:func:`digamma_difference`); for
    ``a, b ≥ 10`` Stirling's series cancels the :math:`s\,(p\log p + q\log q)` terms exactly:
    :math:`H = \tfrac12\log 2\pi + \tfrac12 + \tfrac12\log\frac{a s}{b^3} + \frac1{2b}
    - \frac1{2a} + \mu(a) + \mu(b) - \mu(s) - (a-1)\mu'(a) - (b+1)\mu'(b) + s\mu'(s)`.
    """
    s = a + b
    b_larger = b >= a
    big, small = torch.where(b_larger, b, a), torch.where(b_larger, a, b)
    psi_diff = torch.digamma(a) - torch.digamma(b)
    mixed = lbeta(a, b) + s * digamma_difference(big, small)
    mixed = mixed + torch.where(b_larger, -(a - 1) * psi_diff, (b + 1) * psi_diff)
    large = small >= STIRLING_MIN
    al, bl = torch.where(large, a, STIRLING_MIN), torch.where(large, b, STIRLING_MIN)
    sl = al + bl
    (mu_a, dmu_a), (mu_b, dmu_b), (mu_s, dmu_s) = stirling_mu(al), stirling_mu(bl), stirling_mu(sl)
    stirling = (
        HALF_LOG_2PI
        + 0.5
        + 0.5 * (al.log() + sl.log() - 3 * bl.log())
        + 0.5 / bl
        - 0.5 / al
        + (mu_a + mu_b - mu_s)
        - (al - 1) * dmu_a
        - (bl + 1) * dmu_b
        + sl * dmu_s
    )
    return torch.where(large, stirling, mixed)
