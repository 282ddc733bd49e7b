"""The validation contract (DESIGN.md, contract 5), beyond what ``test_generic`` checks.

``test_generic`` already checks, per reference example: invalid parameters raise a
``ValueError`` naming the distribution and the argument, ``validate_args=False`` silences
construction, NaN and out-of-support values raise in ``log_prob``, ``icdf`` rejects probabilities
outside [0, 1], same-seeded generators give the same draws, and ``torch.compile(fullgraph=True)``
of ``rsample`` + ``log_prob`` with valid parameters. Here:

* messages name the distribution, the argument, the constraint and an offending value with its
  index, for parameters and for values;
* the global switch (``rsample.set_default_validate_args``) and its independence from torch's,
  and the per-instance ``validate_args=`` in both directions, surviving ``expand``;
* non-broadcastable shapes, and how Python numbers and integer tensors are promoted;
* generator determinism for every public family (multivariate and wrappers included), and that a
  ``generator=`` leaves torch's global generator alone;
* validation inside ``torch.func`` transforms, under ``torch.compile`` (failures raise from the
  compiled graph, and a valid call reads nothing back to the host), and the accelerator modes of
  ``set_device_validation`` exercised on the ``meta`` device, where any host read fails.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager

import pytest
import torch
import torch.distributions as td
from torch.distributions import constraints

import rsample as D
from examples import EXAMPLES

F32, F64 = torch.float32, torch.float64
NAMES = [e.name + ("-bounds" if e.fixed else "") for e in EXAMPLES]


@pytest.fixture(autouse=True)
def _restore_global_flags():
    torch_flag = td.Distribution._validate_args
    mode = D.get_device_validation()
    yield
    td.Distribution._validate_args = torch_flag
    D.set_device_validation(mode)


def _params(example, n: int = 3, dtype=F64, **overrides) -> dict:
    values = {**example.grad_points[0], **overrides}
    return {k: torch.full((n,), v, dtype=dtype) for k, v in values.items()}


def _one_bad(example, bad: dict) -> dict:
    """Parameters of batch shape (3,) valid except at index 1, where ``bad`` applies."""
    params = _params(example)
    for k, v in bad.items():
        params[k][1] = v
    return params


# The words a message must use for each constraint.
CONSTRAINT_WORDS = {
    id(constraints.real): "real",
    id(constraints.positive): "positive",
    id(constraints.nonnegative): "nonnegative",
    id(constraints.unit_interval): "unit_interval",
}


def _constraint_word(example, arg: str) -> str:
    if arg == "high - low":
        return "positive"
    constraint = example.cls.arg_constraints[arg]
    return CONSTRAINT_WORDS.get(id(constraint), "real")  # dependent bounds must be real


def _support_of(dist) -> tuple[str, float, float]:
    support = dist.support
    if isinstance(support, constraints.greater_than_eq) and isinstance(
        support.lower_bound, torch.Tensor
    ):  # Pareto: x ≥ scale
        return "GreaterThanEq", float(support.lower_bound.flatten()[0]), math.inf
    if isinstance(support, constraints.interval):
        low, high = support.lower_bound, support.upper_bound
        low = float(low.flatten()[0]) if isinstance(low, torch.Tensor) else float(low)
        high = float(high.flatten()[0]) if isinstance(high, torch.Tensor) else float(high)
        return "interval", low, high
    return CONSTRAINT_WORDS[id(support)], -math.inf, math.inf


def _assert_names_everything(message: str, dist_name: str, arg: str, word: str, value, index):
    assert message.startswith(f"{dist_name}:"), message
    assert f"'{arg}'" in message, message
    assert word.lower() in message.lower(), message
    assert f"{value!r} at index [{index}]" in message, message


# ----------------------------------------------------------------- messages
INVALID = [(e, p, arg) for e in EXAMPLES for p, arg in e.invalid]


@pytest.mark.parametrize(
    "example,bad,arg", INVALID, ids=[f"{e.name}-{a}-{p}" for e, p, a in INVALID]
)
def test_parameter_message_names_distribution_argument_constraint_and_value(example, bad, arg):
    params = _one_bad(example, bad)
    with pytest.raises(ValueError) as info:
        example.build(**params)
    # The offending element of the named argument (for 'high - low', the difference).
    offending = params["high"][1] - params["low"][1] if arg == "high - low" else params[arg][1]
    _assert_names_everything(
        str(info.value), example.name, arg, _constraint_word(example, arg), float(offending), 1
    )
    if arg in ("loc", "low", "high") and not math.isnan(float(offending)):
        assert "finite" in str(info.value)  # ±inf is rejected because it is not finite


@pytest.mark.parametrize("example", EXAMPLES, ids=NAMES)
def test_value_message_names_distribution_constraint_and_value(example):
    dist = example.build(**_params(example, n=1))
    kind, low, high = _support_of(dist)
    inside = 0.5 * (max(low, -1.0) + min(high, 1.0)) if kind == "interval" else max(low, 1.0)
    bad = {"real": math.nan, "positive": -1.0, "nonnegative": -1.0, "interval": high + 1.0}.get(
        kind, low - 1.0
    )
    value = torch.tensor([inside, inside, bad, inside], dtype=F64).unsqueeze(-1)
    for method in ("log_prob", "cdf"):
        with pytest.raises(ValueError) as info:
            getattr(dist, method)(value)
        _assert_names_everything(str(info.value), example.name, "value", kind, bad, "2, 0")
    with pytest.raises(ValueError) as info:
        dist.icdf(torch.tensor([[0.5], [-0.25]], dtype=F64))
    _assert_names_everything(str(info.value), example.name, "value", "unit_interval", -0.25, "1, 0")


def test_message_reports_shape_and_dtype_and_the_first_offender():
    scale = torch.ones(2, 3, dtype=F32)
    scale[1, 2], scale[0, 1] = -5.0, 0.0
    with pytest.raises(ValueError, match=re.escape("0.0 at index [0, 1] (shape (2, 3), dtype")):
        D.Normal(torch.zeros(2, 3), scale)


def test_non_tensor_values_and_bad_shapes_are_value_errors():
    dist = D.Normal(torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="Normal: the value must be a tensor, got float"):
        dist.log_prob(0.5)
    with pytest.raises(ValueError, match=re.escape("(5, 2)") + ".*" + re.escape("(3,)")):
        dist.log_prob(torch.ones(5, 2))
    with pytest.raises(TypeError, match="Normal: argument 'loc' must be a number or a tensor"):
        D.Normal("0", 1.0)


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES if len(e.grad_points[0]) > 1], ids=lambda e: e.name
)
def test_non_broadcastable_parameters_name_the_shapes(example):
    names = list(example.grad_points[0])
    shapes = [(2, 3)] + [(4,)] * (len(names) - 1)
    params = {k: torch.full(shape, 1.0, dtype=F64) for k, shape in zip(names, shapes)}
    for validate in (True, False):  # a shape error is not a value check: it is always raised
        with pytest.raises(ValueError) as info:
            example.build(**params, validate_args=validate)
        message = str(info.value)
        assert example.name in message and "broadcast" in message
        assert f"{names[0]}(2, 3)" in message and f"{names[1]}(4,)" in message, message


# ----------------------------------------------------------------- switches
def test_default_switch_turns_validation_off_and_leaves_torch_alone():
    torch_flag = td.Distribution._validate_args
    D.set_default_validate_args(False)
    assert td.Distribution._validate_args == torch_flag
    dist = D.Normal(0.0, -1.0)  # no error
    assert math.isnan(float(D.LogNormal(0.0, 1.0).log_prob(torch.tensor(math.nan))))
    assert float(D.Exponential(1.0).log_prob(torch.tensor(-1.0))) == -math.inf
    assert dist.scale == -1.0
    D.Distribution.set_default_validate_args(True)  # the static method is the same switch
    assert td.Distribution._validate_args == torch_flag
    with pytest.raises(ValueError, match="Normal"):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="set_default_validate_args"):
        D.set_default_validate_args("no")


def test_torch_switch_does_not_turn_rsample_validation_off():
    td.Distribution.set_default_validate_args(False)
    with pytest.raises(ValueError, match="'scale'"):
        D.Normal(0.0, -1.0)
    td.Normal(0.0, -1.0)  # torch's own distributions obey torch's switch
    td.Distribution.set_default_validate_args(True)
    D.set_default_validate_args(False)
    D.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        td.Normal(0.0, -1.0)


@pytest.mark.parametrize("example", EXAMPLES, ids=NAMES)
def test_per_instance_validate_args_overrides_the_default_both_ways(example):
    bad, arg = example.invalid[0] if example.invalid else ({"loc": math.nan}, "loc")
    params = _one_bad(example, bad)
    quiet = example.build(**params, validate_args=False)
    assert quiet._validate_args is False and D.Distribution._validate_args is True
    quiet.expand((2, 3))  # expand neither validates nor changes the flag
    assert quiet.expand((2, 3))._validate_args is False
    D.set_default_validate_args(False)
    with pytest.raises(ValueError, match=re.escape(f"'{arg}'")):
        example.build(**params, validate_args=True)
    strict = example.build(**_params(example), validate_args=True)
    for dist in (strict, strict.expand((2, 3))):
        with pytest.raises(ValueError, match="'value'"):
            dist.log_prob(torch.full(dist.batch_shape, math.nan, dtype=F64))


# ----------------------------------------------------------------- promotion
def _expected_dtype(values) -> torch.dtype:
    """What arithmetic on the parameters gives, lifted to floating (``x + 0.0``)."""
    acc = 0.0
    for v in values:
        acc = acc + v
    return (acc + 0.0).dtype if isinstance(acc, torch.Tensor) else torch.get_default_dtype()


PROMOTION_CASES = {
    "python-floats": lambda v, i: float(v),
    "python-ints": lambda v, i: round(v) or 1,
    "int64-tensors": lambda v, i: torch.full((2,), round(v) or 1, dtype=torch.int64),
    "float16-and-python": lambda v, i: torch.full((2,), v, dtype=torch.float16) if i else v,
    "float32-and-float64": lambda v, i: torch.full((2,), v, dtype=F64 if i else F32),
    "int64-and-float64": lambda v, i: torch.full((2,), v, dtype=F64) if i else round(v) or 1,
}


@pytest.mark.parametrize("default", [F32, F64], ids=str)
@pytest.mark.parametrize("case", list(PROMOTION_CASES))
@pytest.mark.parametrize("example", EXAMPLES, ids=NAMES)
def test_parameters_promote_like_torch_arithmetic(example, case, default):
    torch.set_default_dtype(default)  # restored by conftest
    make = PROMOTION_CASES[case]
    point = {"loc": 0.3, "scale": 1.7, "rate": 2.0, "low": -1.0, "high": 2.0}
    point |= {"concentration": 1.5, "df": 3.0}
    first = example.grad_points[0]
    params = {k: make(point.get(k, v), i) for i, (k, v) in enumerate(first.items())}
    expected = _expected_dtype(params.values())
    dist = example.build(**params)
    assert dist.sample().dtype == expected
    assert dist.log_prob(dist.sample()).dtype == expected
    for name in example.grad_points[0]:
        value = getattr(dist, name)
        assert isinstance(value, torch.Tensor) and value.dtype == expected


# ----------------------------------------------------------------- generators
def _all_families(dtype):
    for example in EXAMPLES:
        yield example.name, example.build(**_params(example, dtype=dtype))
    loc = torch.tensor([0.5, -1.0], dtype=dtype)
    cov = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=dtype)
    yield "MultivariateNormal", D.MultivariateNormal(loc, covariance_matrix=cov)
    yield (
        "LowRankMultivariateNormal",
        D.LowRankMultivariateNormal(
            loc, torch.tensor([[1.0], [0.5]], dtype=dtype), torch.tensor([1.0, 2.0], dtype=dtype)
        ),
    )
    yield "Independent", D.Independent(D.Normal(loc, torch.ones_like(loc)), 1)
    yield (
        "TransformedDistribution",
        D.TransformedDistribution(D.Normal(loc, torch.ones_like(loc)), [D.ExpTransform()]),
    )


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_generator_determinism_in_every_family(dtype):
    for name, dist in _all_families(dtype):
        global_state = torch.get_rng_state()

        def gen(seed):
            return torch.Generator().manual_seed(seed)

        a = dist.sample((5,), generator=gen(4))
        assert torch.equal(a, dist.sample((5,), generator=gen(4))), name
        assert torch.equal(a, dist.rsample((5,), generator=gen(4)).detach()), name
        x, _ = dist.rsample_and_log_prob((5,), generator=gen(4))
        assert torch.equal(a, x.detach()), name
        assert not torch.equal(a, dist.sample((5,), generator=gen(5))), name
        assert a.dtype == dtype, name
        assert torch.equal(torch.get_rng_state(), global_state), f"{name} used the global RNG"
        torch.manual_seed(12)
        b = dist.sample((5,))
        torch.manual_seed(12)
        assert torch.equal(b, dist.sample((5,))), name


# ----------------------------------------------------------------- torch.func
@pytest.mark.parametrize("example", EXAMPLES, ids=NAMES)
def test_validation_inside_vmap_and_grad_does_not_crash(example):
    params = _params(example, n=4)
    names = list(params)
    reference = example.build(**params)
    x = reference.sample(generator=torch.Generator().manual_seed(0))
    q = torch.linspace(0.1, 0.9, 4, dtype=F64)

    def score(*args):
        *p, value, prob = args
        dist = example.build(**dict(zip(names, p)))
        return dist.log_prob(value), dist.cdf(value), dist.icdf(prob), dist.entropy()

    batched = torch.func.vmap(score)(*params.values(), x, q)
    eager = (reference.log_prob(x), reference.cdf(x), reference.icdf(q), reference.entropy())
    for got, want in zip(batched, eager):
        torch.testing.assert_close(got, want)

    def log_prob_of_first(*p):
        return example.build(**dict(zip(names, p))).log_prob(x[0])

    first = [v[0] for v in params.values()]
    grads = torch.func.grad(log_prob_of_first, argnums=tuple(range(len(first))))(*first)
    assert all(torch.isfinite(g) for g in grads)
    # Documented: inside a transform the check is skipped (a batched tensor has no single truth
    # value), so an invalid value gives the unvalidated result rather than an error.
    torch.func.vmap(score)(*params.values(), torch.full_like(x, math.nan), q)


# ----------------------------------------------------------------- torch.compile
COMPILE_FAMILIES = ["Normal", "LogNormal", "Exponential", "Uniform", "TanhNormal-bounds"]


def _example(name):
    return EXAMPLES[NAMES.index(name)]


def _scored(example):
    names = list(example.grad_points[0])

    def fn(*args):
        *p, value, prob = args
        dist = example.build(**dict(zip(names, p)), validate_args=True)
        return dist.log_prob(value), dist.cdf(value), dist.icdf(prob), dist.rsample()

    return fn


@contextmanager
def _no_host_reads():
    """Make every Python-level read of a tensor's value raise."""
    names = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")
    saved = {n: getattr(torch.Tensor, n) for n in names}

    def refuse(self, *args, **kwargs):
        raise AssertionError("host read of a tensor value")

    try:
        for n in names:
            setattr(torch.Tensor, n, refuse)
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.Tensor, n, f)


