r"""The binary Concrete (relaxed Bernoulli) distribution, in logit space and on (0, 1).

With temperature :math:`\tau`, log-odds :math:`\ell` (:math:`\alpha = e^\ell`) and standard
Logistic noise :math:`L = \log u - \log(1 - u)`, :math:`u \sim U(0, 1)`:

.. math:: Y = (\ell + L)/\tau \sim \mathrm{Logistic}(\ell/\tau, 1/\tau), \qquad X = \sigma(Y),

    p_X(x) = \frac{\tau\,\alpha\,x^{-\tau-1}(1-x)^{-\tau-1}}{(\alpha x^{-\tau} + (1-x)^{-\tau})^2}

(Maddison, Mnih & Teh 2017, "The Concrete distribution", §3.3; Jang, Gu & Poole 2017,
"Categorical reparameterization with Gumbel-softmax"). ``P(Y > 0) = σ(ℓ)`` for every τ, and
as τ → 0 the law of X tends to Bernoulli(σ(ℓ)).

**Gradients.** ``rsample_kind = "relaxed"``: the draw is an exact reparameterization of the
relaxed variable (a biased surrogate for the discrete problem). ``RelaxedBernoulliStraightThrough``
returns the hard value ``1[Y > 0]`` (exactly Bernoulli(σ(ℓ))) with the gradient of the relaxed
draw: biased.

**Numerics.** Uniforms are clamped to ``[eps/4, 1 − eps/2]`` (``rand``'s grid is eps/2), so
``|L| ≤ 17.3`` in float32 and ``≤ 37.4`` in float64 (tail mass ≈ 6e-8 resp. 1e-16 moved onto
the end points). ``rsample_and_log_prob`` scores from the noise: the Logistic log-density of L
is ``log u + log(1 − u)``, both already computed, so the log-density is exact even where
``σ(Y)`` rounds to 0 or 1. ``RelaxedBernoulli`` draws are clamped to ``[tiny, 1 − eps/2]``
(as :class:`~rsample.Beta`), and ``log_prob`` clamps values to that range too, so the end points
0 and 1 score as their nearest representable interior neighbours (torch clamps to
``[tiny, 1 − eps]``). Probabilities of exactly 0 or 1 are read as ``tiny`` and ``1 − eps/2``
(torch: ``eps`` and ``1 − eps``): the Concrete needs :math:`\alpha \in (0, \infty)`, and the
clamp keeps gradients in ``probs`` NaN-free.

**Temperature.** τ must be at least :func:`min_temperature` (``sqrt(2^16 / max)``: 1.4e-17 in
float32, 1.9e-152 in float64; a ``ValueError`` below it): then for ``|logits| ≤ 1e4`` the
draws, both log-densities and the derivatives of each draw and each log-density in the logits
and τ (those in τ grow as 1/τ²) are finite (tested). As τ → 0 the draws tend to hard 0/1
values, exactly Bernoulli(σ(ℓ)) in the limit, and ``rsample_and_log_prob`` stays exact.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _validation
from ..._shapes import broadcast_shapes
from ...distribution import Distribution, promote
from ._params import binary_logits, binary_probs, one_of

__all__ = [
    "LogitRelaxedBernoulli",
    "RelaxedBernoulli",
    "RelaxedBernoulliStraightThrough",
    "min_temperature",
]


def min_temperature(dtype: torch.dtype) -> float:
    r"""The smallest temperature the relaxed families accept in ``dtype``: :math:`\sqrt{2^{16}/
    \text{max}}`, so that :math:`|\ell + \text{noise}|/\tau^2` (the size of ``d draw / d τ``
    in logit space) stays finite for logits up to about 6e4 in magnitude."""
    return math.sqrt(2.0**16 / torch.finfo(dtype).max)


_FLOORS: dict[torch.dtype, constraints.Constraint] = {}


def _temperature_floor(dtype: torch.dtype) -> constraints.Constraint:
    floor = _FLOORS.get(dtype)
    if floor is None:
        floor = _FLOORS[dtype] = constraints.greater_than_eq(min_temperature(dtype))
    return floor


for _dtype in (torch.float32, torch.float64):
    _temperature_floor(_dtype)


def check_temperature(dist_name: str, temperature: torch.Tensor) -> None:
    """ValueError (sync-free, see :mod:`rsample._validation`) below :func:`min_temperature`."""
    if torch.compiler.is_compiling():  # dynamo cannot take id() of a non-singleton constraint
        floor = min_temperature(temperature.dtype)
        torch._assert_async(
            ((temperature >= floor) & (temperature < math.inf)).all(),
            f"{dist_name}: argument 'temperature' must satisfy the constraint "
            f"GreaterThanEq [{floor:g}, inf) and finite",
        )
        return
    _validation.check(
        dist_name, "temperature", _temperature_floor(temperature.dtype), temperature, finite=True
    )


def clamped_uniform(shape, like: torch.Tensor, generator) -> torch.Tensor:
    """``U(0, 1)`` draws clamped to ``[eps/4, 1 − eps/2]``: 0 moves half a grid step up and no
    draw is 1, so ``log u`` and ``log(1 − u)`` are finite."""
    # uniform_, not rand(generator=None): the latter fails under dynamic-shape compilation.
    u = torch.empty(shape, dtype=like.dtype, device=like.device).uniform_(generator=generator)
    eps = torch.finfo(like.dtype).eps
    return u.clamp_(eps / 4, 1 - eps / 2)


def unit_clamp(x: torch.Tensor) -> torch.Tensor:
    """``x`` clamped to ``[tiny, 1 − eps/2]``, the open unit interval as the dtype holds it."""
    finfo = torch.finfo(x.dtype)
    return x.clamp(finfo.tiny, 1 - finfo.eps / 2)


class _BinaryConcrete(Distribution):
    """Parameters, validation and noise shared by the binary Concrete classes."""

    arg_constraints = {
        "temperature": constraints.positive,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    rsample_kind = "relaxed"

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        dist = type(self).__name__
        name, param = one_of(dist, probs, logits)
        temperature, param = promote(dist, temperature=temperature, **{name: param})
        try:
            batch = (  # skip even the shape arithmetic in the common cases
                param.shape
                if temperature.dim() == 0 or temperature.shape == param.shape
                else broadcast_shapes(temperature.shape, param.shape)
            )
        except RuntimeError:
            raise ValueError(
                f"{dist}: parameter shapes do not broadcast: temperature"
                f"{tuple(temperature.shape)}, {name}{tuple(param.shape)}"
            ) from None
        # The temperature keeps its shape (as torch's): a scalar stays a scalar on the hot path.
        self.temperature = temperature
        if param.shape != batch:
            param = param.expand(batch)
        setattr(self, name, param)  # the other one is a lazy_property
        self._given = name
        super().__init__(batch, validate_args=validate_args)

    def _validate_parameters(self) -> None:
        # Only the parameters given: the base class would also evaluate the lazy one.
        dist = type(self).__name__
        check_temperature(dist, self.temperature)  # τ ≥ min_temperature(dtype) > 0, finite
        name = self._given
        _validation.check(dist, name, self.arg_constraints[name], self.__dict__[name], finite=True)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)  # drops both lazy names
        new.__dict__[self._given] = self.__dict__[self._given].expand(batch_shape)
        new.temperature = self.temperature  # broadcasts to the new batch shape too
        return new

    @lazy_property
    def logits(self) -> torch.Tensor:
        """Log-odds; from ``probs`` clamped to ``[tiny, 1 − eps/2]`` (finite, see above)."""
        return binary_logits(unit_clamp(self.probs))

    @lazy_property
    def probs(self) -> torch.Tensor:
        return binary_probs(self.logits)

    @property
    def param_shape(self) -> torch.Size:
        return self._batch_shape

    def _logit_draw(self, sample_shape, generator):
        """``(Y, log u + log(1 − u))``: the logit-space draw and the Logistic log-density of
        its noise."""
        logits = self.logits
        u = clamped_uniform(self._extended_shape(sample_shape), logits, generator)
        log_u, log_v = torch.log(u), torch.log1p(-u)
        y = (logits + (log_u - log_v)) / self.temperature
        return y, log_u + log_v


class LogitRelaxedBernoulli(_BinaryConcrete):
    r"""Logit of a relaxed Bernoulli: :math:`Y \sim \mathrm{Logistic}(\ell/\tau, 1/\tau)`.

    Args:
        temperature: relaxation temperature τ > 0.
        probs: probability of 1 (exactly one of ``probs``, ``logits``).
        logits: log-odds of 1.
    """

    support = constraints.real

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        return self._logit_draw(sample_shape, generator)[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        """The draw and its log-density ``log τ + log u + log(1 − u)``, from the noise."""
        y, noise_lp = self._logit_draw(sample_shape, generator)
        return y, noise_lp + torch.log(self.temperature)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`\log\tau - |z| - 2\log(1 + e^{-|z|})`, :math:`z = \tau y - \ell`."""
        if self._validate_args:
            self._validate_sample(value)
        return torch.log(self.temperature) + _logistic_log_pdf(
            self.temperature * value - self.logits
        )

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return torch.sigmoid(self.temperature * value - self.logits)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        return (self.logits + (torch.log(value) - torch.log1p(-value))) / self.temperature

    @property
    def mean(self) -> torch.Tensor:
        return self.logits / self.temperature

    @property
    def mode(self) -> torch.Tensor:
        return self.logits / self.temperature

    @property
    def variance(self) -> torch.Tensor:
        return (math.pi**2 / 3) / self.temperature.square()

    def entropy(self) -> torch.Tensor:
        """``2 − log τ`` (the Logistic entropy ``2 + log s`` at scale ``s = 1/τ``)."""
        return 2 - torch.log(self.temperature)


