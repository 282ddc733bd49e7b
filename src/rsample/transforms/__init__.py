"""Bijections with stable log-determinants, with torch's names (``rsample.transforms``).

Every class subclasses ``torch.distributions.transforms.Transform``, so torch's distributions
accept them; each also offers ``forward_and_log_det(x)``, the forward value and its
log-determinant computed together.
"""

from .affine import AffineTransform
from .base import ComposeTransform, IndependentTransform, Transform, identity_transform
from .elementwise import (
    AbsTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
)

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "ComposeTransform",
    "ExpTransform",
    "IndependentTransform",
    "PowerTransform",
    "SigmoidTransform",
    "SoftplusTransform",
    "TanhTransform",
    "Transform",
    "identity_transform",
]
