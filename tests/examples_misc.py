"""Reference-table entries (InverseGaussian, GeneralizedNormal, ContinuousBernoulli).

See ``examples.py`` for the fields of ``Example``. References: scipy's ``invgauss`` (as
``invgauss(μ/λ, scale=λ)``) and ``gennorm``; for the continuous Bernoulli, which scipy lacks, the
closed forms evaluated by mpmath (:class:`ContinuousBernoulliRef`).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy import special, stats

import rsample as D
from examples import Example

NAN, INF = math.nan, math.inf


def _positive_invalid(names: tuple[str, ...], good: dict) -> list[tuple[dict, str]]:
    return [({**good, name: bad}, name) for name in names for bad in (0.0, -1.0, NAN, INF)]


class ContinuousBernoulliRef:
    r"""The continuous Bernoulli from its closed forms at 40+ significant digits (mpmath):
    :math:`p(x) = \eta e^{\eta x}/\mathrm{expm1}(\eta)`, :math:`F = \mathrm{expm1}(\eta x)/
    \mathrm{expm1}(\eta)`, :math:`F^{-1}(u) = \log(1 + u\,\mathrm{expm1}(\eta))/\eta`, mean
    :math:`1/(1 - e^{-\eta}) - 1/\eta`, variance :math:`1/\eta^2 - e^\eta/\mathrm{expm1}(\eta)^2`,
    entropy :math:`-E[\log p]`. These forms cancel to :math:`O(\eta^3)` of their terms as
    :math:`\eta \to 0`; the working precision grows accordingly.

    Arrays of more than ``MPMATH_MAX`` values (goodness-of-fit tests on 20 000 draws) are
    evaluated in numpy float64 with the same closed forms, reflected for η > 0 so that nothing
    overflows (relative error ~1e-15, far below what a KS test resolves).
    """

    MPMATH_MAX = 64

    def __init__(self, probs=None, logits=None):
        with mpmath.workdps(60):
            if probs is not None:
                lam = mpmath.mpf(probs)
                self.eta = mpmath.log(lam) - mpmath.log1p(-lam)
            else:
                self.eta = mpmath.mpf(logits)
        lost = 0 if self.eta == 0 else max(0.0, -float(mpmath.log10(abs(self.eta))))
        self.dps = 40 + int(3 * lost)
        self.eta_f = float(self.eta)

    def support(self):
        return 0.0, 1.0

    def _map(self, fn, values, fallback):
        values = np.asarray(values, dtype=float)
        if values.size > self.MPMATH_MAX:
            with np.errstate(all="ignore"):
                return fallback(values)
        with mpmath.workdps(self.dps):
            out = np.array([float(fn(mpmath.mpf(float(v)))) for v in values.ravel()])
        out = out.reshape(values.shape)
        return out if out.ndim else float(out)

    def logpdf(self, x):
        e = self.eta

        def one(v):
            if not 0 <= v <= 1:
                return -mpmath.inf
            return mpmath.mpf(0) if e == 0 else mpmath.log(e / mpmath.expm1(e)) + e * v

        def fast(v):
            s = abs(self.eta_f)
            d = np.where(self.eta_f > 0, 1 - v, v)
            lp = np.log(s) - s * d - np.log(-np.expm1(-s)) if s > 0 else np.zeros_like(v)
            return np.where((v < 0) | (v > 1), -INF, lp)

        return self._map(one, x, fast)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        e = self.eta

        def one(v):
            v = min(max(v, mpmath.mpf(0)), mpmath.mpf(1))
            return v if e == 0 else mpmath.expm1(e * v) / mpmath.expm1(e)

        def fast(v):
            v, e_f = np.clip(v, 0, 1), self.eta_f
            if e_f == 0:
                return v
            if e_f < 0:
                return np.expm1(e_f * v) / np.expm1(e_f)
            return np.exp(e_f * (v - 1)) * np.expm1(-e_f * v) / np.expm1(-e_f)

        return self._map(one, x, fast)

    def sf(self, x):
        e = self.eta

        def one(v):
            v = min(max(v, mpmath.mpf(0)), mpmath.mpf(1))
            return 1 - v if e == 0 else (mpmath.exp(e) - mpmath.exp(e * v)) / mpmath.expm1(e)

        return self._map(one, x, lambda v: 1 - self.cdf(v[: self.MPMATH_MAX]))

    def ppf(self, q):
        e = self.eta

        def fast(u):
            e_f = self.eta_f
            if e_f == 0:
                return u
            if e_f < 0:
                return np.log1p(u * np.expm1(e_f)) / e_f
            return 1 + np.log(u + (1 - u) * np.exp(-e_f)) / e_f

        return self._map(lambda u: u if e == 0 else mpmath.log1p(u * mpmath.expm1(e)) / e, q, fast)

    def _moment(self, fn):
        with mpmath.workdps(self.dps):
            return float(fn(self.eta))

    def mean(self):
        return self._moment(lambda e: 0.5 if e == 0 else 1 / (1 - mpmath.exp(-e)) - 1 / e)

    def var(self):
        def v(e):
            return mpmath.mpf(1) / 12 if e == 0 else 1 / e**2 - mpmath.exp(e) / mpmath.expm1(e) ** 2

        return self._moment(v)

    def entropy(self):
        def h(e):
            if e == 0:
                return mpmath.mpf(0)
            mean = 1 / (1 - mpmath.exp(-e)) - 1 / e
            return -(mpmath.log(e / mpmath.expm1(e)) + e * mean)

        return self._moment(h)


class GeneralizedNormalRef:
    """scipy's ``gennorm`` with ``pdf``/``logpdf`` evaluated directly in numpy (scipy's own
    formula, without the per-call argument checking that makes quadrature 20× slower)."""

    def __init__(self, loc, scale, power):
        self._frozen = stats.gennorm(power, loc, scale)
        self.loc, self.scale, self.power = loc, scale, power
        self._log_norm = math.log(0.5 * power / scale) - special.gammaln(1 / power)

    def __getattr__(self, name):
        return getattr(self._frozen, name)

    def logpdf(self, x):
        z = np.abs((np.asarray(x, dtype=float) - self.loc) / self.scale)
        return self._log_norm - z**self.power

    def pdf(self, x):
        return np.exp(self.logpdf(x))


def _cb_mode(eta: float) -> float:
    return 1.0 if eta > 0 else (0.0 if eta < 0 else 0.5)


IG_GRID = [
    {"loc": 1.0, "concentration": 1.0},
    {"loc": 1.0, "concentration": 1e-3},  # λ/μ = 1e-3: Lévy-like body, exponential tail
    {"loc": 2.5, "concentration": 0.02},
    {"loc": 0.2, "concentration": 0.5},
    {"loc": 1e3, "concentration": 1.0},  # λ/μ = 1e-3 at a large scale
    {"loc": 1e-3, "concentration": 10.0},  # λ/μ = 1e4: nearly normal, tiny scale
    {"loc": 300.0, "concentration": 3e6},  # λ/μ = 1e4 at a large scale
]

GN_GRID = [
    {"loc": 0.0, "scale": 1.0, "power": 2.0},
    {"loc": 0.3, "scale": 1.5, "power": 0.3},
    {"loc": -4.0, "scale": 1e-3, "power": 8.0},
    {"loc": 1e3, "scale": 1e3, "power": 50.0},
    {"loc": 0.0, "scale": 1.0, "power": 1.0},
    {"loc": -2.0, "scale": 0.5, "power": 0.8},
]

CB_PROBS = [1e-6, 0.2, 0.4999, 0.5, 0.9, 1 - 1e-6]

EXAMPLES: list[Example] = [
    Example(
        D.InverseGaussian,
        lambda loc, concentration: stats.invgauss(loc / concentration, scale=concentration),
        IG_GRID,
        [{"loc": 1.0, "concentration": 2.0}, {"loc": 0.6, "concentration": 0.3}],
        _positive_invalid(("loc", "concentration"), {"loc": 1.0, "concentration": 1.0}),
        mode=lambda loc, concentration: (
            loc / (math.hypot(1.5 * loc / concentration, 1.0) + 1.5 * loc / concentration)
        ),
    ),
    Example(
        D.GeneralizedNormal,
        GeneralizedNormalRef,
        GN_GRID,
        [{"loc": 0.3, "scale": 1.5, "power": 1.5}, {"loc": -0.5, "scale": 0.7, "power": 0.6}],
        [
            ({"loc": NAN, "scale": 1.0, "power": 2.0}, "loc"),
            ({"loc": INF, "scale": 1.0, "power": 2.0}, "loc"),
            *_positive_invalid(("scale", "power"), {"loc": 0.0, "scale": 1.0, "power": 2.0}),
        ],
        mode=lambda loc, scale, power: loc,
        # CDF and quantiles are incomplete-gamma functions of shape 1/β, validated (as for
        # Gamma, SHAPE_LIMITS in test_fuzz) for shapes up to 1e6; above, the whole positive range.
        # (Below β ≈ 0.05 float32 draws overflow to ±inf, which the fuzz allows.)
        fuzz_limits={"power": (1e-6, 1e30)},
    ),
    Example(
        D.ContinuousBernoulli,
        ContinuousBernoulliRef,
        [{"probs": p} for p in CB_PROBS],
        [{"probs": 0.3}, {"probs": 0.5}],
        [
            ({"probs": -0.1}, "probs"),
            ({"probs": 1.5}, "probs"),
            ({"probs": NAN}, "probs"),
        ],
        mode=lambda probs: _cb_mode(probs - 0.5),
    ),
    Example(
        D.ContinuousBernoulli,
        lambda logits: ContinuousBernoulliRef(logits=logits),
        [{"logits": v} for v in (-40.0, -3.0, -1e-9, 0.0, 2.0, 700.0)],
        [{"logits": 2.6}],
        [({"logits": NAN}, "logits"), ({"logits": INF}, "logits")],
        make=lambda logits, **kw: D.ContinuousBernoulli(logits=logits, **kw),
        mode=lambda logits: _cb_mode(logits),
    ),
]
