r"""Negative binomial distribution, in torch's convention: the number of successes (probability
:math:`p`) before ``total_count`` :math:`r` failures.

.. math:: P(X = k) = \frac{\Gamma(k + r)}{\Gamma(r)\,k!}\, p^k q^r, \quad q = 1 - p,
    \ k = 0, 1, \dots

(scipy's ``nbinom(r, 1 − p)``), with real :math:`r \ge 0` and ``probs`` :math:`p \in [0, 1)` or
(finite) ``logits``. ``sample`` is the gamma–Poisson mixture
:math:`X \sim \mathrm{Poisson}(G\,p/q)`, :math:`G \sim \mathrm{Gamma}(r, 1)`
(``torch._standard_gamma`` and ``torch.poisson``, both with ``generator=``).

``log_prob`` writes the pmf as a binomial one, :math:`P(k) = \frac{r}{r+k}\,
\mathrm{Bin}(r;\, r+k,\, q)`, and uses Loader's saddle-point form for it (R's ``dnbinom``; see
:mod:`.binomial`), accurate for huge counts and :math:`r`; on the CPU with
:math:`r, k \le 10^4` (float32: 64) the ``lgamma`` form. CDF :math:`I_q(r, k+1)`, by
``betainc`` when :math:`q \le \frac12` and as ``betaincc(k+1, r, p)`` otherwise (the smaller
of :math:`p, q` is always the argument).

**Entropy** (torch has none) in three regimes, with :math:`\mu = rp/q`,
:math:`\sigma = \sqrt{rp}/q`:

* the exact sum on the integers (:func:`.poisson.lattice_entropy`) while :math:`\sigma \le 39`
  and :math:`q \ge 0.09` (the tail beyond the 1024-point window is then below
  :math:`e^{-45}`);
* the trapezoid rule on the analytic continuation for :math:`\sigma > 39`, :math:`rp \ge 169`
  (the boundary at 0 lies beyond 13 standard deviations);
* otherwise (heavy tails: :math:`rp < 169` with :math:`q` small) an integral representation:
  with :math:`f_0 = q^r`, the generating function :math:`G(s) = (q/(1-ps))^r` and Malmstén's
  formula :math:`\log\Gamma(z) = \int_0^\infty [(z-1)e^{-t} - (e^{-t} - e^{-zt})/(1-e^{-t})]
  \,dt/t` taken in expectation over :math:`X \ge 1`,

  .. math::
      H = -r\log q - (1 - f_0)(\log r - \log\Gamma(r+1)) - D' - \mu\log p, \qquad
      D' = \int_0^\infty e^{-t}\Big[(r-1)(1-G) + (G - f_0)\Big((r-1) -
      \frac{\mathrm{expm1}(-(r-1)t)}{\mathrm{expm1}(-t)}\Big)\Big]\frac{dt}{t},

  :math:`G = G(e^{-t})`, by the trapezoid rule in :math:`\log t` (the integrand is analytic in a
  strip of half-width :math:`\pi/2` there, so the rule converges like :math:`e^{-\pi^2/h}`);
  every term is non-negative for :math:`r \le 1`, so tiny :math:`r` keep their digits.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints

from ...distribution import Distribution
from ._params import BinaryParams, IntegerSupport
from .binomial import binomial_log_pmf, count_cdf
from .poisson import _GRID, _plain_ok, lattice_entropy, poisson_draws

__all__ = ["NegativeBinomial"]


class NegativeBinomial(IntegerSupport, BinaryParams, Distribution):
    """Negative binomial: successes (``probs``) before ``total_count`` failures."""

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer
    rsample_kind = None
    _counts = ("total_count",)

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        self._set_params(probs, logits, validate_args, total_count=total_count)

    def _int_bounds(self):
        return 0.0, math.inf

    def _odds(self) -> torch.Tensor:
        """:math:`p/q` (:math:`e^\\ell` from logits)."""
        if self._given == "logits":
            return torch.exp(self.logits)
        p, q = self._pq()
        return p / q

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            r = self.total_count.detach().expand(shape)
            g = torch._standard_gamma(r, generator=generator)
            # p → 1 makes the odds overflow: the rate is capped at the largest float (where
            # r = 0, G = 0 and the count is 0, not 0·∞)
            big = torch.finfo(g.dtype).max
            rate = torch.where((g > 0) & (r > 0), g * self._odds().detach(), 0.0).clamp_max_(big)
            return poisson_draws(rate, generator)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        r = self.total_count
        at_zero = self._x_log_q(r)  # P(0) = q^r (also for r = 0, where 0·log q = 0)
        if _plain_ok(r, value):
            k = value
            rs = torch.where(r > 0, r, 1.0)
            plain = (
                torch.lgamma(k + rs)
                - torch.lgamma(rs)
                - torch.lgamma(k + 1)
                + self._x_log_p(k)
                + self._x_log_q(rs)
            )
            plain = torch.where(r > 0, plain, -math.inf)
            return torch.where(value == 0, at_zero, plain)
        return nb_log_pmf(value, r, *self._pq(), *self._log_pq(), at_zero)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`P(X \le k) = I_q(r, \lfloor k\rfloor + 1)`; 0 below 0, 1 for :math:`r = 0`."""
        if self._validate_args:
            self._validate_sample(value)
        return count_cdf(value, self.total_count, *self._pq(), bounded=False)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        """:math:`rp/q` (0 for :math:`r = 0`, also where the odds overflow)."""
        r = self.total_count
        return torch.where(r > 0, r * self._odds(), 0.0)

    @property
    def mode(self) -> torch.Tensor:
        """:math:`\\lfloor (r-1)p/q \\rfloor`, at least 0 (torch's formula)."""
        r = self.total_count
        mode = torch.where(r > 1, ((r - 1) * self._odds()).floor(), 0.0)  # no 0·∞ at r = 1
        return mode.clamp_max(torch.finfo(mode.dtype).max)  # odds overflow: the largest float

    @property
    def variance(self) -> torch.Tensor:
        r = self.total_count
        return torch.where(r > 0, self.mean / self._pq()[1], 0.0)  # rp/q²; no 0/0 at r = 0

    def entropy(self) -> torch.Tensor:
        r = self.total_count
        p, q = self._pq()
        log_p, log_q = self._log_pq()
        mean = r * self._odds()
        sd = (r * p).sqrt() / q
        points, half = _GRID[torch.float64 if r.dtype == torch.float64 else torch.float32]
        args = [t.unsqueeze(-1) for t in (r, p, q, log_p, log_q)]
        at_zero = self._x_log_q(r).unsqueeze(-1)
        lattice = lattice_entropy(lambda x: nb_log_pmf(x, *args, at_zero), mean, sd, 0.0, math.inf)
        pieces = [t.double() for t in (r, p, q, log_p, log_q, mean)]  # float32: same nodes
        heavy = _entropy_heavy(*pieces, points).to(r.dtype)
        wide = sd > points / (2 * half)
        use_heavy = torch.where(wide, r * p < half * half, q < 90 / points)
        return torch.where(use_heavy, heavy, lattice)


