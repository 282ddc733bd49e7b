r"""Multivariate normal with a low-rank-plus-diagonal covariance.

.. math:: X \sim N(\mu, \Sigma), \quad \Sigma = WW^\top + D, \quad
    W \in \mathbb{R}^{d \times r}, \quad D = \operatorname{diag}(\delta),\ \delta > 0

``rsample`` is explicit: :math:`x = \mu + W\varepsilon_W + D^{1/2}\varepsilon_D` with
:math:`\varepsilon_W \sim N(0, I_r)`, :math:`\varepsilon_D \sim N(0, I_d)`. Scoring costs
:math:`O(dr^2)`, never :math:`O(d^3)`: with the whitened factor :math:`\tilde W = D^{-1/2}W` and
the capacitance matrix :math:`C = I_r + \tilde W^\top \tilde W = L_C L_C^\top`,

.. math:: \Sigma^{-1} = D^{-1/2}\big(I - \tilde W C^{-1} \tilde W^\top\big)D^{-1/2}, \qquad
    \log\det\Sigma = \log\det D + 2\sum_i \log (L_C)_{ii}

(the Woodbury identity and the matrix determinant lemma; Woodbury 1950, Harville 1997 §18.1,
Rasmussen & Williams 2006, *Gaussian Processes for Machine Learning* §A.3). :math:`C` has
eigenvalues :math:`\ge 1`, so its Cholesky factorization cannot fail for valid parameters.
"""

from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _random, _validation
from ..._shapes import broadcast_shapes
from ...distribution import Distribution
from ...kl import register_kl
from .multivariate_normal import (
    LOG_2PI,
    MultivariateNormal,
    _batch_mahalanobis,
    _batch_mv,
    _expand,
    _kl_gaussian,
    _promote,
    _unexpanded,
)

__all__ = ["LowRankMultivariateNormal"]


