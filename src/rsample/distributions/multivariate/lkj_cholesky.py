r"""LKJ distribution over Cholesky factors of correlation matrices.

For a ``d × d`` lower-triangular :math:`L` with unit-norm rows and a positive diagonal, the
correlation matrix :math:`C = LL^\top` has the LKJ density :math:`\propto \det(C)^{\eta-1}`
(Lewandowski, Kurowicka & Joe 2009). On the free (strictly lower) entries of :math:`L` the
density factorizes over the rows :math:`i = 1, \dots, d-1` (0-based),

.. math::
    p(L) = \prod_{i=1}^{d-1} \frac{L_{ii}^{\,2\eta - 2 + d - 1 - i}}{Z_i}, \qquad
    Z_i = \pi^{i/2}\,\frac{\Gamma(\eta + (d-1-i)/2)}{\Gamma(\eta + (d-1)/2)},

since :math:`\det C = \prod_i L_{ii}^2` and the Jacobian of :math:`L \mapsto C` is
:math:`\prod_i L_{ii}^{d-1-i}`; :math:`Z_i` is the integral of
:math:`(1 - |w|^2)^{c}` over the unit ball of :math:`\mathbb{R}^i`. This is torch's
``LKJCholesky.log_prob``, to rounding.

``rsample`` is the onion method (LKJ 2009, §3.2) written for the Cholesky factor: row :math:`i`
is :math:`(\sqrt{y_i}\,u_i,\ \sqrt{1 - y_i},\ 0, \dots)` with :math:`u_i` uniform on the sphere
of :math:`\mathbb{R}^i` (a normalized Gaussian: explicit, parameter-free) and
:math:`y_i = |w_i|^2 \sim \mathrm{Beta}(i/2,\ \eta + (d-1-i)/2)`, the law of the squared norm
under the row density above. The Beta draws are rsample's (implicit reparameterization,
Figurnov, Mohamed & Mnih 2018), taken as their logit :math:`t` so that :math:`\sqrt{y}` and
:math:`\sqrt{1-y}` are both formed without cancellation; hence ``rsample_kind = "implicit"``.
(torch's sampler draws :math:`y_i \sim \mathrm{Beta}(i - 1/2, \cdot)`, which is not the law of
its own density for ``d ≥ 3``; the off-diagonal marginals here are the LKJ ones,
:math:`(r + 1)/2 \sim \mathrm{Beta}(\eta - 1 + d/2, \eta - 1 + d/2)`.) The diagonal is floored
at :math:`\sqrt{\text{tiny}}` where :math:`1 - y` underflows (tiny :math:`\eta`), as torch does.

torch defines no mean, mode, variance or entropy for this family; neither does rsample.
"""

from __future__ import annotations

import functools
import math
import numbers

import torch
import torch.nn.functional as F
from torch.distributions import constraints

from ... import _random
from ...distribution import Distribution
from ..continuous.beta import Beta

__all__ = ["LKJCholesky"]

_LOG_PI = math.log(math.pi)


