"""Copies of a distribution made the ways users make them."""

from __future__ import annotations

import copy
import io
import pickle

import torch

__all__ = ["round_trips"]


def round_trips(dist) -> tuple:
    """``dist`` through ``pickle``, ``copy.deepcopy`` and ``torch.save``/``torch.load``."""
    buffer = io.BytesIO()
    torch.save(dist, buffer)
    buffer.seek(0)
    return (
        pickle.loads(pickle.dumps(dist)),
        copy.deepcopy(dist),
        torch.load(buffer, weights_only=False),
    )