class LowRankMultivariateNormal(Distribution):
    r""":math:`N(\mu, WW^\top + D)`, a drop-in for torch's ``LowRankMultivariateNormal``.

    Args:
        loc: mean :math:`\mu`, shape ``batch_shape + (d,)``.
        cov_factor: :math:`W`, shape ``batch_shape + (d, r)``.
        cov_diag: the diagonal :math:`\delta` of :math:`D`, positive, shape ``batch_shape + (d,)``.
        validate_args: check the arguments (and values passed to :meth:`log_prob`).

    Batch shapes broadcast; the unbroadcast parameters and everything derived from them (the
    capacitance factor :math:`L_C`) are kept as given, so :meth:`expand` copies nothing.
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    rsample_kind = "explicit"
    _batch_free = (
        "_unbroadcasted_cov_factor",
        "_unbroadcasted_cov_diag",
        "_diag_sqrt",
        "_whitened_factor",
        "_capacitance_tril",
    )

    def __init__(
        self,
        loc: torch.Tensor,
        cov_factor: torch.Tensor,
        cov_diag: torch.Tensor,
        validate_args: bool | None = None,
    ) -> None:
        loc, cov_factor, cov_diag = _promote(loc, cov_factor, cov_diag)
        batch_shape = _batch_shape(loc, cov_factor, cov_diag)
        d, r = cov_factor.shape[-2:]
        self.loc = _expand(loc, (*batch_shape, d))
        self.cov_factor = _expand(cov_factor, (*batch_shape, d, r))
        self.cov_diag = _expand(cov_diag, (*batch_shape, d))
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._diag_sqrt = cov_diag.sqrt()
        self._whitened_factor = cov_factor / self._diag_sqrt.unsqueeze(-1)
        self._capacitance_tril = _capacitance_tril(self._whitened_factor)
        super().__init__(batch_shape, (d,), validate_args=validate_args)

    def _validate_parameters(self) -> None:
        """Each parameter once (unbroadcast), elementwise: one reduction apiece."""
        name = type(self).__name__
        _validation.check(name, "loc", constraints.real, _unexpanded(self.loc, 1), finite=True)
        W, delta = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        _validation.check(name, "cov_factor", constraints.real, W, finite=True)
        _validation.check(name, "cov_diag", constraints.positive, delta, finite=True)

    # ----------------------------------------------------------------- derived matrices
    @lazy_property
    def covariance_matrix(self) -> torch.Tensor:
        r""":math:`\Sigma = WW^\top + D`."""
        W = self._unbroadcasted_cov_factor
        covariance = W @ W.mT + torch.diag_embed(self._unbroadcasted_cov_diag)
        return covariance.expand(self._batch_shape + self._event_shape * 2)

    @lazy_property
    def precision_matrix(self) -> torch.Tensor:
        r""":math:`\Sigma^{-1} = D^{-1} - B^\top B`, :math:`B = L_C^{-1}\tilde W^\top D^{-1/2}`
        (Woodbury)."""
        B = self._solve_capacitance(self._whitened_factor.mT) / self._diag_sqrt.unsqueeze(-2)
        precision = torch.diag_embed(self._unbroadcasted_cov_diag.reciprocal()) - B.mT @ B
        return precision.expand(self._batch_shape + self._event_shape * 2)

    @lazy_property
    def scale_tril(self) -> torch.Tensor:
        r""":math:`L = D^{1/2}\operatorname{chol}(I_d + \tilde W\tilde W^\top)`.

        Factoring the whitened matrix, whose eigenvalues are :math:`\ge 1`, rather than
        :math:`\Sigma` itself keeps the Cholesky factorization well conditioned (Rasmussen &
        Williams 2006, §3.4.3).
        """
        Wt = self._whitened_factor
        eye = torch.eye(Wt.shape[-2], dtype=Wt.dtype, device=Wt.device)
        L = self._diag_sqrt.unsqueeze(-1) * torch.linalg.cholesky_ex(eye + Wt @ Wt.mT)[0]
        return L.expand(self._batch_shape + self._event_shape * 2)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        r""":math:`x = \mu + W\varepsilon_W + D^{1/2}\varepsilon_D`."""
        eps_w, eps_d = self._noise(sample_shape, generator)
        return self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_w) + self._diag_sqrt * eps_d

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        r"""``(x, log_prob(x))``, scoring the whitened residual built from the noise.

        :math:`D^{-1/2}(x - \mu) = D^{-1/2}W\varepsilon_W + \varepsilon_D` reuses the product
        :math:`W\varepsilon_W` and skips the subtraction (and the value check) of :meth:`log_prob`.
        """
        eps_w, eps_d = self._noise(sample_shape, generator)
        w_eps = _batch_mv(self._unbroadcasted_cov_factor, eps_w)
        x = self.loc + w_eps + self._diag_sqrt * eps_d
        return x, self._log_density(w_eps / self._diag_sqrt + eps_d)

    def _noise(self, sample_shape, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """:math:`(\\varepsilon_W, \\varepsilon_D)`, drawn in torch's order."""
        shape = self._extended_shape(sample_shape)
        options = {"dtype": self.loc.dtype, "device": self.loc.device, "generator": generator}
        rank = self._unbroadcasted_cov_factor.shape[-1]
        return _random.normal((*shape[:-1], rank), **options), _random.normal(shape, **options)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`-\tfrac12\big[(x-\mu)^\top\Sigma^{-1}(x-\mu) + \log\det\Sigma
        + d\log 2\pi\big]`."""
        if self._validate_args:
            self._validate_sample(value)
        return self._log_density((value - self.loc) / self._diag_sqrt)

    def _log_density(self, y: torch.Tensor) -> torch.Tensor:
        """The log-density at the whitened residual :math:`y = D^{-1/2}(x - \\mu)`."""
        d = self._event_shape[0]
        return -0.5 * (self._whitened_mahalanobis(y) + self._log_det() + d * LOG_2PI)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    @property
    def variance(self) -> torch.Tensor:
        r""":math:`\Sigma_{ii} = \sum_j W_{ij}^2 + \delta_i`."""
        W = self._unbroadcasted_cov_factor
        variance = W.square().sum(-1) + self._unbroadcasted_cov_diag
        return variance.expand(self._batch_shape + self._event_shape)

    def entropy(self) -> torch.Tensor:
        r""":math:`H = \tfrac12\big[d(1 + \log 2\pi) + \log\det\Sigma\big]`."""
        d = self._event_shape[0]
        return (0.5 * (d * (1.0 + LOG_2PI) + self._log_det())).expand(self._batch_shape)

    # ----------------------------------------------------------------- Gaussian algebra (KL)
    def _log_det(self) -> torch.Tensor:
        r""":math:`\log\det\Sigma = \sum_i\log\delta_i + 2\sum_i \log(L_C)_{ii}` (determinant
        lemma)."""
        half_log_det_c = self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return self._unbroadcasted_cov_diag.log().sum(-1) + 2.0 * half_log_det_c

    def _solve_capacitance(self, rhs: torch.Tensor) -> torch.Tensor:
        """:math:`L_C^{-1}` applied to a (batch of) matrices of ``r`` rows."""
        return torch.linalg.solve_triangular(self._capacitance_tril, rhs, upper=False)

    def _whitened_mahalanobis(self, y: torch.Tensor) -> torch.Tensor:
        r""":math:`y^\top(I + \tilde W\tilde W^\top)^{-1}y
        = \|y\|^2 - \|L_C^{-1}\tilde W^\top y\|^2`.

        The difference cancels when :math:`y` lies almost in the range of :math:`\tilde W` and
        :math:`\delta` is tiny; it is the Woodbury form torch uses, accurate for moderate
        :math:`\|\tilde W\|^2`.
        """
        projected = _batch_mv(self._whitened_factor.mT, y)
        return y.square().sum(-1) - _batch_mahalanobis(self._capacitance_tril, projected)

    def _mahalanobis(self, diff: torch.Tensor) -> torch.Tensor:
        r""":math:`\delta^\top\Sigma^{-1}\delta` for a residual :math:`\delta`."""
        return self._whitened_mahalanobis(diff / self._diag_sqrt)

    def _trace_inv_quad(self, factor: torch.Tensor) -> torch.Tensor:
        r""":math:`\operatorname{tr}(F^\top\Sigma^{-1}F) = \|G\|_F^2
        - \|L_C^{-1}\tilde W^\top G\|_F^2`, :math:`G = D^{-1/2}F`."""
        G = factor / self._diag_sqrt.unsqueeze(-1)
        projected = self._solve_capacitance(self._whitened_factor.mT @ G)
        return G.square().sum((-2, -1)) - projected.square().sum((-2, -1))

    def _trace_inv_diag(self, diag: torch.Tensor) -> torch.Tensor:
        r""":math:`\operatorname{tr}(\Sigma^{-1}\operatorname{diag} v)
        = \sum_j \frac{v_j}{\delta_j}\big(1 - \|(L_C^{-1}\tilde W^\top)_{:j}\|^2\big)`."""
        A = self._solve_capacitance(self._whitened_factor.mT)
        return (diag / self._unbroadcasted_cov_diag * (1.0 - A.square().sum(-2))).sum(-1)

    def _covariance_parts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W, δ)``: :math:`\\Sigma = WW^\\top + \\operatorname{diag}\\delta`."""
        return self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag


