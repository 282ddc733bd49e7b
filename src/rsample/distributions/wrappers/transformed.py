r"""The distribution of :math:`Y = f(X)` for :math:`X` from a base and transforms :math:`f`.

With :math:`f = f_n \circ \dots \circ f_1` and :math:`x_k = f_k(x_{k-1})`, :math:`x_0 = X`:

.. math:: \log p_Y(y) = \log p_X(x_0) - \sum_k \log|\det J_{f_k}(x_{k-1})|

``rsample`` is explicit given the base's: :math:`y = f(x)` with :math:`x` a reparameterized
base draw. ``rsample_and_log_prob`` scores on the way forward (``forward_and_log_det`` of each
transform) and never inverts; ``log_prob`` inverts through the transforms.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.distributions as _td
import torch.distributions.transforms as _tt
from torch.distributions import constraints

from ...distribution import Distribution
from ...kl import kl_divergence, register_kl
from ...transforms.base import ComposeTransform, _forward_and_log_det, sum_rightmost
from ._wrapper import WrapperDistribution, draw, draw_with_log_prob
from .independent import Independent

__all__ = ["TransformedDistribution"]


class TransformedDistribution(WrapperDistribution):
    """Drop-in for ``torch.distributions.TransformedDistribution``.

    The event shape is the largest that the base and the transforms couple: a base whose event
    is smaller than the transforms' domain is wrapped in :class:`Independent`, and a base whose
    batch is smaller than the transforms' parameters is expanded, as in torch. Transforms may be
    rsample's or torch's; the base may be rsample's or torch's.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}

    def __init__(
        self,
        base_distribution: _td.Distribution,
        transforms: _tt.Transform | list[_tt.Transform],
        validate_args: bool | None = None,
    ) -> None:
        self.transforms = _as_list(transforms)
        transform = ComposeTransform(self.transforms)
        base = base_distribution
        base_shape = base.batch_shape + base.event_shape
        base_event_dim = len(base.event_shape)
        domain_dim, codomain_dim = transform.domain.event_dim, transform.codomain.event_dim
        if len(base_shape) < domain_dim:
            raise ValueError(
                f"TransformedDistribution: the base's shape {tuple(base_shape)} has fewer than "
                f"the {domain_dim} dims the transforms' domain couples"
            )
        forward_shape = transform.forward_shape(base_shape)
        expanded = transform.inverse_shape(forward_shape)
        if expanded != base_shape:
            base = base.expand(expanded[: len(expanded) - base_event_dim])
        if domain_dim > base_event_dim:
            base = Independent(base, domain_dim - base_event_dim)
        self.base_dist = base
        event_dim = max(codomain_dim, base_event_dim + codomain_dim - domain_dim)
        cut = len(forward_shape) - event_dim
        self._sum_dims = self._log_det_sum_dims(event_dim)
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args=validate_args)

    def _log_det_sum_dims(self, event_dim: int) -> tuple[int, tuple[int, ...]]:
        """How many rightmost dims to sum of the base log-density and of each log-det.

        Walks back from the output: before transform ``t`` the value has ``event_dim`` coupled
        dims, of which ``t`` itself sums ``t.domain.event_dim``.
        """
        dims = []
        for t in reversed(self.transforms):
            event_dim += t.domain.event_dim - t.codomain.event_dim
            dims.append(event_dim - t.domain.event_dim)
        return event_dim - len(self.base_dist.event_shape), tuple(reversed(dims))

    def expand(self, batch_shape, _instance=None) -> TransformedDistribution:
        new = self._get_checked_instance(TransformedDistribution, _instance)
        batch_shape = torch.Size(batch_shape)
        shape = batch_shape + self.event_shape
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        base_batch = shape[: len(shape) - len(self.base_dist.event_shape)]
        new.base_dist = self.base_dist.expand(base_batch)
        new.transforms = self.transforms
        new._sum_dims = self._sum_dims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=(), *, generator=None) -> torch.Tensor:
        with torch.no_grad():
            x = draw(self.base_dist, "sample", sample_shape, generator)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=(), *, generator=None) -> torch.Tensor:
        x = draw(self.base_dist, "rsample", sample_shape, generator)
        for t in self.transforms:
            x = t(x)
        return x

    def rsample_and_log_prob(self, sample_shape=(), *, generator=None):
        r"""``(y, log p(y))`` scored forward: :math:`\log p_X(x) - \sum_k \log|\det J_{f_k}|`."""
        x, log_p = draw_with_log_prob(self.base_dist, sample_shape, generator)
        base_dims, dims = self._sum_dims
        log_p = sum_rightmost(log_p, base_dims)
        for t, d in zip(self.transforms, dims):
            x, log_det = _forward_and_log_det(t, x)
            log_p = log_p - sum_rightmost(log_det, d)
        return x, log_p

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Invert through the transforms, subtracting each log-det on the way back."""
        if self._validate_args:
            self._validate_sample(value)
        base_dims, dims = self._sum_dims
        log_p = 0.0
        y = value
        for t, d in zip(reversed(self.transforms), reversed(dims)):
            x = t.inv(y)
            log_p = log_p - sum_rightmost(t.log_abs_det_jacobian(x, y), d)
            y = x
        return log_p + sum_rightmost(self.base_dist.log_prob(y), base_dims)

    def _monotonize_cdf(self, value: torch.Tensor) -> torch.Tensor:
        """``F`` for an increasing chain, ``1 − F`` for a decreasing one (the sign's product)."""
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if not isinstance(sign, torch.Tensor):
            return value if sign > 0 else 1 - value
        # torch's ``sign·(F − ½) + ½`` cancels for small F even where the sign is +1.
        return torch.where(sign > 0, value, 1 - value)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`F_Y(y) = F_X(f^{-1}(y))`, or :math:`1 - F_X(f^{-1}(y))` if :math:`f` falls."""
        if self._validate_args:
            self._validate_sample(value)
        for t in reversed(self.transforms):
            value = t.inv(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value: torch.Tensor) -> torch.Tensor:
        """:math:`f(F_X^{-1}(p))`, with ``p`` flipped for a decreasing chain."""
        self._validate_probability(value)
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for t in self.transforms:
            value = t(value)
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_dist}, {self.transforms})"


def _as_list(transforms) -> list[_tt.Transform]:
    if isinstance(transforms, _tt.Transform):
        return [transforms]
    if isinstance(transforms, list) and all(isinstance(t, _tt.Transform) for t in transforms):
        return transforms
    raise ValueError(
        f"TransformedDistribution: transforms must be a Transform or a list of Transforms, "
        f"got {transforms!r}"
    )


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p: TransformedDistribution, q: TransformedDistribution):
    r"""A bijection leaves KL unchanged: :math:`\mathrm{KL}(f_*p\|f_*q) = \mathrm{KL}(p\|q)`."""
    if not all(t.bijective for t in p.transforms):
        raise NotImplementedError("KL is invariant only under bijective transforms")
    if p.transforms != q.transforms:
        raise NotImplementedError("KL between TransformedDistributions with different transforms")
    if p.event_shape != q.event_shape:
        raise NotImplementedError("KL between TransformedDistributions with different events")
    return kl_divergence(p.base_dist, q.base_dist)
