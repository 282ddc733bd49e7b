"""The reference table every generic test reads: one ``Example`` per distribution class.

Each example gives a factory, a float64 reference with scipy's frozen-distribution interface,
a grid of parameter points that includes the hard corners (tiny and huge scales, far locations),
points for the pathwise-gradient checks, and invalid-argument cases. ``test_has_examples`` fails
when a public distribution has no entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import mpmath
import numpy as np
from scipy import integrate, stats

import rsample as D

NAN, INF = math.nan, math.inf


@dataclass(frozen=True)
class Example:
    cls: type
    reference: Callable[..., object]
    grid: list[dict]
    grad_points: list[dict]
    invalid: list[tuple[dict, str]]
    make: Callable | None = None
    mode: Callable[..., float] | None = None
    fixed: dict = field(default_factory=dict)  # keyword arguments that are not parameters
    # (low, high) the fuzz tests draw a parameter from, where its constraint alone does not say
    # (a signed shape parameter) or the special functions are validated on a narrower range.
    fuzz_limits: dict = field(default_factory=dict)

    def build(self, **params):
        make = self.make or self.cls
        return make(**params, **self.fixed)

    @property
    def name(self) -> str:
        return self.cls.__name__


class Patched:
    """A scipy frozen distribution with some methods replaced (where torch's convention differs)."""

    def __init__(self, frozen, **methods):
        self._frozen, self._methods = frozen, methods

    def __getattr__(self, name):
        if name in self._methods:
            value = self._methods[name]
            return lambda *args: value
        return getattr(self._frozen, name)


class HalfNormalRef:
    """scipy's ``halfnorm.ppf`` computes ``ndtri((1 + q)/2)`` and loses small quantiles."""

    def __init__(self, scale):
        self._frozen, self.scale = stats.halfnorm(0, scale), scale

    def __getattr__(self, name):
        return getattr(self._frozen, name)

    def ppf(self, q):
        q = np.atleast_1d(np.asarray(q, dtype=float))
        out = [float(self.scale * mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf(v))) for v in q]
        return np.asarray(out) if len(out) > 1 else out[0]


