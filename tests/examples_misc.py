"""Reference-table entries (InverseGaussian, GeneralizedNormal, ContinuousBernoulli).

See ``examples.py`` for the fields of ``Example``.
"""

from __future__ import annotations

from examples import Example

EXAMPLES: list[Example] = []
