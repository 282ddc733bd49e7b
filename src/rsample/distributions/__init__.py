"""All distribution families (re-exported flat from :mod:`rsample`)."""

from .continuous import *  # noqa: F403
from .continuous import __all__ as _continuous
from .discrete import *  # noqa: F403
from .discrete import __all__ as _discrete
from .multivariate import *  # noqa: F403
from .multivariate import __all__ as _multivariate
from .wrappers import *  # noqa: F403
from .wrappers import __all__ as _wrappers

__all__ = [*_continuous, *_discrete, *_multivariate, *_wrappers]
