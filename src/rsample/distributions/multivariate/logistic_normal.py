r"""Logistic-normal distribution on the simplex.

:math:`Y = \mathrm{sb}(U)`, :math:`U_k \sim N(\mu_k, \sigma_k^2)` independent,
:math:`k = 1, \dots, K-1`, with :math:`\mathrm{sb}` the stick-breaking bijection of
:class:`~rsample.transforms.StickBreakingTransform` (offset logits :math:`U_k - \log(K-k)`,
so :math:`\mu = 0` is centred on the uniform point). Its Jacobian determinant is
:math:`\prod_{k=1}^{K} y_k`, so

.. math:: \log p(y) = \sum_{k<K} \log\varphi_{\mu_k,\sigma_k}(u_k) - \sum_{k=1}^{K}\log y_k,
    \qquad u_k = \log y_k - \log\textstyle\sum_{j>k} y_j + \log(K-k).

Exactly torch's ``LogisticNormal``: a :class:`TransformedDistribution` of
``Independent(Normal(loc, scale), 1)``; ``rsample`` is explicit (the Normal's
:math:`\mu + \sigma\varepsilon` pushed through the transform), ``rsample_and_log_prob`` scores
on the way forward. Like torch it has no closed-form mean, variance or entropy. References:
Aitchison & Shen (1980), "Logistic-normal distributions", Biometrika 67(2); Stan Reference
Manual, "Unit simplex" transform.
"""

from __future__ import annotations

import torch
from torch.distributions import constraints

from ...transforms import StickBreakingTransform
from ..continuous.normal import Normal
from ..wrappers.transformed import TransformedDistribution

__all__ = ["LogisticNormal"]


class LogisticNormal(TransformedDistribution):
    r"""Logistic-normal with base :math:`N(\mu, \sigma^2)` on :math:`\mathbb{R}^{K-1}`.

    Args:
        loc: :math:`\mu`, shape ``batch_shape + (K - 1,)`` (broadcasting with ``scale``).
        scale: :math:`\sigma > 0`.
        validate_args: check the arguments (and values passed to :meth:`log_prob`).

    Scalar ``loc`` and ``scale`` give a distribution on the 2-simplex (event shape ``(2,)``),
    as in torch.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        # The parameters are validated here (naming this class), not again by the Normal.
        base = Normal(loc, scale, validate_args=False)
        if not base.batch_shape:
            base = base.expand([1])
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> LogisticNormal:
        new = self._get_checked_instance(LogisticNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def loc(self) -> torch.Tensor:
        """:math:`\\mu`, the base Normal's location (shape ``batch_shape + (K - 1,)``)."""
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> torch.Tensor:
        """:math:`\\sigma`, the base Normal's scale."""
        return self.base_dist.base_dist.scale
