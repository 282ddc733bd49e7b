r"""Wishart distribution over positive-definite matrices.

.. math:: p(X) = \frac{|X|^{(\nu-p-1)/2}\, e^{-\operatorname{tr}(\Sigma^{-1}X)/2}}
    {2^{\nu p/2}\, |\Sigma|^{\nu/2}\, \Gamma_p(\nu/2)}, \qquad X \succ 0,\ \nu > p - 1,

with :math:`\Gamma_p` the multivariate gamma function. Everything runs on the lower Cholesky
factor :math:`L` of :math:`\Sigma`, computed once from whichever of ``covariance_matrix``,
``precision_matrix`` or ``scale_tril`` was given (with the helpers of
:mod:`.multivariate_normal`: ``cholesky_ex``, validation without a device sync).

``rsample`` is the Bartlett decomposition (Bartlett 1933; Odell & Feiveson 1966; real
:math:`\nu` as in Ku & Bloomfield 2010): :math:`X = (LA)(LA)^\top` with :math:`A` lower
triangular, :math:`A_{ii} = \sqrt{2G_i}`, :math:`G_i \sim \mathrm{Gamma}((\nu - i)/2, 1)`
(:math:`i = 0, \dots, p-1`) and standard normal :math:`A_{ij}`, :math:`i > j`. :math:`L` enters
explicitly; :math:`\nu` through the gammas, by implicit reparameterization (Figurnov, Mohamed &
Mnih 2018), hence ``rsample_kind = "implicit"``. The gammas are floored at the smallest normal
number, so :math:`LA` has a positive diagonal and :math:`X` is positive definite by
construction: no retry loop and no host sync (torch redraws singular samples in a loop that
syncs). For :math:`\nu` within about :math:`10^{-2}` of :math:`p - 1` the last gamma is often
that small and the draw, stored as a dense matrix, is numerically singular:
:meth:`Wishart.rsample_and_log_prob` still scores it exactly (from the noise), while
:meth:`Wishart.log_prob` of the rounded matrix may be ``-inf``.

The analytic KL divergence between two Wisharts of the same dimension is in :mod:`._kl_wishart`.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _random, _validation
from ..._shapes import broadcast_shapes
from ...distribution import Distribution
from ..continuous.gamma import standard_gamma_rsample
from .multivariate_normal import (
    _PARAMS,
    _batch_mv,
    _check_matrix,
    _check_positive_definite,
    _expand,
    _fold,
    _one_matrix,
    _promote,
    _scale_tril_from,
    _unexpanded,
)

__all__ = ["Wishart"]

_LOG_2 = math.log(2.0)
_DF_CONSTRAINTS: dict[int, constraints.Constraint] = {}


class Wishart(Distribution):
    r"""Wishart :math:`W_p(\nu, \Sigma)`, a drop-in for torch's ``Wishart``.

    Args:
        df: degrees of freedom :math:`\nu > p - 1`, shape broadcasting with the batch shape.
        covariance_matrix: positive-definite scale matrix :math:`\Sigma`, shape
            ``batch_shape + (p, p)``.
        precision_matrix: positive-definite :math:`\Sigma^{-1}`.
        scale_tril: lower-triangular :math:`L` with positive diagonal, :math:`\Sigma = LL^\top`.
        validate_args: check the arguments (and values passed to :meth:`log_prob`).

    Exactly one of the three matrices is given; ``scale_tril`` is the cheapest. The factor
    :math:`L` is kept unbroadcast and :meth:`expand` copies nothing. Moments:
    :math:`E[X] = \nu\Sigma`, :math:`\operatorname{Var}(X_{ij}) = \nu(\Sigma_{ij}^2 +
    \Sigma_{ii}\Sigma_{jj})`, mode :math:`(\nu - p - 1)\Sigma` (NaN for :math:`\nu \le p + 1`,
    as in torch).
    """

    support = constraints.positive_definite
    rsample_kind = "implicit"

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": _df_constraint(self._event_shape[-1]),
        }

    def __init__(
        self,
        df: torch.Tensor | float,
        covariance_matrix: torch.Tensor | None = None,
        precision_matrix: torch.Tensor | None = None,
        scale_tril: torch.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        param, matrix = _one_matrix("Wishart", covariance_matrix, precision_matrix, scale_tril)
        if isinstance(df, numbers.Real) and not isinstance(df, bool):
            (matrix,) = _promote(matrix)  # a Python number takes the matrix's dtype
            df = torch.tensor(float(df), dtype=matrix.dtype, device=matrix.device)
        elif isinstance(df, torch.Tensor):
            df, matrix = _promote(df, matrix)
        else:
            raise TypeError(f"Wishart: df must be a number or a tensor, got {type(df).__name__}")
        batch_shape = _batch_shape(df, param, matrix)
        p = matrix.shape[-1]
        self.df = _expand(df, batch_shape)
        self.__dict__[param] = _expand(matrix, (*batch_shape, p, p))
        self._parameterization = param
        self._unbroadcasted_scale_tril, self._factor_info = _scale_tril_from(param, matrix)
        super().__init__(batch_shape, (p, p), validate_args=validate_args)
        del self._factor_info  # only validation reads it

    # ----------------------------------------------------------------- parameters and checks
    def _validate_parameters(self) -> None:
        name, p = "Wishart", self._event_shape[-1]
        _validation.check(name, "df", _df_constraint(p), _unexpanded(self.df, 0), finite=True)
        _check_matrix(name, self)

    def expand(self, batch_shape, _instance=None) -> Wishart:
        """Expand the batch shape as views; the Cholesky factor is shared, nothing is copied."""
        new = _instance if _instance is not None else type(self).__new__(type(self))
        batch_shape = torch.Size(batch_shape)
        matrix_shape = batch_shape + self._event_shape
        new.df = self.df.expand(batch_shape)
        for key in _PARAMS:  # given or already computed matrices, as views
            if key in self.__dict__:
                new.__dict__[key] = self.__dict__[key].expand(matrix_shape)
        new._parameterization = self._parameterization
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self) -> torch.Tensor:
        """:math:`L`, lower triangular with positive diagonal, :math:`\\Sigma = LL^\\top`."""
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self) -> torch.Tensor:
        """:math:`\\Sigma = LL^\\top`."""
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self) -> torch.Tensor:
        """:math:`\\Sigma^{-1}` (``cholesky_inverse``, no inverse of L)."""
        precision = torch.cholesky_inverse(self._unbroadcasted_scale_tril)
        return precision.expand(self._batch_shape + self._event_shape)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        r""":math:`X = (LA)(LA)^\top` by the Bartlett decomposition (see the module docstring)."""
        return self._bartlett(sample_shape, generator)[0]

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        r"""``(X, log_prob(X))`` with the density scored from the Bartlett noise.

        :math:`L^{-1}X L^{-\top} = AA^\top`, so :math:`d_i = A_{ii}^2/2 = G_i` and the
        off-diagonal mass is :math:`\sum_{i>j} A_{ij}^2`: no factorization of :math:`X`, and
        exact even where :math:`X` rounds to a singular matrix.
        """
        x, g, z = self._bartlett(sample_shape, generator)
        log_p = self._log_density(g, g.log(), 0.5 * z.square().sum(-1))
        return x, log_p

    def _bartlett(self, sample_shape, generator):
        """``(X, G, Z)``: the draw, its gammas and the normals below the diagonal of ``A``."""
        L, df = self._unbroadcasted_scale_tril, self.df
        p = self._event_shape[-1]
        shape = self._extended_shape(sample_shape)[:-1]  # sample + batch + (p,)
        g = standard_gamma_rsample(self._half_dfs(), shape, generator=generator)
        i, j = torch.tril_indices(p, p, -1, device=df.device)
        z = _random.normal(
            (*shape[:-1], i.numel()), dtype=df.dtype, device=df.device, generator=generator
        )
        A = torch.diag_embed((2 * g).sqrt())
        if p > 1:
            lower = torch.zeros_like(A)
            lower[..., i, j] = z
            A = A + lower
        # (LA)^T row by row: one product per distinct L, never L expanded over the samples.
        factor_t = _batch_mv(L.unsqueeze(-3), A.mT)
        x = factor_t.mT @ factor_t
        return 0.5 * (x + x.mT), g, z  # exactly symmetric

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r"""The log-density at :math:`X = L_X L_X^\top` (``cholesky_ex``), through
        :math:`M = L^{-1}L_X`, the Cholesky factor of :math:`\Sigma^{-1/2}X\Sigma^{-\top/2}`
        (see :meth:`_log_density`).

        A value that is not positive definite (its factorization fails) raises with validation
        on and scores ``-inf`` without; NaN stays NaN.
        """
        check = self._validate_args and self._check_value_shape(value)
        L_x, info = torch.linalg.cholesky_ex(value)
        if check:
            _check_positive_definite("Wishart", "value", value)
            _validation.check_batch(
                "Wishart",
                "value",
                "positive_definite",
                info,
                reason="it is not positive definite (its Cholesky factorization failed, "
                "info = {value})",
            )
        M = _solve_lower(self._unbroadcasted_scale_tril, L_x)
        m = M.diagonal(dim1=-2, dim2=-1)
        half_off = 0.5 * M.tril(-1).square().sum((-2, -1))
        log_p = self._log_density(0.5 * m.square(), 2 * m.log() - _LOG_2, half_off)
        # Not positive definite: −inf (a NaN in the value fails the factorization too: NaN).
        outside = torch.where(value.isnan().any((-2, -1)), math.nan, -math.inf)
        return torch.where(info > 0, outside, log_p)

    def _log_density(self, d, log_d, half_off) -> torch.Tensor:
        r""":math:`\log p(X)` from :math:`L^{-1}XL^{-\top} = MM^\top` (:math:`M` lower
        triangular): :math:`d_i = M_{ii}^2/2`, its log, and :math:`\tfrac12\sum_{i>j}M_{ij}^2`.

        With :math:`b_i = (\nu - i)/2`, :math:`\log|X| = \log|\Sigma| + \sum_i \log 2d_i` and
        :math:`\operatorname{tr}(\Sigma^{-1}X) = \sum_i 2d_i + \sum_{i>j}M_{ij}^2`, the density
        splits into one gamma-like factor per diagonal entry, each written in the saddle-point
        form of Loader (2000) with Stirling's series:

        .. math:: b\log d - d - \log\Gamma(b) = -b\,h(d/b - 1) + \tfrac12\log\frac{b}{2\pi}
            - S(b), \qquad h(\varepsilon) = \varepsilon - \log(1 + \varepsilon),

        :math:`S(b) = \log\Gamma(b) - (b - \tfrac12)\log b + b - \tfrac12\log 2\pi`. The
        textbook form adds terms of size :math:`\nu\log\nu` that cancel to :math:`O(p^2\log\nu)`
        (8 digits lost at :math:`\nu = 10^6`); here every term has the size of the result.
        """
        p = self._event_shape[-1]
        b = self._half_dfs()
        log_b = b.log()
        eps = (d - b) / b
        # log(d/b): log1p of the exact difference near 1, from the logs where d/b may underflow.
        near = eps > -0.5
        log_r = torch.where(near, torch.log1p(torch.where(near, eps, 0.0)), log_d - log_b)
        # Per diagonal entry i: −b_i h(ε_i) + (i/2) log d_i − ((p+1)/2) log d_i. The direct
        # h = ε − log1p(ε) errs by ~ulp·|ε| absolute, i.e. ~ulp·√b in b·h at typical draws.
        weights = torch.arange(-0.5 * (p + 1), -0.5, 0.5, dtype=b.dtype, device=b.device)
        value_part = (b * (log_r - eps) + weights * log_d).sum(-1)
        param_part = (0.5 * log_b - _stirling(b)).sum(-1) - (p + 1) * self._half_log_det()
        return value_part - half_off + (param_part - _log_density_const(p))

    def _check_value_shape(self, value) -> bool:
        """The shape checks of :meth:`Distribution._validate_sample`; True if the support is to
        be checked (not this distribution's own unmodified draw)."""
        if self._is_own_draw(value):
            return False
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"Wishart: the value must be a tensor, got {type(value).__name__}")
        if value.dim() < 2 or value.shape[-2:] != self._event_shape:
            raise ValueError(
                f"Wishart: the value's trailing shape {tuple(value.shape)} does not end with the "
                f"event shape {tuple(self._event_shape)}"
            )
        try:
            broadcast_shapes(value.shape[:-2], self._batch_shape)
        except RuntimeError:
            raise ValueError(
                f"Wishart: the value's batch shape {tuple(value.shape[:-2])} does not broadcast "
                f"with the distribution's batch shape {tuple(self._batch_shape)}"
            ) from None
        return True

    def _half_log_det(self) -> torch.Tensor:
        r""":math:`\tfrac12\log|\Sigma| = \sum_i \log L_{ii}` (recomputed: no cached graph)."""
        diagonal = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1)
        return diagonal.contiguous().log().sum(-1)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        r""":math:`\nu\Sigma`."""
        return self.df[..., None, None] * self.covariance_matrix

    @property
    def mode(self) -> torch.Tensor:
        r""":math:`(\nu - p - 1)\Sigma`, NaN where :math:`\nu \le p + 1` (as torch)."""
        factor = self.df - (self._event_shape[-1] + 1)
        factor = torch.where(factor > 0, factor, math.nan)
        return factor[..., None, None] * self.covariance_matrix

    @property
    def variance(self) -> torch.Tensor:
        r""":math:`\operatorname{Var}(X_{ij}) = \nu(\Sigma_{ij}^2 + \Sigma_{ii}\Sigma_{jj})`."""
        cov = self.covariance_matrix
        diag = cov.diagonal(dim1=-2, dim2=-1)
        return self.df[..., None, None] * (cov.square() + diag[..., :, None] * diag[..., None, :])

    def entropy(self) -> torch.Tensor:
        r""":math:`H = \tfrac{p+1}2\log|\Sigma| + \tfrac{p(p+1)}2\log 2 + \log\Gamma_p(\nu/2)
        - \tfrac{\nu-p-1}2\psi_p(\nu/2) + \tfrac{\nu p}2`, evaluated as :math:`-E[\log p]`
        term by term in the form of :meth:`_log_density`:

        .. math:: H = \sum_i \Big[b_i\lambda(b_i) - \tfrac12\log b_i + S(b_i)
            + \tfrac{p+1-i}2\psi(b_i)\Big] + \tfrac{p(p-1)}4 + \tfrac{p+1}2\log|\Sigma| + c_p,

        with :math:`\lambda(b) = \log b - \psi(b) = E[h(G/b - 1)]` for :math:`G \sim
        \mathrm{Gamma}(b)`: no :math:`\nu\log\nu`-sized terms that cancel.
        """
        p = self._event_shape[-1]
        b = self._half_dfs()
        steps = torch.arange(p, dtype=b.dtype, device=b.device)
        per_dim = (
            b * _log_minus_digamma(b)
            - 0.5 * b.log()
            + _stirling(b)
            + 0.5 * (p + 1 - steps) * torch.digamma(b)
        )
        entropy = (
            per_dim.sum(-1)
            + (p + 1) * self._half_log_det()
            + (0.25 * p * (p - 1) + _log_density_const(p))
        )
        return entropy.expand(self._batch_shape)

    def _half_dfs(self) -> torch.Tensor:
        r""":math:`b_i = (\nu - i)/2`, :math:`i = 0, \dots, p-1`: the gamma shapes of the
        Bartlett diagonal (shape ``batch_shape + (p,)``)."""
        df = self.df
        steps = torch.arange(self._event_shape[-1], dtype=df.dtype, device=df.device)
        return 0.5 * (df.unsqueeze(-1) - steps)


