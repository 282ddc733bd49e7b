"""MultivariateNormal: a batch of 1024 distinct 16-dimensional Gaussians, draw + score + backward.

Both the ``scale_tril`` and the ``covariance_matrix`` parameterizations. The floor is the same
math written by hand with raw tensor ops (Cholesky, ``randn``, a batched matrix-vector product
and a triangular solve), with no distribution object.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.distributions as td

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

BATCH, DIM = 1024, 16
HALF_D_LOG_2PI = 0.5 * DIM * math.log(2 * math.pi)


def _params(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``loc`` and a well-conditioned ``scale_tril`` or ``covariance_matrix``, as leaves."""
    g = torch.Generator().manual_seed(0)
    loc = torch.randn(BATCH, DIM, generator=g)
    A = torch.randn(BATCH, DIM, DIM, generator=g) / math.sqrt(DIM)
    cov = A @ A.mT + torch.eye(DIM)
    matrix = torch.linalg.cholesky(cov) if kind == "scale_tril" else cov
    return loc.requires_grad_(), matrix.requires_grad_()


def _step(make: Callable, loc: torch.Tensor, matrix: torch.Tensor) -> Callable[[], None]:
    """``d = make(loc, matrix); x = d.rsample(); lp = d.log_prob(x); backward``."""

    def step() -> None:
        d = make(loc, matrix)
        x = d.rsample()
        lp = d.log_prob(x)
        (x.sum() + lp.sum()).backward()

    return step


def _step_joint(make: Callable, loc: torch.Tensor, matrix: torch.Tensor) -> Callable[[], None]:
    """The same step through ``rsample_and_log_prob`` (scores from the noise, no solve)."""

    def step() -> None:
        x, lp = make(loc, matrix).rsample_and_log_prob()
        (x.sum() + lp.sum()).backward()

    return step


def _step_floor(kind: str, loc: torch.Tensor, matrix: torch.Tensor) -> Callable[[], None]:
    """Raw tensor ops: the work any implementation must do."""

    def step() -> None:
        L = matrix if kind == "scale_tril" else torch.linalg.cholesky(matrix)
        eps = torch.randn(BATCH, DIM)
        x = loc + (L @ eps.unsqueeze(-1)).squeeze(-1)
        z = torch.linalg.solve_triangular(L, (x - loc).unsqueeze(-1), upper=False)
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        lp = -0.5 * z.square().sum((-2, -1)) - half_log_det - HALF_D_LOG_2PI
        (x.sum() + lp.sum()).backward()

    return step


def _maker(cls, kind: str, **kwargs) -> Callable:
    return lambda loc, matrix: cls(loc, **{kind: matrix}, **kwargs)


def case(kind: str) -> list[Row]:
    """One parameterization, one thread."""
    loc, matrix = _params(kind)
    impls = {
        "rsample": _step(_maker(rsample.MultivariateNormal, kind), loc, matrix),
        "rsample, validate_args=False": _step(
            _maker(rsample.MultivariateNormal, kind, validate_args=False), loc, matrix
        ),
        "rsample.rsample_and_log_prob": _step_joint(
            _maker(rsample.MultivariateNormal, kind), loc, matrix
        ),
        "torch.distributions": _step(
            _maker(td.MultivariateNormal, kind, validate_args=True), loc, matrix
        ),
        "torch.distributions, validate_args=False": _step(
            _maker(td.MultivariateNormal, kind, validate_args=False), loc, matrix
        ),
        "floor (raw ops)": _step_floor(kind, loc, matrix),
    }
    with num_threads(1):
        seconds = time_interleaved(impls)
    targets = {"rsample": 1.1, "rsample.rsample_and_log_prob": 1.0}
    name = f"MVN {kind}, batch {BATCH}, d={DIM}: rsample + log_prob, fwd+bwd (1 thread)"
    return make_rows(name, seconds, "floor (raw ops)", targets)


def run() -> list[Row]:
    """Both parameterizations."""
    return case("scale_tril") + case("covariance_matrix")
