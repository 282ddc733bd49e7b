r"""Pathwise estimators through the Gumbel-softmax (Concrete) relaxation of discrete draws.

A categorical draw is :math:`D = \arg\max_k (\ell_k + G_k)` with i.i.d. standard Gumbel
:math:`G_k = -\log(-\log U_k)` (the Gumbel-max trick). Replacing the argmax by a tempered
softmax gives the Concrete / Gumbel-softmax relaxation (Jang, Gu & Poole 2017, "Categorical
Reparameterization with Gumbel-Softmax"; Maddison, Mnih & Teh 2017, "The Concrete
Distribution"),

.. math:: y = \operatorname{softmax}\big((\ell + G)/\tau\big),

a differentiable function of the logits :math:`\ell`; for a Bernoulli with logit :math:`\ell`
it is the binary Concrete :math:`y = \sigma((\ell + L)/\tau)`, :math:`L = \log U - \log(1-U)`
logistic. Three estimators use it:

* :func:`gumbel_softmax`: ``f`` evaluated on :math:`y` (the relaxed objective);
* :func:`straight_through_gumbel`: ``f`` evaluated on the hard one-hot :math:`H(y)` with the
  backward pass through :math:`y` (Bengio, Léonard & Courville 2013);
* :func:`gumbel_rao`: the straight-through gradient averaged over the Gumbel noise conditional
  on the drawn category (Paulus, Maddison & Krause 2021, "Rao-Blackwellizing the
  Straight-Through Gumbel-Softmax Gradient Estimator").

All three are **biased** estimators of :math:`\nabla E[f(D)]` and need ``f`` differentiable in
its (relaxed, one-hot-shaped) input. For a Categorical, ``f`` receives one-hot vectors
``(n, *batch_shape, K)``, not indices (a relaxed index means nothing); for a OneHotCategorical
the same; for a Bernoulli values in ``[0, 1]`` of shape ``(n, *batch_shape)``. ``samples`` in the
result is exactly what ``f`` received, detached.

Noise is drawn with the caller's generator as :math:`-\log(-\log u)` from uniforms clamped away
from 0, so every noise value is finite; the softmax is taken after subtracting the (detached)
row maximum, so temperatures down to the smallest normal float give no overflow and no NaN.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch.distributions import constraints

from .. import _validation
from .._shapes import broadcast_shapes
from ._estimate import Estimate
from ._problem import (
    Objective,
    _check_generator,
    _Problem,
    check_num_samples,
    gumbel,
    logistic,
    uniform,
)

__all__ = ["gumbel_rao", "gumbel_softmax", "straight_through_gumbel"]


def gumbel_softmax(
    dist,
    f: Objective,
    num_samples: int = 1,
    *,
    temperature: float | torch.Tensor,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""Pathwise gradient of the Concrete-relaxed objective :math:`E_G[f(y_\tau(\ell, G))]`.

    .. math:: \hat g = \frac1S \sum_{i=1}^S \nabla_\theta f\big(\operatorname{softmax}
              ((\ell_\theta + G_i)/\tau)\big)

    (binary Concrete :math:`\sigma((\ell + L_i)/\tau)` for a Bernoulli). **Biased** for
    :math:`\nabla E[f(D)]`: it is the unbiased gradient of the relaxed objective, which differs
    from the discrete one unless ``f`` is linear on the simplex; the bias vanishes as
    :math:`\tau\to 0` while the variance grows like :math:`1/\tau`. ``value`` is the mean of
    ``f`` on the relaxed draws (the relaxed objective). **Cost**: ``num_samples`` evaluations
    of ``f`` and one backward pass through it. **Assumptions**: ``f`` is defined and
    differentiable on relaxed inputs (the simplex interior, or ``[0, 1]`` for a Bernoulli).

    Args:
        dist: Bernoulli, Categorical or OneHotCategorical (rsample's or torch's, optionally in
            an ``Independent``).
        f: ``(S, *batch_shape[, K]) -> (S, *batch_shape)``.
        num_samples: :math:`S`.
        temperature: :math:`\tau > 0` (a number, or a tensor broadcasting to the batch shape).
        generator: the source of the Gumbel noise.

    References: Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017.
    """
    name = "gumbel_softmax"
    problem, tau, num = _setup(name, dist, num_samples, temperature, generator)
    logits = problem.logits
    noise = _noise(problem, num, generator)
    y = _relax(problem, logits + noise, tau)
    fx = problem.evaluate(f, y)
    return Estimate(fx.sum() / num, fx.detach().mean(0), y.detach(), None)


