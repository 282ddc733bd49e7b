"""Reference-table entries (StudentT, FisherSnedecor, BetaPrime, InverseGamma).

See ``examples.py`` for the fields of ``Example``. References are scipy's ``t``, ``f``,
``betaprime`` and ``invgamma``, with the moments patched to torch's conventions where torch
has the class (NaN vs inf where a moment does not exist).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy import special, stats

import rsample as D
from examples import Example

NAN, INF = math.nan, math.inf

# The fuzz range of the beta shapes: rsample.special's incomplete beta is validated against
# mpmath for a, b in [1e-4, 1e4] (tests/special/test_beta_functions.py), and the F shapes are
# halved degrees of freedom.
BETA_SHAPE_LIMITS = (1e-4, 1e4)
F_DF_LIMITS = (2e-4, 2e4)


def _positive_invalid(*names: str) -> list[tuple[dict, str]]:
    """Zero, negative, NaN and infinite values of each positive parameter, the others at 1."""
    cases = []
    for name in names:
        for bad in (0.0, -1.0, NAN, INF):
            cases.append(({**dict.fromkeys(names, 1.0), name: bad}, name))
    return cases


def _vectorize(fn, values):
    values = np.asarray(values, dtype=float)
    out = np.array([fn(float(v)) for v in values.ravel()]).reshape(values.shape)
    return out if out.ndim else float(out)


def _solve_log_argument(log_tail, log_target: float, guess: float) -> mpmath.mpf:
    """``log w`` with ``log_tail(log w) = log_target`` (mpmath secant from ``guess``)."""
    with mpmath.workdps(40):
        return mpmath.findroot(lambda lw: log_tail(lw) - log_target, mpmath.mpf(guess))


class _Reference:
    """A scipy frozen distribution whose ``logpdf``/``pdf`` are the closed form in numpy.

    scipy's frozen ``pdf`` costs ~50 µs of argument handling per scalar call, and the gradient
    tests' quadrature calls it ~10⁵ times per case; the closed forms cost ~5 µs.
    """

    def __init__(self, frozen):
        self._frozen = frozen

    def __getattr__(self, name):
        return getattr(self._frozen, name)

    def _logpdf(self, x):
        raise NotImplementedError

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            out = self._logpdf(x)
        return out if np.ndim(out) else float(out)

    def pdf(self, x):
        return np.exp(self.logpdf(x))


class StudentTRef(_Reference):
    """scipy's ``t`` with torch's moment conventions; the far tails (``|z| > 1e100``, where
    scipy's ``stdtr``/``stdtrit`` lose ``t²`` to overflow: ``t.ppf(1e-12, 0.05)`` is off by 80
    orders of magnitude) from mpmath's incomplete beta at 40 digits."""

    FAR = 1e100

    def __init__(self, df, loc, scale):
        super().__init__(stats.t(df, loc, scale))
        self.df, self.loc, self.scale = df, loc, scale
        self._log_norm = math.log(scale) + 0.5 * math.log(df) + special.betaln(df / 2, 0.5)

    def mean(self):
        return self.loc if self.df > 1 else NAN

    def var(self):
        if self.df > 2:
            return self.scale**2 * self.df / (self.df - 2)
        return INF if self.df > 1 else NAN

    def _logpdf(self, x):
        r = np.abs(x - self.loc) / (self.scale * math.sqrt(self.df))
        big = r > 1e100  # log(1 + r²) = 2 log r + log1p(r⁻²) before r² overflows
        log1p_r2 = np.where(big, 2 * np.log(r) + np.log1p(1 / r**2), np.log1p(r**2))
        return -self._log_norm - 0.5 * (self.df + 1) * log1p_r2

    def _half_tail(self, log_x):
        """log(½ I_x(ν/2, ½)), the two-sided tail at x = ν/(ν + z²)."""
        a = mpmath.mpf(self.df) / 2
        return mpmath.log(mpmath.betainc(a, 0.5, 0, mpmath.exp(log_x), regularized=True) / 2)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        out = np.array(self._frozen.cdf(x), dtype=float, ndmin=1)
        z = np.atleast_1d((x - self.loc) / self.scale)
        for i in np.flatnonzero((np.abs(z) > self.FAR) & np.isfinite(z)):
            with mpmath.workdps(40):
                nu = mpmath.mpf(self.df)
                tail = mpmath.exp(self._half_tail(mpmath.log(nu / (nu + mpmath.mpf(z[i]) ** 2))))
                out[i] = float(tail if z[i] < 0 else 1 - tail)
        return out.reshape(x.shape) if x.ndim else float(out[0])

    def ppf(self, q):
        def one(p):
            v = float(self._frozen.ppf(p))
            if 0 < p < 1 and not abs(v - self.loc) < self.FAR * self.scale:
                tau = min(p, 1 - p)
                a = self.df / 2
                guess = (math.log(2 * tau) + math.log(a) + special.betaln(a, 0.5)) / a
                lx = _solve_log_argument(self._half_tail, math.log(tau), guess)
                with mpmath.workdps(40):
                    x = mpmath.exp(lx)
                    mag = mpmath.sqrt(self.df * (1 - x) / x) * self.scale
                    v = float(self.loc - mag if p < 0.5 else self.loc + mag)
            return v

        return _vectorize(one, q)


