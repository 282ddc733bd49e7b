r"""Dirichlet‖Dirichlet KL divergence.

.. math:: \mathrm{KL} = \log\Gamma(\alpha_0) - \sum_k\log\Gamma(\alpha_k) - \log\Gamma(\beta_0)
    + \sum_k\log\Gamma(\beta_k) + \sum_k(\alpha_k - \beta_k)(\psi(\alpha_k) - \psi(\alpha_0))

evaluated without cancellation (exactly 0 for equal parameters, relative accuracy for nearly
equal and for large concentrations) by
:func:`rsample.distributions.continuous._kl_beta.dirichlet_kl`, shared with Beta‖Beta.
"""

from __future__ import annotations

import torch

from ...kl import register_kl
from ..continuous._kl_beta import dirichlet_kl
from .dirichlet import Dirichlet


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> torch.Tensor:
    """KL over the batch shapes broadcast together; the event shapes must agree."""
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl_divergence: event shapes differ: Dirichlet{tuple(p.event_shape)} and "
            f"Dirichlet{tuple(q.event_shape)}"
        )
    alpha, beta = torch.broadcast_tensors(p.concentration, q.concentration)
    return dirichlet_kl(alpha, beta)