def straight_through_gumbel(
    dist,
    f: Objective,
    num_samples: int = 1,
    *,
    temperature: float | torch.Tensor,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""Straight-through Gumbel-softmax: forward the hard draw, backward through the relaxation.

    With :math:`z_i = \ell + G_i`, :math:`D_i = H(z_i)` (one-hot argmax; :math:`1[z_i > 0]` for
    a Bernoulli) and :math:`y_i = \operatorname{softmax}(z_i/\tau)`,

    .. math:: \hat g = \frac1S \sum_i \frac{\partial f}{\partial x}(D_i)\,
              \frac{\partial y_i}{\partial\theta},

    computed by feeding ``f`` the value :math:`D_i + (y_i - \operatorname{sg}(y_i))`
    (``sg`` = stop-gradient). **Biased** (for every :math:`\tau`), but ``f`` is only ever
    evaluated at genuine discrete draws, so ``value`` is an unbiased estimate of
    :math:`E[f(D)]`. **Cost**: ``num_samples`` evaluations of ``f`` and one backward pass.
    **Assumptions**: ``f`` is differentiable at the one-hot (or 0/1) points, and its
    derivative there is informative (e.g. ``f`` is smooth in a neighbourhood of the vertices).

    Args: as :func:`gumbel_softmax`.

    References: Bengio, Léonard & Courville 2013; Jang, Gu & Poole 2017.
    """
    name = "straight_through_gumbel"
    problem, tau, num = _setup(name, dist, num_samples, temperature, generator)
    logits = problem.logits
    noise = _noise(problem, num, generator)
    z = logits + noise
    hard = _hard(problem, z.detach())
    y = _relax(problem, z, tau)
    x = hard + (y - y.detach())  # exactly `hard` forward; the soft sample's Jacobian backward
    fx = problem.evaluate(f, x)
    return Estimate(fx.sum() / num, fx.detach().mean(0), hard, None)


def gumbel_rao(
    dist,
    f: Objective,
    num_samples: int = 1,
    *,
    temperature: float | torch.Tensor,
    num_rao: int = 10,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""Gumbel-Rao: the straight-through gradient Rao-Blackwellized over the Gumbel noise.

    For each draw :math:`D_i`, ``num_rao`` = :math:`R` noise vectors
    :math:`G_{ir} \sim p(G \mid \arg\max(\ell + G) = D_i)` are drawn and

    .. math:: \hat g = \frac1S \sum_i \frac{\partial f}{\partial x}(D_i)\,
              \frac1R \sum_{r=1}^R \frac{\partial}{\partial\theta}
              \operatorname{softmax}\big((\ell_\theta + G_{ir})/\tau\big).

    Its expectation equals :func:`straight_through_gumbel`'s (it is that estimator with the
    noise integrated out by Monte Carlo given :math:`D`), so it has the **same bias**, and a
    **variance no larger** (Rao-Blackwell), decreasing in :math:`R`. The conditional noise is
    sampled top-down (Maddison, Tarlow & Minka 2014; Tucker et al. 2017, appendix): the
    maximum :math:`\ell_D + G_D \sim \text{Gumbel}(\operatorname{logsumexp}\ell)`, and every
    other :math:`\ell_k + G_k` a Gumbel(:math:`\ell_k`) truncated below it,
    :math:`-\operatorname{logaddexp}(-M, -(\ell_k + g_k))`. For a Bernoulli the logistic noise
    is drawn truncated to the side of :math:`-\ell` that gives :math:`D`, by the inverse CDF in
    log space. **Cost**: ``num_samples`` evaluations of ``f`` (one backward pass), plus
    :math:`S R` softmaxes. **Assumptions**: as :func:`straight_through_gumbel`.

    Args: as :func:`gumbel_softmax`, and ``num_rao``: :math:`R \ge 1`.

    Reference: Paulus, Maddison & Krause 2021.
    """
    name = "gumbel_rao"
    problem, tau, num = _setup(name, dist, num_samples, temperature, generator)
    if isinstance(num_rao, bool) or not isinstance(num_rao, numbers.Integral) or num_rao < 1:
        raise ValueError(f"{name}: num_rao must be an integer >= 1, got {num_rao!r}")
    logits = problem.logits
    fixed = logits.detach()
    hard = _hard(problem, fixed + _noise(problem, num, generator))
    noise = _conditional_noise(problem, hard, int(num_rao), generator)
    y = _relax(problem, logits + noise, tau).mean(0)
    x = hard + (y - y.detach())
    fx = problem.evaluate(f, x)
    return Estimate(fx.sum() / num, fx.detach().mean(0), hard, None)


# --------------------------------------------------------------------------- helpers
def _setup(name, dist, num_samples, temperature, generator):
    problem = _Problem(name, dist)
    _check_generator(name, generator)
    num = check_num_samples(name, num_samples)
    return problem, _temperature(name, temperature, problem), num


def _temperature(name: str, temperature, problem: _Problem):
    if isinstance(temperature, torch.Tensor):
        if not temperature.is_floating_point():
            temperature = temperature.to(problem.logits.dtype)
        _validation.check(name, "temperature", constraints.positive, temperature, finite=True)
        try:
            shape = broadcast_shapes(temperature.shape, problem.batch_shape)
        except RuntimeError:
            shape = None
        if shape != problem.batch_shape:
            raise ValueError(
                f"{name}: temperature of shape {tuple(temperature.shape)} must broadcast to the "
                f"batch shape {tuple(problem.batch_shape)}"
            )
        if problem.kind != "bernoulli" and temperature.dim() > 0:
            temperature = temperature.unsqueeze(-1)  # the category dimension
        return temperature
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not 0.0 < float(temperature) < float("inf")
    ):
        raise ValueError(
            f"{name}: temperature must be a positive finite number, got {temperature!r}"
        )
    return float(temperature)


