r"""The standard normal CDF, its log and its inverse, accurate in both tails.

``torch.special.ndtr`` evaluates ``½(1 + erf(z/√2))`` and so loses the lower tail (relative
error 6e-6 at z = −7 and 0 instead of 7.6e-24 at z = −10, in float64); ``½·erfc(−z/√2)`` keeps
full relative accuracy there (Cody 1969, as used by scipy's ``ndtr``). torch's ``log_ndtr`` and
``ndtri`` are accurate and are re-exported.

Two functions for truncated normals are added:

* :func:`log_ndtr_diff` — :math:`\log(\Phi(b) - \Phi(a))` with full relative accuracy of the
  difference everywhere: far tails (where both terms underflow), narrow intervals (where they
  cancel) and everything between. It works with the Mills ratio
  :math:`R(x) = \Phi(-x)/\varphi(x) = \sqrt{\pi/2}\,\mathrm{erfcx}(x/\sqrt2)`, so that
  :math:`\log\Phi` differences never subtract two large numbers, and with a series in the
  half-width for narrow intervals.
* :func:`ndtri_exp` — :math:`\Phi^{-1}(e^{\ell})` for :math:`\ell` from 0 down to about
  :math:`-10^{308}`: ``ndtri`` of :math:`e^\ell` (or of :math:`-\mathrm{expm1}(\ell)` in the upper
  half) while :math:`e^\ell` is a normal number, and below that Newton's method on
  :math:`\log\Phi(-y) = \ell` started from the asymptotic expansion
  :math:`\log\Phi(-y) \approx -y^2/2 - \log y - \tfrac12\log 2\pi` (Abramowitz & Stegun 26.2.12).

Both have analytic derivatives, written with differentiable operations (so that second
derivatives are available too) and usable under ``torch.func`` transforms.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from torch.special import log_ndtr, ndtri

from .._eager import host_reads_free
from ._inputs import prepare as _prepare

__all__ = ["log_ndtr", "log_ndtr_diff", "ndtr", "ndtri", "ndtri_exp"]

_INV_SQRT2 = 1 / math.sqrt(2)
_LN2 = math.log(2)
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
SQRT_HALF_PI = math.sqrt(math.pi / 2)


def ndtr(z: torch.Tensor) -> torch.Tensor:
    """Standard normal CDF ``Φ(z) = ½·erfc(−z/√2)``, accurate to the last bits for z ≪ 0."""
    return 0.5 * torch.special.erfc(-z * _INV_SQRT2)


def erfc_fast_limit(dtype: torch.dtype) -> float:
    """An argument beyond which ``erfc`` is below ``tiny·eps`` (float32: erfc(9) = 4e-37,
    float64: erfc(26) = 6e-296) but still a normal number. torch's ``erfc`` is 10–15 times
    slower on arguments whose result underflows, so callers that only need ``erfc(x)`` to be
    negligible there clamp ``x`` to this."""
    return 26.0 if dtype == torch.float64 else 9.0


def mills_ratio(x: torch.Tensor) -> torch.Tensor:
    r"""Mills ratio :math:`R(x) = \Phi(-x)/\varphi(x) = \sqrt{\pi/2}\,\mathrm{erfcx}(x/\sqrt2)`.

    Accurate for every ``x`` (for ``x ≫ 0`` it is about ``1/x``; it overflows only where
    :math:`e^{x^2/2}` does, for ``x ≲ −37.6`` in float64).
    """
    return SQRT_HALF_PI * torch.special.erfcx(x * _INV_SQRT2)


def _eager_twin(cls):
    """An old-style copy of the ``setup_context``-style Function ``cls``. Applying a Function
    with ``setup_context`` and ``generate_vmap_rule`` costs ~80 µs more per call (measured,
    torch 2.13, CPU); the twin is used where no ``torch.func`` transform is active."""

    class Twin(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            output = cls.forward(*args)
            cls.setup_context(ctx, args, output)
            return output

        backward = staticmethod(cls.backward)

    Twin.__name__ = Twin.__qualname__ = cls.__name__ + "Eager"
    return Twin


_TWINS: dict = {}


def apply_function(cls, *args):
    """``cls.apply(*args)`` for a ``setup_context``-style Function ``cls``: its forward alone when
    no tensor argument requires grad, the cheaper old-style twin in plain eager mode, ``cls``
    itself under ``torch.compile`` and ``torch.func`` transforms."""
    if not torch.is_grad_enabled() or not any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in args
    ):
        if torch.compiler.is_compiling() or torch._C._functorch.maybe_current_level() is None:
            return cls.forward(*args)
        return cls.apply(*args)  # under a transform: leave the decision to functorch
    if torch.compiler.is_compiling() or torch._C._functorch.maybe_current_level() is not None:
        return cls.apply(*args)
    twin = _TWINS.get(cls)
    if twin is None:
        twin = _TWINS[cls] = _eager_twin(cls)
    return twin.apply(*args)


def big_finite(dtype: torch.dtype) -> float:
    """A quarter of the largest finite number: ±inf bounds are clamped to ±this so that products
    such as ``bound·density`` give 0 instead of ``inf·0``, and sums of two bounds stay finite."""
    return torch.finfo(dtype).max / 4


# ---------------------------------------------------------------------------------------------
# log(Φ(b) − Φ(a))
# ---------------------------------------------------------------------------------------------


def _series_coefficients(n: int, odd_power: int, order: int) -> tuple[tuple[float, ...], ...]:
    r"""Coefficients ``c[i][j]`` of :math:`\int_{-1}^{1} v^n e^{-\eta v - Q v^2/2}\,dv
    = \sum_{i+j \le \text{order}} c_{ij}\,(\eta^2)^i Q^j` (times ``-η`` for odd ``n``).

    Expanding the exponential, :math:`\int v^{n+k+2j} = 2/(n+k+2j+1)` for even ``n + k``; for even
    ``n`` only even powers ``k = 2i`` of ``η`` survive, for odd ``n`` only odd ones (``odd_power``
    is 1 then and one factor ``-η`` is taken out).
    """
    rows = []
    for i in range(order + 1):
        k = 2 * i + odd_power
        row = []
        for j in range(order + 1 - i):
            c = Fraction(2, n + k + 2 * j + 1) * Fraction((-1) ** j, 2**j)
            c /= math.factorial(k) * math.factorial(j)
            row.append(float(c))
        rows.append(tuple(row))
    return tuple(rows)


# ∫_{-1}^{1} exp(−ηv − Qv²/2) dv to degree 4 in (η², Q): used for h·max(1, |m|) ≤ 0.1, where the
# first omitted terms (degree 5) are below 1e-10·5e-8 = 5e-18 of the leading 2.
_T0 = _series_coefficients(0, 0, 4)
_NARROW = 0.1  # h·max(1, |m|) at or below which an interval counts as narrow
_NEAR_TAIL = 5.0  # −hi up to which log Φ(hi) comes from erfc (the x²/2 it adds back is ≤ 12.5)


def _poly2(p: torch.Tensor, q: torch.Tensor, coeffs) -> torch.Tensor:
    """Σ_i p^i Σ_j c[i][j] q^j (Horner in both variables)."""
    out = None
    for row in reversed(coeffs):
        inner = torch.full_like(q, row[-1])
        for c in reversed(row[:-1]):
            inner = inner * q + c
        out = inner if out is None else out * p + inner
    return out


def _log1mexp(v: torch.Tensor) -> torch.Tensor:
    """log(1 − e^v) for v ≤ 0 (Mächler 2012, "Accurately computing log(1 − exp(−|a|))")."""
    v = v.clamp(max=0)
    return torch.where(v > -_LN2, torch.log(-torch.expm1(v)), torch.log1p(-torch.exp(v)))


def _lower_frame(a: torch.Tensor, b: torch.Tensor):
    """``[a, b]`` reflected (x → −x) when its centre is above 0: ``(lo, hi, κ)`` with
    ``lo ≤ −|hi|`` and ``κ = max(a, −b, 0) = max(−hi, 0)``, the distance from 0 to the interval.

    ``Φ(b) − Φ(a) = Φ(hi) − Φ(lo)``, and the terms are then never both close to 1.
    """
    lo = torch.minimum(a, -b)
    hi = torch.minimum(b, -a)
    return lo, hi, (-hi).clamp_min(0)


def _log_ndtr_diff_scaled_forward(a, b, width):
    """``log(Φ(b) − Φ(a)) + κ²/2`` (see :func:`log_ndtr_diff_scaled`), without autograd.

    Three forms, selected per element and each evaluated on inputs valid for it; on the CPU in
    eager mode a form no element needs is not evaluated at all:

    * narrow (``h·max(1, |m|) ≤ 0.1``): a series in the half-width ``h`` about the midpoint
      ``m``, since ``Φ(hi)`` and ``Φ(lo)`` cancel;
    * far (``hi < −5``): Mills-ratio form, no ``x²`` terms, exact where both terms underflow;
    * otherwise ``Φ(hi) − Φ(lo)`` (``hi ≤ 0``) or ``1 − Φ(lo) − Φ(−hi)`` (``hi > 0``), each
      ``Φ`` as ``½erfc`` of a non-negative argument: for intervals that are not narrow,
      ``Φ(lo)/Φ(hi) < 0.85``, so the difference keeps all but three bits.
    """
    dtype = a.dtype
    lo, hi, kappa = _lower_frame(a, b)
    big = big_finite(dtype)
    h = 0.5 * width.clamp_max(big)
    m = 0.5 * (lo.clamp_min(-big) + hi.clamp_max(big))  # ≤ 0
    narrow = h * torch.clamp_min(-m, 1.0) <= _NARROW
    far = (hi < -_NEAR_TAIL) & ~narrow
    rest = ~(narrow | far)
    eager = host_reads_free(a)
    if eager:
        present = torch.stack([t.any() for t in (narrow, far, rest)]).tolist()
        if present == [False, False, True]:  # the common case: one form, no merging
            return _log_mass_direct(lo, hi, kappa)
    else:
        present = [True] * 3
    out = torch.zeros_like(h)
    if present[0]:
        # Φ(b) − Φ(a) = φ(m)·h·∫_{−1}^{1} exp(−hm·v − h²v²/2) dv, a series in (hm)², h².
        hn = torch.where(narrow, h, 0.0)
        series = _poly2((hn * m).square(), hn.square(), _T0)
        mk = (-m - kappa) * (-m + kappa)  # m² − κ² ≥ 0 without forming m²
        out = torch.where(narrow, torch.log(h) + torch.log(series) - 0.5 * mk - LOG_SQRT_2PI, out)
    if present[1]:
        # Φ(x) = ½·erfcx(−x/√2)·e^{−x²/2}, so log Φ(lo) − log Φ(hi)
        # = log(erfcx(−lo/√2)/erfcx(−hi/√2)) + (hi − lo)·m, and κ = −hi.
        lo_f = torch.where(far, lo, -2 * _NEAR_TAIL).clamp_min(-big)
        hi_f = torch.where(far, hi, -_NEAR_TAIL)
        e_lo = torch.special.erfcx(-lo_f * _INV_SQRT2)
        e_hi = torch.special.erfcx(-hi_f * _INV_SQRT2)
        d = torch.log(e_lo / e_hi) + torch.where(far, 2 * h * m, -1.0)
        out = torch.where(far, torch.log(0.5 * e_hi) + _log1mexp(d), out)
    if present[2]:
        lo_r, hi_r = torch.where(rest, lo, -1.0), torch.where(rest, hi, 0.0)
        out = torch.where(rest, _log_mass_direct(lo_r, hi_r, kappa), out)
    return out


def _log_mass_direct(lo, hi, kappa):
    """``log(Φ(hi) − Φ(lo)) + κ²/2`` as ``Φ(hi) − Φ(lo)`` (``hi ≤ 0``) or ``1 − Φ(lo) − Φ(−hi)``
    (``hi > 0``) from ``erfc`` of non-negative arguments; for intervals that are neither narrow
    nor beyond ``hi < −5`` (where ``κ²/2 ≤ 12.5``)."""
    limit = erfc_fast_limit(lo.dtype)  # beyond: below ε·(the other term), clamped
    p_lo = torch.special.erfc((-lo * _INV_SQRT2).clamp_max(limit))  # 2Φ(lo)
    p_hi = torch.special.erfc(hi.abs() * _INV_SQRT2)  # 2Φ(−|hi|)
    above = (hi > 0).to(lo.dtype)
    z2 = torch.addcmul(above * 2, 1 - 2 * above, p_hi) - p_lo  # 2Z
    return torch.log(0.5 * z2) + 0.5 * kappa * kappa


class _LogNdtrDiffScaled(torch.autograd.Function):
    generate_vmap_rule = True  # with setup_context: usable under torch.func transforms

    @staticmethod
    def forward(a, b, width):
        return _log_ndtr_diff_scaled_forward(a, b, width)

    @staticmethod
    def setup_context(ctx, inputs, output):
        a, b, _ = inputs
        ctx.save_for_backward(a, b, output)

    @staticmethod
    def backward(ctx, grad):
        # ∂/∂a log(Φ(b) − Φ(a)) = −φ(a)/Z, ∂/∂b = φ(b)/Z; plus ∂(κ²/2). With the scaled output,
        # φ(x)/Z = exp(−(x − κ)(x + κ)/2 − log√(2π) − out): no overflow, no 0/0. Written with
        # differentiable operations, so the derivative can be differentiated again.
        a, b, out = ctx.saved_tensors
        big = big_finite(a.dtype)
        a_c, b_c = a.clamp_min(-big), b.clamp_max(big)
        flip = (a + b) > 0  # the interval's centre is above 0: κ = max(a, 0), else max(−b, 0)
        kappa = torch.where(flip, a.clamp_min(0), (-b).clamp_min(0))
        r_a = torch.exp(-0.5 * (a_c - kappa) * (a_c + kappa) - LOG_SQRT_2PI - out)
        r_b = torch.exp(-0.5 * (b_c - kappa) * (b_c + kappa) - LOG_SQRT_2PI - out)
        grad_a = grad * torch.where(flip, a.clamp_min(0) - r_a, -r_a)
        grad_b = grad * torch.where(flip, r_b, r_b + b.clamp_max(0))
        return grad_a, grad_b, None


def log_ndtr_diff_scaled(a: torch.Tensor, b: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    r""":math:`\log(\Phi(b) - \Phi(a)) + \kappa^2/2`, :math:`\kappa = \max(a, -b, 0)`.

    The shift keeps the value finite where :math:`\Phi(b) - \Phi(a)` itself underflows (an
    interval :math:`10^{30}` standard deviations out in float32). ``width`` is ``b − a``
    computed as accurately as the caller can (for a truncated normal, ``(high − low)/σ``
    rather than the difference of two rounded standardized bounds); it is used only for
    narrow intervals and is not differentiated (the derivatives in ``a`` and ``b`` are exact).
    Requires ``a ≤ b``; tensors of one shape and floating dtype (half precision is computed in
    float32).
    """
    dtype = a.dtype
    if dtype in (torch.float16, torch.bfloat16):
        out = apply_function(_LogNdtrDiffScaled, a.float(), b.float(), width.detach().float())
        return out.to(dtype)
    return apply_function(_LogNdtrDiffScaled, a, b, width.detach())


def log_ndtr_diff(a, b) -> torch.Tensor:
    r""":math:`\log(\Phi(b) - \Phi(a))` for :math:`a \le b` (``-inf`` where ``a = b``).

    Accurate to a few ulps of the difference everywhere (the error in the log is an absolute
    error of about 1e-15 in float64): for ``a, b`` far in either tail, for narrow intervals
    ``b − a → 0`` (where the two CDF values cancel) and for bounds at ±inf. Differentiable in
    both arguments: :math:`\partial/\partial a = -\varphi(a)/(\Phi(b) - \Phi(a))`,
    :math:`\partial/\partial b = \varphi(b)/(\Phi(b) - \Phi(a))`, evaluated in log space.
    """
    (a, b), dtype = _prepare(a, b)
    _, _, kappa = _lower_frame(a, b)
    out = log_ndtr_diff_scaled(a, b, b - a) - 0.5 * kappa * kappa
    return out.to(dtype)


# ---------------------------------------------------------------------------------------------
# Φ⁻¹(exp(ℓ))
# ---------------------------------------------------------------------------------------------


def _exp_floor(dtype: torch.dtype) -> float:
    """The smallest ``ℓ`` for which ``ndtri(exp(ℓ))`` is used (``exp(ℓ)`` a normal number)."""
    return math.log(torch.finfo(dtype).tiny) + 8.0


def _tail_root(big_l: torch.Tensor, iterations: int = 4) -> torch.Tensor:
    r"""``y > 0`` with :math:`\log\Phi(-y) = -L` for :math:`L \ge 79` (so ``y ≳ 12.4``).

    Start: :math:`y_0^2 = 2L - \log(4\pi L)` from :math:`\log\Phi(-y) \approx -y^2/2 - \log y -
    \tfrac12\log 2\pi`. Newton on :math:`g(y) = \log R(y) - y^2/2 - \log\sqrt{2\pi} + L` with
    :math:`g'(y) = -1/R(y)` (R the Mills ratio). :math:`L - y^2/2` is formed as
    :math:`(\sqrt L - y/\sqrt2)(\sqrt L + y/\sqrt2)`, so nothing overflows up to the largest ``L``.
    """
    root_l = torch.sqrt(big_l)
    y = math.sqrt(2) * torch.sqrt(big_l - 0.5 * (torch.log(big_l) + math.log(4 * math.pi)))
    for _ in range(iterations):
        r = mills_ratio(y)
        g = torch.log(r) - LOG_SQRT_2PI + (root_l - y * _INV_SQRT2) * (root_l + y * _INV_SQRT2)
        y = y + g * r
    return y


def _ndtri_exp_forward(log_p: torch.Tensor) -> torch.Tensor:
    floor = _exp_floor(log_p.dtype)
    upper = log_p > -_LN2
    x_mid = ndtri(torch.exp(log_p.clamp(floor, -_LN2)))
    x_up = -ndtri(-torch.expm1(log_p.clamp(-_LN2, 0)))  # 1 − p to full relative accuracy
    x_tail = -_tail_root(-log_p.clamp(max=floor))
    x = torch.where(log_p >= floor, torch.where(upper, x_up, x_mid), x_tail)
    x = torch.where(log_p == -math.inf, -math.inf, x)
    return torch.where(log_p > 0, math.nan, x)


class _NdtriExp(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(log_p):
        return _ndtri_exp_forward(log_p)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        # dx/dℓ = Φ(x)/φ(x) = R(−x): exact at every x, including where exp(ℓ) underflows.
        (x,) = ctx.saved_tensors
        return grad * mills_ratio(-x)


def ndtri_exp(log_p) -> torch.Tensor:
    r""":math:`\Phi^{-1}(e^{\ell})`: the standard normal quantile of a probability given by its log.

    Accurate (float64: a few ulps) for every :math:`\ell \le 0`, from :math:`\ell` close to 0
    (quantiles near +∞, through :math:`-\mathrm{expm1}(\ell) = 1 - p`) down to
    :math:`\ell \approx -10^{308}` (quantiles near :math:`-1.4\cdot10^{154}`); ``-inf`` at
    :math:`\ell = -\infty`, ``+inf`` at 0, NaN above 0. Differentiable:
    :math:`dx/d\ell = \Phi(x)/\varphi(x)`.
    """
    (log_p,), dtype = _prepare(log_p)
    return apply_function(_NdtriExp, log_p).to(dtype)