class BetaPrimeRef(_Reference):
    """scipy's ``betaprime`` with the entropy in closed form at 50 digits (scipy integrates it
    numerically) and quantiles beyond 1e±300 from mpmath (scipy returns 4.5e307 where the
    quantile overflows)."""

    def __init__(self, concentration1, concentration0):
        a, b = concentration1, concentration0
        super().__init__(stats.betaprime(a, b))
        self.a, self.b = a, b

    def _logpdf(self, x):
        a, b = self.a, self.b
        out = special.xlogy(a - 1, x) - (a + b) * np.log1p(x) - special.betaln(a, b)
        return np.where(x > 0, out, -INF)

    def entropy(self):
        with mpmath.workdps(50):
            a, b = mpmath.mpf(self.a), mpmath.mpf(self.b)
            h = (
                mpmath.log(mpmath.beta(a, b))
                - (a - 1) * mpmath.digamma(a)
                - (b + 1) * mpmath.digamma(b)
                + (a + b) * mpmath.digamma(a + b)
            )
            return float(h)

    def ppf(self, q):
        a, b = self.a, self.b

        def log_i(first, second):
            return lambda lw: mpmath.log(
                mpmath.betainc(first, second, 0, mpmath.exp(lw), regularized=True)
            )

        def one(p):
            v = float(self._frozen.ppf(p))
            if not 0 < p < 1 or 1e-300 < v < 1e300:
                return v
            if v >= 1e300:  # upper tail: 1 − p = I_w(b, a), w = 1/(1 + x)
                tau, first, second = 1 - p, b, a
            else:  # lower tail: p = I_w(a, b), w = x/(1 + x)
                tau, first, second = p, a, b
            guess = (math.log(tau) + math.log(first) + special.betaln(a, b)) / first
            lw = _solve_log_argument(log_i(first, second), math.log(tau), guess)
            with mpmath.workdps(40):
                w = mpmath.exp(lw)
                return float((1 - w) / w if v >= 1e300 else w / (1 - w))

        return _vectorize(one, q)


class FisherSnedecorRef(_Reference):
    """scipy's ``f`` with torch's moment conventions (NaN where a moment does not exist)."""

    def __init__(self, df1, df2):
        super().__init__(stats.f(df1, df2))
        self.df1, self.df2 = df1, df2

    def _logpdf(self, x):
        a, b, r = self.df1 / 2, self.df2 / 2, self.df1 / self.df2
        out = (
            a * math.log(r)
            + special.xlogy(a - 1, x)
            - (a + b) * np.log1p(r * x)
            - special.betaln(a, b)
        )
        # at 0: the limit of x^{a−1} (+inf, finite or 0 as d₁ <, =, > 2), as scipy
        at_zero = INF if a < 1 else (a * math.log(r) - special.betaln(a, b) if a == 1 else -INF)
        return np.where(x > 0, out, np.where(x == 0, at_zero, -INF))

    def mean(self):
        return self.df2 / (self.df2 - 2) if self.df2 > 2 else NAN

    def var(self):
        return self._frozen.var() if self.df2 > 4 else NAN