class LKJCholesky(Distribution):
    r"""LKJ distribution of the lower Cholesky factor of a ``dim × dim`` correlation matrix.

    Drop-in for ``torch.distributions.LKJCholesky``, with a reparameterized ``rsample``.

    Args:
        dim: the matrix size (an integer ≥ 2).
        concentration: :math:`\eta > 0`; ``1`` is uniform over correlation matrices, larger
            values favour the identity.
        validate_args: as for every distribution.
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky
    rsample_kind = "implicit"

    def __init__(self, dim: int, concentration=1.0, validate_args=None) -> None:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 2:
            raise ValueError(f"LKJCholesky: argument 'dim' must be an integer >= 2, got {dim!r}")
        self.dim = int(dim)
        (self.concentration,) = self._broadcast(concentration=concentration)
        super().__init__(
            self.concentration.shape, (self.dim, self.dim), validate_args=validate_args
        )

    # ----------------------------------------------------------------- sampling
    def _row_logits(self, sample_shape, generator) -> torch.Tensor:
        """Logits ``t_i`` of ``y_i ~ Beta(i/2, η + (d−1−i)/2)``, ``i = 1..d−1`` (last dim)."""
        eta = self.concentration
        half_i, half_rest = _offsets(self.dim, eta.dtype, eta.device)
        beta = Beta(half_i, eta.unsqueeze(-1) + half_rest, validate_args=False)
        return beta._log_odds(sample_shape, generator)

    def _assemble(self, t: torch.Tensor, generator):
        """``L`` from the row logits and fresh directions; also ``log L_ii`` (``i ≥ 1``)."""
        d = self.dim
        shape = t.shape[:-1]
        tiny = torch.finfo(t.dtype).tiny
        # Strict lower triangle of standard normals: row i holds the i coordinates of u_i.
        z = _random.normal((*shape, d, d), dtype=t.dtype, device=t.device, generator=generator)
        z = z.tril_(-1)
        inv_norm = z[..., 1:, :].square().sum(-1).clamp_min(tiny).rsqrt()
        # √y = exp(−softplus(−t)/2), √(1 − y) = exp(−softplus(t)/2): no 1 − y is ever formed.
        log_diag = (-0.5 * F.softplus(t)).clamp_min(0.5 * math.log(tiny))
        row_scale = F.pad(torch.exp(-0.5 * F.softplus(-t)) * inv_norm, (1, 0))
        diag = F.pad(log_diag.exp(), (1, 0), value=1.0)
        if torch.compiler.is_compiling() or (torch.is_grad_enabled() and t.requires_grad):
            L = torch.diagonal_scatter(z * row_scale.unsqueeze(-1), diag, dim1=-2, dim2=-1)
        else:  # no graph: reuse the noise buffer
            L = z.mul_(row_scale.unsqueeze(-1))
            L.diagonal(dim1=-2, dim2=-1).copy_(diag)
        return L, log_diag

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        t = self._row_logits(sample_shape, generator)
        return self._assemble(t, generator)[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        t = self._row_logits(sample_shape, generator)
        x, log_diag = self._assemble(t, generator)
        return x, self._log_prob_from_log_diag(log_diag)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        log_diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:].log()
        return self._log_prob_from_log_diag(log_diag)

    def _log_prob_from_log_diag(self, log_diag: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_i (2\eta - 2 + d - 1 - i)\log L_{ii} - \log Z_i`."""
        eta = self.concentration
        _, half_rest = _offsets(self.dim, eta.dtype, eta.device)
        order = (2 * eta - 2).unsqueeze(-1) + 2 * half_rest
        return (order * log_diag).sum(-1) - self._log_normalizer()

    def _log_normalizer(self) -> torch.Tensor:
        r""":math:`\sum_i \log Z_i = \tfrac{d(d-1)}{4}\log\pi + \sum_{j=0}^{d-2}
        \log\Gamma(\eta + j/2) - (d-1)\log\Gamma(\eta + (d-1)/2)`."""
        eta = self.concentration
        d = self.dim
        _, half_rest = _offsets(d, eta.dtype, eta.device)
        sum_lgamma = torch.lgamma(eta.unsqueeze(-1) + half_rest).sum(-1)
        return (
            0.25 * d * (d - 1) * _LOG_PI + sum_lgamma - (d - 1) * torch.lgamma(eta + 0.5 * (d - 1))
        )

    def __repr__(self) -> str:
        return f"LKJCholesky(dim={self.dim}, concentration={_short(self.concentration)})"


def _offsets(d: int, dtype: torch.dtype, device: torch.device):
    """``(i/2, (d−1−i)/2)`` for ``i = 1..d−1`` (cached in eager mode; never modified in place)."""
    if torch.compiler.is_compiling():
        return _make_offsets(d, dtype, device)
    return _cached_offsets(d, dtype, device)


def _make_offsets(d: int, dtype: torch.dtype, device: torch.device):
    i = torch.arange(1, d, dtype=dtype, device=device)
    return 0.5 * i, 0.5 * (d - 1 - i)


@functools.lru_cache(maxsize=64)
def _cached_offsets(d: int, dtype: torch.dtype, device: torch.device):
    with torch.inference_mode(False):
        return _make_offsets(d, dtype, device)


def _short(value: torch.Tensor) -> str:
    return f"{value.item():.4g}" if value.numel() == 1 else f"Tensor{list(value.shape)}"
