"""rsample: drop-in ``torch.distributions`` where every continuous family has a correct ``rsample``.

``import rsample as D`` replaces ``import torch.distributions as D``.
"""

from . import constraints, gradients, kl, utils
from ._validation import get_device_validation, set_device_validation
from .distribution import Distribution, set_default_validate_args
from .distributions import *  # noqa: F403
from .distributions import __all__ as _distributions
from .kl import kl_divergence, register_kl

__version__ = "0.1.0"

__all__ = [
    "Distribution",
    "constraints",
    "get_device_validation",
    "gradients",
    "kl",
    "kl_divergence",
    "register_kl",
    "set_default_validate_args",
    "set_device_validation",
    "utils",
    *_distributions,
]

from . import constraint_registry, transforms
from .constraint_registry import biject_to, transform_to
from .transforms import *  # noqa: F403  (torch.distributions exports its transforms too)
from .transforms import __all__ as _transforms

__all__ += [
    *_transforms,
    "biject_to",
    "constraint_registry",
    "transform_to",
    "transforms",
]
