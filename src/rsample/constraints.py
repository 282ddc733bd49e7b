"""Constraints, with torch's names.

The singletons are torch's own objects (``rsample.constraints.positive is
torch.distributions.constraints.positive``): their semantics are identical, and sharing them keeps
``biject_to``/``transform_to`` registrations and ``isinstance`` checks working across both
libraries. Validation of *parameters* is stricter than torch's: rsample also requires them to be
finite unless a distribution says otherwise (see ``Distribution._infinite_ok``).
"""

from torch.distributions.constraints import *  # noqa: F403
from torch.distributions.constraints import Constraint, __all__  # noqa: F401
