"""Reference-table entries (Weibull, Pareto, GeneralizedPareto, Kumaraswamy).

See ``examples.py`` for the fields of ``Example``. References are scipy's ``weibull_min``,
``pareto`` and ``genpareto`` and a Kumaraswamy class of closed forms. Where scipy is not accurate
to 1e-10 (the Weibull variance cancels, ``Γ(1 + 2/k) − Γ(1 + 1/k)²``, and overflows to NaN for
small k; the Pareto CDF ``1 − (x/s)^{−α}`` cancels next to the scale) the value comes from the
closed form in mpmath at 40 digits for the handful of points the method checks compare, and
from a cancellation-free numpy form for the thousands of points of the goodness-of-fit tests.

Grids. Shapes go as small and large as the generic tests allow: float32 must hold the
quantiles from 1e-6 to 0.999 as finite numbers, which for Weibull's *positive* support (torch's;
0 is outside it) needs k ≥ 0.08 (the 0.999/1e-6 quantile ratio is 6.9e6^(1/k)) and for Pareto's
α = 0.05 a scale of 1e-25 (the 0.999 quantile is s·1000^20); k = 0.01 is tested in float64 in
``tests/distributions/continuous/test_weibull.py``. Kumaraswamy's b = 0.05 puts 14 % of the mass
within one float64 ulp of 1 (44 % in float32): draws stop at the largest float below 1, which
the goodness-of-fit tests check as an atom. GeneralizedPareto's concentration is fuzzed like a
location (exact 0, magnitudes from 1e-30 to 1e15 of either sign): the code has no range limit.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
from scipy import special, stats

import rsample as D
from examples import Example, Patched

NAN, INF = math.nan, math.inf
MP_DPS = 40
SMALL = 64  # arrays up to this size are evaluated in mpmath, larger ones in numpy


def _positive_invalid(*names: str) -> list[tuple[dict, str]]:
    """Zero, negative, NaN and infinite values of each positive parameter, the others at 1."""
    cases = []
    for name in names:
        for bad in (0.0, -1.0, NAN, INF):
            cases.append(({**dict.fromkeys(names, 1.0), name: bad}, name))
    return cases


def _vectorized(mp_fn, np_fn, x):
    """``mp_fn`` (a scalar mpmath closed form) on small inputs, ``np_fn`` on large ones."""
    arr = np.asarray(x, dtype=float)
    if arr.size > SMALL:
        return np_fn(arr)
    with mp.workdps(MP_DPS):
        out = np.array([float(mp_fn(mp.mpf(float(v)))) for v in arr.ravel()]).reshape(arr.shape)
    return out if out.ndim else float(out)


def _mp_xlogy(c, y):
    """``c·log y`` with ``0·log 0 = 0`` (mpmath)."""
    return mp.mpf(0) if c == 0 else c * mp.log(y)


def _np_log1mexp(t):
    """``log(1 − e^t)`` for ``t ≤ 0`` (numpy)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(t > -math.log(2), np.log(-np.expm1(t)), np.log1p(-np.exp(t)))


class WeibullRef:
    """scipy's ``weibull_min`` with the moments in mpmath: scipy's variance cancels (5e-13 at
    k = 100) and overflows to NaN at small k, where the true value is +inf in float64."""

    def __init__(self, scale, concentration):
        self._frozen = stats.weibull_min(concentration, scale=scale)
        self.scale, self.k = scale, concentration

    def __getattr__(self, name):
        return getattr(self._frozen, name)

    def mean(self):
        with mp.workdps(MP_DPS):
            return float(self.scale * mp.gamma(1 + 1 / mp.mpf(self.k)))

    def var(self):
        with mp.workdps(MP_DPS):
            t = 1 / mp.mpf(self.k)
            return float(mp.mpf(self.scale) ** 2 * (mp.gamma(1 + 2 * t) - mp.gamma(1 + t) ** 2))


class ParetoRef:
    """scipy's ``pareto`` with the CDF ``−expm1(−α log(x/s))`` (scipy's ``1 − (x/s)^{−α}``
    loses relative accuracy next to ``s``: 1e-11 at ``x = s(1 + 1e-12)``, 1e-3 at tiny s)."""

    def __init__(self, scale, alpha):
        self._frozen, self.scale, self.alpha = stats.pareto(alpha, scale=scale), scale, alpha

    def __getattr__(self, name):
        return getattr(self._frozen, name)

    def cdf(self, x):
        s, a = self.scale, self.alpha

        def one(v):
            return -mp.expm1(-a * mp.log(v / s)) if v >= s else mp.mpf(0)

        def many(v):
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.log1p(np.maximum(v - s, 0) / s)
            return -np.expm1(-a * t)

        return _vectorized(one, many, x)


