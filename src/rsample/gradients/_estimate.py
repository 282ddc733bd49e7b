"""What every gradient estimator in :mod:`rsample.gradients` returns."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Estimate"]


class Estimate(NamedTuple):
    """The result of an estimator call ``estimator(dist, f, num_samples, ...)``.

    Attributes:
        surrogate: a scalar whose gradient is the estimator: ``surrogate.backward()`` puts an
            estimate of :math:`\\nabla_\\theta \\sum_b E[f(X_b)]` (summed over the batch) into
            the distribution's parameters (and into parameters of ``f`` where ``f`` is
            differentiable and the estimator uses its derivative). Its value is not an
            estimate of anything; log ``value``.
        value: the Monte Carlo estimate of :math:`E[f(X)]` per batch element, detached.
        samples: the draws used, detached, shape ``(num_samples, *batch_shape, *event_shape)``.
        control_loss: for estimators with tuned control variates (REBAR, RELAX), a scalar whose
            gradient in the control-variate parameters is that of the estimator's variance
            (the papers' :math:`\\partial E[\\hat g^2]/\\partial\\phi`); ``None`` otherwise.
    """

    surrogate: torch.Tensor
    value: torch.Tensor
    samples: torch.Tensor
    control_loss: torch.Tensor | None = None
