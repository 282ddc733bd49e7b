"""rsample.HypersphericalUniform, a ``DEDICATED_TESTS`` family: the uniform distribution on
S^{d−1} ⊂ R^d (``dim`` is the ambient dimension d)."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
from scipy import stats

from rsample import HypersphericalUniform
from rsample.testing import assert_close, assert_samples_match

mp = pytest.importorskip("mpmath")

F64, F32 = torch.float64, torch.float32


def _log_area(d: int) -> float:
    with mp.workdps(40):
        return float(mp.log(2 * mp.pi ** (mp.mpf(d) / 2) / mp.gamma(mp.mpf(d) / 2)))


@pytest.mark.parametrize("d", [2, 3, 4, 10, 1000])
def test_log_prob_entropy_moments(d):
    dist = HypersphericalUniform(d, dtype=F64)
    x = dist.sample((5,), generator=torch.Generator().manual_seed(d)).clone()
    assert_close(dist.log_prob(x), -_log_area(d), rtol=1e-14, label="log_prob")
    assert_close(dist.entropy(), _log_area(d), rtol=1e-14, label="entropy")
    assert dist.mean.shape == (d,) and (dist.mean == 0).all()
    assert_close(dist.variance, 1 / d, rtol=1e-15, label="variance")
    assert dist.log_prob(x).dtype == F64 and dist.entropy().dtype == F64


@pytest.mark.parametrize("d", [2, 3, 5, 50])
def test_samples_are_uniform(d):
    """Unit norm; a coordinate c has (1 + c)/2 ~ Beta((d−1)/2, (d−1)/2) (KS, alpha = 1e-4);
    second moments E[x xᵀ] = I/d (5 standard errors)."""
    dist = HypersphericalUniform(d, dtype=F64)
    x = dist.sample((20_000,), generator=torch.Generator().manual_seed(1))
    assert_close(x.norm(dim=-1), 1.0, rtol=0, atol=4e-15, label="norm")
    ref = stats.beta((d - 1) / 2, (d - 1) / 2)
    for i in (0, d - 1):
        assert_samples_match(
            (1 + x[:, i]) / 2, lambda t: torch.as_tensor(ref.cdf(t.numpy())), alpha=1e-4
        )
    second = (x[:, 0] * x[:, -1]).mean()
    assert abs(float(second)) <= 5 / math.sqrt(20_000 * d * d)


def test_shapes_dtype_device_and_generator():
    dist = HypersphericalUniform(4, batch_shape=(3, 2))
    assert dist.batch_shape == (3, 2) and dist.event_shape == (4,)
    x = dist.rsample((5,))
    assert x.shape == (5, 3, 2, 4) and x.dtype == torch.get_default_dtype()
    assert dist.log_prob(x).shape == (5, 3, 2) and dist.entropy().shape == (3, 2)
    assert dist.log_prob(x[0, 0, 0]).shape == (3, 2)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(dist.sample(generator=g1), dist.sample(generator=g2))
    assert dist.has_rsample and dist.rsample_kind == "explicit"
    half = HypersphericalUniform(3, dtype=torch.float16)
    assert half.sample((2,)).dtype == torch.float16
    big = dist.expand((7, 3, 2))
    assert big.batch_shape == (7, 3, 2) and big.sample().shape == (7, 3, 2, 4)
    for clone in (pickle.loads(pickle.dumps(dist)), copy.deepcopy(dist)):
        assert clone.batch_shape == (3, 2) and clone.dim == 4


@pytest.mark.parametrize("dim", [1, 0, 2.5, "3", True])
def test_invalid_dim(dim):
    with pytest.raises(ValueError, match=r"HypersphericalUniform.*dim"):
        HypersphericalUniform(dim)


def test_values_off_the_sphere_raise():
    dist = HypersphericalUniform(3, dtype=F64)
    with pytest.raises(ValueError, match=r"HypersphericalUniform.*'value'"):
        dist.log_prob(torch.tensor([1.0, 1.0, 0.0], dtype=F64))
    with pytest.raises(ValueError, match="event shape"):
        dist.log_prob(torch.tensor([1.0, 0.0], dtype=F64))
    # a float32 vector normalized in float32 passes (tolerance √eps32)
    v = torch.nn.functional.normalize(torch.randn(1000), dim=-1)
    HypersphericalUniform(1000).log_prob(v)
    HypersphericalUniform(3, validate_args=False).log_prob(torch.ones(3))


def test_torch_compile_fullgraph():
    torch._dynamo.reset()

    def step():
        dist = HypersphericalUniform(5)
        x = dist.rsample((8,))
        return x, dist.log_prob(x)

    x, lp = torch.compile(step, fullgraph=True, backend="eager")()
    assert x.shape == (8, 5) and torch.isfinite(lp).all()