class TanhNormalRef:
    """TanhNormal by change of variables from scipy's normal; moments by adaptive quadrature."""

    def __init__(self, loc, scale, low=-1.0, high=1.0):
        self.normal = stats.norm(loc, scale)
        self.mid, self.half = (high + low) / 2, (high - low) / 2
        self.low, self.high = low, high

    def _u(self, y):
        # atanh(t) = ½(log(1 + t) − log(1 − t)) with 1 ± t from the exact differences y − low
        # and high − y: rounding t itself would lose digits next to the bounds.
        y = np.asarray(y, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            one_plus = np.clip((y - self.low) / self.half, 0, 2)
            one_minus = np.clip((self.high - y) / self.half, 0, 2)
            return 0.5 * (np.log(one_plus) - np.log(one_minus))

    def support(self):
        return self.low, self.high

    def logpdf(self, y):
        u = self._u(y)
        log_det = 2 * (np.log(2) - np.abs(u) - np.log1p(np.exp(-2 * np.abs(u))))
        return self.normal.logpdf(u) - log_det - np.log(self.half)

    def pdf(self, y):
        return np.exp(self.logpdf(y))

    def cdf(self, y):
        return self.normal.cdf(self._u(y))

    def ppf(self, q):
        return self.mid + self.half * np.tanh(self.normal.ppf(q))

    def _expect(self, fn):
        mu, s = self.normal.mean(), self.normal.std()
        pts = [mu - 3 * s, 0.0, mu + 3 * s]
        lo, hi = mu - 13 * s, mu + 13 * s
        pts = sorted(p for p in pts if lo < p < hi)
        return integrate.quad(
            lambda u: fn(u) * self.normal.pdf(u),
            lo,
            hi,
            points=pts,
            limit=500,
            epsabs=1e-15,
            epsrel=1e-13,
        )[0]

    def mean(self):
        return self.mid + self.half * self._expect(np.tanh)

    def var(self):
        m = self._expect(np.tanh)
        return self.half**2 * self._expect(lambda u: (np.tanh(u) - m) ** 2)

    def entropy(self):
        log_det = self._expect(
            lambda u: 2 * (np.log(2) - np.abs(u) - np.log1p(np.exp(-2 * np.abs(u))))
        )
        return self.normal.entropy() + log_det + np.log(self.half)


def _beta_mode(a: float, b: float) -> float:
    if a > 1 and b > 1:
        return (a - 1) / (a + b - 2)
    if a == 1 and b == 1:
        return NAN
    return 0.0 if (a <= 1 and b >= 1) else 1.0


def _loc_scale_invalid() -> list[tuple[dict, str]]:
    return [
        ({"loc": 0.0, "scale": 0.0}, "scale"),
        ({"loc": 0.0, "scale": -1.0}, "scale"),
        ({"loc": 0.0, "scale": NAN}, "scale"),
        ({"loc": 0.0, "scale": INF}, "scale"),
        ({"loc": NAN, "scale": 1.0}, "loc"),
        ({"loc": -INF, "scale": 1.0}, "loc"),
    ]


LOC_SCALE_GRID = [
    {"loc": 0.0, "scale": 1.0},
    {"loc": 0.3, "scale": 1.5},
    {"loc": -4.0, "scale": 1e-3},
    {"loc": 1e3, "scale": 1e3},
    {"loc": -2e5, "scale": 1e-5},
]
LOC_SCALE_GRAD = [{"loc": 0.3, "scale": 1.5}, {"loc": -1.0, "scale": 0.2}]
SCALE_GRID = [{"scale": 1.0}, {"scale": 1.5}, {"scale": 1e-4}, {"scale": 1e4}]
SCALE_GRAD = [{"scale": 0.7}, {"scale": 2.0}]
SCALE_INVALID = [
    ({"scale": 0.0}, "scale"),
    ({"scale": -2.0}, "scale"),
    ({"scale": NAN}, "scale"),
    ({"scale": INF}, "scale"),
]


EXAMPLES: list[Example] = [
    Example(
        D.Normal,
        lambda loc, scale: stats.norm(loc, scale),
        LOC_SCALE_GRID,
        LOC_SCALE_GRAD,
        _loc_scale_invalid(),
        mode=lambda loc, scale: loc,
    ),
    Example(
        D.Laplace,
        lambda loc, scale: stats.laplace(loc, scale),
        LOC_SCALE_GRID,
        LOC_SCALE_GRAD,
        _loc_scale_invalid(),
        mode=lambda loc, scale: loc,
    ),
    Example(
        D.Cauchy,
        lambda loc, scale: Patched(stats.cauchy(loc, scale), var=INF),
        LOC_SCALE_GRID,
        LOC_SCALE_GRAD,
        _loc_scale_invalid(),
        mode=lambda loc, scale: loc,
    ),
    Example(
        D.Gumbel,
        lambda loc, scale: stats.gumbel_r(loc, scale),
        LOC_SCALE_GRID,
        LOC_SCALE_GRAD,
        _loc_scale_invalid(),
        mode=lambda loc, scale: loc,
    ),
    Example(
        D.Logistic,
        lambda loc, scale: stats.logistic(loc, scale),
        LOC_SCALE_GRID,
        LOC_SCALE_GRAD,
        _loc_scale_invalid(),
        mode=lambda loc, scale: loc,
    ),
    Example(
        D.LogNormal,
        lambda loc, scale: stats.lognorm(scale, 0, math.exp(loc)),
        [
            {"loc": 0.0, "scale": 1.0},
            {"loc": 0.3, "scale": 0.5},
            {"loc": -5.0, "scale": 1e-3},
            {"loc": 4.0, "scale": 3.0},
        ],
        [{"loc": 0.3, "scale": 0.5}, {"loc": -1.0, "scale": 0.2}],
        _loc_scale_invalid(),
        mode=lambda loc, scale: math.exp(loc - scale**2),
    ),
    Example(
        D.HalfNormal, HalfNormalRef, SCALE_GRID, SCALE_GRAD, SCALE_INVALID, mode=lambda scale: 0.0
    ),
    Example(
        D.HalfCauchy,
        lambda scale: Patched(stats.halfcauchy(0, scale), mean=INF, var=INF),
        SCALE_GRID,
        SCALE_GRAD,
        SCALE_INVALID,
        mode=lambda scale: 0.0,
    ),
    Example(
        D.Gamma,
        lambda concentration, rate: stats.gamma(concentration, scale=1 / rate),
        [
            {"concentration": 1.0, "rate": 1.0},
            {"concentration": 0.3, "rate": 2.0},
            {"concentration": 1e-3, "rate": 1.0},
            {"concentration": 2.5, "rate": 1e-3},
            {"concentration": 150.0, "rate": 1e3},
            {"concentration": 1e4, "rate": 0.5},
        ],
        [{"concentration": 0.5, "rate": 2.0}, {"concentration": 3.0, "rate": 0.7}],
        [
            ({"concentration": 0.0, "rate": 1.0}, "concentration"),
            ({"concentration": -1.0, "rate": 1.0}, "concentration"),
            ({"concentration": NAN, "rate": 1.0}, "concentration"),
            ({"concentration": INF, "rate": 1.0}, "concentration"),
            ({"concentration": 1.0, "rate": 0.0}, "rate"),
            ({"concentration": 1.0, "rate": NAN}, "rate"),
        ],
        mode=lambda concentration, rate: max(concentration - 1, 0) / rate,
    ),
    Example(
        D.Beta,
        lambda concentration1, concentration0: stats.beta(concentration1, concentration0),
        [
            {"concentration1": 2.0, "concentration0": 3.0},
            {"concentration1": 0.5, "concentration0": 0.5},
            {"concentration1": 1.0, "concentration0": 1.0},
            {"concentration1": 1e-2, "concentration0": 0.5},
            {"concentration1": 30.0, "concentration0": 0.3},
            {"concentration1": 0.1, "concentration0": 500.0},
            {"concentration1": 1e3, "concentration0": 2e3},
        ],
        [
            {"concentration1": 0.7, "concentration0": 2.0},
            {"concentration1": 3.0, "concentration0": 1.5},
        ],
        [
            ({"concentration1": 0.0, "concentration0": 1.0}, "concentration1"),
            ({"concentration1": NAN, "concentration0": 1.0}, "concentration1"),
            ({"concentration1": INF, "concentration0": 1.0}, "concentration1"),
            ({"concentration1": 1.0, "concentration0": -1.0}, "concentration0"),
            ({"concentration1": 1.0, "concentration0": NAN}, "concentration0"),
        ],
        mode=lambda concentration1, concentration0: _beta_mode(concentration1, concentration0),
        fuzz_limits={"concentration1": (1e-3, 1e5), "concentration0": (1e-3, 1e5)},
    ),
    Example(
        D.Chi2,
        lambda df: stats.chi2(df),
        [{"df": 1.0}, {"df": 0.01}, {"df": 7.0}, {"df": 3e3}],
        [{"df": 1.5}, {"df": 6.0}],
        [({"df": 0.0}, "df"), ({"df": -2.0}, "df"), ({"df": NAN}, "df"), ({"df": INF}, "df")],
        mode=lambda df: max(df - 2, 0),
    ),
    Example(
        D.Exponential,
        lambda rate: stats.expon(0, 1 / rate),
        [{"rate": 1.0}, {"rate": 0.3}, {"rate": 1e-4}, {"rate": 1e5}],
        [{"rate": 0.7}, {"rate": 2.0}],
        [
            ({"rate": 0.0}, "rate"),
            ({"rate": -1.0}, "rate"),
            ({"rate": NAN}, "rate"),
            ({"rate": INF}, "rate"),
        ],
        mode=lambda rate: 0.0,
    ),
    Example(
        D.Uniform,
        lambda low, high: stats.uniform(low, high - low),
        [
            {"low": 0.0, "high": 1.0},
            {"low": -3.0, "high": 1.5},
            {"low": 1e3, "high": 1e3 + 1e-3},
            {"low": -1e6, "high": 1e6},
        ],
        [{"low": 0.3, "high": 1.5}, {"low": -2.0, "high": -1.0}],
        [
            ({"low": 1.0, "high": 1.0}, "high - low"),
            ({"low": 2.0, "high": 1.0}, "high - low"),
            ({"low": NAN, "high": 1.0}, "low"),
            ({"low": 0.0, "high": INF}, "high"),
        ],
    ),
    Example(
        D.TanhNormal,
        TanhNormalRef,
        [
            {"loc": 0.0, "scale": 1.0},
            {"loc": 0.3, "scale": 0.5},
            {"loc": -2.0, "scale": 2.0},
            {"loc": 1.5, "scale": 1e-3},
            {"loc": 0.0, "scale": 5.0},
        ],
        [{"loc": 0.3, "scale": 0.5}, {"loc": -1.0, "scale": 1.5}],
        _loc_scale_invalid(),
    ),
    Example(
        D.TanhNormal,
        TanhNormalRef,
        [{"loc": 0.3, "scale": 0.5}, {"loc": 1.0, "scale": 2.0}],
        [{"loc": 0.3, "scale": 0.5}],
        [],
        fixed={"low": -2.0, "high": 3.0},
    ),
]


# Families added by later issues keep their entries in their own modules (one per group).
from examples_circular import EXAMPLES as _CIRCULAR  # noqa: E402
from examples_heavy_tailed import EXAMPLES as _HEAVY_TAILED  # noqa: E402
from examples_misc import EXAMPLES as _MISC  # noqa: E402
from examples_positive import EXAMPLES as _POSITIVE  # noqa: E402
from examples_truncated import EXAMPLES as _TRUNCATED  # noqa: E402
from examples_wrappers import EXAMPLES as _WRAPPERS  # noqa: E402

EXAMPLES += _POSITIVE + _HEAVY_TAILED + _MISC + _TRUNCATED + _CIRCULAR + _WRAPPERS


def examples_for(cls) -> list[Example]:
    return [e for e in EXAMPLES if e.cls is cls]
