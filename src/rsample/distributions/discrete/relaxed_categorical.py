r"""The Concrete (Gumbel-softmax, relaxed one-hot categorical) distribution and its log form.

With temperature :math:`\tau`, logits :math:`\ell` (:math:`\alpha_k = e^{\ell_k}`, K categories)
and Gumbel noise :math:`G_k = -\log E_k`, :math:`E_k = -\log u_k \sim \mathrm{Exp}(1)`:

.. math:: s = (\ell + G)/\tau, \qquad Y = s - \operatorname{logsumexp} s \;(\text{ExpRelaxed}),
    \qquad X = e^Y = \operatorname{softmax} s \;(\text{RelaxedOneHot}),

    \log p_X(x) = \log\Gamma(K) + (K-1)\log\tau + \sum_k (\ell_k - (\tau+1)\log x_k)
        - K \log \sum_k \alpha_k x_k^{-\tau}

(Maddison, Mnih & Teh 2017, "The Concrete distribution", eq. (2) and App. C; Jang, Gu & Poole
2017), a density w.r.t. the Lebesgue measure on the first K − 1 coordinates of the simplex, as
torch's. ``ExpRelaxedCategorical.log_prob(y)`` is torch's (Maddison et al.'s ExpConcrete)
:math:`\log p_X(e^y) + \sum_k y_k`. ``argmax X`` is exactly Categorical(softmax ℓ) for every τ
(Gumbel-max), and as τ → 0 the law of X tends to OneHotCategorical.

**Gradients.** ``rsample_kind = "relaxed"`` (an exact reparameterization of the relaxed variable,
biased for the discrete problem); ``RelaxedOneHotCategoricalStraightThrough`` returns the one-hot
``argmax`` with the gradient of the relaxed draw: biased.

**Numerics.** Everything is computed in log space. ``rsample_and_log_prob`` scores from the
noise: at a draw, :math:`\ell_k - \tau y_k = \tau\operatorname{logsumexp}(s) - G_k`, so

.. math:: \log p_Y(y) = \log\Gamma(K) + (K-1)\log\tau + \sum_k \log E_k - K\log\sum_k E_k,

with no logarithm beyond those of the draw, exact where ``X`` underflows; RelaxedOneHot
subtracts :math:`\sum_k y_k`. X is formed as ``softmax(s)`` (see :func:`_floored_softmax`
for float32). Draws of X are floored at ``tiny`` (as :class:`~rsample.Dirichlet`)
and ``log_prob`` floors values there too, so components that underflow score finitely.
Uniforms are clamped to ``[eps/4, 1 − eps/2]`` (see :mod:`.relaxed_bernoulli`). Probabilities
of 0 are read as ``tiny`` (torch: ``eps``), keeping logits finite and gradients NaN-free.

**Temperature** (shape): a scalar, or a tensor with a trailing dimension of size 1 that broadcasts
against ``logits`` (torch's convention: ``temperature`` broadcasts with the categories); the
``temperature`` property returns it without that dimension. τ must be at least
:func:`~rsample.distributions.discrete.relaxed_bernoulli.min_temperature` (1.4e-17 in float32,
1.9e-152 in float64; a ``ValueError`` below): then for ``|logits| ≤ 1e4`` the draws, both
log-densities and their derivatives in the logits and τ are finite (tested, each batch row with
its own parameters). As τ → 0 the draws tend to one-hot vectors, exactly OneHotCategorical in
the limit, and ``rsample_and_log_prob`` stays exact.

Logits are used as given (every formula is invariant to shifting them); the ``logits`` property
is normalized as torch's.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _validation
from ..._shapes import broadcast_shapes
from ...distribution import Distribution, promote
from ._params import categorical_probs, normalize_logits, normalize_probs, one_of
from .relaxed_bernoulli import check_temperature, clamped_uniform

__all__ = [
    "ExpRelaxedCategorical",
    "ExpRelaxedOneHotCategorical",
    "RelaxedOneHotCategorical",
    "RelaxedOneHotCategoricalStraightThrough",
]


class _Concrete(Distribution):
    """Parameters, validation and noise shared by the Concrete classes."""

    arg_constraints = {
        "temperature": constraints.positive,
        "probs": constraints.simplex,
        "logits": constraints.real_vector,
    }
    rsample_kind = "relaxed"
    # The logits the formulas use (as given, or log of the clamped probs); the temperature, 0-dim
    # or with a trailing categories dimension of size 1, kept unexpanded (it broadcasts to any
    # expansion of the batch).
    _derived_params = {"_logits": 1}
    _batch_free = ("_temperature",)

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        dist = type(self).__name__
        name, param = one_of(dist, probs, logits)
        temperature, param = promote(dist, temperature=temperature, **{name: param})
        dtype = param.dtype
        if param.dim() < 1:
            raise ValueError(
                f"{dist}: '{name}' must have at least one dimension (the categories), "
                f"got shape {tuple(param.shape)}"
            )
        if temperature.dim() > 0 and temperature.shape[-1] != 1:
            raise ValueError(
                f"{dist}: 'temperature' must be a scalar or have size 1 in its last dimension "
                f"(it broadcasts against '{name}' of shape {tuple(param.shape)}, the last "
                f"dimension holding the categories), got shape {tuple(temperature.shape)}"
            )
        try:
            t_batch = temperature.shape[:-1]
            batch = (  # skip even the shape arithmetic in the common cases
                param.shape[:-1]
                if not t_batch or t_batch == param.shape[:-1]
                else broadcast_shapes(t_batch, param.shape[:-1])
            )
        except RuntimeError:
            raise ValueError(
                f"{dist}: parameter shapes do not broadcast: temperature"
                f"{tuple(temperature.shape)}, {name}{tuple(param.shape)}"
            ) from None
        k = param.shape[-1]
        # Not expanded, and a single temperature as a 0-dim tensor: broadcasting a (1,)-shaped
        # operand costs ~10% more than a 0-dim one on the CPU.
        self._temperature = temperature.reshape(()) if temperature.numel() == 1 else temperature
        if param.shape[:-1] != batch:
            param = param.expand((*batch, k))
        if name == "probs":
            self.probs = normalize_probs(param)
            self._logits = torch.log(self.probs.clamp_min(torch.finfo(dtype).tiny))
        else:
            self._logits = param
        self._given = name
        super().__init__(batch, (k,), validate_args=validate_args)

    def _validate_parameters(self) -> None:
        # Only the parameter given: the base class would also evaluate the lazy one.
        dist = type(self).__name__
        check_temperature(dist, self._temperature)  # τ ≥ min_temperature(dtype) > 0, finite
        if self._given == "probs":
            _validation.check(dist, "probs", constraints.simplex, self.probs, finite=True)
        else:
            _validation.check(dist, "logits", constraints.real_vector, self._logits, finite=True)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)  # drops the lazy probs and logits
        if self._given == "probs":
            new.probs = self.probs.expand((*batch_shape, self._event_shape[0]))
        return new

    @property
    def temperature(self) -> torch.Tensor:
        """The temperature (shape: broadcastable to the batch shape)."""
        return _drop_categories(self._temperature)

    @lazy_property
    def logits(self) -> torch.Tensor:
        """Normalized logits, :math:`\\ell - \\operatorname{logsumexp}\\ell`."""
        return normalize_logits(self._logits)

    @lazy_property
    def probs(self) -> torch.Tensor:
        return categorical_probs(self._logits)

    @property
    def param_shape(self) -> torch.Size:
        return self._batch_shape + self._event_shape

    def _scores(self, sample_shape, generator):
        """``(s, E, log E)``: the scores ``s = (ℓ + G)/τ`` and the noise, ``G = −log E``."""
        u = clamped_uniform(self._extended_shape(sample_shape), self._logits, generator)
        e = u.log_().neg_()  # E = −log u ~ Exp(1)
        log_e = torch.log(e)
        return (self._logits - log_e) / self._temperature, e, log_e

    def _noise_log_prob(self, e: torch.Tensor, log_e: torch.Tensor) -> torch.Tensor:
        """ExpConcrete log-density at the draw, from its noise (module docstring)."""
        k = self._event_shape[0]
        return (
            math.lgamma(k)
            + (k - 1) * torch.log(_drop_categories(self._temperature))
            + (log_e.sum(-1) - k * torch.log(e.sum(-1)))
        )

    def _log_prob_log_space(self, log_x: torch.Tensor) -> torch.Tensor:
        """ExpConcrete log-density at ``log_x``: lgamma(K) + (K−1) log τ + Σ score − K lse."""
        score = self._logits - self._temperature * log_x
        k = self._event_shape[0]
        return (
            math.lgamma(k)
            + (k - 1) * torch.log(_drop_categories(self._temperature))
            + (score.sum(-1) - k * torch.logsumexp(score, dim=-1))
        )


class ExpRelaxedCategorical(_Concrete):
    r"""Log of a Concrete draw: :math:`Y = \log X` on the log-simplex (torch's
    ``ExpRelaxedCategorical``), exact where ``X`` underflows.

    Args:
        temperature: relaxation temperature τ > 0 (scalar or trailing dimension 1).
        probs: event probabilities (exactly one of ``probs``, ``logits``; last dim: categories).
        logits: unnormalized log-probabilities.
    """

    support = constraints.real_vector  # the log-simplex, a submanifold of it

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        s, _, _ = self._scores(sample_shape, generator)
        return torch.log_softmax(s, dim=-1)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        s, e, log_e = self._scores(sample_shape, generator)
        return torch.log_softmax(s, dim=-1), self._noise_log_prob(e, log_e)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`\log\Gamma(K) + (K-1)\log\tau + \sum_k s_k - K\operatorname{logsumexp}_k s_k`,
        :math:`s = \ell - \tau y`; ``value`` must be finite."""
        if self._validate_args:
            self._validate_sample(value)
            if not self._is_own_draw(value):
                _validation.check(
                    type(self).__name__, "value", constraints.real_vector, value, finite=True
                )
        return self._log_prob_log_space(value)


