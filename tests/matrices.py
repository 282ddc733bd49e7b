"""Test matrices shared by the MultivariateNormal and Wishart tests."""

from __future__ import annotations

import torch

PARAMS = ("covariance_matrix", "precision_matrix", "scale_tril")


def spd(d: int, batch=(), seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """A batch of well-conditioned random symmetric positive-definite matrices (condition
    number ≲ 30)."""
    A = torch.randn((*batch, d, d), dtype=dtype, generator=torch.Generator().manual_seed(seed))
    return A @ A.mT / d + 0.5 * torch.eye(d, dtype=dtype)


def as_parameter(param: str, cov: torch.Tensor) -> torch.Tensor:
    """``cov`` expressed in parameterization ``param`` (float64 round-off in the conversion)."""
    if param == "covariance_matrix":
        return cov
    if param == "precision_matrix":
        return torch.linalg.inv(cov)
    return torch.linalg.cholesky(cov)