def _batch_shape(loc: torch.Tensor, W: torch.Tensor, delta: torch.Tensor) -> torch.Size:
    """The broadcast batch shape; a ``ValueError`` names every shape when they do not fit."""
    name = "LowRankMultivariateNormal"
    shapes = f"loc{tuple(loc.shape)}, cov_factor{tuple(W.shape)}, cov_diag{tuple(delta.shape)}"
    if loc.dim() < 1 or W.dim() < 2 or delta.dim() < 1:
        raise ValueError(
            f"{name}: loc and cov_diag must be at least one-dimensional and cov_factor at least "
            f"two-dimensional, got {shapes}"
        )
    if not loc.shape[-1] == W.shape[-2] == delta.shape[-1]:
        raise ValueError(
            f"{name}: loc (d,), cov_factor (d, r) and cov_diag (d,) disagree on d: {shapes}"
        )
    try:
        return broadcast_shapes(loc.shape[:-1], W.shape[:-2], delta.shape[:-1])
    except RuntimeError:
        raise ValueError(f"{name}: batch shapes do not broadcast: {shapes}") from None


def _capacitance_tril(whitened: torch.Tensor) -> torch.Tensor:
    r"""Lower Cholesky factor of :math:`C = I_r + \tilde W^\top\tilde W` (eigenvalues
    :math:`\ge 1`).

    ``cholesky_ex`` does not synchronize the device to check its ``info``; for valid parameters
    :math:`C` is positive definite, and invalid ones are caught by validation.
    """
    eye = torch.eye(whitened.shape[-1], dtype=whitened.dtype, device=whitened.device)
    return torch.linalg.cholesky_ex(eye + whitened.mT @ whitened)[0]


register_kl(MultivariateNormal, LowRankMultivariateNormal)(_kl_gaussian)
register_kl(LowRankMultivariateNormal, MultivariateNormal)(_kl_gaussian)
register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)(_kl_gaussian)