# --------------------------------------------------------------------- helpers
# Stirling's series S(b) = Σ_k B_2k / (2k(2k−1) b^(2k−1)) and log b − ψ(b) = 1/(2b) +
# Σ_k B_2k / (2k b^(2k)), k = 1 … 4 (Abramowitz & Stegun 6.1.40, 6.3.18): from b = 30 on the
# first omitted terms are below 5e-17; below, the direct forms lose at most ~1e-14 absolute.
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680)
_LOG_MINUS_DIGAMMA = (1 / 12, -1 / 120, 1 / 252, -1 / 240)
_SERIES_FROM = 30.0
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _even_series(b: torch.Tensor, coeffs: tuple[float, ...]) -> torch.Tensor:
    """``Σ_k coeffs[k] · b^(−2k)``, k = 0, 1, … (Horner in ``1/b²``)."""
    w = b.reciprocal().square()
    out = coeffs[-1] * w + coeffs[-2]
    for c in reversed(coeffs[:-2]):
        out = out * w + c
    return out


def _stirling(b: torch.Tensor) -> torch.Tensor:
    r""":math:`S(b) = \log\Gamma(b) - (b - \tfrac12)\log b + b - \tfrac12\log 2\pi`: the
    series for large :math:`b` (where the direct form cancels), the direct form below."""
    big, small = b.clamp_min(_SERIES_FROM), b.clamp_max(_SERIES_FROM)
    series = _even_series(big, _STIRLING) / big
    direct = torch.lgamma(small) - (small - 0.5) * small.log() + (small - _HALF_LOG_2PI)
    return torch.where(b >= _SERIES_FROM, series, direct)


