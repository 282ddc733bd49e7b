"""Helpers with torch's names (``rsample.utils`` mirrors ``torch.distributions.utils``)."""

from torch.distributions.utils import (  # noqa: F401
    _standard_normal,
    _sum_rightmost,
    broadcast_all,
    clamp_probs,
    euler_constant,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
    tril_matrix_to_vec,
    vec_to_tril_matrix,
)

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "euler_constant",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]