@pytest.mark.parametrize("name", COMPILE_FAMILIES)
def test_compiled_validation_has_no_graph_break_and_no_host_read(name):
    torch._dynamo.reset()
    example = _example(name)
    params = [v.float() for v in _params(example).values()]
    fn = _scored(example)
    x = example.build(**dict(zip(example.grad_points[0], params))).sample()
    q = torch.tensor([0.1, 0.5, 0.9])
    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    expected = fn(*params, x, q)
    got = compiled(*params, x, q)  # compiles: fullgraph=True fails on any graph break
    for a, b in zip(got[:3], expected[:3]):
        torch.testing.assert_close(a, b)
    with _no_host_reads():
        compiled(*params, x, q)  # the cached graph: its checks are _assert_async
        with pytest.raises(AssertionError, match="host read"):
            fn(*params, x, q)  # eager validation on CPU does read (cheaply) — the probe works


@pytest.mark.parametrize("name", ["Normal", "LogNormal", "TanhNormal-bounds"])
def test_compiled_validation_raises_with_the_message(name):
    torch._dynamo.reset()
    example = _example(name)
    names = list(example.grad_points[0])
    fn = torch.compile(_scored(example), fullgraph=True, backend="eager")
    good = [v.float() for v in _params(example).values()]
    x, q = torch.full((3,), 0.5), torch.tensor([0.1, 0.5, 0.9])
    fn(*good, x, q)
    bad = [v.clone() for v in good]
    bad[names.index("scale")][1] = -1.0
    with pytest.raises(
        RuntimeError, match=f"{example.name}: argument 'scale' must satisfy .*positive"
    ):
        fn(*bad, x, q)
    with pytest.raises(RuntimeError, match=f"{example.name}: argument 'value'.*unit_interval"):
        fn(*good, x, torch.tensor([0.1, 1.5, 0.9]))
    if name == "LogNormal":
        with pytest.raises(RuntimeError, match=r"LogNormal: argument 'value'.*positive"):
            fn(*good, torch.tensor([1.0, -1.0, 1.0]), q)