class RelaxedOneHotCategorical(_Concrete):
    r"""Concrete / Gumbel-softmax distribution on the simplex: :math:`X = \operatorname{softmax}
    ((\ell + G)/\tau)`.

    Args:
        temperature: relaxation temperature τ > 0 (scalar or trailing dimension 1).
        probs: event probabilities (exactly one of ``probs``, ``logits``; last dim: categories).
        logits: unnormalized log-probabilities.
    """

    support = constraints.simplex

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        s, _, _ = self._scores(sample_shape, generator)
        return _floored_softmax(s)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        """The draw and its exact log-density ``log p_Y(Y) − Σ_k Y_k``, from the noise."""
        s, e, log_e = self._scores(sample_shape, generator)
        log_p = self._noise_log_prob(e, log_e) - torch.log_softmax(s, dim=-1).sum(-1)
        return _floored_softmax(s), log_p

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """The Concrete log-density (module docstring) at ``value`` floored at ``tiny``."""
        if self._validate_args:
            self._validate_sample(value)
        log_x = torch.log(value.clamp_min(torch.finfo(value.dtype).tiny))
        return self._log_prob_log_space(log_x) - log_x.sum(-1)


class RelaxedOneHotCategoricalStraightThrough(RelaxedOneHotCategorical):
    r"""Straight-through Gumbel-softmax: forward value the one-hot :math:`\arg\max_k (\ell_k +
    G_k)` (exactly OneHotCategorical(probs) for every τ), gradient of the relaxed draw
    (``H + (X − X.detach())``). **Biased**: the gradient is that of the relaxation, evaluated
    at the relaxed point, not of :math:`E[f(H)]` (Jang, Gu & Poole 2017, §2.2; Bengio et al.
    2013).

    ``log_prob(value)`` is the Concrete log-density of ``value``, as for
    :class:`RelaxedOneHotCategorical` (a one-hot value scores as its floored neighbour, which is
    not a probability of the hard value); ``rsample_and_log_prob`` returns the one-hot value and
    the exact Concrete log-density of the soft draw behind it.
    """

    rsample_kind = "straight_through"

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        s, _, _ = self._scores(sample_shape, generator)
        return _straight_through(s)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        s, e, log_e = self._scores(sample_shape, generator)
        log_p = self._noise_log_prob(e, log_e) - torch.log_softmax(s, dim=-1).sum(-1)
        return _straight_through(s), log_p


