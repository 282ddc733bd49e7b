"""Reference-table entries for the issue-4 families (group: circular).

See ``examples.py`` for the fields of ``Example``.

``VonMisesRef`` is ``scipy.stats.vonmises(κ, loc)`` on the period ``[loc − π, loc + π]`` (the
convention of ``VonMises.cdf``/``icdf``), with its distribution function, circular variance and
entropy from 30-digit mpmath, and its quantiles by Newton's method on a float64 quadrature of
the CDF (~1e-14 relative, checked against mpmath in ``tests/special``): scipy's
``vonmises.cdf`` uses Hill's normal approximation above κ = 50 and errs by 2e-6 at κ = 100
(relative, at the median), and its series loses the lower tail (absolute error ~2e-13). Three
hooks in ``tests/test_generic.py`` handle angles: ``draw_cdf`` is the distribution function of
the draws as the sampler returns them (reduced into ``[−π, π)``, for the goodness-of-fit tests);
``period`` makes the gradient tests use test functions continuous on the circle (the pathwise
gradient of wrapped draws is that of ``E[f(X)]`` only for such ``f``); and ``support()`` is the
quadrature window ``[loc − π, loc + π]`` while ``VonMises.support`` is the real line, so the
out-of-support test only tries values outside the distribution's own support.
"""

from __future__ import annotations

import functools
import math
import warnings

import mpmath
import numpy as np
from scipy import integrate, special, stats

import rsample as D
from examples import Example

NAN, INF = math.nan, math.inf
_MP_DPS = 30


def _reduce(x):
    """Angles into [−π, π)."""
    return np.remainder(np.asarray(x, float) + math.pi, 2 * math.pi) - math.pi


def _lower_cdf64(kappa: float, delta: float) -> float:
    """G(−π + δ) for δ ∈ [0, π] in float64 quadrature, to ~1e-14 relative: with s = t + π,
    G = e^{−2κ cos²(δ/2)}/(2π i0e(κ)) ∫_0^δ e^{κ(cos δ − cos s)} ds, the exponent formed as
    −2κ sin((δ+s)/2) sin((δ−s)/2) (no cancellation) and the integral split on the scale
    1/(κ sin δ + 1) on which the integrand decays below s = δ."""
    if delta <= 0:
        return 0.0

    def integrand(s):
        return math.exp(-2 * kappa * math.sin((delta + s) / 2) * math.sin((delta - s) / 2))

    lam = kappa * math.sin(delta) + 1
    cuts = sorted({delta - c / lam for c in (40, 15, 5, 1.5, 0.4) if delta - c / lam > 0})
    with warnings.catch_warnings():  # "roundoff detected": the result is then at ~1e-15
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(
            integrand, 0.0, delta, points=cuts or None, limit=200, epsabs=0, epsrel=5e-14
        )
    pref = -2 * kappa * math.cos(delta / 2) ** 2 - math.log(2 * math.pi * special.i0e(kappa))
    return value * math.exp(pref)


def _centred_cdf64(kappa: float, y: float) -> float:
    """G(y) for y ∈ [−π, π] (δ = π − |y| to full relative accuracy, π's rounding included)."""
    delta = float(mpmath.mpf(abs(y)) * -1 + mpmath.pi)
    lower = _lower_cdf64(kappa, delta)
    return 1 - lower if y > 0 else lower


@functools.cache
def _centred_ppf(kappa: float, q: float) -> float:
    """G⁻¹(q): Newton's method on the float64 quadrature CDF, safeguarded by bisection."""
    if q <= 0 or q >= 1:
        return math.copysign(math.pi, q - 0.5)
    upper = q > 0.5
    target = 1 - q if upper else q
    lo, hi = 0.0, math.pi  # δ = π + y on the lower half
    if kappa < 1:
        guess = 2 * math.pi * target  # nearly uniform
    else:
        guess = math.pi - min(math.pi, -float(special.ndtri(target)) / math.sqrt(kappa))
    delta = min(max(guess, 1e-300), math.pi)
    log_norm = math.log(2 * math.pi * special.i0e(kappa))
    for _ in range(200):
        value = _lower_cdf64(kappa, delta)
        if value > target:
            hi = delta
        else:
            lo = delta
        density = math.exp(-2 * kappa * math.cos(delta / 2) ** 2 - log_norm)
        new = delta - (value - target) / density if density > 0 else -1.0
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if lo > 0 or hi < 1e-300 else hi * 1e-3
        if abs(new - delta) <= 1e-15 * delta:
            delta = new
            break
        delta = new
    y = delta - math.pi
    return -y if upper else y