# ----------------------------------------------------------------- accelerator modes
def test_device_validation_modes():
    assert D.get_device_validation() == "async"  # the default
    for mode in ("sync", "off", "async"):
        D.set_device_validation(mode)
        assert D.get_device_validation() == mode
        with pytest.raises(ValueError, match="'scale'"):  # CPU validation ignores the mode
            D.Normal(torch.zeros(2), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"'async', 'sync', 'off'.*'cuda'"):
        D.set_device_validation("cuda")
    assert D.get_device_validation() == "async"


def test_device_modes_on_a_non_host_device(monkeypatch):
    """The ``meta`` device stands in for an accelerator: its tensors have no values, so any
    host read fails. ``"async"`` enqueues ``_assert_async`` and reads nothing, ``"off"`` checks
    nothing, ``"sync"`` reads back (and so fails on meta, where a GPU would synchronize)."""
    enqueued = []
    real_assert = torch._assert_async
    monkeypatch.setattr(torch, "_assert_async", lambda *a: enqueued.append(a) or real_assert(*a))

    def build_and_score():
        dist = D.Normal(torch.zeros(3, device="meta"), torch.ones(3, device="meta"))
        return dist.log_prob(torch.ones(3, device="meta"))

    D.set_device_validation("async")
    with _no_host_reads():
        assert build_and_score().device.type == "meta"
    assert len(enqueued) == 3  # loc, scale, value
    enqueued.clear()
    D.set_device_validation("off")
    with _no_host_reads():
        build_and_score()
    assert not enqueued
    D.set_device_validation("sync")
    with pytest.raises((RuntimeError, NotImplementedError)):
        build_and_score()
