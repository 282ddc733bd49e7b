r"""ARM and DisARM: unbiased antithetic gradient estimators for Bernoulli variables.

Both draw one uniform vector :math:`u \in (0, 1)^V` per sample and evaluate ``f`` on the
antithetic pair

.. math:: b = 1[u < \sigma(\alpha)], \qquad \tilde b = 1[1 - u < \sigma(\alpha)]
          = 1[u > \sigma(-\alpha)],

each marginally :math:`\text{Bernoulli}(\sigma(\alpha))` (:math:`\alpha` the logits, one per
coordinate of a factorized multivariate Bernoulli). The comparisons are made in logit space,
:math:`b = 1[L < \alpha]`, :math:`\tilde b = 1[-L < \alpha]` with :math:`L = \log u - \log(1-u)`,
so they stay exact for :math:`|\alpha|` large or infinite.

* ARM (Yin & Zhou 2019, "ARM: Augment-REINFORCE-Merge Gradient for Stochastic Binary
  Networks"): :math:`\hat g_v = \big(f(\tilde b) - f(b)\big)(u_v - \tfrac12)`.
* DisARM (Dong, Mnih & Tucker 2020, "DisARM: An Antithetic Gradient Estimator for Binary
  Latent Variables", eq. 6 for factorized multivariate Bernoulli):
  :math:`\hat g_v = \tfrac12 \big(f(b) - f(\tilde b)\big)(-1)^{\tilde b_v}
  1[b_v \ne \tilde b_v]\,\sigma(|\alpha_v|)`, which is ARM with :math:`u` integrated out given
  :math:`(b, \tilde b)`; so its variance is never larger than ARM's.

Both are estimators of :math:`\nabla_\alpha E[f(b)]`; the gradient reaches the parameters
through the chain rule on the distribution's ``logits``.
"""

from __future__ import annotations

import torch

from ._estimate import Estimate
from ._problem import (
    Objective,
    _check_generator,
    _Problem,
    check_num_samples,
    expand_right,
    logit,
    uniform,
)

__all__ = ["arm", "disarm"]


def arm(
    dist,
    f: Objective,
    num_samples: int = 1,
    *,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""The ARM estimator of :math:`\nabla_\theta \sum_b E[f(X_b)]` for Bernoulli variables.

    .. math:: \hat g_\alpha = \frac1S \sum_{i=1}^S \big(f(\tilde b_i) - f(b_i)\big)
              \big(u_i - \tfrac12\big)

    with the antithetic pair :math:`b_i = 1[u_i < \sigma(\alpha)]`,
    :math:`\tilde b_i = 1[u_i > \sigma(-\alpha)]` (module docstring). **Unbiased.** **Cost**:
    ``2 * num_samples`` evaluations of ``f`` (one call on the ``2S`` draws). **Assumptions**:
    none on ``f`` (never differentiated in its input; may be non-differentiable). ``dist`` must
    be a Bernoulli (rsample's or torch's, optionally in an ``Independent``); ``f`` may be a
    joint function of trailing batch dimensions (a multivariate factorized Bernoulli). The
    ``samples`` of the result are :math:`(b_1..b_S, \tilde b_1..\tilde b_S)`, shape
    ``(2S, *batch_shape)``; ``value`` is the mean of ``f`` over all ``2S``.

    Reference: Yin & Zhou 2019.
    """
    return _antithetic("arm", dist, f, num_samples, generator)


def disarm(
    dist,
    f: Objective,
    num_samples: int = 1,
    *,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""The DisARM estimator of :math:`\nabla_\theta \sum_b E[f(X_b)]` for Bernoulli variables.

    .. math:: \hat g_{\alpha_v} = \frac1S \sum_{i=1}^S \tfrac12 \big(f(b_i) - f(\tilde b_i)\big)
              (-1)^{\tilde b_{iv}}\, 1[b_{iv} \ne \tilde b_{iv}]\, \sigma(|\alpha_v|)

    on the same antithetic pairs as :func:`arm`. **Unbiased**, with variance at most ARM's
    (it is ARM Rao-Blackwellized over :math:`u` given the pair); it vanishes in every
    coordinate where the pair agrees. **Cost**: ``2 * num_samples`` evaluations of ``f``.
    **Assumptions**: none on ``f``. Result layout as :func:`arm`.

    Reference: Dong, Mnih & Tucker 2020.
    """
    return _antithetic("disarm", dist, f, num_samples, generator)


def _antithetic(name: str, dist, f: Objective, num_samples, generator) -> Estimate:
    problem = _Problem(name, dist)
    if problem.kind != "bernoulli":
        raise ValueError(
            f"{name}: dist must be a Bernoulli (ARM/DisARM are for binary variables), got "
            f"{type(problem.base).__name__}"
        )
    _check_generator(name, generator)
    num = check_num_samples(name, num_samples)
    logits = problem.logits
    alpha = logits.detach()
    u = uniform((num, *alpha.shape), alpha, generator)  # float64, whatever α's dtype
    noise = logit(u)  # logistic: u < σ(α) ⇔ noise < α, exactly
    b = (noise < alpha).to(alpha.dtype)
    b_anti = (-noise < alpha).to(alpha.dtype)
    x = torch.cat((b, b_anti))
    fx = problem.evaluate(f, x)
    values = fx.detach()
    f_b, f_anti = expand_right(values[:num], u.dim()), expand_right(values[num:], u.dim())
    if name == "arm":
        grad = (f_anti - f_b) * (u - 0.5).to(alpha.dtype)
    else:
        grad = 0.5 * (f_b - f_anti) * (b - b_anti) * torch.sigmoid(alpha.abs())
    # grad·α has gradient grad in α (infinite α, where grad is 0, are masked so the value stays
    # finite); (fx − fx.detach()) adds f's own parameter gradient, if any
    live = logits.masked_fill(~torch.isfinite(alpha), 0.0)
    surrogate = (grad * live).sum() / num + (fx - values).sum() / (2 * num)
    return Estimate(surrogate, values.mean(0), x, None)