class KumaraswamyRef:
    """Closed forms: ``log p = log(ab) + (a − 1) log x + (b − 1) log(1 − x^a)``,
    ``F = 1 − (1 − x^a)^b``, ``F⁻¹(q) = (1 − (1 − q)^{1/b})^{1/a}``, ``E[X^n] = b B(1 + n/a, b)``
    and the entropy ``(1 − 1/b) + (1 − 1/a) H_b − log(ab)`` (mpmath's harmonic number), in mpmath
    at 40 digits; numpy (``log1mexp`` forms) for the quadrature and goodness-of-fit tests."""

    def __init__(self, concentration1, concentration0):
        self.a, self.b = concentration1, concentration0

    def support(self):
        return 0.0, 1.0

    def logpdf(self, x):
        a, b = self.a, self.b

        def one(v):
            if not 0 <= v <= 1:
                return -mp.inf
            log_1m = mp.log(1 - v**a) if v < 1 else -mp.inf
            term_b = mp.mpf(0) if b == 1 else (b - 1) * log_1m
            return mp.log(a * b) + _mp_xlogy(a - 1, v) + term_b

        def many(v):
            inside = (v >= 0) & (v <= 1)
            v = np.where(inside, v, 0.5)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = a * np.log(v)
                out = (
                    math.log(a * b)
                    + special.xlogy(a - 1, v)
                    + np.where(b == 1, 0.0, (b - 1) * _np_log1mexp(t))
                )
            return np.where(inside, out, -np.inf)

        return _vectorized(one, many, x)

    def pdf(self, x):
        a, b = self.a, self.b
        v = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = (
                math.log(a * b)
                + special.xlogy(a - 1, v)
                + np.where(b == 1, 0.0, (b - 1) * _np_log1mexp(a * np.log(v)))
            )
        return np.exp(log_p)

    def sf(self, x):
        a, b = self.a, self.b

        def one(v):
            return (1 - mp.power(min(max(v, 0), 1), a)) ** b

        def many(v):
            v = np.clip(v, 0, 1)
            with np.errstate(divide="ignore"):
                return np.exp(b * _np_log1mexp(a * np.log(v)))

        return _vectorized(one, many, x)

    def cdf(self, x):
        a, b = self.a, self.b

        def one(v):
            if v <= 0:
                return mp.mpf(0)
            return 1 - (1 - mp.power(min(v, 1), a)) ** b

        def many(v):
            v = np.clip(v, 0, 1)
            with np.errstate(divide="ignore"):
                return -np.expm1(b * _np_log1mexp(a * np.log(v)))

        return _vectorized(one, many, x)

    def ppf(self, q):
        a, b = self.a, self.b

        def one(u):
            return (1 - (1 - u) ** (1 / mp.mpf(b))) ** (1 / mp.mpf(a))

        def many(u):
            with np.errstate(divide="ignore"):
                return np.exp(_np_log1mexp(np.log1p(-u) / b) / a)

        return _vectorized(one, many, q)

    def _moment(self, n):
        a, b = mp.mpf(self.a), mp.mpf(self.b)
        return b * mp.beta(1 + n / a, b)

    def mean(self):
        with mp.workdps(MP_DPS):
            return float(self._moment(1))

    def var(self):
        with mp.workdps(MP_DPS):
            return float(self._moment(2) - self._moment(1) ** 2)

    def entropy(self):
        with mp.workdps(MP_DPS):
            a, b = mp.mpf(self.a), mp.mpf(self.b)
            return float((1 - 1 / b) + (1 - 1 / a) * mp.harmonic(b) - mp.log(a * b))


def _gp_reference(loc, scale, concentration):
    """scipy's ``genpareto``; the mean is NaN for ξ ≥ 1 (torch's convention; scipy: +inf)."""
    frozen = stats.genpareto(concentration, loc, scale)
    return Patched(frozen, mean=NAN) if concentration >= 1 else frozen