def nb_log_pmf(k, r, p, q, log_p, log_q, at_zero) -> torch.Tensor:
    """:math:`\\log\\frac{r}{r+k} + \\log\\mathrm{Bin}(r; r+k, q)` for real ``k > 0``;
    ``at_zero`` (:math:`r\\log q`) at ``k = 0``."""
    zero = k == 0
    ks = torch.where(zero, 1.0, k)
    n = r + ks
    general = -torch.log1p(ks / r) + binomial_log_pmf(r, n, q, p, log_q, log_p, rest=ks)
    return torch.where(zero, at_zero, general)


def _entropy_heavy(r, p, q, log_p, log_q, mean, points) -> torch.Tensor:
    """The integral representation of the entropy (see the module docstring)."""
    s = r - 1
    f0_c = -torch.expm1(r * log_q)  # 1 − f₀
    with torch.no_grad():  # the nodes: t from (negligible integrand) to 50
        scale = s.abs() * mean + (s * (s - 1)).abs() + 1
        u_min = math.log(1e-18) - torch.log(scale)
        h = (math.log(50.0) - u_min) / (points - 1)
        i = torch.arange(points, dtype=r.dtype, device=r.device)
        t = torch.exp(u_min.unsqueeze(-1) + h.unsqueeze(-1) * i)
    rr, pp, qq, ss = (x.unsqueeze(-1) for x in (r, p, q, s))
    em1 = torch.expm1(-t)  # e^{−t} − 1 < 0
    c = -pp * em1  # q + c = 1 − p e^{−t}
    log_g = -rr * torch.log1p(c / qq)  # log G(e^{−t}) ≤ 0
    pe = pp * torch.exp(-t)
    w = torch.where(pe < 0.5, torch.log1p(-pe), torch.log(qq + c))  # log(1 − p e^{−t})
    g = torch.exp(log_g)
    one_minus_g = -torch.expm1(log_g)
    g_minus_f0 = g * -torch.expm1(rr * w)  # G − q^r = G (1 − (1 − p e^{−t})^r)
    a = torch.where(ss == 0, 0.0, torch.expm1(-ss * t) / em1)
    integrand = torch.exp(-t) * (ss * one_minus_g + g_minus_f0 * (ss - a))
    d_prime = h * integrand.sum(-1)
    rs = torch.where(r > 0, r, 1.0)
    heavy = -r * log_q - f0_c * (torch.log(rs) - torch.lgamma(rs + 1)) - d_prime - mean * log_p
    return torch.where(r > 0, heavy, 0.0)
