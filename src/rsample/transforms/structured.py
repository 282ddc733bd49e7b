r"""Structured transforms: simplex, Cholesky factors, reshaping, concatenation and CDFs.

Each class has the name, constructor, domain, codomain, event dims, shapes and (where torch has
one) the log-determinant convention of ``torch.distributions.transforms``; the arithmetic is
rsample's own and is arranged so that nothing cancels near the edge of the codomain:

* stick-breaking keeps both :math:`z = \sigma(u)` and :math:`1 - z = \sigma(-u)` exact and
  inverts with *suffix* sums of :math:`y`, never with :math:`1 - \sum_{j \le k} y_j`;
* the correlation-Cholesky map uses :math:`\operatorname{sech} x` rather than
  :math:`\sqrt{1 - \tanh^2 x}` and inverts with :math:`x = \operatorname{asinh}(y / q)`, where
  :math:`q` is the norm of the rest of the row, a suffix sum of squares (rescaled so that it
  does not underflow);
* log-determinants are sums of :math:`\log\sigma` and :math:`\log\operatorname{sech}` terms,
  never the log of a product of small numbers.

References: Stan Reference Manual, "Constraint transforms" (unit simplex; Cholesky factors of
correlation matrices); Lewandowski, Kurowicka & Joe (2009), "Generating random correlation
matrices based on vines and extended onion method", J. Multivariate Anal. 100(9).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.distributions.transforms as _tt
import torch.nn.functional as F
from torch.distributions import constraints

from .base import Transform, _forward_and_log_det, _Shape, sum_rightmost

__all__ = [
    "CatTransform",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "ReshapeTransform",
    "SoftmaxTransform",
    "StackTransform",
    "StickBreakingTransform",
]

_LOG_2 = math.log(2.0)


def _tiny(t: torch.Tensor) -> float:
    return torch.finfo(t.dtype).tiny


def _need_vector(shape: _Shape) -> None:
    if len(shape) < 1:
        raise ValueError("Too few dimensions on input: expected at least 1")


# ----------------------------------------------------------------- simplex
class StickBreakingTransform(Transform):
    r"""Bijection from :math:`\mathbb{R}^{K-1}` onto the :math:`K`-simplex by stick breaking.

    With the offset logits of Stan (and torch), :math:`u_k = x_k - \log(K - k)`, so that
    :math:`x = 0` maps to the uniform point :math:`y = (1/K, \dots, 1/K)`:

    .. math::
        z_k = \sigma(u_k), \qquad y_k = z_k \prod_{j<k} (1 - z_j) \;(k < K), \qquad
        y_K = \prod_{j<K} (1 - z_j).

    The Jacobian of :math:`x \mapsto (y_1, \dots, y_{K-1})` is lower triangular with diagonal
    :math:`z_k (1 - z_k) \prod_{j<k}(1 - z_j)`, hence

    .. math::
        \log|\det J| = \sum_{k=1}^{K-1} \big[\log\sigma(u_k) + (K - k)\log\sigma(-u_k)\big],

    evaluated with ``logsigmoid`` so that it is finite for every finite :math:`x`. The factors
    :math:`1 - z_j` are computed as :math:`\sigma(-u_j)` (exact even where :math:`z_j` rounds
    to 1), and the inverse

    .. math:: x_k = \log y_k - \log \textstyle\sum_{j>k} y_j + \log(K - k)

    takes the remaining stick as a suffix sum of :math:`y` (all terms positive: no
    cancellation), where torch forms :math:`1 - \sum_{j\le k} y_j`. Values below the smallest
    normal number are raised to it, so the inverse is finite on the closed simplex.
    Unlike torch, the forward value is not clipped away from 0 and 1: each component is
    accurate to about :math:`K` ulps instead, and underflows to 0 only where the exact value
    does.
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other) -> bool:
        return isinstance(other, StickBreakingTransform)

    @staticmethod
    def _offset_logits(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u, K − k)``: the offset logits and the counts ``K − k``, ``k = 1 … K−1``."""
        counts = torch.arange(x.shape[-1], 0, -1, dtype=x.dtype, device=x.device)
        return x - counts.log(), counts

    @staticmethod
    def _break(u: torch.Tensor) -> torch.Tensor:
        # Padding with 1 before the cumulative product gives the stick left before each piece.
        remaining = F.pad(torch.sigmoid(-u), [1, 0], value=1.0).cumprod(-1)
        return F.pad(torch.sigmoid(u), [0, 1], value=1.0) * remaining

    def _call(self, x):
        return self._break(self._offset_logits(x)[0])

    def _inverse(self, y):
        tiny = _tiny(y)
        # Suffix sums: remaining[k] = y[k+1] + … + y[K], positive terms only.
        remaining = y.flip(-1).cumsum(-1).flip(-1)[..., 1:]
        counts = torch.arange(y.shape[-1] - 1, 0, -1, dtype=y.dtype, device=y.device)
        return y[..., :-1].clamp(min=tiny).log() - remaining.clamp(min=tiny).log() + counts.log()

    @staticmethod
    def _log_det(u: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        return (F.logsigmoid(u) + counts * F.logsigmoid(-u)).sum(-1)

    def _forward_and_log_det(self, x):
        u, counts = self._offset_logits(x)
        return self._break(u), self._log_det(u, counts)

    def log_abs_det_jacobian(self, x, y):
        # Computed from x alone: exact where y's small components have lost their precision.
        return self._log_det(*self._offset_logits(x))

    def forward_shape(self, shape):
        _need_vector(shape)
        return torch.Size((*shape[:-1], shape[-1] + 1))

    def inverse_shape(self, shape):
        _need_vector(shape)
        return torch.Size((*shape[:-1], shape[-1] - 1))


class SoftmaxTransform(Transform):
    r""":math:`y = \operatorname{softmax}(x) = e^{x} / \sum_j e^{x_j}`; not bijective.

    Adding a constant to :math:`x` leaves :math:`y` unchanged, so there is no log-determinant
    (as in torch). The right inverse is :math:`x = \log y` (``t(t.inv(y)) == y``), unnormalized
    as torch's; components below the smallest normal number are raised to it first so that it
    is finite on the closed simplex (torch gives ``-inf`` at 0). Use
    :class:`StickBreakingTransform` where a bijection is needed.
    """

    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other) -> bool:
        return isinstance(other, SoftmaxTransform)

    def _call(self, x):
        return torch.softmax(x, dim=-1)  # subtracts the maximum: no overflow

    def _inverse(self, y):
        return y.clamp(min=_tiny(y)).log()

    def forward_shape(self, shape):
        _need_vector(shape)
        return torch.Size(shape)

    def inverse_shape(self, shape):
        _need_vector(shape)
        return torch.Size(shape)


# ----------------------------------------------------------------- Cholesky factors
def _lower_cholesky(x: torch.Tensor) -> torch.Tensor:
    return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()


class LowerCholeskyTransform(Transform):
    r"""Square matrices :math:`\to` lower-triangular matrices with positive diagonal.

    .. math:: L_{ij} = x_{ij} \;(i > j), \qquad L_{ii} = e^{x_{ii}}, \qquad L_{ij} = 0 \;(i < j)

    The strict upper triangle is discarded, so the map is not bijective and has no
    log-determinant (as in torch); the inverse is a right inverse with a zero upper triangle.
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    def _call(self, x):
        return _lower_cholesky(x)

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    r"""Square matrices :math:`\to` positive-definite matrices: :math:`y = L L^\top`, with
    :math:`L` the :class:`LowerCholeskyTransform` of :math:`x`.

    Not bijective (the upper triangle of :math:`x` is discarded) and without log-determinant, as
    in torch. The right inverse maps :math:`y` to the :class:`LowerCholeskyTransform` inverse of
    its Cholesky factor.
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other) -> bool:
        return isinstance(other, PositiveDefiniteTransform)

    def _call(self, x):
        lower = _lower_cholesky(x)
        return lower @ lower.mT

    def _inverse(self, y):
        lower = torch.linalg.cholesky(y)
        return lower.tril(-1) + lower.diagonal(dim1=-2, dim2=-1).log().diag_embed()


def _log_sech(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\log\operatorname{sech} x = \log 2 - |x| - \log(1 + e^{-2|x|})`, never overflowing.

    Equals :math:`\tfrac12\log(1 - \tanh^2 x)` without forming :math:`1 - \tanh^2 x`, which is
    0 once :math:`\tanh x` rounds to ±1 (:math:`|x| \gtrsim 19` in float64, 9 in float32).
    """
    a = x.abs()
    return _LOG_2 - a - torch.log1p(torch.exp(-2.0 * a))