class InverseGammaRef(_Reference):
    """scipy's ``invgamma(α, scale=β)``."""

    def __init__(self, concentration, rate):
        super().__init__(stats.invgamma(concentration, scale=rate))
        self.alpha, self.beta = concentration, rate

    def _logpdf(self, x):
        a, b = self.alpha, self.beta
        out = a * math.log(b) - special.gammaln(a) - (a + 1) * np.log(x) - b / x
        return np.where(x > 0, out, -INF)


def _fisher_snedecor_mode(df1, df2):
    return (df1 - 2) / df1 * df2 / (df2 + 2) if df1 > 2 else NAN


EXAMPLES: list[Example] = [
    Example(
        D.StudentT,
        StudentTRef,
        [
            {"df": 1.0, "loc": 0.0, "scale": 1.0},
            {"df": 0.05, "loc": 0.0, "scale": 1.0},
            {"df": 2.5, "loc": -4.0, "scale": 1e-3},
            {"df": 30.0, "loc": 1e3, "scale": 1e3},
            {"df": 1e5, "loc": 0.3, "scale": 1.5},
            {"df": 4.5, "loc": -2e5, "scale": 1e-5},
            {"df": 0.7, "loc": 0.0, "scale": 1e20},
        ],
        [
            {"df": 3.0, "loc": 0.3, "scale": 1.5},
            {"df": 50.0, "loc": -1.0, "scale": 0.2},
        ],
        [
            *_positive_invalid("df", "scale"),
            ({"df": 1.0, "loc": NAN, "scale": 1.0}, "loc"),
            ({"df": 1.0, "loc": -INF, "scale": 1.0}, "loc"),
        ],
        mode=lambda df, loc, scale: loc,
    ),
    Example(
        D.FisherSnedecor,
        FisherSnedecorRef,
        [
            {"df1": 1.0, "df2": 1.0},
            {"df1": 0.05, "df2": 3.0},
            {"df1": 2.5, "df2": 30.0},
            {"df1": 30.0, "df2": 0.05},
            {"df1": 5.0, "df2": 1e5},
            {"df1": 1e5, "df2": 1e5},
            {"df1": 2e3, "df2": 7.0},
        ],
        [{"df1": 3.0, "df2": 7.0}, {"df1": 0.8, "df2": 2.5}],
        _positive_invalid("df1", "df2"),
        mode=_fisher_snedecor_mode,
        fuzz_limits={"df1": F_DF_LIMITS, "df2": F_DF_LIMITS},
    ),
    Example(
        D.BetaPrime,
        BetaPrimeRef,
        [
            {"concentration1": 1.0, "concentration0": 1.0},
            {"concentration1": 0.01, "concentration0": 2.0},
            {"concentration1": 2.5, "concentration0": 0.01},
            {"concentration1": 1e3, "concentration0": 1e3},
            {"concentration1": 0.5, "concentration0": 1e3},
            {"concentration1": 1e3, "concentration0": 5.0},
            {"concentration1": 0.02, "concentration0": 0.03},
        ],
        [
            {"concentration1": 2.0, "concentration0": 3.5},
            {"concentration1": 0.6, "concentration0": 1.5},
        ],
        _positive_invalid("concentration1", "concentration0"),
        mode=lambda concentration1, concentration0: (
            max(concentration1 - 1, 0) / (concentration0 + 1)
        ),
        fuzz_limits={
            "concentration1": BETA_SHAPE_LIMITS,
            "concentration0": BETA_SHAPE_LIMITS,
        },
    ),
    Example(
        D.InverseGamma,
        InverseGammaRef,
        [
            {"concentration": 1.0, "rate": 1.0},
            {"concentration": 0.01, "rate": 1.0},
            {"concentration": 2.5, "rate": 1e-3},
            {"concentration": 150.0, "rate": 1e3},
            {"concentration": 1e3, "rate": 0.5},
            {"concentration": 3.0, "rate": 1e20},
            {"concentration": 0.3, "rate": 1e-20},
        ],
        [
            {"concentration": 3.0, "rate": 2.0},
            {"concentration": 0.7, "rate": 0.5},
        ],
        _positive_invalid("concentration", "rate"),
        mode=lambda concentration, rate: rate / (concentration + 1),
    ),
]
