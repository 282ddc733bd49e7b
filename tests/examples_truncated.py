"""Reference-table entries for the issue-4 families (group: truncated).

See ``examples.py`` for the fields of ``Example``.

TruncatedNormal's reference is :class:`TruncatedNormalRef`: scipy's ``truncnorm`` (standardized
bounds) where it is accurate, and 60-digit mpmath where it is not. Measured against mpmath,
scipy's ``logpdf`` and ``pdf`` agree to 1e-13 at the grid's corners (2e-11 at 1e3 σ out, where
it forms x²/2 ≈ 5e5), but its ``cdf`` loses small probabilities of upper-tail intervals
(relative error 9e-4 at F = 1e-12 on [8, 9], 4e-2 on [30, inf)), its ``ppf`` gives 3e-16 for the
zero median of [−1e-3, 1e-3], its ``var`` has relative errors up to 4e-5 ([10, 10.001]) and 7e-8
([30, inf)), and its ``entropy`` is NaN with an infinite bound. So ``cdf``, ``ppf``, ``mean``,
``var`` and ``entropy`` come from mpmath for the handful of points the method checks use; the
Kolmogorov–Smirnov tests (20 000 values) and the quadratures of the gradient checks use scipy's
``cdf`` and ``pdf``, whose absolute accuracy is ample there.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
from scipy import stats

import rsample as D
from examples import Example

INF, NAN = math.inf, math.nan
_DPS = 60
_SMALL = 32  # arrays up to this size are evaluated in mpmath


class TruncatedNormalRef:
    """A frozen-distribution-like reference for ``TruncatedNormal(loc, scale, low, high)``."""

    def __init__(self, loc, scale, low, high):
        self.loc, self.scale, self.low, self.high = loc, scale, low, high
        a, b = (low - loc) / scale, (high - loc) / scale
        self._frozen = stats.truncnorm(a, b, loc=loc, scale=scale)
        with mp.workdps(_DPS):
            self._a = (mp.mpf(low) - loc) / scale if math.isfinite(low) else -mp.inf
            self._b = (mp.mpf(high) - loc) / scale if math.isfinite(high) else mp.inf
            self._z = self._mass(self._a, self._b)

    @staticmethod
    def _mass(a, b):
        """Φ(b) − Φ(a) from the side where the terms are small."""
        if a + b > 0:
            return mp.ncdf(-a) - mp.ncdf(-b)
        return mp.ncdf(b) - mp.ncdf(a)

    def support(self):
        return self.low, self.high

    def logpdf(self, x):
        return self._frozen.logpdf(x)

    def pdf(self, x):
        return self._frozen.pdf(x)

    def _map(self, fn, values):
        arr = np.asarray(values, dtype=float)
        out = np.array([float(fn(v)) for v in arr.ravel()]).reshape(arr.shape)
        return out if out.ndim else float(out)

    def _cdf_mp(self, x):
        if math.isnan(x):
            return mp.nan
        if x <= self.low:
            return mp.mpf(0)
        if x >= self.high:
            return mp.mpf(1)
        z = (mp.mpf(x) - self.loc) / self.scale
        return self._mass(self._a, z) / self._z

    def cdf(self, x):
        if np.size(x) > _SMALL:
            return self._frozen.cdf(x)
        with mp.workdps(_DPS):
            return self._map(self._cdf_mp, x)

    def _ppf_mp(self, q):
        """Newton on the 60-digit CDF from scipy's value (bisection if that is off)."""
        if q <= 0:
            return self.low
        if q >= 1:
            return self.high
        q = mp.mpf(q)
        a, b = self._a, self._b
        lo = a if mp.isfinite(a) else min(b, mp.mpf(0)) - 80
        hi = b if mp.isfinite(b) else max(a, mp.mpf(0)) + 80
        start = float(self._frozen.ppf(float(q)))
        z = (mp.mpf(start) - self.loc) / self.scale if math.isfinite(start) else (lo + hi) / 2
        z = min(max(z, lo), hi)
        for _ in range(60):
            f = self._mass(a, z) / self._z - q
            if f > 0:
                hi = z
            else:
                lo = z
            step = f * self._z / mp.npdf(z)
            new = z - step
            if not lo <= new <= hi:
                new = (lo + hi) / 2  # Newton left the bracket: bisect
            if abs(new - z) <= abs(z) * mp.mpf(10) ** (-40) + mp.mpf(10) ** (-300):
                z = new
                break
            z = new
        return self.loc + self.scale * z

    def ppf(self, q):
        if np.size(q) > _SMALL:
            return self._frozen.ppf(q)
        with mp.workdps(_DPS):
            return self._map(self._ppf_mp, q)

    def _moments(self):
        with mp.workdps(_DPS):
            a, b, z = self._a, self._b, self._z
            pa = mp.npdf(a) if mp.isfinite(a) else mp.mpf(0)
            pb = mp.npdf(b) if mp.isfinite(b) else mp.mpf(0)
            apa = a * pa if mp.isfinite(a) else mp.mpf(0)
            bpb = b * pb if mp.isfinite(b) else mp.mpf(0)
            mean = (pa - pb) / z
            var = 1 + (apa - bpb) / z - mean**2
            entropy = mp.log(mp.sqrt(2 * mp.pi * mp.e) * self.scale * z) + (apa - bpb) / (2 * z)
            return (
                float(self.loc + self.scale * mean),
                float(self.scale**2 * var),
                float(entropy),
            )

    def mean(self):
        return self._moments()[0]

    def var(self):
        return self._moments()[1]

    def entropy(self):
        return self._moments()[2]