def _mp_centred_cdf(kappa: float, y) -> mpmath.mpf:
    """G(y; κ) = ∫_{−π}^{y} e^{κ cos t} dt / (2π I0(κ)) for y ∈ [−π, π] in 30-digit mpmath:
    tanh-sinh quadrature of e^{κ(cos t − cos y)}, split at distances c/λ below y
    (λ = κ|sin y| + 1, the scale on which the integrand decays), so deep tails keep their
    digits."""
    with mpmath.workdps(_MP_DPS):
        y = mpmath.mpf(y)
        if y > 0:
            return 1 - _mp_centred_cdf(kappa, -y)
        k = mpmath.mpf(kappa)
        cy = mpmath.cos(y)
        lam = k * abs(mpmath.sin(y)) + 1
        cuts = [y - mpmath.mpf(c) / lam for c in (60, 15, 4, 1)]
        points = [-mpmath.pi] + [c for c in cuts if c > -mpmath.pi] + [y]
        value = mpmath.quad(lambda t: mpmath.exp(k * (mpmath.cos(t) - cy)), points)
        log_norm = mpmath.log(2 * mpmath.pi * mpmath.besseli(0, k)) - k
        return value * mpmath.exp(k * (cy - 1) - log_norm)


class VonMisesRef:
    """``scipy.stats.vonmises(κ, loc)`` on ``[loc − π, loc + π]``, with mpmath where scipy is
    not accurate to 1e-10 (see the module docstring)."""

    period = (-math.pi, math.pi)  # draws are reduced into this interval

    def __init__(self, loc: float, concentration: float):
        self.loc, self.kappa = float(loc), float(concentration)

    def support(self):
        """The period centred at ``loc`` (quadrature window); ``log_prob`` takes any real."""
        return self.loc - math.pi, self.loc + math.pi

    def logpdf(self, x):
        d = np.asarray(x, float) - self.loc
        return -2 * self.kappa * np.sin(d / 2) ** 2 - np.log(2 * math.pi * special.i0e(self.kappa))

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        """G at ``x − loc`` reduced into [−π, π], in 30-digit mpmath (x − loc formed exactly)."""
        x = np.asarray(x, float)
        out = np.array([float(self._mp_cdf(v)) for v in x.ravel()])
        return out.reshape(x.shape) if x.ndim else float(out[0])

    def _mp_cdf(self, x: float) -> mpmath.mpf:
        with mpmath.workdps(_MP_DPS):
            y = mpmath.mpf(x) - mpmath.mpf(self.loc)
            y -= 2 * mpmath.pi * mpmath.nint(y / (2 * mpmath.pi))
            return _mp_centred_cdf(self.kappa, y)

    def ppf(self, q):
        q = np.asarray(q, float)
        out = np.array([self.loc + _centred_ppf(self.kappa, float(v)) for v in q.ravel()])
        return out.reshape(q.shape) if q.ndim else float(out[0])

    def draw_cdf(self, x):
        """``P(X ≤ x)`` for the draws ``X ∈ [−π, π)`` (scipy's CDF is accurate enough here)."""
        x = np.clip(np.asarray(x, float), -math.pi, math.pi)
        start = stats.vonmises.cdf(_reduce(-math.pi - self.loc), self.kappa)
        at = stats.vonmises.cdf(_reduce(x - self.loc), self.kappa)
        at = np.where(x >= math.pi, start + 1.0, at)  # the end of the period: everything
        return np.clip(np.remainder(at - start, 1.0) + np.where(x >= math.pi, 1.0, 0.0), 0, 1)

    def mean(self):
        return self.loc

    def var(self):
        with mpmath.workdps(_MP_DPS):
            k = mpmath.mpf(self.kappa)
            return float(1 - mpmath.besseli(1, k) / mpmath.besseli(0, k))

    def entropy(self):
        with mpmath.workdps(_MP_DPS):
            k = mpmath.mpf(self.kappa)
            i0, i1 = mpmath.besseli(0, k), mpmath.besseli(1, k)
            return float(mpmath.log(2 * mpmath.pi * i0) - k * i1 / i0)


EXAMPLES: list = [
    Example(
        D.VonMises,
        VonMisesRef,
        [
            {"loc": 0.0, "concentration": 1.0},
            {"loc": 0.5, "concentration": 1.2e-4},
            {"loc": -2.0, "concentration": 0.1},
            {"loc": 1.0, "concentration": 10.0},
            {"loc": 4.0, "concentration": 3.0},
            {"loc": -3.0, "concentration": 50.0},
            {"loc": 2.5, "concentration": 1e3},
            {"loc": -0.7, "concentration": 1e4},
        ],
        [{"loc": 0.3, "concentration": 2.0}, {"loc": -1.0, "concentration": 0.4}],
        [
            ({"loc": 0.0, "concentration": 0.0}, "concentration"),
            ({"loc": 0.0, "concentration": -1.0}, "concentration"),
            ({"loc": 0.0, "concentration": NAN}, "concentration"),
            ({"loc": 0.0, "concentration": INF}, "concentration"),
            ({"loc": NAN, "concentration": 1.0}, "loc"),
            ({"loc": INF, "concentration": 1.0}, "loc"),
        ],
        mode=lambda loc, concentration: loc,
    )
]
