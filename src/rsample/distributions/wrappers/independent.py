r"""Reinterpret rightmost batch dimensions of a distribution as event dimensions.

For ``reinterpreted_batch_ndims`` :math:`= k` the coordinates are independent and

.. math:: \log p(x) = \sum_{\text{last } k \text{ batch dims}} \log p_{\text{base}}(x_i)

``rsample`` is the base's, with the base's gradient kind; so are the moments.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.distributions as _td
from torch.distributions import constraints

from ...distribution import Distribution
from ...kl import kl_divergence, register_kl
from ...transforms.base import sum_rightmost
from ._wrapper import WrapperDistribution, draw, draw_with_log_prob

__all__ = ["Independent"]


class Independent(WrapperDistribution):
    """Drop-in for ``torch.distributions.Independent``; the base may be rsample's or torch's.

    Args:
        base_distribution: the distribution whose batch dims are reinterpreted.
        reinterpreted_batch_ndims: how many rightmost batch dims become event dims.
        validate_args: as for every distribution (the base validates values).
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}

    def __init__(
        self,
        base_distribution: _td.Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        n_batch = len(base_distribution.batch_shape)
        if not 0 <= reinterpreted_batch_ndims <= n_batch:
            raise ValueError(
                "Independent: reinterpreted_batch_ndims must lie in "
                f"[0, len(base_distribution.batch_shape)] = [0, {n_batch}], "
                f"got {reinterpreted_batch_ndims}"
            )
        shape = base_distribution.batch_shape + base_distribution.event_shape
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        cut = len(shape) - event_dim
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Independent:
        new = self._get_checked_instance(Independent, _instance)
        batch_shape = torch.Size(batch_shape)
        reinterpreted = self.event_shape[: self.reinterpreted_batch_ndims]
        new.base_dist = self.base_dist.expand(batch_shape + reinterpreted)
        new.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_enumerate_support(self) -> bool:
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        support = self.base_dist.support
        if self.reinterpreted_batch_ndims:
            support = constraints.independent(support, self.reinterpreted_batch_ndims)
        return support

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=(), *, generator=None) -> torch.Tensor:
        return draw(self.base_dist, "sample", sample_shape, generator)

    def rsample(self, sample_shape=(), *, generator=None) -> torch.Tensor:
        return draw(self.base_dist, "rsample", sample_shape, generator)

    def rsample_and_log_prob(self, sample_shape=(), *, generator=None):
        x, log_p = draw_with_log_prob(self.base_dist, sample_shape, generator)
        return x, sum_rightmost(log_p, self.reinterpreted_batch_ndims)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True) -> torch.Tensor:
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> torch.Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> torch.Tensor:
        return self.base_dist.variance

    @property
    def stddev(self) -> torch.Tensor:
        return self.base_dist.stddev

    def entropy(self) -> torch.Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_dist}, {self.reinterpreted_batch_ndims})"


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> torch.Tensor:
    r"""KL of the bases summed over the reinterpreted dims.

    .. math:: \mathrm{KL}(p\|q) = \sum_{\text{event}} \mathrm{KL}(p_\text{base}\|q_\text{base})
    """
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(
            "KL between Independent distributions with different reinterpreted_batch_ndims"
        )
    kl = kl_divergence(p.base_dist, q.base_dist)
    return sum_rightmost(kl, p.reinterpreted_batch_ndims)
