"""Discrete families: sampling and scoring at size (one thread).

* Categorical sampling, 4096×1000 logits: rsample's exponential race (``argmax(ℓ − log E)`` in
  one noise buffer, no softmax) against ``torch.distributions.Categorical`` (normalization at
  construction, then ``torch.multinomial``) and the floor, the Gumbel-max trick written with raw
  ops, ``(logits − log(−log(rand_like(logits)))).argmax(−1)``. Construction is included in both
  library rows (a training loop builds a new distribution per step).
* Categorical ``log_prob`` of 4096 values, 4096×1000 logits, construction included, against
  ``log_softmax(logits).gather(...)`` (raw ops) and torch.
* Bernoulli (1M probs) and Poisson (1M rates) sampling against torch and the raw sampler.
"""

from __future__ import annotations

import torch
import torch.distributions as td

import rsample

from .common import Row, make_rows, num_threads, time_interleaved

B, K = 4096, 1000
N = 1_000_000


def categorical_sample_case() -> list[Row]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(B, K, generator=g)
    impls = {
        "rsample": lambda: rsample.Categorical(logits=logits).sample(generator=g),
        "torch.distributions": lambda: td.Categorical(logits=logits).sample(),
        "raw Gumbel-max": lambda: (logits - torch.log(-torch.log(torch.rand_like(logits)))).argmax(
            -1
        ),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.3, warmup=1)
    name = f"Categorical sample, {B}×{K} logits (1 thread)"
    return make_rows(name, seconds, "raw Gumbel-max", {"rsample": 1.3})


def categorical_log_prob_case() -> list[Row]:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(B, K, generator=g)
    value = torch.randint(0, K, (B,), generator=g)
    index = value.unsqueeze(-1)
    impls = {
        "rsample": lambda: rsample.Categorical(logits=logits).log_prob(value),
        "torch.distributions": lambda: td.Categorical(logits=logits).log_prob(value),
        "raw log_softmax + gather": lambda: torch.log_softmax(logits, -1).gather(-1, index),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.3, warmup=1)
    name = f"Categorical log_prob, {B}×{K} logits (1 thread)"
    return make_rows(name, seconds, "raw log_softmax + gather")


def bernoulli_case() -> list[Row]:
    g = torch.Generator().manual_seed(2)
    probs = torch.rand(N, generator=g)
    impls = {
        "rsample": lambda: rsample.Bernoulli(probs=probs).sample(generator=g),
        "torch.distributions": lambda: td.Bernoulli(probs=probs).sample(),
        "raw torch.bernoulli": lambda: torch.bernoulli(probs, generator=g),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=1)
    name = "Bernoulli sample, 1M probs (1 thread; rsample draws float64 uniforms)"
    return make_rows(name, seconds, "raw torch.bernoulli", {"rsample": 1.0})


def poisson_case() -> list[Row]:
    g = torch.Generator().manual_seed(3)
    rate = 20 * torch.rand(N, generator=g)
    impls = {
        "rsample": lambda: rsample.Poisson(rate).sample(generator=g),
        "torch.distributions": lambda: td.Poisson(rate).sample(),
        "raw torch.poisson": lambda: torch.poisson(rate, generator=g),
    }
    with num_threads(1):
        seconds = time_interleaved(impls, repeat=7, min_batch_s=0.2, warmup=1)
    name = "Poisson sample, 1M rates in (0, 20) (1 thread)"
    return make_rows(name, seconds, "raw torch.poisson", {"rsample": 1.05})


def run() -> list[Row]:
    """Every discrete case."""
    return (
        categorical_sample_case() + categorical_log_prob_case() + bernoulli_case() + poisson_case()
    )