class RelaxedBernoulli(_BinaryConcrete):
    r"""Relaxed Bernoulli (binary Concrete) on the unit interval: :math:`X = \sigma(Y)`.

    Args:
        temperature: relaxation temperature τ > 0.
        probs: probability of 1 (exactly one of ``probs``, ``logits``).
        logits: log-odds of 1.
    """

    support = constraints.unit_interval

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        y, _ = self._logit_draw(sample_shape, generator)
        return unit_clamp(torch.sigmoid(y))

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        """The draw and its exact log-density, scored from the logit ``Y`` (see above)."""
        y, noise_lp = self._logit_draw(sample_shape, generator)
        return unit_clamp(torch.sigmoid(y)), noise_lp + _log_jacobian(self.temperature, y)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r"""The binary Concrete density: the Logistic density of :math:`y = \operatorname{logit}
        x` times :math:`1/(x(1 - x))`, from :math:`\log x` and :math:`\log(1 - x)` (``log1p``)
        of the value clamped to ``[tiny, 1 − eps/2]``."""
        if self._validate_args:
            self._validate_sample(value)
        x = unit_clamp(value)
        log_x, log_1mx = torch.log(x), torch.log1p(-x)
        z = self.temperature * (log_x - log_1mx) - self.logits
        return torch.log(self.temperature) + _logistic_log_pdf(z) - (log_x + log_1mx)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`\sigma(\tau\operatorname{logit}(x) - \ell)`."""
        if self._validate_args:
            self._validate_sample(value)
        x = value.clamp(0, 1)
        return torch.sigmoid(self.temperature * (torch.log(x) - torch.log1p(-x)) - self.logits)

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        self._validate_probability(value)
        y = (self.logits + (torch.log(value) - torch.log1p(-value))) / self.temperature
        return torch.sigmoid(y)


class RelaxedBernoulliStraightThrough(RelaxedBernoulli):
    r"""Straight-through relaxed Bernoulli: forward value :math:`H = 1[Y > 0] \in \{0, 1\}`
    (exactly Bernoulli(σ(ℓ)) for every τ), gradient of the relaxed draw :math:`\sigma(Y)`
    (``H + (X − X.detach())``). **Biased**: the gradient is that of the relaxation, evaluated
    at the relaxed point, not of :math:`E[f(H)]`.

    ``log_prob(value)`` is the relaxed (binary Concrete) log-density of ``value``, as for
    :class:`RelaxedBernoulli` (a hard 0 or 1 scores as its clamped interior neighbour, which is
    not a probability of the hard value); ``rsample_and_log_prob`` returns the hard value and
    the exact relaxed log-density of the soft draw behind it.
    """

    rsample_kind = "straight_through"

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        y, _ = self._logit_draw(sample_shape, generator)
        return _straight_through(y)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        y, noise_lp = self._logit_draw(sample_shape, generator)
        return _straight_through(y), noise_lp + _log_jacobian(self.temperature, y)


# --------------------------------------------------------------------------- helpers
def _logistic_log_pdf(z: torch.Tensor) -> torch.Tensor:
    """Standard Logistic log-density ``−|z| − 2·log1p(e^{−|z|})``: no overflow, no cancellation,
    and ``−inf`` at ``z = ±inf``."""
    a = z.abs()
    return -a - 2 * F.softplus(-a)


def _log_jacobian(temperature: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``log τ − log σ(y) − log σ(−y) = log τ + |y| + 2·log1p(e^{−|y|})``: the log-density of
    ``σ(Y)`` is that of ``(ℓ + L)/τ`` (``log τ`` plus the noise's) minus ``log σ'(y)``."""
    a = y.abs()
    return torch.log(temperature) + a + 2 * F.softplus(-a)


def _straight_through(y: torch.Tensor) -> torch.Tensor:
    soft = unit_clamp(torch.sigmoid(y))
    hard = (y > 0).to(y.dtype)
    return hard + (soft - soft.detach())