def _log_minus_digamma(b: torch.Tensor) -> torch.Tensor:
    r""":math:`\log b - \psi(b) > 0`: the series for large :math:`b` (where the difference
    cancels), the direct form below."""
    big, small = b.clamp_min(_SERIES_FROM), b.clamp_max(_SERIES_FROM)
    series = (0.5 + _even_series(big, _LOG_MINUS_DIGAMMA) / big) / big
    return torch.where(b >= _SERIES_FROM, series, small.log() - torch.digamma(small))


def _log_density_const(p: int) -> float:
    r""":math:`c_p = \tfrac p2\log 2\pi + \tfrac{p(p+1)}2\log 2 + \tfrac{p(p-1)}4\log\pi`."""
    return p * _HALF_LOG_2PI + 0.5 * p * (p + 1) * _LOG_2 + 0.25 * p * (p - 1) * math.log(math.pi)


def _solve_lower(L: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``L⁻¹B`` for lower-triangular ``L`` whose batch shape broadcasts to ``B``'s: the columns
    of ``B`` are solved as a batch of vectors, one triangular solve per distinct ``L``."""
    L_cols, columns, restore = _fold(L.unsqueeze(-3), B.mT)
    solved = torch.linalg.solve_triangular(L_cols, columns, upper=False)
    return restore(solved).mT


def _df_constraint(p: int) -> constraints.Constraint:
    """``greater_than(p − 1)``, one object per dimension (as torch's, built on demand)."""
    constraint = _DF_CONSTRAINTS.get(p)
    if constraint is None:
        constraint = _DF_CONSTRAINTS[p] = constraints.greater_than(p - 1)
    return constraint


def _batch_shape(df: torch.Tensor, param: str, matrix: torch.Tensor) -> torch.Size:
    """The broadcast batch shape; a ``ValueError`` names both shapes when they do not fit."""
    shapes = f"df{tuple(df.shape)}, {param}{tuple(matrix.shape)}"
    if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"Wishart: {param} must be a (batch of) square matrices, got {shapes}")
    try:
        return broadcast_shapes(df.shape, matrix.shape[:-2])
    except RuntimeError:
        raise ValueError(f"Wishart: batch shapes do not broadcast: {shapes}") from None