def _weibull_mode(scale, concentration):
    k = concentration
    return scale * ((k - 1) / k) ** (1 / k) if k > 1 else 0.0


def _gp_mode(loc, scale, concentration):
    return loc - scale / concentration if concentration < -1 else loc


def _kumaraswamy_mode(concentration1, concentration0):
    a, b = concentration1, concentration0
    if a > 1 and b > 1:
        return ((a - 1) / (a * b - 1)) ** (1 / a)
    if (a < 1 and b < 1) or (a == 1 and b == 1):
        return NAN
    return 0.0 if b > 1 or (b == 1 and a < 1) else 1.0


_GP_SHAPES = (-0.9, -1e-9, 0.0, 1e-9, 0.5, 3.0)

EXAMPLES: list[Example] = [
    Example(
        D.Weibull,
        WeibullRef,
        [
            {"scale": 1e25, "concentration": 0.1},
            {"scale": 1.0, "concentration": 0.5},
            {"scale": 2.0, "concentration": 1.0},
            {"scale": 0.3, "concentration": 3.5},
            {"scale": 1e-3, "concentration": 12.0},
            {"scale": 1e3, "concentration": 100.0},
        ],
        [{"scale": 1.5, "concentration": 0.7}, {"scale": 0.8, "concentration": 3.0}],
        _positive_invalid("scale", "concentration"),
        mode=_weibull_mode,
    ),
    Example(
        D.Pareto,
        ParetoRef,
        [
            {"scale": 1e-25, "alpha": 0.05},
            {"scale": 2.0, "alpha": 1.0},
            {"scale": 1e-3, "alpha": 2.5},
            {"scale": 1.0, "alpha": 7.0},
            {"scale": 1e3, "alpha": 50.0},
        ],
        # α ≥ 5: the per-draw gradient x·E/α² needs a finite second moment for its error bar,
        # and quadrature of sin(x)·p(x) to infinity is slow for heavier tails.
        [{"scale": 0.5, "alpha": 8.0}, {"scale": 1.2, "alpha": 5.0}],
        _positive_invalid("scale", "alpha"),
        mode=lambda scale, alpha: scale,
    ),
    Example(
        D.GeneralizedPareto,
        _gp_reference,
        [{"loc": 0.3, "scale": 1.5, "concentration": xi} for xi in _GP_SHAPES]
        + [
            {"loc": -2.0, "scale": 1e-3, "concentration": -0.3},
            {"loc": 1e3, "scale": 50.0, "concentration": 0.2},
            {"loc": 0.0, "scale": 1e4, "concentration": -2.5},
        ],
        # The first has a bounded support (test_validation's out-of-support value is high + 1);
        # ξ = 0 exercises the series branch of the gradient in ξ (ξ > 0 takes the same path as
        # ξ < 0, and quadrature of sin(x)·p(x) over its heavy tail is slow).
        [
            {"loc": -1.0, "scale": 0.5, "concentration": -0.4},
            {"loc": 0.0, "scale": 1.0, "concentration": 0.0},
        ],
        [
            ({"loc": 0.0, "scale": 0.0, "concentration": 0.1}, "scale"),
            ({"loc": 0.0, "scale": -1.0, "concentration": 0.1}, "scale"),
            ({"loc": 0.0, "scale": NAN, "concentration": 0.1}, "scale"),
            ({"loc": 0.0, "scale": INF, "concentration": 0.1}, "scale"),
            ({"loc": NAN, "scale": 1.0, "concentration": 0.1}, "loc"),
            ({"loc": -INF, "scale": 1.0, "concentration": 0.1}, "loc"),
            ({"loc": 0.0, "scale": 1.0, "concentration": NAN}, "concentration"),
            ({"loc": 0.0, "scale": 1.0, "concentration": INF}, "concentration"),
        ],
        mode=_gp_mode,
    ),
    Example(
        D.Kumaraswamy,
        KumaraswamyRef,
        [
            {"concentration1": a, "concentration0": b}
            for a in (0.05, 1.0, 30.0)
            for b in (0.05, 1.0, 30.0)
        ],
        [
            {"concentration1": 2.0, "concentration0": 3.0},
            {"concentration1": 0.5, "concentration0": 0.8},
        ],
        _positive_invalid("concentration1", "concentration0"),
        mode=_kumaraswamy_mode,
    ),
]
