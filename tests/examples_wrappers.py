"""Reference-table entries for the issue-4 families (group: wrappers).

See ``examples.py`` for the fields of ``Example``.
"""

from __future__ import annotations

EXAMPLES: list = []
