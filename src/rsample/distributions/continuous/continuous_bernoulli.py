r"""Continuous Bernoulli distribution (Loaiza-Ganem & Cunningham 2019, "The continuous Bernoulli:
fixing a pervasive error in variational autoencoders", NeurIPS).

.. math:: p(x) = C(\lambda)\,\lambda^x (1-\lambda)^{1-x}
    = \frac{\eta\, e^{\eta x}}{e^\eta - 1}, \quad x \in [0, 1],

with ``probs`` λ and ``logits`` :math:`\eta = \log\frac{\lambda}{1-\lambda}`; the normalizing
constant is :math:`C = 2\,\mathrm{atanh}(1-2\lambda)/(1-2\lambda) = \eta/\tanh(\eta/2)`.

Everything is written in :math:`t = \eta/2` through :math:`G(t) = \log(\sinh t/t)` and its
derivatives :math:`L = G' = \coth t - 1/t` (Langevin's function) and :math:`G''`:
:math:`\log p(x) = \eta(x - \tfrac12) - G(t)`, mean :math:`\tfrac12 + \tfrac12 L(t)`, variance
:math:`G''(t)/4`, entropy :math:`G(t) - tL(t)`. For :math:`|\eta| < 1` (float32: 2) each is its
Taylor series (coefficients :math:`2^{2n}B_{2n}/(2n)!`, radius π), above it a closed form
written around the favoured end point, in :math:`s = |\eta|` with ``expm1`` (e.g. entropy
:math:`1 - \log s - s/(e^s - 1) + \log(1 - e^{-s})`, which does not lose the :math:`|t|` terms
that cancel for large :math:`|\eta|`). Both branches are accurate to a few ulp at the switch
(measured against mpmath: ≤ 6e-16 in float64, ≤ 6e-7 in float32), so there is no region of
reduced accuracy; torch's ``lims`` window (a hard switch to a 2-term
Taylor expansion on :math:`0.499 < \lambda < 0.501`) is not needed, and the argument is accepted
and stored for signature compatibility only.

CDF :math:`F(x) = \mathrm{expm1}(\eta x)/\mathrm{expm1}(\eta)` is evaluated as
:math:`x\,E(\eta x)/E(\eta)` with :math:`E(z) = \mathrm{expm1}(z)/z` for :math:`\eta \le 0`
and reflected as :math:`x\,e^{\eta(x-1)}E(-\eta x)/E(-\eta)` for :math:`\eta > 0` (no overflow,
relative accuracy in the lower tail, exact limit :math:`F = x` at :math:`\eta = 0`). ``rsample``
is explicit: :math:`x = F^{-1}(u)`, :math:`u \sim U(0, 1)`, with
:math:`F^{-1}(u) = \log(1 + u\,\mathrm{expm1}(\eta))/\eta` written as
:math:`u\,E(\eta)\,\log(1 + w)/w` (:math:`w = u\,\mathrm{expm1}(\eta)`), as
:math:`\log((1-u) + u e^\eta)/\eta` by ``logaddexp`` where :math:`w < -\tfrac12`, and by
``softplus`` of the logs where :math:`e^\eta` overflows.

``probs`` of exactly 0 or 1 (allowed by the constraint, as in torch) stand for the logits
:math:`\mp\log(1/\mathrm{tiny})` (±708 in float64, ±87 in float32: as close to the point mass as
the dtype resolves, symmetric, and beyond every logit of a representable ``probs`` inside); torch
clamps ``probs`` to ``[eps, 1 − eps]`` instead, which changes every distribution with
``probs < eps``.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _validation
from ...distribution import Distribution
from ...special._inputs import bernoulli_numbers

__all__ = ["ContinuousBernoulli"]

_HALF_TYPES = (torch.float16, torch.bfloat16)
# |η| below the switch: Taylor series in t = η/2 (terms shrink by (2t/2π)² ≤ 1/(2π)², 1/π²);
# above: closed forms in s = |η|, which cancel by up to 25× (entropy at s = 1), 7× at s = 2.
_SWITCH = {torch.float64: 1.0, torch.float32: 2.0}
_SERIES_TERMS = {torch.float64: 12, torch.float32: 9}
# log_prob (the hot path, on data-shaped tensors in a VAE) switches at smaller |η| with fewer
# terms: its closed form only has to be accurate in absolute terms (≲ 1e-15 at |η| = 0.1).
_LP_SWITCH = {torch.float64: 0.1, torch.float32: 0.5}
_LP_TERMS = {torch.float64: 5, torch.float32: 4}
# Below this |η|, F and F⁻¹ use their first-order expansions in η (error O(η²) ≤ eps).
_TINY_ETA = {torch.float64: 1e-8, torch.float32: 1e-4}


class ContinuousBernoulli(Distribution):
    """Continuous Bernoulli on [0, 1] with ``probs`` λ or ``logits`` η (exactly one)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    rsample_kind = "explicit"

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError(
                "ContinuousBernoulli: either `probs` or `logits` must be specified, but not both"
            )
        name = "probs" if probs is not None else "logits"
        (param,) = self._broadcast(**{name: probs if probs is not None else logits})
        self.__dict__[name] = param
        self._param_name = name
        self._lims = lims
        super().__init__(param.shape, validate_args=validate_args)

    def _validate_parameters(self) -> None:
        # Only the given parameter: the other is derived lazily (and would be derived here).
        name = self._param_name
        _validation.check(
            type(self).__name__, name, self.arg_constraints[name], self._param, finite=True
        )

    @property
    def _param(self) -> torch.Tensor:
        return self.__dict__[self._param_name]

    @property
    def param_shape(self) -> torch.Size:
        return self._param.shape

    @lazy_property
    def logits(self) -> torch.Tensor:
        return self._eta().to(self.probs.dtype)

    @lazy_property
    def probs(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def expand(self, batch_shape, _instance=None):
        new = _instance if _instance is not None else type(self).__new__(type(self))
        batch_shape = torch.Size(batch_shape)
        new.__dict__[self._param_name] = self._param.expand(batch_shape)
        new._param_name, new._lims = self._param_name, self._lims
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _eta(self) -> torch.Tensor:
        """η in the working dtype (float32 for half types); ``probs`` 0 and 1 give ∓log(1/tiny)."""
        if self._param_name == "logits":
            return _work(self.__dict__["logits"])
        lam = self._clamped_probs()
        # Near ½, log λ − log1p(−λ) would keep only the absolute accuracy of the two logs;
        # log1p((2λ − 1)/(1 − λ)) has 2λ − 1 exact for λ ≥ ¼ (and 1 − λ for λ ≥ ½). Blended
        # with 0/1 factors (cheaper than torch.where on CPU); λ = ½ stands in on the lanes
        # below ¼, where the first form would meet log1p(−1).
        upper = (lam >= 0.25).to(lam.dtype)
        lam_u = lam + (1 - upper) * (0.5 - lam)
        from_centre = torch.log1p((2 * lam_u - 1) / (1 - lam_u))
        from_logs = torch.log(lam) - torch.log1p(-lam)
        eta = upper * from_centre + (1 - upper) * from_logs  # 0·a + 1·b = b exactly
        # λ = 0 is clamped to tiny, giving log(tiny) already; λ = 1 gets the mirror image.
        at_one = (_work(self.__dict__["probs"]) >= 1).to(lam.dtype)
        return eta + at_one * (-math.log(torch.finfo(eta.dtype).tiny) - eta)

    def _clamped_probs(self) -> torch.Tensor:
        """``probs`` in the working dtype, moved into [tiny, 1 − eps/2] (only 0 and 1 move)."""
        lam = _work(self.__dict__["probs"])
        info = torch.finfo(lam.dtype)
        return lam.clamp(info.tiny, 1 - info.eps / 2)

    def _out(self, t: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        dtype = self._param.dtype
        return t.to(dtype if like is None else torch.promote_types(like.dtype, dtype))

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        eta = self._eta()
        shape = self._extended_shape(sample_shape)
        u = torch.empty(shape, dtype=eta.dtype, device=eta.device).uniform_(generator=generator)
        return self._out(_icdf(eta, u))

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        eta = self._eta()
        x = _work(value)
        # |η| < 1: η(x − ½) − G(η/2). Above: log s − log(1 − e^{−s}) − s·d with s = |η| and d
        # the distance from the favoured end (1 − x exact near 1), not η x − A(η), whose terms
        # of size |η| cancel. The normalizing parts depend on η only (computed once per batch).
        # Branches are blended with 0/1 factors rather than torch.where (several times slower on
        # CPU); every branch is finite on every lane.
        switch = _LP_SWITCH[_key(eta)]
        size = eta.abs()
        small = (size < switch).to(eta.dtype)
        far = 1 - small
        s = size + small * (switch - size)  # |η| on the far lanes, the switch elsewhere
        near_norm = -_series(0.5 * eta * small, "G", _LP_TERMS[_key(eta)])
        far_norm = torch.log(s) - torch.log(-torch.expm1(-s))
        log_norm = small * near_norm + far * far_norm  # not b + m(a − b): that cancels
        positive = (eta > 0).to(eta.dtype)
        d = x + positive * (1 - 2 * x)  # x, or 1 − x (exact near 1) for η > 0
        out = small * eta * (x - 0.5) - far * size * d + log_norm
        out = torch.where((x < 0) | (x > 1), -math.inf, out)
        return self._out(out, value)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        eta = self._eta()
        x = _work(value).clamp(0, 1)
        # With e = −|η| ≤ 0 (nothing overflows): F = expm1(e x)/expm1(e), times e^{η(x−1)} for
        # η > 0 (the reflected form); for tiny |η| the expansion x + η x(x − 1)/2.
        tiny = eta.abs() < _TINY_ETA[_key(eta)]
        e = torch.where(tiny, -1.0, -eta.abs())
        ratio = torch.expm1(e * x) / torch.expm1(e)
        ratio = torch.where(eta > 0, torch.exp(eta * (x - 1)) * ratio, ratio)
        expansion = x + 0.5 * eta * x * (x - 1)
        return self._out(torch.where(tiny, expansion, ratio).clamp(0, 1), value)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        return self._out(_icdf(self._eta(), _work(value)), value)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        r""":math:`\tfrac12 + \tfrac12 L(\eta/2)`; for larger :math:`|\eta|` the distance of the
        mean from the favoured end is :math:`1/s - 1/\mathrm{expm1}(s)`, :math:`s = |\eta|`."""
        return self._out(_mean(self._eta()))

    @property
    def variance(self) -> torch.Tensor:
        r""":math:`G''(\eta/2)/4 = 1/\eta^2 - e^{-|\eta|}/\mathrm{expm1}(-|\eta|)^2`."""
        return self._out(_variance(self._eta()))

    @property
    def stddev(self) -> torch.Tensor:
        return self.variance.sqrt()

    @property
    def mode(self) -> torch.Tensor:
        """The favoured end point (0 for λ < ½, 1 for λ > ½); ½ stands for the uniform at λ = ½."""
        eta = self._eta()
        half = torch.full_like(eta, 0.5)
        return self._out(torch.where(eta > 0, 1.0, torch.where(eta < 0, 0.0, half)))

    def entropy(self) -> torch.Tensor:
        r""":math:`G(t) - tL(t)`; for larger :math:`|\eta|`,
        :math:`1 - \log s - s/\mathrm{expm1}(s) + \log(-\mathrm{expm1}(-s))`, :math:`s = |\eta|`."""
        return self._out(_entropy(self._eta()))


# --------------------------------------------------------------------------- helpers
# Functions of the natural parameter η (in the working dtype), shared with the KL module. Each
# is its Taylor series in t = η/2 for |η| < 1 (float32: 2) and a closed form in s = |η| above.
def _mean(eta: torch.Tensor) -> torch.Tensor:
    small = eta.abs() < _switch(eta)
    near = 0.5 + 0.5 * _series(torch.where(small, 0.5 * eta, 0.0), "L")
    s = torch.where(small, _switch(eta), eta.abs())
    m = s.reciprocal() - torch.expm1(s).reciprocal()  # distance of the mean from the end
    return torch.where(small, near, torch.where(eta > 0, 1 - m, m))


def _variance(eta: torch.Tensor) -> torch.Tensor:
    small = eta.abs() < _switch(eta)
    near = 0.25 * _series(torch.where(small, 0.5 * eta, 0.0), "G2")
    s = torch.where(small, _switch(eta), eta.abs())
    far = s.pow(-2) - torch.exp(-s) / torch.expm1(-s).square()
    return torch.where(small, near, far)


def _entropy(eta: torch.Tensor) -> torch.Tensor:
    small = eta.abs() < _switch(eta)
    near = _series(torch.where(small, 0.5 * eta, 0.0), "H")
    s = torch.where(small, _switch(eta), eta.abs())
    far = 1 - torch.log(s) - s / torch.expm1(s) + torch.log(-torch.expm1(-s))
    return torch.where(small, near, far)


def _log_normalizer(eta: torch.Tensor) -> torch.Tensor:
    r""":math:`A(\eta) = \log\frac{e^\eta - 1}{\eta} = \eta/2 + G(\eta/2)`
    (:math:`\log p(x) = \eta x - A(\eta)`); above, :math:`\max(\eta, 0) + \log((1 - e^{-s})/s)`."""
    small = eta.abs() < _switch(eta)
    near = 0.5 * eta + _series(torch.where(small, 0.5 * eta, 0.0), "G")
    s = torch.where(small, _switch(eta), eta.abs())
    far = eta.clamp_min(0) + torch.log(-torch.expm1(-s)) - torch.log(s)
    return torch.where(small, near, far)


def _work(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.dtype in _HALF_TYPES else t


def _switch(eta: torch.Tensor) -> float:
    """The |η| below which the Taylor series are used, for the working dtype of ``eta``."""
    return _SWITCH[torch.float64 if eta.dtype == torch.float64 else torch.float32]


def _coefficients(kind: str, n: int) -> tuple[float, ...]:
    r"""Taylor coefficients in :math:`t` (ascending powers, only the even/odd ones present) of
    :math:`G = \sum a_k t^{2k}/(2k)`, :math:`L = \sum a_k t^{2k-1}`,
    :math:`G'' = \sum a_k (2k-1) t^{2k-2}`, :math:`G - tL = -\sum a_k (1 - 1/(2k)) t^{2k}`, with
    :math:`a_k = 2^{2k} B_{2k}/(2k)!` (from :math:`\coth t = \sum_k a_k t^{2k-1}`)."""
    bern = bernoulli_numbers(2 * n)
    a = [2 ** (2 * k) * bern[2 * k] / math.factorial(2 * k) for k in range(1, n + 1)]
    if kind == "G":
        return tuple(float(a[k - 1] / (2 * k)) for k in range(1, n + 1))
    if kind == "L":
        return tuple(float(a[k - 1]) for k in range(1, n + 1))
    if kind == "G2":
        return tuple(float(a[k - 1] * (2 * k - 1)) for k in range(1, n + 1))
    return tuple(float(-a[k - 1] * (1 - 1 / (2 * k))) for k in range(1, n + 1))  # "H"


# Built once at import (exact rational arithmetic), so that traced code only reads constants.
_COEFFS = {
    (kind, n): _coefficients(kind, n)
    for kind in ("G", "L", "G2", "H")
    for n in {*_SERIES_TERMS.values(), *_LP_TERMS.values()}
}


def _key(t: torch.Tensor) -> torch.dtype:
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def _series(t: torch.Tensor, kind: str, n: int | None = None) -> torch.Tensor:
    """The Taylor series of ``kind`` (see :func:`_coefficients`), ``n`` terms, by Horner in t²."""
    n = _SERIES_TERMS[_key(t)] if n is None else n
    coeffs = _COEFFS[kind, n]
    t2 = t * t
    acc = torch.full_like(t, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = acc * t2 + c
    if kind == "L":
        return acc * t
    if kind == "G2":
        return acc
    return acc * t2


def _icdf(eta: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``x`` with ``F(x) = u``, i.e. ``log(1 + u·expm1(η))/η``, in a form accurate at both ends.

    For η > 0 and u > ½ by reflection, ``x = 1 − F⁻¹_{−η}(1 − u)`` (``1 − u`` is exact there, and
    ``1 − x`` is then known to full relative accuracy, so ``x`` near 1 is correctly rounded); also
    for η beyond ``log(max)``, where ``e^η`` overflows (there the mass below ``x = ½`` is
    ``< e^{−η/2}``, and absolute accuracy is what is left). With ``(e, v)`` the reflected or the
    given pair, ``x = log(1 + w)/e``, ``w = v·expm1(e)``: by ``log1p(w)`` for ``w ≥ −½``, below
    as ``log((1 − v) + v e^e)`` (``1 − v`` exact for ``v ≥ ½``, a sum of non-negative terms);
    for tiny ``|e|`` the expansion ``v + e v(1 − v)/2``. Branches are blended with 0/1 factors
    where they are finite everywhere (``torch.where`` is several times slower on CPU).
    """
    eta, u = torch.broadcast_tensors(eta, u)
    info = torch.finfo(eta.dtype)
    big = math.log(info.max) - 1
    reflect = ((eta > 0) & ((u > 0.5) | (eta > big))).to(eta.dtype)
    e = eta - 2 * reflect * eta
    v = u + reflect * (1 - 2 * u)  # u, or 1 − u (exact for u > ½)
    tiny = (e.abs() < _TINY_ETA[_key(eta)]).to(eta.dtype)
    e_s = e - tiny * (e + 1)  # −1 on the tiny lanes (the expansion is used there)
    w = v * torch.expm1(e_s)
    gentle = torch.log1p(w.clamp_min(info.eps - 1))
    steep = torch.log(((1 - v) + v * torch.exp(e_s)).clamp_min(info.tiny))
    log_1p_w = torch.where(w < -0.5, steep, gentle)
    expansion = v + 0.5 * e * v * (1 - v)
    x = tiny * expansion + (1 - tiny) * (log_1p_w / e_s)
    return (x + reflect * (1 - 2 * x)).clamp(0, 1)
