r"""Multivariate normal distribution.

.. math:: p(x) = (2\pi)^{-d/2} \det(\Sigma)^{-1/2}
    \exp\!\big(-\tfrac12 (x-\mu)^\top \Sigma^{-1} (x-\mu)\big), \quad x \in \mathbb{R}^d

Everything runs on the lower Cholesky factor :math:`L` (:math:`\Sigma = L L^\top`), computed once
from whichever of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` was given.
``rsample`` is explicit: :math:`x = \mu + L\varepsilon`, :math:`\varepsilon \sim N(0, I_d)`, and
:meth:`~MultivariateNormal.rsample_and_log_prob` scores the draw from :math:`\varepsilon` without a
triangular solve.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import lazy_property

from ... import _random, _validation
from ..._shapes import broadcast_shapes
from ...distribution import Distribution, _common_dtype_device
from ...kl import register_kl

__all__ = ["MultivariateNormal"]

LOG_2PI = math.log(2 * math.pi)
_PARAMS = ("covariance_matrix", "precision_matrix", "scale_tril")


class MultivariateNormal(Distribution):
    r"""Multivariate normal :math:`N(\mu, \Sigma)`, a drop-in for torch's ``MultivariateNormal``.

    Args:
        loc: mean :math:`\mu`, shape ``batch_shape + (d,)``.
        covariance_matrix: positive-definite :math:`\Sigma`, shape ``batch_shape + (d, d)``.
        precision_matrix: positive-definite :math:`\Sigma^{-1}`.
        scale_tril: lower-triangular :math:`L` with positive diagonal, :math:`\Sigma = LL^\top`.
        validate_args: check the arguments (and values passed to :meth:`log_prob`).

    Exactly one of the three matrices is given; ``scale_tril`` is the cheapest. Batch shapes of
    ``loc`` and the matrix broadcast; the factor :math:`L` is kept unbroadcast, so a single
    covariance shared by a batch of means is factored once, and :meth:`expand` copies nothing.

    Validation never runs a second factorization and never synchronizes a device:
    ``covariance_matrix`` and ``precision_matrix`` are judged by the ``info`` of the Cholesky
    factorization the distribution needs anyway (``torch.linalg.cholesky_ex``) plus finiteness
    and symmetry checks; ``scale_tril`` by two reductions (upper triangle, diagonal).
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    rsample_kind = "explicit"

    def __init__(
        self,
        loc: torch.Tensor,
        covariance_matrix: torch.Tensor | None = None,
        precision_matrix: torch.Tensor | None = None,
        scale_tril: torch.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        param, matrix = _one_matrix(
            "MultivariateNormal", covariance_matrix, precision_matrix, scale_tril
        )
        loc, matrix = _promote(loc, matrix)
        batch_shape = _batch_shape("MultivariateNormal", loc, param, matrix)
        d = loc.shape[-1]
        self.loc = _expand(loc, (*batch_shape, d))
        self.__dict__[param] = _expand(matrix, (*batch_shape, d, d))
        self._parameterization = param
        self._unbroadcasted_scale_tril, self._factor_info = _scale_tril_from(param, matrix)
        super().__init__(batch_shape, (d,), validate_args=validate_args)
        del self._factor_info  # only validation reads it

    # ----------------------------------------------------------------- parameters and checks
    def _validate_parameters(self) -> None:
        name = type(self).__name__
        _validation.check(name, "loc", constraints.real, _unexpanded(self.loc, 1), finite=True)
        _check_matrix(name, self)

    def expand(self, batch_shape, _instance=None) -> MultivariateNormal:
        """Expand the batch shape as views; the Cholesky factor is shared, nothing is copied."""
        new = _instance if _instance is not None else type(self).__new__(type(self))
        batch_shape = torch.Size(batch_shape)
        d = self._event_shape[0]
        new.loc = self.loc.expand((*batch_shape, d))
        for key in _PARAMS:  # given or already computed matrices, as views
            if key in self.__dict__:
                new.__dict__[key] = self.__dict__[key].expand((*batch_shape, d, d))
        new._parameterization = self._parameterization
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self) -> torch.Tensor:
        """:math:`L`, lower triangular with positive diagonal, :math:`\\Sigma = LL^\\top`."""
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape * 2)

    @lazy_property
    def covariance_matrix(self) -> torch.Tensor:
        """:math:`\\Sigma = LL^\\top`."""
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._batch_shape + self._event_shape * 2)

    @lazy_property
    def precision_matrix(self) -> torch.Tensor:
        """:math:`\\Sigma^{-1} = L^{-\\top} L^{-1}` (``cholesky_inverse``, no inverse of L)."""
        precision = torch.cholesky_inverse(self._unbroadcasted_scale_tril)
        return precision.expand(self._batch_shape + self._event_shape * 2)

    # ----------------------------------------------------------------- sampling
    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        r""":math:`x = \mu + L\varepsilon`, :math:`\varepsilon \sim N(0, I_d)`."""
        eps = self._noise(sample_shape, generator)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def rsample_and_log_prob(self, sample_shape=torch.Size(), *, generator=None):
        r"""``(x, log_prob(x))`` with the density scored from the noise.

        .. math:: \log p(\mu + L\varepsilon) = -\tfrac12\|\varepsilon\|^2 - \sum_i \log L_{ii}
            - \tfrac d2 \log 2\pi,

        since :math:`L^{-1}(x - \mu) = \varepsilon`: no triangular solve.
        """
        eps = self._noise(sample_shape, generator)
        x = self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)
        return x, self._log_density(eps.square().sum(-1))

    def _noise(self, sample_shape, generator) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        return _random.normal(
            shape, dtype=self.loc.dtype, device=self.loc.device, generator=generator
        )

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`-\tfrac12 \|L^{-1}(x-\mu)\|^2 - \sum_i \log L_{ii} - \tfrac d2 \log 2\pi`."""
        if self._validate_args:
            self._validate_sample(value)
        return self._log_density(self._mahalanobis(value - self.loc))

    def _log_density(self, mahalanobis: torch.Tensor) -> torch.Tensor:
        return -0.5 * (mahalanobis + self._event_shape[0] * LOG_2PI) - self._half_log_det()

    def _half_log_det(self) -> torch.Tensor:
        r""":math:`\tfrac12\log\det\Sigma = \sum_i \log L_{ii}`.

        Recomputed per call (``d`` logarithms), not cached: a cached value would tie every
        ``log_prob`` to one autograd graph, and a second ``backward`` would fail. The strided
        diagonal is copied first: ``log`` is vectorized only on contiguous memory, and the
        copy halves the cost on batches of matrices.
        """
        diagonal = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1)
        return diagonal.contiguous().log().sum(-1)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    @property
    def mode(self) -> torch.Tensor:
        return self.loc

    @property
    def variance(self) -> torch.Tensor:
        r""":math:`\Sigma_{ii} = \sum_j L_{ij}^2`."""
        variance = self._unbroadcasted_scale_tril.square().sum(-1)
        return variance.expand(self._batch_shape + self._event_shape)

    def entropy(self) -> torch.Tensor:
        r""":math:`H = \tfrac d2 (1 + \log 2\pi) + \sum_i \log L_{ii}`."""
        d = self._event_shape[0]
        return (0.5 * d * (1.0 + LOG_2PI) + self._half_log_det()).expand(self._batch_shape)

    # ----------------------------------------------------------------- Gaussian algebra (KL)
    def _log_det(self) -> torch.Tensor:
        r""":math:`\log\det\Sigma`."""
        return 2.0 * self._half_log_det()

    def _mahalanobis(self, diff: torch.Tensor) -> torch.Tensor:
        r""":math:`\delta^\top \Sigma^{-1} \delta = \|L^{-1}\delta\|^2`."""
        return _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)

    def _trace_inv_quad(self, factor: torch.Tensor) -> torch.Tensor:
        r""":math:`\operatorname{tr}(F^\top \Sigma^{-1} F) = \|L^{-1}F\|_F^2`."""
        z = torch.linalg.solve_triangular(self._unbroadcasted_scale_tril, factor, upper=False)
        return z.square().sum((-2, -1))

    def _trace_inv_diag(self, diag: torch.Tensor) -> torch.Tensor:
        r""":math:`\operatorname{tr}(\Sigma^{-1}\operatorname{diag} v)
        = \sum_j v_j \|(L^{-1})_{:j}\|^2`."""
        L = self._unbroadcasted_scale_tril
        eye = torch.eye(L.shape[-1], dtype=L.dtype, device=L.device)
        L_inv = torch.linalg.solve_triangular(L, eye, upper=False)
        return (L_inv.square().sum(-2) * diag).sum(-1)

    def _covariance_parts(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(F, v)`` with :math:`\\Sigma = FF^\\top + \\operatorname{diag} v` (``(L, None)``)."""
        return self._unbroadcasted_scale_tril, None