def _noise(problem: _Problem, num: int, generator) -> torch.Tensor:
    """Logistic noise (Bernoulli) or Gumbel noise per category, shape ``(num, *logits.shape)``."""
    logits = problem.logits
    shape = (num, *logits.shape)
    if problem.kind == "bernoulli":
        return logistic(shape, logits, generator)
    return gumbel(shape, logits, generator)


def _relax(problem: _Problem, z: torch.Tensor, tau) -> torch.Tensor:
    """:math:`\\sigma(z/\\tau)` or :math:`\\operatorname{softmax}(z/\\tau)`, overflow-free."""
    if problem.kind == "bernoulli":
        return torch.sigmoid(z / tau)
    # softmax is shift-invariant: subtracting the detached maximum changes no value or gradient
    # and keeps (z − max)/τ ≤ 0 finite for tiny τ
    return torch.softmax((z - z.detach().amax(-1, keepdim=True)) / tau, -1)


def _hard(problem: _Problem, z: torch.Tensor) -> torch.Tensor:
    if problem.kind == "bernoulli":
        return (z > 0).to(z.dtype)
    return problem.one_hot(z.argmax(-1))


def _conditional_noise(problem: _Problem, hard: torch.Tensor, num_rao: int, generator):
    """``num_rao`` noise draws from :math:`p(\\text{noise} \\mid H(\\ell + \\text{noise}) =
    \\text{hard})`, shape ``(num_rao, *hard.shape)``, detached."""
    logits = problem.logits.detach()
    shape = (num_rao, *hard.shape)
    if problem.kind == "bernoulli":
        # D = 1: L = logit(U), U ~ U(1 − p, 1), i.e. 1 − U = p·w, w ~ U(0, 1):
        #   L = log((1 − p) + p(1 − w)) − log(p·w); D = 0 mirrors it (ℓ → −ℓ, L → −L).
        # All in log-sigmoids so p near 0 or 1 loses nothing to cancellation.
        sign = 2.0 * hard - 1.0
        signed = sign * logits
        log_p = F.logsigmoid(signed)
        log_q = F.logsigmoid(-signed)
        w = uniform(shape, logits, generator)  # float64; its logs are cast
        log_w, log_1mw = torch.log(w).to(logits.dtype), torch.log1p(-w).to(logits.dtype)
        return sign * (torch.logaddexp(log_q, log_p + log_1mw) - log_p - log_w)
    # top-down: the max M ~ Gumbel(logsumexp ℓ); the others Gumbel(ℓ_k) truncated below M
    g = gumbel((*shape[:-1], 1), logits, generator)
    top = logits.logsumexp(-1, keepdim=True) + g
    rest = -torch.logaddexp(-top, -(logits + gumbel(shape, logits, generator)))
    z = torch.where(hard.bool(), top, rest)
    # impossible categories (ℓ = −inf) keep zero noise so ℓ + noise stays −inf, not NaN
    return torch.where(torch.isfinite(logits), z - logits, 0.0)
