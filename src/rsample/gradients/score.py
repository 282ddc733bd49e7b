r"""Score-function (REINFORCE) gradient estimators for discrete draws, with baselines.

For :math:`X \sim p_\theta` and any ``f`` (it may be non-differentiable: a ``round``, a
simulator, a reward),

.. math:: \nabla_\theta E[f(X)] = E\big[(f(X) - b)\,\nabla_\theta \log p_\theta(X)\big]

for every baseline :math:`b` that does not depend on :math:`X` (Williams 1992, "Simple
statistical gradient-following algorithms for connectionist reinforcement learning"), because
:math:`E[\nabla_\theta \log p_\theta(X)] = 0`. A good baseline lowers the variance and changes
nothing else. The leave-one-out baseline (RLOO) uses the other draws of the same call,
:math:`b_i = \frac{1}{S-1}\sum_{j \ne i} f(X_j)`, which is independent of :math:`X_i` (Kool,
van Hoof & Welling 2019, "Buy 4 REINFORCE samples, get a baseline for free!").

The accepted distributions and the shape contract for ``f`` are those of every estimator
here (:mod:`rsample.gradients._problem`).
"""

from __future__ import annotations

import numbers

import torch

from ._estimate import Estimate
from ._problem import Objective, _check_generator, _Problem, check_num_samples

__all__ = ["MovingAverageBaseline", "reinforce"]


class MovingAverageBaseline:
    r"""An exponential moving average of past values of ``f``, used as a REINFORCE baseline.

    Each call of :func:`reinforce` with ``baseline=`` this object uses the average of the
    *previous* calls (so the estimate stays unbiased), then folds in the current mean of ``f``:
    :math:`m_t = \delta m_{t-1} + (1 - \delta)\bar f_t`, reported bias-corrected as
    :math:`m_t / (1 - \delta^t)` (as Adam does), so the first call's baseline is 0 and the
    second's is the first mean. The state is plain tensors on this object; no globals.

    Args:
        decay: :math:`\delta \in [0, 1)`.
        per_element: keep one average per batch element (for a fixed batch of problems) rather
            than one scalar over the whole batch (the usual choice when the batch holds
            different data points each step).
    """

    def __init__(self, decay: float = 0.9, per_element: bool = False) -> None:
        if (
            isinstance(decay, bool)
            or not isinstance(decay, numbers.Real)
            or not 0.0 <= float(decay) < 1.0
        ):
            raise ValueError(
                f"MovingAverageBaseline: decay must be a number in [0, 1), got {decay!r}"
            )
        self.decay = float(decay)
        self.per_element = bool(per_element)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen."""
        self._ema: torch.Tensor | None = None
        self.steps = 0

    @property
    def value(self) -> torch.Tensor | float:
        """The current baseline (bias-corrected average; 0 before any update)."""
        if self._ema is None:
            return 0.0
        return self._ema / (1.0 - self.decay**self.steps)

    def update(self, fx: torch.Tensor) -> None:
        """Fold the values ``fx`` (shape ``(n, *batch)``) of one call into the average."""
        fx = fx.detach()
        mean = fx.mean(0) if self.per_element else fx.mean()
        if self._ema is None:
            self._ema = (1.0 - self.decay) * mean
        else:
            if self._ema.shape != mean.shape:
                raise ValueError(
                    "MovingAverageBaseline: the batch shape of f changed from "
                    f"{tuple(self._ema.shape)} to {tuple(mean.shape)} with per_element=True"
                )
            self._ema = self.decay * self._ema + (1.0 - self.decay) * mean
        self.steps += 1

    def __repr__(self) -> str:
        return (
            f"MovingAverageBaseline(decay={self.decay}, per_element={self.per_element}, "
            f"steps={self.steps})"
        )


# --------------------------------------------------------------------------- REINFORCE
def reinforce(
    dist,
    f: Objective,
    num_samples: int = 1,
    *,
    generator: torch.Generator | None = None,
    baseline: str | MovingAverageBaseline | None = None,
) -> Estimate:
    r"""The score-function (REINFORCE) estimator of :math:`\nabla_\theta \sum_b E[f(X_b)]`.

    With :math:`S` draws :math:`x_1..x_S` and baseline :math:`b_i`,

    .. math:: \hat g = \frac{1}{S}\sum_{i=1}^S \big(f(x_i) - b_i\big)
              \nabla_\theta \log p_\theta(x_i),

    * ``baseline=None``: :math:`b_i = 0`;
    * ``baseline="loo"`` (RLOO, needs :math:`S \ge 2`): :math:`b_i = \frac{1}{S-1}
      \sum_{j\ne i} f(x_j)`, i.e. :math:`\hat g = \frac{1}{S-1}\sum_i (f(x_i) - \bar f)
      \nabla\log p(x_i)`;
    * a :class:`MovingAverageBaseline`: the average of ``f`` over previous calls (updated by
      this call).

    **Unbiased** in every form. **Cost**: ``num_samples`` evaluations of ``f`` (one call of
    ``f`` on all draws) and one ``log_prob``. **Assumptions on f**: none; it is never
    differentiated with respect to its input, so it may be non-differentiable or a black box.
    Where ``f`` itself has parameters (a decoder), the surrogate also carries their pathwise
    gradient :math:`\frac1S\sum_i \nabla f(x_i)`.

    Args:
        dist: a Bernoulli, Categorical or OneHotCategorical (rsample's or torch's, optionally in
            an ``Independent``) with any batch shape; the gradient flows into whatever its
            ``logits``/``probs`` depend on.
        f: ``(S, *batch_shape, *event_shape) -> (S, *batch_shape)`` (see the module docstring).
        num_samples: :math:`S`.
        generator: the source of randomness for the draws.
        baseline: ``None``, ``"loo"`` or a :class:`MovingAverageBaseline`.

    Returns:
        :class:`~rsample.gradients.Estimate` (Williams 1992; Kool, van Hoof & Welling 2019).
    """
    name = "reinforce"
    problem = _Problem(name, dist)
    _check_generator(name, generator)
    if (
        baseline is not None
        and baseline != "loo"
        and not isinstance(baseline, MovingAverageBaseline)
    ):
        raise ValueError(
            f"{name}: baseline must be None, 'loo' or a MovingAverageBaseline, got {baseline!r}"
        )
    why = " for baseline='loo'" if baseline == "loo" else ""
    num = check_num_samples(name, num_samples, 2 if baseline == "loo" else 1, why)

    x = problem.draw(num, generator)
    fx = problem.evaluate(f, x)
    keep = fx.dim() - 1
    values = fx.detach()
    if baseline is None:
        advantage = values
    elif baseline == "loo":
        # f_i − mean_{j≠i} f_j = S/(S−1) (f_i − mean f): one reduction, no S×S matrix
        advantage = (values - values.mean(0)) * (num / (num - 1))
    else:
        advantage = values - baseline.value
        baseline.update(values)
    log_prob = problem.per_draw(problem.base.log_prob(x), keep)
    # (fx − fx.detach()) is zero but carries f's own parameter gradient, if any
    surrogate = (advantage * log_prob + (fx - values)).sum() / num
    return Estimate(surrogate, values.mean(0), x, None)
