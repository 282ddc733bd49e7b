"""MixtureSameFamily of K = 5 Normals: rsample + backward (one thread).

torch.distributions.MixtureSameFamily has no ``rsample``; its ``sample`` (no gradient, all K
components drawn then gathered) is shown for scale, with rsample's own ``sample``.

Floors (raw tensor ops, no autograd, no validation, no tail care):

* univariate: the same implicit gradient written out by hand for Normal components — draw the
  index by inverting the cumulative weights, gather ``loc``/``scale``, ``x = μ + σε``, then
  ``dx/dμ_k = π_k φ_k/(σ_k p)``, ``dx/dσ_k = z_k·dx/dμ_k``,
  ``dx/dlogit_k = −π_k(Φ_k − F)/p`` in linear space (``ndtr``, erfc-based), as
  ``rsample + backward`` of ``x.sum()`` computes (rsample works in log space with
  ``log_ndtr``, ~7x the cost of ``ndtr`` per element in torch on the CPU, for the tails);
* Independent (d = 8): direct sampling only (index, gather, ``x = μ + σε``), no gradient —
  the cost any sampler pays; the ratio shows what the conditional-CDF gradient adds.
"""

from __future__ import annotations

import math

import torch
import torch.distributions as td

import rsample
from rsample.special import ndtr

from .common import Row, make_rows, num_threads, time_interleaved

K = 5
N_UNIVARIATE = 1_000_000
N_EVENT, D = 65_536, 8


def _params(shape, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape[:-1] if len(shape) > 2 else shape, generator=g)
    loc = torch.randn(shape, generator=g)
    scale = torch.rand(shape, generator=g) + 0.5
    return [t.requires_grad_() for t in (logits, loc, scale)]


def _weights(logits: torch.Tensor) -> torch.Tensor:
    """softmax written out (torch's softmax kernel is slow for a last dim of 5 on the CPU)."""
    w = torch.exp(logits - logits.amax(-1, keepdim=True))
    return w / w.sum(-1, keepdim=True)


def _index(w: torch.Tensor, generator) -> torch.Tensor:
    cum = w.cumsum(-1)
    u = torch.rand(w.shape[:-1], generator=generator).unsqueeze(-1)
    return (cum[..., :-1] <= u).sum(-1, keepdim=True)


def _floor_univariate(logits, loc, scale, generator):
    """Sample and the three gradients of ``x.sum()`` by the implicit formula, raw ops."""
    with torch.no_grad():
        w = _weights(logits)
        k = _index(w, generator)
        x = loc.gather(-1, k) + scale.gather(-1, k) * torch.randn(k.shape, generator=generator)
        z = (x - loc) / scale
        w_pdf = w * torch.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * scale)
        inv_p = 1 / w_pdf.sum(-1, keepdim=True)
        cdf = ndtr(z)
        d_loc = w_pdf * inv_p
        d_scale = d_loc * z
        d_logits = w * (cdf - (w * cdf).sum(-1, keepdim=True)) * -inv_p
        return x, d_logits, d_loc, d_scale


def _floor_event(logits, loc, scale, generator):
    """Direct sampling with raw ops: index, gather, ``μ + σε``."""
    with torch.no_grad():
        k = _index(_weights(logits), generator).unsqueeze(-1).expand(-1, 1, loc.shape[-1])
        eps = torch.randn(k.shape, generator=generator)
        return (loc.gather(-2, k) + scale.gather(-2, k) * eps).squeeze(-2)


def _mixture(module, logits, loc, scale, event: bool):
    comp = module.Normal(loc, scale, validate_args=False)
    if event:
        comp = module.Independent(comp, 1)
    mix = td.Categorical(logits=logits, validate_args=False)
    return module.MixtureSameFamily(mix, comp, validate_args=False)


def _case(event: bool) -> list[Row]:
    n = N_EVENT if event else N_UNIVARIATE
    shape = (n, K, D) if event else (n, K)
    logits, loc, scale = _params(shape)
    gen = torch.Generator().manual_seed(1)

    def ours() -> None:
        _mixture(rsample, logits, loc, scale, event).rsample(generator=gen).sum().backward()

    def ours_sample() -> None:
        _mixture(rsample, logits, loc, scale, event).sample(generator=gen)

    def theirs() -> None:
        _mixture(td, logits, loc, scale, event).sample()

    floor = _floor_event if event else _floor_univariate
    floor_name = (
        "floor: direct sampling (raw ops)" if event else "floor: implicit formula (raw ops)"
    )
    impls = {
        "rsample (rsample + backward)": ours,
        floor_name: lambda: floor(logits, loc, scale, gen),
        "rsample sample() (no gradient)": ours_sample,
        "torch.distributions sample() (no gradient)": theirs,
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=5, min_batch_s=0.2, warmup=1)
    if event:
        name = (
            f"MixtureSameFamily(K={K}, Independent Normal d={D}) rsample + backward, 64k (1 thread)"
        )
    else:
        name = f"MixtureSameFamily(K={K} Normal) rsample + backward, 1M (1 thread)"
    return make_rows(name, seconds, floor_name)


def run() -> list[Row]:
    """The univariate and the Independent (d = 8) case."""
    return _case(event=False) + _case(event=True)
