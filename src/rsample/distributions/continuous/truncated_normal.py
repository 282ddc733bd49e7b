r"""Normal distribution truncated to ``[low, high]`` (either bound may be infinite).

.. math:: p(x) = \frac{\varphi(z)}{\sigma Z}, \quad z = \frac{x - \mu}{\sigma},\quad
    Z = \Phi(\beta) - \Phi(\alpha),\quad \alpha = \frac{low - \mu}{\sigma},\;
    \beta = \frac{high - \mu}{\sigma}, \qquad low \le x \le high

**Numerics.** Everything is computed in the *lower frame*: the interval is reflected
(:math:`z \to -z`) when its centre is above the mean, so that it becomes ``[lo, hi]`` with
:math:`lo \le -|hi|` and CDF values are never close to 1. :math:`\log Z` is
:func:`rsample.special.normal.log_ndtr_diff_scaled`, :math:`\log Z + \kappa^2/2` with
:math:`\kappa = \max(\alpha, -\beta, 0)` the distance from the mean to the interval: exact in
the far tails (through the Mills ratio :math:`R(x) = \Phi(-x)/\varphi(x)`, as ``erfcx``, so that
:math:`\varphi/Z` ratios never overflow) and for narrow intervals (a series in the half-width).
``log_prob`` and ``cdf`` use it directly. Moments and entropy take one of three forms: narrow
intervals (half-width ``h``, midpoint ``m``, :math:`h\max(1, |m|) \le 2`) by 24-point
Gauss–Legendre quadrature of :math:`\int v^k e^{-hm v - h^2v^2/2}dv`, the offset from the
midpoint; far tails (:math:`\kappa > 5`) from the distance :math:`t` to the nearer bound, whose
moments are combinations of :math:`R`, :math:`1 - xR(x)` and :math:`R - x(1 - xR)`, taken from
Laplace's continued fraction :math:`R(x) = 1/(x + 1/(x + 2/(x + \dots)))` without cancellation;
the textbook formulas elsewhere (cancellation at most ~κ⁴ε there). Measured against 60-digit
mpmath: ≤ 1e-13 relative for every method at the reference table's corners.

**Sampling** is by inversion of parameter-free uniform noise ``u``: the draw is
:math:`F^{-1}(u)`, in the lower frame :math:`\Phi(z) = \Phi(lo) + f\,(\Phi(hi) - \Phi(lo))` with
``f = u`` (or ``1 − u`` when reflected, exact for ``rand``'s values, so the draw is a continuous
function of the parameters). A sum of two non-negative terms, each ``½erfc`` of a non-negative
argument: :math:`z = \Phi^{-1}(\cdot)` keeps full relative accuracy for intervals such as
[4, 6], where the naive :math:`\Phi^{-1}(\Phi(4) + u(\Phi(6) - \Phi(4)))` collapses to a few
hundred float32 values. Where that probability could fall below the normal range (``hi`` beyond
about −9.5 in float32, −35 in float64) the draw is :math:`z = hi - t` and the offset ``t``
solves :math:`\log\Phi(hi - t) - \log\Phi(hi) = \log q` by Newton's method on the Mills ratio
(started from the exponential-tail approximation, monotone from above); it is added to the
nearer bound in ``x`` units, so far-out draws keep their digits. ``icdf`` uses the same inversion
with :func:`rsample.special.ndtri_exp`, splits ``u`` and ``1 − u`` without cancellation and, for
narrow intervals, takes one Newton step on the exact CDF.

**Gradients** (``rsample_kind = "explicit"``: the draw is a differentiable transform of
parameter-free noise). Differentiating :math:`F(z) = f` at fixed ``f`` (the implicit function
theorem, as in Figurnov, Mohamed & Mnih 2018) gives in closed form
:math:`\partial z/\partial lo = (1 - f)\,\varphi(lo)/\varphi(z)` and
:math:`\partial z/\partial hi = f\,\varphi(hi)/\varphi(z)`, evaluated as
:math:`\exp((z - lo)(z + lo)/2)` (no 0/0 in the tails or for narrow intervals); the chain rule
through :math:`lo, hi` gives the derivatives in ``loc``, ``scale``, ``low`` and ``high``
(:class:`_Draw`). Chopin (2011, "Fast simulation of truncated Gaussian distributions") and Botev
(2017, "The normal law under linear restrictions") discuss the tail problem; inversion is used
here because it keeps the draw a smooth function of ``u`` and of the parameters.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ... import _random, _validation
from ..._eager import host_reads_free
from ..._scalars import const
from ...distribution import Distribution
from ...special import gauss_legendre
from ...special._inputs import guard_double_backward
from ...special.normal import (
    LOG_SQRT_2PI,
    _log_ndtr_diff_scaled_forward,
    apply_function,
    big_finite,
    erfc_fast_limit,
    log_ndtr_diff_scaled,
    mills_ratio,
    ndtri,
    ndtri_exp,
)

__all__ = ["TruncatedNormal"]

_SQRT2 = math.sqrt(2)
_INV_SQRT2 = 1 / _SQRT2
_SQRT_2PI = math.sqrt(2 * math.pi)
_HALF_TYPES = (torch.float16, torch.bfloat16)
_QUAD_WIDTH = 2.0  # h·max(1, |m|) up to which moments come from quadrature
_FAR = 5.0  # κ above which moments come from the offset to the nearer bound
_TAIL_ICDF = 5.0  # −hi above which icdf solves for the offset to the nearer bound
_CF_TERMS = 30  # Laplace's continued fraction: relative error < 1e-17 for x ≥ 5
_NEWTON = 3
# −hi beyond which Φ(lo) + u·(Φ(hi) − Φ(lo)) can fall below tiny/ε for a draw u ≥ ε/4 (the
# sampler then takes the offset form): Φ(−10.1) = e^{−54} in float32, Φ(−35.5) in float64.
_TAIL_DRAW = {torch.float32: 9.5, torch.float64: 35.0}


class TruncatedNormal(Distribution):
    """``Normal(loc, scale)`` restricted to ``[low, high]``; ``low = -inf`` or ``high = inf``
    give one-sided truncations. ``low < high`` is checked."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "low": constraints.real,
        "high": constraints.real,
    }
    _infinite_ok = ("low", "high")
    rsample_kind = "explicit"

    def __init__(self, loc, scale, low, high, validate_args=None):
        self.loc, self.scale, self.low, self.high = self._broadcast(
            loc=loc, scale=scale, low=low, high=high
        )
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _validate_parameters(self):
        # The base class's checks, on the parameters without their broadcast repeats (bounds
        # given as numbers are checked once, not once per batch element), and low < high.
        name = type(self).__name__
        loc, scale, low, high = (_compact(t) for t in (self.loc, self.scale, self.low, self.high))
        _validation.check(name, "loc", constraints.real, loc, finite=True)
        _validation.check(name, "scale", constraints.positive, scale, finite=True)
        _validation.check(name, "low", constraints.real, low, finite=False)
        _validation.check(name, "high", constraints.real, high, finite=False)
        _validation.check(name, "high - low", constraints.positive, high - low, finite=False)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        x = self._draw(_Draw, sample_shape, generator)[0]
        return x if x.dtype == self.loc.dtype else x.to(self.loc.dtype)

    def rsample_and_log_prob(
        self, sample_shape=torch.Size(), *, generator=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(x, log_prob(x))`` (the same draw as ``rsample``). Where every interval is in the
        bulk (see :func:`_bulk_eligible`, :func:`_in_bulk`), the score is
        :math:`-z^2/2 - \log\sqrt{2\pi}\sigma - \log Z` with the plain
        :math:`Z = \Phi(hi) - \Phi(lo)` the draw computed anyway (:class:`_ScoredDraw`, closed-
        form derivatives): a few small operations instead of the tail-exact ``log_prob`` (a
        policy step's overhead). Elsewhere it is ``log_prob``."""
        params = (self.loc, self.scale, self.low, self.high)
        if not _bulk_eligible(*params):
            x = self.rsample(sample_shape, generator=generator)
            return x, self.log_prob(x)
        x, log_z, _, a, b, _, _, p_lo, mass = self._draw(_ScoredDraw, sample_shape, generator)
        if not _in_bulk(a, b, p_lo, mass):
            return x, self.log_prob(x)
        z = (x - self.loc) / self.scale
        return x, -0.5 * z * z - (LOG_SQRT_2PI + self.scale.log() + log_z)

    def _draw(self, function, sample_shape, generator) -> tuple:
        """``function``'s outputs (:class:`_Draw` or :class:`_ScoredDraw`) for fresh uniforms:
        through autograd where a parameter needs a gradient, its forward alone otherwise."""
        shape = self._extended_shape(sample_shape)
        params = (self.loc, self.scale, self.low, self.high)
        work = torch.float32 if self.loc.dtype in _HALF_TYPES else self.loc.dtype
        u = _random.uniform(shape, dtype=work, device=self.loc.device, generator=generator)
        u = u.clamp_min_(torch.finfo(work).eps / 4)  # rand's 0 → half its smallest step
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            return apply_function(function, *params, u)
        return function.forward(*params, u)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`-\tfrac12(z^2 - \kappa^2) - \log\sqrt{2\pi} - \log\sigma
        - (\log Z + \kappa^2/2)`, ``-inf`` outside ``[low, high]``.

        With ``c`` the point at distance κ from the mean (the nearer bound, or the mean itself
        when the interval contains it), :math:`z^2 - \kappa^2 = \frac{x - c}{\sigma}
        \cdot\frac{x + c - 2\mu}{\sigma}`: no large terms cancel. Derivatives in closed
        form (see :class:`_LogProb`).
        """
        if self._validate_args:
            self._validate_sample(value)
        return apply_function(_LogProb, value, self.loc, self.scale, self.low, self.high)[0]

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`\exp(\log Z(\alpha, z) - \log Z(\alpha, \beta))`, both terms accurate, so
        small probabilities keep their relative accuracy (also for upper-tail intervals)."""
        if self._validate_args:
            self._validate_sample(value)
        f = _Frame(self.loc, self.scale, self.low, self.high)
        x = torch.maximum(torch.minimum(value, self.high), self.low)  # NaN stays NaN
        z = _standardize(x, self.loc, self.scale, f.guard).clamp(f.alpha, f.beta)
        part = _standardize(x, self.low, self.scale, f.guard).clamp_min(0)
        kappa_part = torch.maximum(torch.maximum(f.alpha, -z), torch.zeros_like(z))
        log_part = log_ndtr_diff_scaled(*torch.broadcast_tensors(f.alpha, z, part))
        # κ − κ_part: below the mean both are distances to 0, and their difference is exactly
        # (x − high)/σ; from the x units it keeps its digits far out.
        gap = torch.where(
            f.beta < 0, _standardize(x, self.high, self.scale, f.guard), f.kappa - kappa_part
        )
        shift = 0.5 * gap * (f.kappa + kappa_part)
        return torch.exp(log_part - f.log_z + shift).clamp_max(1)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        """Exact inversion (see the module notes); differentiable in ``value`` and parameters."""
        self._validate_probability(value)
        params = torch.broadcast_tensors(self.loc, self.scale, self.low, self.high, value)
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            return apply_function(_Icdf, *params)[0]
        return _icdf_forward(*params)[0]

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return _moments(self, "mean")

    @property
    def mode(self) -> torch.Tensor:
        return torch.maximum(torch.minimum(self.loc, self.high), self.low)

    @property
    def variance(self) -> torch.Tensor:
        return _moments(self, "variance")

    def entropy(self) -> torch.Tensor:
        return _moments(self, "entropy")


def _log_prob_forward(value, loc, scale, low, high, guard=False):
    """``(log_prob, log Z + κ²/2, α, β)`` by tensor operations (differentiable by autograd)."""
    f = _Frame(loc, scale, low, high, guard=guard)
    near = torch.where(f.kappa > 0, torch.where(f.flip, low, high), loc)
    # (x + c − 2μ) as (x − μ) + (c − μ): the differences first, exact when close.
    shifted = (value - loc) + (near - loc)
    quad = _standardize(value, near, scale, guard) * _standardize(shifted, None, scale, guard)
    log_p = -0.5 * quad - LOG_SQRT_2PI - scale.log() - f.log_z
    outside = (value < low) | (value > high)
    return torch.where(outside, -math.inf, log_p), f.log_z, f.alpha, f.beta


class _LogProb(torch.autograd.Function):
    r"""``log_prob`` with closed-form derivatives. With :math:`r_a = \varphi(\alpha)/Z`,
    :math:`r_b = \varphi(\beta)/Z` (from the scaled log Z, no overflow):
    :math:`\partial/\partial x = -z/\sigma`,
    :math:`\partial/\partial\mu = (z - r_a + r_b)/\sigma`,
    :math:`\partial/\partial\sigma = (z^2 - 1 - \alpha r_a + \beta r_b)/\sigma`,
    :math:`\partial/\partial low = r_a/\sigma`, :math:`\partial/\partial high = -r_b/\sigma`
    (each sum formed before the division by σ, so the far-tail cancellation of
    :math:`z \approx -r_b` does not overflow in float32). Second derivatives come from autograd of
    the same formula written with tensor operations."""

    generate_vmap_rule = True

    @staticmethod
    def forward(value, loc, scale, low, high):
        dtype = value.dtype
        if dtype in _HALF_TYPES or loc.dtype in _HALF_TYPES:
            out = _log_prob_forward(*(t.float() for t in (value, loc, scale, low, high)))
            return (out[0].to(dtype), *out[1:])
        with torch.no_grad():
            return _log_prob_forward(value, loc, scale, low, high)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, log_z, alpha, beta = output
        ctx.mark_non_differentiable(log_z, alpha, beta)
        ctx.save_for_backward(*inputs, log_z, alpha, beta)

    @staticmethod
    def backward(ctx, grad, *_unused):
        value, loc, scale, low, high, log_z, alpha, beta = ctx.saved_tensors
        inputs = (value, loc, scale, low, high)
        needs = ctx.needs_input_grad
        if torch.is_grad_enabled():  # a graph of the gradient is wanted: autograd the formula
            wanted = [t for t, n in zip(inputs, needs) if n]
            with torch.enable_grad():
                log_p = _log_prob_forward(*inputs, guard=True)[0]
                found = iter(torch.autograd.grad(log_p, wanted, grad, create_graph=True))
            return tuple(next(found) if n else None for n in needs)
        dtype = log_z.dtype
        g = grad.to(dtype)
        big = big_finite(dtype)
        kappa = torch.maximum(torch.maximum(alpha, -beta), torch.zeros_like(alpha))
        a_c, b_c = alpha.clamp(-big, big), beta.clamp(-big, big)
        # α + κ = −width below the mean and β − κ = width above it, from the unrounded bounds:
        # (low − μ)/σ and (high − μ)/σ can round to one number (σ = 1e-20 in float32).
        width = ((high - low) / scale).to(dtype)
        a_plus_k = torch.where(beta < 0, -width, a_c + kappa)
        b_minus_k = torch.where(alpha > 0, width, b_c - kappa)
        r_a = torch.exp(-0.5 * (a_c - kappa) * a_plus_k - LOG_SQRT_2PI - log_z)
        r_b = torch.exp(-0.5 * b_minus_k * (b_c + kappa) - LOG_SQRT_2PI - log_z)
        g = torch.where((value < low) | (value > high), 0.0, g) / scale.to(dtype)
        z = (value - loc) / scale
        grads = [None] * 5
        if needs[0]:
            grads[0] = -g * z
        if needs[1]:
            grads[1] = g * (z - r_a + r_b)
        if needs[2]:
            grads[2] = g * (z * z - 1 - a_c * r_a + b_c * r_b)
        if needs[3]:
            grads[3] = g * r_a
        if needs[4]:
            grads[4] = -g * r_b
        return tuple(
            None if t is None else _sum_to(t.to(p.dtype), p.shape) for t, p in zip(grads, inputs)
        )


def _bulk_eligible(loc, scale, low, high) -> bool:
    r"""Whether ``rsample_and_log_prob`` may score with the plain :math:`\log Z` (then
    :func:`_in_bulk` decides, per draw call): on the CPU in eager mode, not in half precision,
    with finite bounds and scales that need no guard."""
    if not host_reads_free(loc) or loc.dtype in _HALF_TYPES:
        return False
    # (a plain sum rather than ``isfinite().all()``, which costs ~15 µs at any size; a sum that
    # overflows only sends us to the general path)
    if not math.isfinite(float(_compact(low).sum() + _compact(high).sum())):
        return False  # an infinite bound would put 0·∞ into the gradient of (bound − μ)/σ
    return not _guarded(scale)  # float32 scales so tiny that z/σ overflows in the backward


def _in_bulk(a, b, p_lo, mass) -> bool:
    r"""Whether every interval of a draw (lower frame: ``lo = −a√2``, ``hi = b√2``,
    :math:`\Phi(lo)` = ``p_lo``, :math:`Z` = ``mass``) is in the bulk, where the plain
    :math:`\log Z` is accurate: :math:`hi \ge -3` (no far-tail cancellation between
    :math:`z^2/2` and :math:`\log Z`) and :math:`Z \ge \Phi(hi)/4` (the difference loses at
    most two bits); also false for non-finite standardized bounds (NaN margins included)."""
    if not mass.numel():
        return True
    with torch.no_grad():
        margin = torch.minimum(b * _SQRT2 + 3, 0.75 * mass - 0.25 * p_lo)
        return math.isfinite(float((a + b).sum())) and float(margin.min()) >= 0


def _compact(t: torch.Tensor) -> torch.Tensor:
    """``t`` without the repeats of its broadcast (stride-0) dimensions."""
    if torch.compiler.is_compiling() or _validation._is_wrapped(t):
        return t
    strides = t.stride()
    if 0 not in strides:
        return t
    if not any(strides) and t.numel():  # a number expanded to the batch shape
        return t.as_strided((1,) * t.dim(), strides)
    index = tuple(
        slice(0, 1) if stride == 0 and n > 1 else slice(None) for n, stride in zip(t.shape, strides)
    )
    return t[index]


# ---------------------------------------------------------------------------------------------
# the lower frame
# ---------------------------------------------------------------------------------------------


class _Frame:
    """Standardized bounds of a batch, reflected so that the interval is ``[lo, hi]`` with
    ``lo ≤ −|hi|`` (``flip``: reflected); ``kappa = max(−hi, 0)``; ``width`` is
    ``(high − low)/σ`` from the unrounded bounds; ``log_z`` is :math:`\\log Z + \\kappa^2/2`."""

    def __init__(self, loc, scale, low, high, with_log_z=True, guard=None):
        self.guard = guard = _guarded(scale) if guard is None else guard
        self.alpha = _standardize(low, loc, scale, guard)
        self.beta = _standardize(high, loc, scale, guard)
        self.width = _standardize(high, low, scale, guard)
        self.flip = (self.alpha + self.beta) > 0
        self.lo = torch.minimum(self.alpha, -self.beta)
        self.hi = torch.minimum(self.beta, -self.alpha)
        self.kappa = (-self.hi).clamp_min(0)
        if with_log_z:
            a, b, w = torch.broadcast_tensors(self.alpha, self.beta, self.width)
            self.log_z = log_ndtr_diff_scaled(a, b, w)


class _Standardize(torch.autograd.Function):
    """``(value − loc)/scale`` whose backward keeps zero gradients zero.

    In float32 a standardized bound can overflow (an interval 1e20 σ out with σ = 1e-20);
    autograd's ``0·(z/σ) = 0·inf`` would then be NaN although the bound does not matter. Here a
    zero incoming gradient gives zero parameter gradients.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(value, loc, scale):
        return (value - loc) / scale if loc is not None else value / scale

    @staticmethod
    def setup_context(ctx, inputs, output):
        value, loc, scale = inputs
        ctx.shapes = (value.shape, None if loc is None else loc.shape, scale.shape)
        ctx.save_for_backward(scale, output)

    @staticmethod
    def backward(ctx, grad):
        scale, z = ctx.saved_tensors
        value_shape, loc_shape, scale_shape = ctx.shapes
        g = grad / scale
        g_scale = torch.where(grad == 0, 0.0, -g * z)
        return (
            _sum_to(g, value_shape) if ctx.needs_input_grad[0] else None,
            _sum_to(-g, loc_shape) if loc_shape is not None and ctx.needs_input_grad[1] else None,
            _sum_to(g_scale, scale_shape) if ctx.needs_input_grad[2] else None,
        )


def _standardize(value: torch.Tensor, loc, scale: torch.Tensor, guard: bool = True):
    """``(value − loc)/scale`` (``loc = None``: ``value/scale``); with ``guard``, through
    :class:`_Standardize` (see :func:`_guarded`)."""
    if not guard or not torch.is_grad_enabled():
        return (value - loc) / scale if loc is not None else value / scale
    return apply_function(_Standardize, value, loc, scale)


def _guarded(scale: torch.Tensor) -> bool:
    """Whether standardizing by ``scale`` needs :class:`_Standardize`: a ``z/σ`` in the backward
    can overflow only in float32 (and half) with tiny scales. On the CPU in eager mode one
    reduction decides; elsewhere the guard is always used."""
    if scale.dtype == torch.float64 or not torch.is_grad_enabled():
        return False
    if host_reads_free(scale) and scale.numel():
        return float(scale.detach().min()) < 1e-5
    return True


# ---------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------


def _lower_frame_probability(u: torch.Tensor, flip_f: torch.Tensor) -> torch.Tensor:
    """``u``, or ``1 − u`` where the frame is reflected: the draw is then ``F⁻¹(u)`` in the
    original orientation, a continuous function of the parameters. ``rand`` returns multiples
    of ``2⁻ᵖ``, for which ``1 − u`` and ``1 − 2u`` are exact."""
    if host_reads_free(u):
        flipped = float(flip_f.sum())
        if flipped == 0:
            return u
        if flipped == flip_f.numel():
            return 1 - u
    return torch.addcmul(u, flip_f, torch.add(const(1.0, u.dtype), u, alpha=-2))


def _draw_forward(loc, scale, low, high, u):
    r"""``(x, z, a, b, flip_f, f_hi, p_lo, mass)``: the draw for the uniforms ``u``, its
    lower-frame value ``z`` and what the derivatives need: ``a = −lo/√2``, ``b = hi/√2``, the
    reflection flag as a float, ``f_hi`` the lower-frame probability (None if it is ``u``
    itself); and :math:`\Phi(lo)`, :math:`Z = \Phi(hi) - \Phi(lo)` (plain, for the bulk).

    ``Φ(lo) = ½erfc(max(μ − low, high − μ)/(σ√2))`` and ``Φ(hi)`` likewise, so the reflection
    costs two ``max``/``min`` and no branches.
    """
    dtype = loc.dtype
    work = torch.float32 if dtype in _HALF_TYPES else dtype
    loc, scale, low, high = (t.to(work) for t in (loc, scale, low, high))
    eager = host_reads_free(u)
    d_lo, d_hi = loc - low, high - loc
    if eager:  # the reflection flag as a float directly (one pass instead of two)
        flip_f = torch.gt(d_hi, d_lo, out=torch.empty_like(d_lo))
    else:
        flip_f = (d_hi > d_lo).to(work)  # the interval's centre is above the mean
    scale2 = scale * _SQRT2
    a = torch.maximum(d_lo, d_hi).div_(scale2)  # −lo/√2
    b = torch.minimum(d_lo, d_hi).div_(scale2)  # hi/√2
    # Beyond erfc's fast range Φ is far below what a route-A draw can reach (and −b that large
    # means hi < −T: those draws take the offset form), so the arguments are clamped there.
    limit = erfc_fast_limit(work)
    p_lo = torch.special.erfc(a.clamp_max(limit)).mul_(0.5)
    mass = torch.special.erfc((-b).clamp_max_(limit)).mul_(0.5).sub_(p_lo)
    f_hi = _lower_frame_probability(u, flip_f)
    z = ndtri(torch.addcmul(p_lo, f_hi, mass))
    limit = -_TAIL_DRAW[work] * _INV_SQRT2
    signed_scale = torch.addcmul(scale, flip_f, scale, value=-2)
    x = torch.addcmul(loc, signed_scale, z)
    if eager:
        if b.numel() and float(b.min()) < limit:  # some draws need the offset form
            _offset_draws_eager(x, z, a, b, (high - low) / scale, f_hi, flip_f, low, high, scale)
    else:
        tail = b < limit
        safe = -2 * _TAIL_DRAW[work]
        lo_t = torch.where(tail, a * -_SQRT2, safe - 1)
        hi_t = torch.where(tail, b * _SQRT2, safe)
        width = torch.where(tail, (high - low) / scale, 1.0)
        offset = _tail_offset_draw(lo_t, hi_t, width, f_hi)
        z = torch.where(tail, hi_t - offset, z)
        x_tail = torch.addcmul(_near(low, high, flip_f), signed_scale, offset, value=-1)
        x = torch.where(tail, x_tail, x)
    x = _clamp(x, low, high, eager)  # rounding may step an ulp outside
    return x, z, a, b, flip_f, (None if f_hi is u else f_hi), p_lo, mass


def _offset_draws_eager(x, z, a, b, width, f_hi, flip_f, low, high, scale):
    """Overwrite, in place, the draws of the batch elements with ``hi < −T`` by the offset form
    (CPU, eager: only those columns of the ``(samples, batch)`` view are computed)."""
    tail = (b < -_TAIL_DRAW[z.dtype] * _INV_SQRT2).reshape(-1)
    n_batch = tail.numel()
    cols = None if bool(tail.all()) else tail.nonzero().squeeze(1)

    def pick(t):  # a batch-shaped tensor, flattened, at the tail columns
        t = t.expand(b.shape).reshape(-1)
        return t if cols is None else t[cols]

    def view(t):  # a full-shaped tensor as (samples, batch) and its tail columns
        t2 = t.reshape(-1, n_batch)
        return t2 if cols is None else t2[:, cols]

    lo_t, hi_t = pick(a * -_SQRT2), pick(b * _SQRT2)
    offset = _tail_offset_draw(lo_t, hi_t, pick(width), view(f_hi))
    signed_scale = pick(torch.addcmul(scale, flip_f, scale, value=-2))
    # The offset from the nearer bound keeps its digits in x units (loc + σz would not).
    x_tail = torch.addcmul(pick(_near(low, high, flip_f)), signed_scale, offset, value=-1)
    if cols is None:
        z.reshape(-1, n_batch).copy_(hi_t - offset)
        x.reshape(-1, n_batch).copy_(x_tail)
    else:
        z.reshape(-1, n_batch)[:, cols] = hi_t - offset
        x.reshape(-1, n_batch)[:, cols] = x_tail


def _near(low, high, flip_f):
    """The bound nearer the mean: ``high`` (the lower frame's ``hi``), ``low`` if reflected."""
    return torch.where(flip_f > 0, low, high)


def _clamp(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, eager: bool) -> torch.Tensor:
    """``x`` clamped into ``[low, high]`` (NaN stays NaN); bounds that are one number (a batch
    of broadcast repeats) are applied as Python scalars, a faster kernel."""
    if eager:
        low_c, high_c = _compact(low), _compact(high)
        if low_c.numel() == 1 and high_c.numel() == 1:
            return x.clamp_(float(low_c), float(high_c))
    return torch.maximum(torch.minimum(x, high), low)


def _tail_offset_draw(lo, hi, width, f_hi):
    """Offset below ``hi`` (≪ 0) of the draws: ``Φ(hi − t) = Φ(hi)·q``, ``q = r + f(1 − r)``."""
    log_r = _tail_log_ratio(lo, hi, width).clamp_max(0)
    q = torch.addcmul(torch.exp(log_r), f_hi, -torch.expm1(log_r))
    return _tail_offset(-hi, -torch.log(q))


def _tail_log_ratio(lo, hi, width) -> torch.Tensor:
    r""":math:`\log(\Phi(lo)/\Phi(hi))` for ``hi ≤ 0``, as
    :math:`\log(\mathrm{erfcx}(-lo/\sqrt2)/\mathrm{erfcx}(-hi/\sqrt2)) - w\,|m|` (no ``x²``)."""
    big = big_finite(lo.dtype)
    lo_c = lo.clamp_min(-big)
    hi_n = hi.clamp_max(0)
    e_lo = torch.special.erfcx(-lo_c * _INV_SQRT2)
    e_hi = torch.special.erfcx(-hi_n * _INV_SQRT2)
    return torch.log(e_lo / e_hi) + width.clamp_max(big) * (0.5 * (lo_c + hi_n))


def _tail_offset(y: torch.Tensor, big_e: torch.Tensor) -> torch.Tensor:
    r"""``t ≥ 0`` with :math:`\log\Phi(-(y + t)) - \log\Phi(-y) = -E` (``y > 0``, ``E ≥ 0``).

    In Mills-ratio form the equation is :math:`h(t) = ty + t^2/2 - \log(R(y+t)/R(y)) - E = 0`
    with :math:`h'(t) = 1/R(y + t)`; ``h`` is convex and increasing, and the start
    :math:`t_0 = 2E/(y + \sqrt{y^2 + 2E})` (the root without the log term) has
    :math:`h(t_0) \ge 0`, so Newton's method decreases monotonically to the root (three steps:
    relative error ≤ 3e-16 for y ≥ 3). Nothing overflows for ``y`` up to the largest float.
    """
    big_e = big_e.clamp_max(big_finite(y.dtype))
    root = torch.sqrt(1 + (2 * big_e / y) / y)
    t = 2 * big_e / (y * (1 + root))
    r_y = mills_ratio(y)
    for _ in range(_NEWTON):
        r_t = mills_ratio(y + t)
        h = t * (y + 0.5 * t) - torch.log(r_t / r_y) - big_e
        t = (t - h * r_t).clamp_min(0)
    return t


class _Draw(torch.autograd.Function):
    r"""A draw ``x = F⁻¹(u)`` with closed-form derivatives at fixed ``u``.

    In the lower frame, with :math:`F(z) = f` held fixed,
    :math:`w_{lo} = \partial z/\partial lo = (1 - f)\,\varphi(lo)/\varphi(z)` and
    :math:`w_{hi} = \partial z/\partial hi = f\,\varphi(hi)/\varphi(z)`. With
    :math:`lo, hi = s\,(\cdot - \mu)/\sigma` and :math:`x = \mu + \sigma s z`:
    :math:`\partial x/\partial\mu = 1 - w_{lo} - w_{hi}`,
    :math:`\partial x/\partial\sigma = s\,(z - lo\,w_{lo} - hi\,w_{hi})`, and
    :math:`\partial x/\partial low`, :math:`\partial x/\partial high` are :math:`w_{lo}, w_{hi}`
    (swapped when reflected). Second derivatives are refused (``z``'s own dependence on the
    parameters is not part of the graph).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(loc, scale, low, high, u):
        return _draw_forward(loc, scale, low, high, u)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, z, a, b, flip_f, f_hi, _, _ = output
        ctx.mark_non_differentiable(*(t for t in output[1:] if t is not None))
        ctx.save_for_backward(*inputs, z, a, b, flip_f, f_hi)

    @staticmethod
    def backward(ctx, grad, *_unused):
        loc, scale, low, high, u, z, a, b, flip_f, f_hi = ctx.saved_tensors
        with torch.no_grad():
            lo, hi = a * -_SQRT2, b * _SQRT2
            parts = _draw_parts(grad, z, lo, hi, u if f_hi is None else f_hi)
            grads = _combine(ctx.needs_input_grad, *parts, lo, hi, flip_f)
        inputs = (loc, scale, low, high)
        return (*_finish(grads, inputs, "the truncated normal draw"), None)


class _ScoredDraw(torch.autograd.Function):
    r""":class:`_Draw` with a second differentiable output, the plain :math:`\log Z`
    (``rsample_and_log_prob`` in the bulk). In the lower frame :math:`\partial\log Z/\partial
    lo = -\varphi(lo)/Z` and :math:`\partial\log Z/\partial hi = \varphi(hi)/Z`; these enter
    :func:`_combine` as the parts :math:`s\,G\,\partial\log Z/\partial(lo, hi)/\sigma`
    (``s = ±1`` the reflection, ``G`` the incoming gradient), which it maps to the parameters
    exactly as it maps a draw's :math:`\partial z/\partial(lo, hi)`."""

    generate_vmap_rule = True

    @staticmethod
    def forward(loc, scale, low, high, u):
        x, *rest = _draw_forward(loc, scale, low, high, u)
        return (x, torch.log(rest[-1]), *rest)

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, _, z, a, b, flip_f, f_hi, _, mass = output
        ctx.mark_non_differentiable(*(t for t in output[2:] if t is not None))
        ctx.set_materialize_grads(False)  # log Z is unused outside the bulk: no work for it
        ctx.save_for_backward(*inputs, z, a, b, flip_f, f_hi, mass)

    @staticmethod
    def backward(ctx, grad, grad_log_z, *_unused):
        loc, scale, low, high, u, z, a, b, flip_f, f_hi, mass = ctx.saved_tensors
        with torch.no_grad():
            lo, hi = a * -_SQRT2, b * _SQRT2
            grad = torch.zeros_like(z) if grad is None else grad
            g, g_z, g_lo, g_hi = _draw_parts(grad, z, lo, hi, u if f_hi is None else f_hi)
            if grad_log_z is not None:
                # φ(·)/(√(2π)·σ·Z), signed by the reflection (lo, hi are finite in the bulk)
                tiny = torch.finfo(mass.dtype).tiny
                weight = (1 - 2 * flip_f) / (_SQRT_2PI * scale * mass.clamp_min(tiny))
                weight = weight * grad_log_z.to(z.dtype)
                g_lo = g_lo - weight * torch.exp(-0.5 * lo * lo)
                g_hi = g_hi + weight * torch.exp(-0.5 * hi * hi)
            grads = _combine(ctx.needs_input_grad, g, g_z, g_lo, g_hi, lo, hi, flip_f)
        inputs = (loc, scale, low, high)
        return (*_finish(grads, inputs, "the truncated normal draw"), None)


def _draw_parts(grad, z, lo, hi, f_hi):
    """:func:`_direct_parts` for one draw per batch element, else :func:`_reduced_parts`."""
    grad = grad.to(z.dtype)
    if z.shape == lo.shape:
        return _direct_parts(grad, z, lo, hi, f_hi)
    return _reduced_parts(grad, z, lo, hi, f_hi)


def _direct_parts(grad, z, lo, hi, f_hi):
    """``grad``, ``grad·z``, ``grad·w_lo``, ``grad·w_hi`` for one draw per batch element.

    A draw has ``F(z) = f ≥ ε/4``, so ``f·φ(hi)/φ(z)`` stays far from overflow: the exponent
    is clamped only so that nothing can turn into ``inf·0``.
    """
    big = big_finite(z.dtype)
    zh = z * _INV_SQRT2
    lo_h, hi_h = lo.clamp_min(-big) * _INV_SQRT2, hi.clamp_max(big) * _INV_SQRT2
    e_lo = (zh - lo_h).mul_(zh + lo_h).exp_()  # φ(lo)/φ(z) ≤ 1: |z| ≤ −lo
    e_hi = (zh - hi_h).mul_(zh + hi_h).clamp_max_(math.log(torch.finfo(z.dtype).max) - 1)
    g_hi = e_hi.exp_().mul_(f_hi).mul_(grad)
    g_lo = e_lo.mul_(1 - f_hi).mul_(grad)
    return grad, grad * z, g_lo, g_hi


def _reduced_parts(grad, z, lo, hi, f_hi):
    r"""``Σ grad``, ``Σ grad·z``, ``Σ grad·w_lo``, ``Σ grad·w_hi`` over the sample dimensions.

    :math:`\varphi(b)/\varphi(z) = e^{(z^2 - \kappa^2)/2}\,e^{-(b^2 - \kappa^2)/2}`: the first
    factor is per draw, the second per batch element and applied after the sums.
    """
    batch = lo.shape
    kappa = (-hi).clamp_min(0)
    za = z.abs()
    e_z = (za - kappa).mul_(za + kappa).mul_(0.5)
    e_z = e_z.clamp_max_(math.log(torch.finfo(z.dtype).max) - 1).exp_().mul_(grad)
    g_hi = e_z * f_hi
    g_lo = e_z.sub_(g_hi)
    big = big_finite(z.dtype)
    lo_c, hi_c = lo.clamp_min(-big), hi.clamp_max(big)
    c_lo = torch.exp(-0.5 * (lo_c - kappa) * (lo_c + kappa))
    c_hi = torch.exp(-0.5 * (hi_c - kappa) * (hi_c + kappa))
    return (
        _sum_to(grad, batch),
        _sum_to(grad * z, batch),
        _sum_to(g_lo, batch) * c_lo,
        _sum_to(g_hi, batch) * c_hi,
    )


def _bound_weights(z, lo, hi, log_f_lo, log_f_hi):
    """``(w_lo, w_hi)``: ``∂z/∂lo``, ``∂z/∂hi`` in log form (``F(z)·e^{…}`` may be
    ``1e-300·1e300`` far out)."""
    big = big_finite(z.dtype)
    lo_c, hi_c = lo.clamp_min(-big), hi.clamp_max(big)
    e_lo = 0.5 * (z - lo_c) * (z + lo_c)  # ≤ 0: |z| ≤ −lo in the lower frame
    e_hi = (0.5 * (z - hi_c) * (z + hi_c)).clamp_max(big)
    return torch.exp(log_f_lo + e_lo), torch.exp(log_f_hi + e_hi)


def _combine(needs, g, g_z, g_lo, g_hi, lo, hi, flip_f) -> list:
    """The parameter gradients from the (summed) parts; None where not needed."""
    grads: list = [None, None, None, None]
    if needs[0]:
        grads[0] = g - g_lo - g_hi
    if needs[1]:
        big = big_finite(lo.dtype)
        lo_c, hi_c = lo.clamp_min(-big), hi.clamp_max(big)
        sign = 1 - 2 * flip_f
        grads[1] = sign * (g_z - lo_c * g_lo - hi_c * g_hi)
    if needs[2]:
        grads[2] = torch.lerp(g_lo, g_hi, flip_f.expand_as(g_lo))  # low is lo unless reflected
    if needs[3]:
        grads[3] = torch.lerp(g_hi, g_lo, flip_f.expand_as(g_lo))
    return grads


def _finish(grads, inputs, what):
    out = []
    for g, p in zip(grads, inputs):
        if g is not None:
            g = guard_double_backward(_sum_to(g.to(p.dtype), p.shape), what, *inputs)
        out.append(g)
    return out


def _sum_to(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Undo broadcasting: sum ``t`` over the dimensions that ``shape`` was expanded along."""
    if t.shape == shape:
        return t
    lead = t.dim() - len(shape)
    expanded = [lead + i for i, n in enumerate(shape) if n == 1 and t.shape[lead + i] != 1]
    dims = [*range(lead), *expanded]
    return t.sum(dims, keepdim=True).reshape(shape) if dims else t.reshape(shape)


# ---------------------------------------------------------------------------------------------
# icdf
# ---------------------------------------------------------------------------------------------


def _icdf_forward(loc, scale, low, high, p):
    """``(x, z, lo, hi, flip, log_z)``: the quantile of ``p`` (all arguments of one shape)."""
    dtype = loc.dtype
    work = torch.float32 if dtype in _HALF_TYPES else dtype
    loc, scale, low, high, p = (t.to(work) for t in (loc, scale, low, high, p))
    f = _Frame(loc, scale, low, high)
    flip_f = f.flip.to(work)
    f_hi = p + flip_f * (1 - 2 * p)  # the lower-frame probability: p, or 1 − p when reflected
    f_lo = (1 - p) + flip_f * (2 * p - 1)  # its complement, formed without cancellation
    z, offset, tail = _invert_accurate(f, f_lo, f_hi)
    sign = 1 - 2 * flip_f
    x = torch.addcmul(loc, scale * sign, z)
    # Far out, the offset from the nearer bound keeps its digits in x units.
    near = torch.where(f.flip, low, high)
    x = torch.where(tail, torch.addcmul(near, scale * sign, -offset), x)
    x = torch.maximum(torch.minimum(x, high), low)
    return x.to(dtype), z, f.lo, f.hi, f.flip, f.log_z


def _invert_accurate(f: _Frame, f_lo: torch.Tensor, f_hi: torch.Tensor):
    r"""icdf in the lower frame: :math:`\Phi(z) = \Phi(hi)\,q` with
    :math:`q = r f_{lo} + f_{hi}`, :math:`r = \Phi(lo)/\Phi(hi)`, evaluated as
    :math:`\log q = \mathrm{log1p}(-f_{lo}(1 - r))` when that term is small; then
    :func:`ndtri_exp` (or, for ``hi < −5``, the offset ``t`` below ``hi``) and, for narrow
    intervals, one Newton step on the exact CDF so that the quantile is accurate relative to the
    width. Returns ``(z, t, tail)``."""
    dtype = f_hi.dtype
    big = big_finite(dtype)
    lower = f.hi <= 0
    # log Φ(hi) + κ²/2 (erfcx form below 0, where κ = −hi).
    e_hi = torch.special.erfcx(-f.hi.clamp_max(0) * _INV_SQRT2)
    log_phi_hi_s = torch.where(lower, torch.log(0.5 * e_hi), torch.special.log_ndtr(f.hi))
    log_r = torch.where(
        lower,
        _tail_log_ratio(f.lo, f.hi, f.width),
        torch.special.log_ndtr(f.lo.clamp_min(-big)) - torch.special.log_ndtr(f.hi),
    ).clamp_max(0)
    log_1mr = (f.log_z - log_phi_hi_s).clamp_max(0)
    small = f_lo * torch.exp(log_1mr)
    log_q = torch.where(
        small <= 0.5,
        torch.log1p(-small.clamp_max(0.5)),
        torch.log(f_hi + f_lo * torch.exp(log_r)),
    )
    z = ndtri_exp(log_phi_hi_s - 0.5 * f.kappa * f.kappa + log_q)
    eager = host_reads_free(z)
    tail = f.hi < -_TAIL_ICDF
    offset = torch.zeros_like(z)
    if not eager or bool(tail.any()):
        y = torch.where(tail, -f.hi, 2 * _TAIL_ICDF)
        offset = torch.where(tail, _tail_offset(y, -log_q), 0.0)
        z = torch.where(tail, f.hi - offset, z)
    z = torch.minimum(torch.maximum(z, f.lo), f.hi)
    # Narrow intervals: one Newton step, F(z) from log Z of [lo, z] (accurate to the width).
    m = 0.5 * (f.lo.clamp_min(-big) + f.hi)
    narrow = (0.5 * f.width * torch.clamp_min(-m, 1.0) <= 0.1) & ~tail
    if not eager or bool(narrow.any()):
        zn = torch.where(narrow, z, f.hi)
        lo_n, hi_n, w_n = torch.broadcast_tensors(f.lo, zn, (zn - f.lo).clamp_min(0))
        kappa_n = (-zn).clamp_min(0)
        log_part = _log_ndtr_diff_scaled_forward(lo_n, hi_n, w_n)
        cdf = torch.exp(log_part - f.log_z + 0.5 * (f.kappa - kappa_n) * (f.kappa + kappa_n))
        za = zn.abs()
        inv_density = torch.exp(f.log_z + 0.5 * (za - f.kappa) * (za + f.kappa) + LOG_SQRT_2PI)
        polished = (zn - (cdf - f_hi) * inv_density).clamp(f.lo, f.hi)
        z = torch.where(narrow, polished, z)
    return z, offset, tail


class _Icdf(torch.autograd.Function):
    """``icdf`` with the derivatives of :class:`_Draw` (``u = p`` fixed) and
    :math:`\\partial x/\\partial p = \\sigma Z/\\varphi(z)`."""

    generate_vmap_rule = True

    @staticmethod
    def forward(loc, scale, low, high, p):
        return _icdf_forward(loc, scale, low, high, p)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(*inputs, *output[1:])

    @staticmethod
    def backward(ctx, grad, *_unused):
        loc, scale, low, high, p, z, lo, hi, flip, log_z = ctx.saved_tensors
        needs = ctx.needs_input_grad
        with torch.no_grad():
            dtype = z.dtype
            grad_w, p = grad.to(dtype), p.to(dtype)
            flip_f = flip.to(dtype)
            f_hi = p + flip_f * (1 - 2 * p)
            f_lo = (1 - p) + flip_f * (2 * p - 1)
            w_lo, w_hi = _bound_weights(z, lo, hi, torch.log(f_lo), torch.log(f_hi))
            parts = (grad_w, grad_w * z, grad_w * w_lo, grad_w * w_hi)
            grads = _combine(needs, *parts, lo, hi, flip_f)
            if needs[4]:
                kappa = (-hi).clamp_min(0)
                za = z.abs()
                log_dx = log_z + 0.5 * (za - kappa) * (za + kappa) + LOG_SQRT_2PI
                grads.append(grad_w * scale.to(dtype) * torch.exp(log_dx))
            else:
                grads.append(None)
        return tuple(_finish(grads, (loc, scale, low, high, p), "the truncated normal icdf"))


# ---------------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------------


def _moments(dist: TruncatedNormal, which: str) -> torch.Tensor:
    """``mean``, ``variance`` or ``entropy``, each from the form accurate for its interval.

    Each form runs on inputs that are valid for it everywhere (so that no discarded branch
    sends NaN into the gradients); on the CPU in eager mode a form no element needs is skipped.
    """
    loc, scale, low, high = dist.loc, dist.scale, dist.low, dist.high
    dtype = loc.dtype
    if dtype in _HALF_TYPES:
        loc, scale, low, high = (t.float() for t in (loc, scale, low, high))
    f = _Frame(loc, scale, low, high, with_log_z=False)
    big = big_finite(loc.dtype)
    h = 0.5 * f.width.clamp_max(big)
    m = 0.5 * (f.lo.clamp_min(-big) + f.hi.clamp_max(big))
    quad = h * torch.clamp_min(-m, 1.0) <= _QUAD_WIDTH
    far = ~quad & (f.kappa > _FAR)
    bulk = ~quad & ~far
    eager = host_reads_free(loc)
    sign = 1 - 2 * f.flip.to(loc.dtype)
    out = torch.zeros_like(h)
    if not eager or bool(quad.any()):
        hq, mq = torch.where(quad, h, 1.0), torch.where(quad, m, 0.0)
        e_s, e_s2, log_t0 = _quadrature_moments(hq, mq)
        if which == "mean":  # from the midpoint
            value = 0.5 * low + 0.5 * high + scale * sign * e_s
        elif which == "variance":
            value = (e_s2 - e_s * e_s) * scale * scale
        else:
            value = torch.log(hq) + log_t0 + mq * e_s + 0.5 * e_s2 + scale.log()
        out = torch.where(quad, value, out)
    if not eager or bool(far.any()):
        af = torch.where(far, f.kappa, 2 * _FAR)
        e_t, e_t2, log_i0 = _far_moments(af, torch.where(far, f.width.clamp_max(1e4), 1.0))
        if which == "mean":  # from the bound nearer the mean
            value = torch.where(f.flip, low, high) - scale * sign * e_t
        elif which == "variance":
            value = (e_t2 - e_t * e_t) * scale * scale
        else:
            value = log_i0 + af * e_t + 0.5 * e_t2 + scale.log()
        out = torch.where(far, value, out)
    if not eager or bool(bulk.any()):
        lo_b, hi_b = torch.where(bulk, f.lo, -1.0), torch.where(bulk, f.hi, 1.0)
        e_b, v_b, h_b = _bulk_moments(lo_b, hi_b, torch.where(bulk, f.width, 2.0))
        if which == "mean":
            value = loc + scale * sign * e_b
        elif which == "variance":
            value = v_b * scale * scale
        else:
            value = h_b + scale.log()
        out = torch.where(bulk, value, out)
    return out.to(dtype)


def _quadrature_moments(h: torch.Tensor, m: torch.Tensor):
    r"""``(E[s], E[s²], log T0)`` for ``z = m + s``, ``s ∈ [−h, h]`` with density
    :math:`\propto e^{-ms - s^2/2}`, where :math:`T_k = \int_{-1}^{1} v^k e^{-hm v - h^2v^2/2}dv`
    by 24-point Gauss–Legendre (``|hm| ≤ 2``, ``h ≤ 2``: error below 1e-17), with the nodes
    paired as ``cosh``/``sinh`` so that the odd moment has no cancellation."""
    v, wt = _gauss_legendre_half(h.dtype, h.device)
    eta = (h * m).unsqueeze(-1)
    g = wt * torch.exp(-0.5 * (h * h).unsqueeze(-1) * v * v)
    c, s = torch.cosh(eta * v), torch.sinh(eta * v)
    t0 = 2 * (g * c).sum(-1)
    t1 = -2 * (g * v * s).sum(-1)
    t2 = 2 * (g * v * v * c).sum(-1)
    return h * t1 / t0, h * h * t2 / t0, torch.log(t0)


# The positive half of the 24-point Gauss–Legendre rule, as Python floats (so that compiled
# graphs see constants), and as tensors per (dtype, device).
_GL_HALF = tuple(t[12:].tolist() for t in gauss_legendre(24, torch.float64, "cpu"))
_GL_CACHE: dict = {}


def _gauss_legendre_half(dtype, device):
    if torch.compiler.is_compiling():
        return tuple(torch.tensor(t, dtype=dtype, device=device) for t in _GL_HALF)
    key = (dtype, device)
    if key not in _GL_CACHE:
        _GL_CACHE[key] = tuple(torch.tensor(t, dtype=dtype, device=device) for t in _GL_HALF)
    return _GL_CACHE[key]


def _far_moments(a: torch.Tensor, d: torch.Tensor):
    r"""``(E[t], E[t²], log I0)`` for the distance ``t ∈ [0, d]`` below the nearer bound at
    ``a = κ ≥ 5``, density :math:`\propto e^{-at - t^2/2}`.

    With :math:`M_k(x) = \int_0^\infty t^k e^{-xt - t^2/2}dt`: :math:`M_0 = R(x)`,
    :math:`M_1 = 1 - xR = t_1 R`, :math:`M_2 = R - xM_1 = R\,t_1 t_2`, where
    :math:`t_j = j/(x + t_{j+1})` is Laplace's continued fraction (:math:`R = 1/(x + t_1)`),
    evaluated backwards (30 terms: relative error < 1e-17 for x ≥ 5) — no cancellation, unlike
    :math:`1 - xR` from ``erfcx``. The interval's moments follow from
    :math:`\int_0^d = \int_0^\infty - e^{-d(a+b)/2}\int_0^\infty(d + \cdot)^k\ldots`
    at ``b = a + d``.
    """
    b = a + d
    x = torch.stack((a, b))
    t = torch.zeros_like(x)
    t2 = t
    for j in range(_CF_TERMS, 0, -1):
        t2, t = t, j / (x + t)
    r = 1 / (x + t)
    m0, m1, m2 = r, t * r, r * t * t2
    rho = torch.exp(-0.5 * d * (a + b))
    i0 = m0[0] - rho * m0[1]
    i1 = m1[0] - rho * (m1[1] + d * m0[1])
    i2 = m2[0] - rho * (m2[1] + 2 * d * m1[1] + d * d * m0[1])
    return i1 / i0, i2 / i0, torch.log(i0)


def _bulk_moments(lo: torch.Tensor, hi: torch.Tensor, width: torch.Tensor):
    r"""``(E[z], Var[z], entropy)`` in the lower frame from :math:`\varphi(lo)/Z`,
    :math:`\varphi(hi)/Z` (as exponentials of log-space differences):
    :math:`E = \tfrac{\varphi(hi)}{Z}\,\mathrm{expm1}((hi^2 - lo^2)/2)`,
    :math:`\mathrm{Var} = 1 + (lo\,\varphi(lo) - hi\,\varphi(hi))/Z - E^2`,
    :math:`H = \log\sqrt{2\pi e}\,Z + (lo\,\varphi(lo) - hi\,\varphi(hi))/(2Z)`."""
    big = big_finite(lo.dtype)
    lo_c, hi_c = lo.clamp_min(-big), hi.clamp_max(big)
    kappa = (-hi).clamp_min(0)
    log_z = log_ndtr_diff_scaled(lo, hi, width)
    r_lo = torch.exp(-0.5 * (lo_c - kappa) * (lo_c + kappa) - LOG_SQRT_2PI - log_z)
    r_hi = torch.exp(-0.5 * (hi_c - kappa) * (hi_c + kappa) - LOG_SQRT_2PI - log_z)
    half_diff = width.clamp_max(big) * (0.5 * (lo_c + hi_c))  # (hi² − lo²)/2
    mean = r_hi * torch.expm1(half_diff)
    tilt = lo_c * r_lo - hi_c * r_hi
    variance = 1 + tilt - mean * mean
    entropy = LOG_SQRT_2PI + 0.5 + log_z - 0.5 * kappa * kappa + 0.5 * tilt
    return mean, variance, entropy
