"""Discrete families (``sample`` only; gradients through :mod:`rsample.gradients`) and their
continuous relaxations (Gumbel-softmax / Concrete) and straight-through variants."""

__all__: list[str] = []
