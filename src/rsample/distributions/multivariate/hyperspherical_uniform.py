r"""Uniform distribution on the unit sphere :math:`S^{d-1} \subset \mathbb{R}^d`.

.. math:: p(x) = \frac{1}{|S^{d-1}|}, \qquad
          \log|S^{d-1}| = \log 2 + \tfrac d2 \log\pi - \log\Gamma(\tfrac d2)

``rsample`` normalizes a standard Gaussian vector, :math:`x = g/\|g\|` (Muller 1959): an explicit
transform of noise with no parameters. Also here: the helpers the distributions on the sphere
share (the orthogonal map taking the pole :math:`e_1` to a mean direction, uniform directions,
the parameter broadcasting).
"""

from __future__ import annotations

import math

import torch

from ... import _random, constraints
from ..._shapes import broadcast_shapes
from ...distribution import Distribution, _common_dtype_device
from ...special.quadrature import _gauss_legendre_f64

__all__ = ["HypersphericalUniform"]


def log_sphere_area(d: int) -> float:
    r""":math:`\log|S^{d-1}| = \log 2 + \tfrac d2\log\pi - \log\Gamma(\tfrac d2)` (d = ambient
    dimension)."""
    return math.log(2.0) + 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d)


def uniform_directions(shape, d: int, dtype, device, generator) -> torch.Tensor:
    """``shape + (d,)`` unit vectors, uniform on :math:`S^{d-1}` (normalized Gaussians; for
    ``d = 1`` a random sign)."""
    g = _random.normal((*shape, d), dtype=dtype, device=device, generator=generator)
    norm = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    return g / norm.clamp_min(torch.finfo(dtype).tiny)