# --------------------------------------------------------------------- construction helpers
def _one_matrix(name: str, *matrices: torch.Tensor | None) -> tuple[str, torch.Tensor]:
    """The one of (covariance_matrix, precision_matrix, scale_tril) that was given, by name."""
    given = {k: v for k, v in zip(_PARAMS, matrices) if v is not None}
    if len(given) != 1:
        raise ValueError(
            f"{name}: exactly one of covariance_matrix, precision_matrix or scale_tril must be "
            f"given, got {sorted(given) or 'none'}"
        )
    ((param, matrix),) = given.items()
    return param, matrix


def _promote(*tensors) -> tuple[torch.Tensor, ...]:
    """One floating dtype for all arguments (integers and numbers promote, as in arithmetic)."""
    tensors = [t if isinstance(t, torch.Tensor) else torch.as_tensor(t) for t in tensors]
    dtype, _ = _common_dtype_device(tensors)
    return tuple(t if t.dtype == dtype else t.to(dtype) for t in tensors)


def _batch_shape(name: str, loc: torch.Tensor, param: str, matrix: torch.Tensor) -> torch.Size:
    """The broadcast batch shape; a ``ValueError`` names both shapes when they do not fit."""
    shapes = f"loc{tuple(loc.shape)}, {param}{tuple(matrix.shape)}"
    if loc.dim() < 1:
        raise ValueError(f"{name}: loc must be at least one-dimensional, got {shapes}")
    if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{name}: {param} must be a (batch of) square matrices, got {shapes}")
    if matrix.shape[-1] != loc.shape[-1]:
        raise ValueError(f"{name}: loc and {param} disagree on the dimension: {shapes}")
    try:
        return broadcast_shapes(loc.shape[:-1], matrix.shape[:-2])
    except RuntimeError:
        raise ValueError(f"{name}: batch shapes do not broadcast: {shapes}") from None