def _truncated_normal_invalid() -> list[tuple[dict, str]]:
    base = {"loc": 0.0, "scale": 1.0, "low": -1.0, "high": 1.0}
    return [
        ({**base, "scale": 0.0}, "scale"),
        ({**base, "scale": -1.0}, "scale"),
        ({**base, "scale": NAN}, "scale"),
        ({**base, "scale": INF}, "scale"),
        ({**base, "loc": NAN}, "loc"),
        ({**base, "loc": INF}, "loc"),
        ({**base, "low": NAN}, "low"),
        ({**base, "high": NAN}, "high"),
        ({**base, "low": 1.0, "high": 1.0}, "high - low"),
        ({**base, "low": 2.0, "high": 1.0}, "high - low"),
        ({**base, "low": INF, "high": INF}, "high - low"),
        ({**base, "low": -INF, "high": -INF}, "high - low"),
    ]


def _tn(loc, scale, low, high) -> dict:
    return {"loc": loc, "scale": scale, "low": low, "high": high}


EXAMPLES: list = [
    Example(
        D.TruncatedNormal,
        TruncatedNormalRef,
        [
            _tn(0.0, 1.0, -1.0, 2.0),  # the bulk
            _tn(0.5, 2.0, -INF, 1.0),  # one-sided, β = 0.25
            _tn(1.0, 0.5, 5.0, 5.5),  # [8, 9] standardized
            _tn(0.0, 1.0, -40.0, -39.0),  # far lower tail
            _tn(-3.0, 0.1, 0.0, INF),  # [30, inf)
            _tn(2.0, 1.0, -INF, -28.0),  # (−inf, −30]
            _tn(0.0, 1.0, -1e-3, 1e-3),  # narrow, centred
            _tn(0.0, 1.0, 1.0, 1.001),  # narrow, off-centre
            _tn(0.3, 1.5, -INF, INF),  # untruncated
            _tn(1e3, 1e3, 0.0, 5e3),  # large location and scale, [−1, 4]
        ],
        [_tn(0.3, 1.5, -1.0, 2.0), _tn(1.0, 0.5, 1.8, 3.0)],
        _truncated_normal_invalid(),
        mode=lambda loc, scale, low, high: min(max(loc, low), high),
    ),
]