ExpRelaxedOneHotCategorical = ExpRelaxedCategorical  # the name the relaxation issue uses


def _drop_categories(temperature: torch.Tensor) -> torch.Tensor:
    """The temperature without its trailing categories dimension (a 0-dim one has none)."""
    return temperature[..., 0] if temperature.dim() else temperature


def _floored_softmax(s: torch.Tensor) -> torch.Tensor:
    """``softmax(s)`` floored at ``tiny``, so that draws satisfy the simplex constraint's 1e-6
    tolerance on the sum. Not ``exp(log_softmax)``, which scales every component by the rounding
    of ``logsumexp``; and below float64 renormalized by the sum, since torch's vectorized float32
    ``exp`` (about 1e-6 relative) leaves the sum up to 4e-6 off at K = 10^4. torch's own
    float32 draws miss the tolerance that way, and then fail its own validation."""
    x = torch.softmax(s, dim=-1)
    if s.dtype != torch.float64:
        x = x / x.sum(-1, keepdim=True)
    return x.clamp_min(torch.finfo(s.dtype).tiny)


def _straight_through(s: torch.Tensor) -> torch.Tensor:
    soft = _floored_softmax(s)
    hard = torch.zeros_like(soft).scatter_(-1, s.argmax(-1, keepdim=True), 1.0)
    return hard + (soft - soft.detach())