def _expand(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    # Skipping a same-shape expand keeps an ExpandBackward node out of every backward pass.
    return t if t.shape == shape else t.expand(shape)


def _unexpanded(t: torch.Tensor, event_dim: int) -> torch.Tensor:
    """The smallest view that expands to ``t``: batch dims of stride 0 are cut to size 1.

    Validation then reads a shared parameter once, not once per batch element.
    """
    for dim in range(t.dim() - event_dim):
        if t.stride(dim) == 0 and t.shape[dim] > 1:
            t = t.narrow(dim, 0, 1)
    return t


def _scale_tril_from(param: str, matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(L, info)``: the lower Cholesky factor of the covariance, and the factorization's info."""
    if param == "scale_tril":
        return matrix, None
    if param == "covariance_matrix":
        return torch.linalg.cholesky_ex(matrix)
    return _precision_to_scale_tril(matrix)


def _precision_to_scale_tril(precision: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Lower Cholesky factor of :math:`P^{-1}` without forming :math:`P^{-1}`.

    With :math:`J` the exchange (flip) matrix, factor :math:`JPJ = L_f L_f^\top`; then
    :math:`P = U U^\top` with :math:`U = J L_f J` upper triangular, and
    :math:`P^{-1} = U^{-\top} U^{-1}`, so :math:`L = U^{-\top}` is the lower factor: one Cholesky
    and one triangular solve, never an explicit inverse of the (possibly ill-conditioned) ``P``.
    This is torch's route, from F. Ehsani's note
    https://nbviewer.jupyter.org/gist/fehiepsi/5ef8e09e61604f10607380467eb82006#Precision-to-scale_tril
    """
    L_flip, info = torch.linalg.cholesky_ex(precision.flip(-2, -1))
    U_t = L_flip.flip(-2, -1).mT  # lower triangular
    eye = torch.eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return torch.linalg.solve_triangular(U_t, eye, upper=False), info


# --------------------------------------------------------------------- validation helpers
def _skipped(t: torch.Tensor) -> bool:
    """Inside ``torch.func`` transforms checks are skipped (see :mod:`rsample._validation`)."""
    return not torch.compiler.is_compiling() and _validation._is_wrapped(t)


def _check_scale_tril(name: str, L: torch.Tensor) -> None:
    r"""Finite, lower triangular, positive diagonal: two reductions over :math:`L`.

    :math:`\max_{i<j} |L_{ij}|` is computed as :math:`\max |L \odot U|` with :math:`U` the
    strict upper mask; a non-finite entry anywhere makes it NaN (:math:`0 \cdot \infty`), so
    the same reduction checks finiteness. The mask takes :math:`L`'s memory layout: Cholesky
    factors are often column-major (LAPACK's layout, as ``torch.linalg.cholesky`` returns them),
    and an elementwise op mixing layouts is several times slower on batches of small matrices.
    """
    if _skipped(L):
        return
    L = L.detach()
    ones = torch.ones(L.shape[-2:], dtype=L.dtype, device=L.device)
    column_major = L.dim() > 1 and L.stride(-2) == 1 and L.stride(-1) != 1
    upper = ones.tril_(-1).mT if column_major else ones.triu_(1)
    # One temporary, reused in place: each live batch-sized buffer costs page faults on fresh
    # memory that exceed the arithmetic here.
    upper_mass = torch.mul(L, upper).abs_().amax((-2, -1))
    checks = (
        (upper_mass != 0, "it has a nonzero entry above the diagonal or a non-finite entry"),
        (L.diagonal(dim1=-2, dim2=-1).amin(-1) <= 0, "its diagonal is not positive"),
    )
    for failed, reason in checks:
        _validation.check_batch(name, "scale_tril", "lower_cholesky", failed, reason=reason)


def _check_matrix(name: str, dist) -> None:
    """Validate the matrix ``dist`` was given (``scale_tril``, or a covariance / precision
    matrix judged by its Cholesky factorization's ``info``), without a device sync."""
    param = dist._parameterization
    if param == "scale_tril":
        _check_scale_tril(name, dist._unbroadcasted_scale_tril)
        return
    _check_positive_definite(name, param, _unexpanded(dist.__dict__[param], 2))
    _validation.check_batch(
        name,
        param,
        "positive_definite",
        dist._factor_info,
        reason="it is not positive definite (its Cholesky factorization failed, info = {value})",
    )


def _check_positive_definite(name: str, param: str, matrix: torch.Tensor) -> None:
    r"""Finite, and symmetric as ``torch.isclose(M, M^T, atol=1e-6)`` is.

    Torch's elementwise ``isclose`` against the transpose holds iff, for every pair
    :math:`i > j`, :math:`|M_{ij} - M_{ji}| \le 10^{-6} + 10^{-5}\min(|M_{ij}|, |M_{ji}|)`.
    The two triangles are gathered into contiguous rows first (in place from there on): an
    elementwise op against ``M.mT`` reads with a stride of ``d`` and is several times slower on
    batches of small matrices. Positive definiteness itself comes from the Cholesky ``info``.
    """
    if _skipped(matrix):
        return
    matrix = matrix.detach()
    _validation.check(name, param, constraints.real, matrix, finite=True)
    d = matrix.shape[-1]
    if d == 1:
        return
    if matrix.stride(-2) == 1 and matrix.stride(-1) != 1:
        matrix = matrix.mT  # column-major: M^T is row-major, and symmetric iff M is
    i, j = torch.tril_indices(d, d, -1, device=matrix.device)
    flat = matrix.flatten(-2)
    lower, upper = flat.index_select(-1, i * d + j), flat.index_select(-1, j * d + i)
    excess = (lower - upper).abs_()
    bound = torch.minimum(lower.abs_(), upper.abs_())
    # Any positive excess, by a sum of its positive part: a row ``amax`` over d(d-1)/2 entries
    # (not a multiple of the vector width) is several times slower. NaN survives to fail.
    excess.sub_(bound, alpha=1e-5).sub_(1e-6).clamp_(min=0)
    failed = (excess.sum(-1) <= 0).logical_not()
    _validation.check_batch(name, param, "positive_definite", failed, reason="it is not symmetric")


def _fold(matrix: torch.Tensor, x: torch.Tensor):
    """Rearrange ``x`` so that the batch dims ``matrix`` broadcasts over become columns.

    ``matrix`` has shape ``mb + (p, n)`` and ``x`` shape ``xb + (n,)``. Multiplying by an
    expanded matrix would copy it once per column (``torch.matmul`` materializes broadcast batch
    dims); instead, ``x``'s extra dims are moved behind ``n``, so one product or triangular solve
    per distinct matrix handles every sample. Returns ``(matrix', X, restore)``: ``matrix'`` of
    shape ``K + (p, n)``, ``X`` of shape ``K + (n, C)``, and ``restore`` mapping a result of shape
    ``K + (q, C)`` back to ``xb + (q,)`` (or, with ``reduced=True``, ``K + (C,)`` to ``xb``).
    """
    xb = broadcast_shapes(x.shape[:-1], matrix.shape[:-2])
    x = x.expand(xb + x.shape[-1:])
    m = len(xb)
    mb = (1,) * (m - matrix.dim() + 2) + tuple(matrix.shape[:-2])
    kept = [i for i in range(m) if mb[i] == xb[i]]
    folded = [i for i in range(m) if mb[i] != xb[i]]
    k_shape = tuple(xb[i] for i in kept)
    f_shape = tuple(xb[i] for i in folded)
    columns = math.prod(f_shape)
    X = x.permute(*kept, m, *folded).reshape((*k_shape, x.shape[-1], columns))

    def restore(y: torch.Tensor, reduced: bool = False) -> torch.Tensor:
        order = kept + folded if reduced else [*kept, m, *folded]
        inner = () if reduced else (y.shape[-2],)
        y = y.reshape(k_shape + inner + f_shape)
        return y.permute(*(order.index(i) for i in range(len(order))))

    return matrix.reshape(k_shape + matrix.shape[-2:]), X, restore


def _batch_mv(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``matrix @ x`` for a batch of vectors whose batch shape the matrix's broadcasts to."""
    if matrix.shape[:-2] == x.shape[:-1]:
        return (matrix @ x.unsqueeze(-1)).squeeze(-1)
    matrix, X, restore = _fold(matrix, x)
    return restore(matrix @ X)


def _batch_mahalanobis(L: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`\|L^{-1}x\|^2` by one triangular solve per distinct factor (never an inverse)."""
    if L.shape[:-2] == x.shape[:-1]:
        z = torch.linalg.solve_triangular(L, x.unsqueeze(-1), upper=False)
        return z.square().sum((-2, -1))
    L, X, restore = _fold(L, x)
    z = torch.linalg.solve_triangular(L, X, upper=False)
    return restore(z.square().sum(-2), reduced=True)


# --------------------------------------------------------------------- KL divergence
def _kl_gaussian(p, q) -> torch.Tensor:
    r"""KL between two Gaussians given by their covariance algebra.

    .. math:: \mathrm{KL}(p\,\|\,q) = \tfrac12\big[\operatorname{tr}(\Sigma_q^{-1}\Sigma_p)
        + (\mu_q-\mu_p)^\top\Sigma_q^{-1}(\mu_q-\mu_p) - d
        + \log\det\Sigma_q - \log\det\Sigma_p\big]

    with :math:`\Sigma_p = FF^\top + \operatorname{diag} v`, so that the trace splits into
    :math:`\operatorname{tr}(F^\top\Sigma_q^{-1}F)
    + \operatorname{tr}(\Sigma_q^{-1}\operatorname{diag} v)`,
    each computed by ``q`` from its own factorization.
    """
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"kl_divergence: event shapes differ: {type(p).__name__}{tuple(p.event_shape)} and "
            f"{type(q).__name__}{tuple(q.event_shape)}"
        )
    factor, diag = p._covariance_parts()
    trace = q._trace_inv_quad(factor)
    if diag is not None:
        trace = trace + q._trace_inv_diag(diag)
    mahalanobis = q._mahalanobis(q.loc - p.loc)
    d = p.event_shape[0]
    return 0.5 * (trace + mahalanobis - d + q._log_det() - p._log_det())


register_kl(MultivariateNormal, MultivariateNormal)(_kl_gaussian)