def rotate_from_pole(loc: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r""":math:`Qy` for an orthogonal :math:`Q` with :math:`Qe_1 = \mu` (``loc``).

    With :math:`\sigma = \operatorname{sign}(\mu_1)` (+1 at 0) and :math:`u = e_1 + \sigma\mu`,
    :math:`Q y = \sigma\big(u\,u^\top y/(1 + \sigma\mu_1) - y\big)`: the Householder reflection
    that swaps :math:`e_1` and :math:`\sigma\mu`, times :math:`\sigma`. Choosing the sign keeps the
    denominator :math:`\ge 1` (the plain reflection through :math:`e_1 - \mu` divides by
    :math:`1 - \mu_1 \to 0` as :math:`\mu \to e_1`), so the map and its gradient in ``loc`` are
    smooth everywhere except across :math:`\mu_1 = 0`, where the two branches are different
    rotations of the same distribution. :math:`Qe_1 = \mu` holds for any vector :math:`\mu`, so
    :math:`E[Qy] = Q E[y]` is exact in ``loc`` off the sphere too.
    """
    mu1 = loc[..., :1]
    sign = torch.where(mu1 >= 0, 1.0, -1.0).to(loc.dtype)
    u = sign * loc
    u = torch.cat([u[..., :1] + 1, u[..., 1:]], dim=-1)
    coef = (u * y).sum(-1, keepdim=True) / (1 + sign * mu1)
    return sign * (u * coef - y)


def broadcast_sphere_params(name: str, loc, concentration) -> tuple[torch.Tensor, torch.Tensor]:
    """``loc`` (``batch + (d,)``, d ≥ 2) and ``concentration`` (``batch``), promoted to one
    floating dtype and broadcast as views."""
    tensors = [t for t in (loc, concentration) if isinstance(t, torch.Tensor)]
    dtype, device = _common_dtype_device(tensors)
    loc = torch.as_tensor(loc, device=device)
    loc = loc if loc.dtype == dtype else loc.to(dtype)
    if loc.dim() < 1 or loc.shape[-1] < 2:
        raise ValueError(
            f"{name}: loc must have a last dimension of size d ≥ 2 (a unit vector in R^d), got "
            f"shape {tuple(loc.shape)}"
        )
    if not isinstance(concentration, torch.Tensor):
        concentration = torch.tensor(float(concentration), dtype=dtype, device=device)
    elif concentration.dtype != dtype:
        concentration = concentration.to(dtype)
    try:
        batch = broadcast_shapes(loc.shape[:-1], concentration.shape)
    except RuntimeError:
        raise ValueError(
            f"{name}: the batch shapes of loc {tuple(loc.shape)} (the last dimension is the "
            f"event) and concentration {tuple(concentration.shape)} do not broadcast"
        ) from None
    return loc.expand((*batch, loc.shape[-1])), concentration.expand(batch)


def _unit_rule(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    nodes, weights = _gauss_legendre_f64(n)
    return tuple(((nodes + 1) / 2).tolist()), tuple((weights / 2).tolist())


# Built at import: under ``torch.compile`` the rules are Python constants (no tracing into them).
_UNIT_RULES = {n: _unit_rule(n) for n in (12, 16, 24)}


def gauss_legendre_unit(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Gauss–Legendre nodes and weights on [0, 1] as Python floats (n ∈ {12, 16, 24})."""
    return _UNIT_RULES[n]


# ψ'(z) ~ 1/z + 1/(2z²) + Σ_k B_2k/z^(2k+1) (DLMF 5.15.8), B_2 … B_16
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_SHIFT = 12


def trigamma(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\psi'(x)` for :math:`x > 0` to a few ulps (``torch.polygamma(1, ·)`` errs by up to
    ~5e-10 relative in float64 below x ≈ 10): :math:`\sum_{k<12} (x+k)^{-2} + \psi'(x+12)`, the
    latter by its asymptotic series (first omitted term < 1e-17 relative). Plain torch ops, so
    autograd differentiates it."""
    shifts = torch.arange(_SHIFT, dtype=x.dtype, device=x.device)
    total = (x.unsqueeze(-1) + shifts).reciprocal().square().sum(-1)
    inv = (x + _SHIFT).reciprocal()
    w = inv.square()
    series = torch.full_like(x, _BERNOULLI[-1])
    for c in reversed(_BERNOULLI[:-1]):
        series = series * w + c
    return total + (1 + (0.5 + series * inv) * inv) * inv


def unit_rule_tensors(n: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`gauss_legendre_unit` as tensors of ``like``'s dtype and device."""
    nodes, weights = _UNIT_RULES[n]
    return (
        torch.tensor(nodes, dtype=like.dtype, device=like.device),
        torch.tensor(weights, dtype=like.dtype, device=like.device),
    )


def digamma_gap(x: torch.Tensor, delta: float) -> torch.Tensor:
    r""":math:`\psi(x + \delta) - \psi(x) = \delta\int_0^1 \psi'(x + \delta s)\,ds` for
    :math:`x \ge 3\delta/2 > 0` (16-point Gauss–Legendre; the nearest pole of the integrand, at
    :math:`s = -x/\delta`, leaves a Bernstein ellipse of parameter > 4): full relative accuracy
    where the two digammas are large and nearly equal."""
    nodes, weights = unit_rule_tensors(16, x)
    return delta * (weights * trigamma(x.unsqueeze(-1) + delta * nodes)).sum(-1)


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """Samplers run in float64 for float64 and in float32 otherwise (half types included)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


class HypersphericalUniform(Distribution):
    r"""The uniform distribution on :math:`S^{d-1}`, the unit vectors of :math:`\mathbb{R}^d`.

    Args:
        dim: the ambient dimension ``d ≥ 2`` (``event_shape == (dim,)``, like ``loc`` of
            :class:`VonMisesFisher`; the manifold dimension is ``dim − 1``).
        validate_args: check values passed to :meth:`log_prob`.
        batch_shape: keyword-only; a batch of identical uniforms (default ``()``).
        dtype, device: of the draws and of :meth:`log_prob` (default dtype, CPU).
    """

    arg_constraints: dict = {}
    support = constraints.unit_sphere
    rsample_kind = "explicit"

    def __init__(
        self,
        dim: int,
        validate_args: bool | None = None,
        *,
        batch_shape=torch.Size(),
        dtype: torch.dtype | None = None,
        device=None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"HypersphericalUniform: dim must be an integer ≥ 2, got {dim!r}")
        self.dim = dim
        self.dtype = dtype if dtype is not None else torch.get_default_dtype()
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        super().__init__(batch_shape, (dim,), validate_args=validate_args)

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        shape = torch.Size(sample_shape) + self._batch_shape
        return uniform_directions(shape, self.dim, self.dtype, self.device, generator)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """:math:`-\\log|S^{d-1}|` (broadcast over the value's and the batch shape)."""
        if self._validate_args:
            self._validate_sample(value)
        shape = broadcast_shapes(value.shape[:-1], self._batch_shape)
        dtype = value.dtype if value.is_floating_point() else self.dtype
        return torch.full(shape, -log_sphere_area(self.dim), dtype=dtype, device=value.device)

    @property
    def mean(self) -> torch.Tensor:
        return torch.zeros(self._extended_shape(), dtype=self.dtype, device=self.device)

    @property
    def variance(self) -> torch.Tensor:
        """Per coordinate, :math:`E[x_i^2] = 1/d`."""
        return torch.full(
            self._extended_shape(), 1 / self.dim, dtype=self.dtype, device=self.device
        )

    def entropy(self) -> torch.Tensor:
        """:math:`\\log|S^{d-1}|`."""
        return torch.full(
            self._batch_shape, log_sphere_area(self.dim), dtype=self.dtype, device=self.device
        )

    def __repr__(self) -> str:
        return f"HypersphericalUniform(dim={self.dim})"