def _asinh_ratio(z: torch.Tensor, q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{asinh}(z/q)` given :math:`r = \sqrt{z^2 + q^2}`, in vectorized ops.

    With :math:`v = z/q`, :math:`\sqrt{1 + v^2} - 1 = w = |v|\,|z| / (q + r)` (no cancellation),
    and :math:`\operatorname{asinh} v = \log(v + \sqrt{1 + v^2}) = \log1p(v + w)`. For
    :math:`|v| \le 1`, :math:`w \le |v|/2` and this is accurate for either sign, with derivative
    1 at :math:`v = 0`; beyond, the odd form :math:`\operatorname{sign}(v)\log1p(|v| + w)`
    avoids the cancellation of :math:`v + w` for :math:`v \ll 0`. (``torch.asinh`` is exact
    too, but an order of magnitude slower on CPU.)
    """
    v = z / q
    a = v.abs()
    w = a * (z.abs() / (q + r))
    inside = a <= 1
    near = torch.log1p(torch.where(inside, v + w, 0.0))
    far = torch.log1p(a + w) * v.sign()
    return torch.where(inside, near, far)


class _CorrLayout(NamedTuple):
    flat: torch.Tensor  # row·D + col of each strict-lower entry, in row order (torch's order)
    weights: torch.Tensor  # i + 1 − k, the log-det weight of log sech x_ik
    sech_source: torch.Tensor  # gathers [x…, 1] into a D×D matrix: 1 off the strict lower part
    tanh_source: torch.Tensor  # gathers [x…, 0, 1]: 0 above, 1 on the diagonal


@functools.lru_cache(maxsize=64)
def _corr_layout(d: int, device: torch.device) -> _CorrLayout:
    """Index tensors for D×D factors (cached: they are constants; never modified in place).

    Single-dim ``index_select`` on flat indices is much faster than two-tensor indexing.
    """
    rows, cols = torch.tril_indices(d, d, -1, device=device)
    flat = rows * d + cols
    num = flat.numel()
    sech_source = torch.full((d * d,), num, dtype=torch.long, device=device)
    sech_source[flat] = torch.arange(num, device=device)
    tanh_source = sech_source.clone()
    tanh_source[:: d + 1] = num + 1
    return _CorrLayout(flat, rows + 1 - cols, sech_source, tanh_source)


def _corr_size(num_params: int) -> int:
    """``D`` with ``D(D−1)/2 == num_params``, or a ValueError."""
    d = round((0.25 + 2 * num_params) ** 0.5 + 0.5)
    if d * (d - 1) // 2 != num_params:
        raise ValueError(
            f"CorrCholeskyTransform: an input of length {num_params} is not the strict lower "
            "triangle of a square matrix (it must be D(D-1)/2)"
        )
    return d


class CorrCholeskyTransform(Transform):
    r"""Bijection from :math:`\mathbb{R}^{D(D-1)/2}` onto Cholesky factors of correlation matrices.

    ``x`` fills the strict lower triangle row by row (torch's order). Each row is a *signed*
    stick-breaking of the unit sphere (Stan; LKJ 2009): with :math:`r = \tanh x_{ij}` and
    :math:`\operatorname{sech} x = \sqrt{1 - \tanh^2 x}`,

    .. math::
        y_{ij} = \tanh(x_{ij}) \prod_{k<j} \operatorname{sech}(x_{ik}) \;(j < i), \qquad
        y_{ii} = \prod_{k<i} \operatorname{sech}(x_{ik}),

    so every row has unit norm and a positive diagonal. torch's log-determinant convention is
    kept: that of :math:`x \mapsto` the strict lower triangle of :math:`y`. Its Jacobian is
    triangular within each row, with diagonal
    :math:`\operatorname{sech}^2(x_{ij}) \prod_{k<j}\operatorname{sech}(x_{ik})`, hence

    .. math:: \log|\det J| = \sum_{i > k} (i + 1 - k)\, \log\operatorname{sech}(x_{ik})

    (0-based indices). The inverse uses :math:`\sinh x_{ij} = y_{ij} / q_{ij}`, where
    :math:`q_{ij} = (\sum_{k>j} y_{ik}^2)^{1/2}` is the norm of the rest of the row (the stick
    left after :math:`j`), a suffix sum of squares over a row scaled by a power of two so that
    squares of tiny entries do not underflow: :math:`x = \operatorname{asinh}(y/q)` has none of
    the cancellation of :math:`\operatorname{atanh}(y / \sqrt{1 - \sum_{k<j} y_{ik}^2})`.

    torch clips :math:`\tanh x` to :math:`\pm(1 - \epsilon)`, which distorts the output for
    :math:`|x| \gtrsim 18` (float64); here values are exact, and only the products that
    underflow are raised to the smallest normal number, keeping the diagonal positive.
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other) -> bool:
        return isinstance(other, CorrCholeskyTransform)

    def _forward(self, x: torch.Tensor, with_log_det: bool):
        num = x.shape[-1]
        d = _corr_size(num)
        layout = _corr_layout(d, x.device)
        log_sech = _log_sech(x)
        sech = F.pad(log_sech.exp(), [0, 1], value=1.0).index_select(-1, layout.sech_source)
        tanh = F.pad(F.pad(x.tanh(), [0, 1], value=0.0), [0, 1], value=1.0)
        tanh = tanh.index_select(-1, layout.tanh_source).unflatten(-1, (d, d))
        # stick[i, j] = prod_{k<j} sech(x_ik); floored at `tiny` so the diagonal stays positive.
        stick = F.pad(sech.unflatten(-1, (d, d)).cumprod(-1)[..., :-1], [1, 0], value=1.0)
        y = tanh * stick.clamp(min=_tiny(x))
        if not with_log_det:
            return y
        return y, (log_sech * layout.weights.to(x.dtype)).sum(-1)

    def _call(self, x):
        return self._forward(x, with_log_det=False)

    def _forward_and_log_det(self, x):
        return self._forward(x, with_log_det=True)

    def _inverse(self, y):
        d = y.shape[-1]
        finfo = torch.finfo(y.dtype)
        y = y.tril()
        # Scale each row by a power of two that lifts a small diagonal towards 1, so that the
        # squares of the small entries after it do not underflow; |y| <= 1 keeps the squares of
        # the large ones below overflow. The scale cancels from every ratio used below.
        cap = (math.frexp(finfo.max)[1] - 4) // 2  # 509 in float64, 62 in float32
        diag = y.diagonal(dim1=-2, dim2=-1).detach().abs().clamp(min=finfo.tiny)
        z = y * torch.exp2((-torch.log2(diag)).floor().clamp(0, cap)).unsqueeze(-1)
        # sq[i, j] = sum_{k>=j} z_ik^2: suffix sums (positive terms), never 1 - cumsum.
        sq = z.square().flip(-1).cumsum(-1).flip(-1).flatten(-2)
        flat = _corr_layout(d, y.device).flat
        rest = sq.index_select(-1, flat + 1).sqrt()  # (i, j+1): j + 1 <= i, still in the row
        rest = rest.clamp(min=finfo.tiny * 2.0 ** (cap + 2))  # keeps z/rest finite
        here = sq.index_select(-1, flat).sqrt()
        return _asinh_ratio(z.flatten(-2).index_select(-1, flat), rest, here)

    def log_abs_det_jacobian(self, x, y):
        weights = _corr_layout(_corr_size(x.shape[-1]), x.device).weights
        return (_log_sech(x) * weights.to(x.dtype)).sum(-1)

    def forward_shape(self, shape):
        _need_vector(shape)
        d = _corr_size(shape[-1])
        return torch.Size((*shape[:-1], d, d))

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input: expected at least 2")
        if shape[-2] != shape[-1]:
            raise ValueError(f"CorrCholeskyTransform: input of shape {tuple(shape)} is not square")
        d = shape[-1]
        return torch.Size((*shape[:-2], d * (d - 1) // 2))


# ----------------------------------------------------------------- shape and slicing functors
class ReshapeTransform(Transform):
    r"""Reshape the rightmost ``in_shape`` dims to ``out_shape``; a unit Jacobian.

    .. math:: \log|\det J| = 0

    Args:
        in_shape, out_shape: event shapes with the same number of elements.
        cache_size: 0 or 1.
    """

    bijective = True

    def __init__(self, in_shape: _Shape, out_shape: _Shape, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.in_shape = torch.Size(in_shape)
        self.out_shape = torch.Size(out_shape)
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError(
                f"ReshapeTransform: in_shape {tuple(self.in_shape)} and out_shape "
                f"{tuple(self.out_shape)} have different numbers of elements"
            )

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, ReshapeTransform)
            and self.in_shape == other.in_shape
            and self.out_shape == other.out_shape
        )

    def _call(self, x):
        return x.reshape(x.shape[: x.dim() - len(self.in_shape)] + self.out_shape)

    def _inverse(self, y):
        return y.reshape(y.shape[: y.dim() - len(self.out_shape)] + self.in_shape)

    def _forward_and_log_det(self, x):
        return self._call(x), self.log_abs_det_jacobian(x, None)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(x.shape[: x.dim() - len(self.in_shape)])

    @staticmethod
    def _replace(shape: _Shape, old: torch.Size, new: torch.Size) -> torch.Size:
        shape = torch.Size(shape)
        cut = len(shape) - len(old)
        if cut < 0 or shape[cut:] != old:
            raise ValueError(
                f"ReshapeTransform: expected a shape ending in {tuple(old)}, got {tuple(shape)}"
            )
        return shape[:cut] + new

    def forward_shape(self, shape):
        return self._replace(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._replace(shape, self.out_shape, self.in_shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({tuple(self.in_shape)}, {tuple(self.out_shape)})"


def _check_transforms(name: str, tseq: Sequence[_tt.Transform]) -> list[_tt.Transform]:
    tseq = list(tseq)
    bad = [t for t in tseq if not isinstance(t, _tt.Transform)]
    if bad:
        raise TypeError(f"{name}: every element of tseq must be a Transform, got {bad[0]!r}")
    return tseq


class CatTransform(Transform):
    r"""Apply ``tseq[k]`` to the ``k``-th block of ``lengths[k]`` entries along ``dim``.

    Compatible with :func:`torch.cat`: ``t(torch.cat(xs, dim)) == torch.cat([f(x) for …], dim)``.
    Each block's log-determinant is summed over the event dims it does not couple itself; the
    blocks are then concatenated along ``dim`` if ``dim`` lies in the batch, or added if it lies
    in the event (torch's rule).

    Args:
        tseq: the transforms (rsample's or torch's).
        dim: the dimension to split.
        lengths: block lengths along ``dim`` (default: 1 each).
        cache_size: 0 or 1; passed on to the parts.
    """

    def __init__(
        self,
        tseq: Sequence[_tt.Transform],
        dim: int = 0,
        lengths: Sequence[int] | None = None,
        cache_size: int = 0,
    ) -> None:
        tseq = _check_transforms("CatTransform", tseq)
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq] if cache_size else tseq
        self.lengths = [1] * len(tseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(
                f"CatTransform: {len(self.lengths)} lengths for {len(self.transforms)} transforms"
            )
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, CatTransform)
            and self.dim == other.dim
            and self.lengths == other.lengths
            and self.transforms == other.transforms
        )

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)

    def _blocks(self, value: torch.Tensor, name: str) -> list[torch.Tensor]:
        if not -value.dim() <= self.dim < value.dim():
            raise ValueError(
                f"CatTransform: dim {self.dim} is out of range for {name} with {value.dim()} dims"
            )
        if value.size(self.dim) != self.length:
            raise ValueError(
                f"CatTransform: {name}.size({self.dim}) = {value.size(self.dim)}, but the "
                f"lengths sum to {self.length}"
            )
        return list(torch.split(value, self.lengths, dim=self.dim))

    def _combine(self, log_dets: list[torch.Tensor], ndim: int) -> torch.Tensor:
        """Concatenate along a batch ``dim``, add along an event ``dim`` (as torch)."""
        dim = self.dim - ndim if self.dim >= 0 else self.dim
        dim += self.event_dim
        if dim < 0:
            return torch.cat(log_dets, dim=dim)
        total = log_dets[0]
        for log_det in log_dets[1:]:
            total = total + log_det
        return total

    def _call(self, x):
        blocks = self._blocks(x, "x")
        return torch.cat([t(b) for t, b in zip(self.transforms, blocks)], dim=self.dim)

    def _inverse(self, y):
        blocks = self._blocks(y, "y")
        return torch.cat([t.inv(b) for t, b in zip(self.transforms, blocks)], dim=self.dim)

    def _forward_and_log_det(self, x):
        ys, log_dets = [], []
        for t, block in zip(self.transforms, self._blocks(x, "x")):
            y, log_det = _forward_and_log_det(t, block)
            ys.append(y)
            log_dets.append(sum_rightmost(log_det, self.event_dim - t.event_dim))
        return torch.cat(ys, dim=self.dim), self._combine(log_dets, x.dim())

    def log_abs_det_jacobian(self, x, y):
        log_dets = []
        for t, xb, yb in zip(self.transforms, self._blocks(x, "x"), self._blocks(y, "y")):
            log_det = t.log_abs_det_jacobian(xb, yb)
            log_dets.append(sum_rightmost(log_det, self.event_dim - t.event_dim))
        return self._combine(log_dets, x.dim())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transforms!r}, dim={self.dim}, lengths={self.lengths})"


class StackTransform(Transform):
    r"""Apply ``tseq[k]`` to the ``k``-th slice along ``dim``, compatible with :func:`torch.stack`.

    The log-determinant is the slices' log-determinants stacked along ``dim`` (torch's rule).

    Args:
        tseq: the transforms (rsample's or torch's), one per slice.
        dim: the dimension to unbind.
        cache_size: 0 or 1; passed on to the parts.
    """

    def __init__(self, tseq: Sequence[_tt.Transform], dim: int = 0, cache_size: int = 0) -> None:
        tseq = _check_transforms("StackTransform", tseq)
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq] if cache_size else tseq
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, StackTransform)
            and self.dim == other.dim
            and self.transforms == other.transforms
        )

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)

    def _slices(self, value: torch.Tensor, name: str) -> tuple[torch.Tensor, ...]:
        if not -value.dim() <= self.dim < value.dim():
            raise ValueError(
                f"StackTransform: dim {self.dim} is out of range for {name} with {value.dim()} dims"
            )
        if value.size(self.dim) != len(self.transforms):
            raise ValueError(
                f"StackTransform: {name}.size({self.dim}) = {value.size(self.dim)}, but there "
                f"are {len(self.transforms)} transforms"
            )
        return torch.unbind(value, dim=self.dim)

    def _call(self, x):
        slices = self._slices(x, "x")
        return torch.stack([t(s) for t, s in zip(self.transforms, slices)], dim=self.dim)

    def _inverse(self, y):
        slices = self._slices(y, "y")
        return torch.stack([t.inv(s) for t, s in zip(self.transforms, slices)], dim=self.dim)

    def _forward_and_log_det(self, x):
        pairs = [_forward_and_log_det(t, s) for t, s in zip(self.transforms, self._slices(x, "x"))]
        y = torch.stack([p[0] for p in pairs], dim=self.dim)
        return y, torch.stack([p[1] for p in pairs], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        xs, ys = self._slices(x, "x"), self._slices(y, "y")
        log_dets = [t.log_abs_det_jacobian(a, b) for t, a, b in zip(self.transforms, xs, ys)]
        return torch.stack(log_dets, dim=self.dim)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transforms!r}, dim={self.dim})"


# ----------------------------------------------------------------- CDF
class CumulativeDistributionTransform(Transform):
    r""":math:`y = F(x)`, the CDF of a univariate ``distribution``; the inverse is its ``icdf``.

    .. math:: \log|dy/dx| = \log p(x)

    ``domain`` is the distribution's support and ``codomain`` the unit interval. A Gaussian
    copula, for instance, is ``TransformedDistribution(MultivariateNormal(loc, scale_tril=L),
    [CumulativeDistributionTransform(Normal(0, 1))])``.

    Args:
        distribution: a distribution with ``cdf``, ``icdf`` and ``log_prob``.
        cache_size: 0 or 1.
    """

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self.distribution.support

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, CumulativeDistributionTransform)
            and self.distribution is other.distribution
        )

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.distribution!r})"
