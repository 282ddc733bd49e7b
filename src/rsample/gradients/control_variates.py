r"""REBAR and RELAX: score-function gradients with relaxation-based control variates.

Both estimate :math:`\nabla_\theta E_{p(b;\theta)}[f(b)]` for Bernoulli and categorical ``b``
without bias. They draw the relaxed noise ``z`` (``b = H(z)``: logistic noise added to the
logits and thresholded at 0 for a Bernoulli; Gumbel noise added to the log-probabilities and
``argmax`` for a categorical), and an independent conditional draw
:math:`\tilde z \sim p(z \mid b)`, and use a control function ``c`` of the continuous noise:

.. math::

    \hat g = \bigl[f(b) - c(\tilde z)\bigr]\,\nabla_\theta \log p(b)
             + \nabla_\theta c(z) - \nabla_\theta c(\tilde z),

where ``z = z(u, θ)`` and :math:`\tilde z = \tilde z(v, b, θ)` are reparameterized (``u``,
``v`` uniform noise, ``b`` held fixed). Since :math:`E[c(\tilde z)\nabla\log p(b)]
+ E[\nabla c(\tilde z)] = \nabla E[c(z)] = E[\nabla c(z)]`, the correction terms have mean
zero for every ``c``: the estimator is unbiased whatever the control parameters are.

* **REBAR** (Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 2017): :math:`c(z) = \eta\,
  f(\sigma_\lambda(z))` with the Concrete relaxation :math:`\sigma_\lambda(z) =
  \operatorname{sigmoid}(z/\lambda)` (Bernoulli) or :math:`\operatorname{softmax}(z/\lambda)`
  (categorical). ``f`` must be differentiable on relaxed inputs.
* **RELAX** (Grathwohl, Choi, Wu, Roeder & Duvenaud 2018): :math:`c_\phi(z) =
  r_\phi(\sigma_\lambda(z))` [:math:`+\ \eta f(\sigma_\lambda(z))`], a learned surrogate; ``f``
  is only evaluated at ``b`` and may be non-differentiable (unless the REBAR term is used).

Conditional noise (Tucker et al. 2017, appendix), reparameterized by ``v`` ~ U(0, 1) with ``b``
fixed. Bernoulli with logit :math:`\alpha` and :math:`s = 2b - 1`:
:math:`\tilde z = s\,\mathrm{softplus}(\mathrm{logit}\,v + \mathrm{softplus}(s\alpha))`,
i.e. ``log(1 + v/((1-v)(1-θ)))`` for ``b = 1`` and ``-log(1 + v/((1-v)θ))`` for ``b = 0``.
Categorical, "top-down" (Maddison, Tarlow & Minka 2014): with :math:`E_k = -\log v_k`, the
maximum is :math:`\tilde z_b = -\log E_b` (a Gumbel at :math:`\log\sum_k\theta_k = 0`) and
the others are Gumbels at :math:`\log\theta_k` truncated below it,
:math:`\tilde z_k = -\log(E_k/\theta_k + E_b)`; both are computed in log space.

Tuning (both papers): the control parameters ``φ`` (λ, η, the surrogate's weights) minimize the
estimator's variance. :attr:`Estimate.control_loss` is :math:`\sum_i \hat g_i^2` over the
logits, with :math:`\hat g` a differentiable function of ``φ`` (``autograd.grad`` with
``create_graph=True``); because :math:`E[\hat g]` is the true gradient whatever ``φ`` is,
:math:`\nabla_\phi E[\hat g^2] = \nabla_\phi \operatorname{Var}[\hat g]`. Step only the control
parameters with it: a plain ``backward()`` would also reach parameters of ``f`` where ``f`` has
any and is differentiated (REBAR). A training step::

    control = RebarControl()  # or RelaxControl(small_mlp)
    control_opt = torch.optim.Adam(control.parameters(), lr=1e-2)
    est = rebar(Bernoulli(logits=encoder(x)), f, control=control)
    est.surrogate.backward()  # the model's gradient estimate
    control_opt.zero_grad()
    est.control_loss.backward(inputs=list(control.parameters()))
    control_opt.step()
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ._estimate import Estimate
from ._problem import (
    _check_generator,
    _Problem,
    check_num_samples,
    expand_right,
    log_exponential,
    logit,
    uniform,
)

__all__ = ["RebarControl", "RelaxControl", "rebar", "relax"]


class RebarControl(nn.Module):
    r"""REBAR's control parameters: the relaxation temperature :math:`\lambda = e^{\ell}` and
    the control-variate scale :math:`\eta`, both trainable scalars.

    Args:
        log_temperature: initial :math:`\ell = \log\lambda` (default ``log 0.5``, Tucker et al.).
        eta: initial :math:`\eta` (default 1).
        requires_grad: whether both are trainable (``False`` freezes them).
    """

    def __init__(
        self, log_temperature: float = math.log(0.5), eta: float = 1.0, *, requires_grad=True
    ):
        super().__init__()
        self.log_temperature = nn.Parameter(
            _finite("RebarControl", "log_temperature", log_temperature), requires_grad
        )
        self.eta = nn.Parameter(_finite("RebarControl", "eta", eta), requires_grad)

    @property
    def temperature(self) -> torch.Tensor:
        return self.log_temperature.exp()


class RelaxControl(nn.Module):
    r"""RELAX's learned control :math:`c_\phi(z) = r(\sigma_\lambda(z))` (optionally
    :math:`+\ \eta f(\sigma_\lambda(z))`).

    Args:
        net: the surrogate ``r`` (typically a small MLP ``nn.Module``; its parameters are part
            of ``φ``). It receives the relaxed sample :math:`\sigma_\lambda(z)` (Bernoulli: the
            samples' shape, values in (0, 1); categorical: ``(..., K)`` points of the simplex)
            and returns the shape of ``f``'s output (a trailing dimension of size 1 is dropped).
            Its dtype must match the distribution's.
        log_temperature: initial :math:`\log\lambda` of the relaxation fed to ``net`` (trainable).
        eta: ``None`` (default): no REBAR term. A float: add the trainable REBAR term
            :math:`\eta f(\sigma_\lambda(z))` ("RELAX with REBAR control"); ``f`` must then be
            differentiable on relaxed inputs.
    """

    def __init__(
        self,
        net: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        log_temperature: float = 0.0,
        eta: float | None = None,
    ):
        super().__init__()
        if net is None and eta is None:
            raise ValueError("RelaxControl: give a surrogate 'net', an 'eta' (REBAR term), or both")
        if net is not None and not callable(net):
            raise ValueError(f"RelaxControl: net must be callable, got {type(net).__name__}")
        self.net = net
        self.log_temperature = nn.Parameter(
            _finite("RelaxControl", "log_temperature", log_temperature)
        )
        if eta is None:
            self.register_parameter("eta", None)
        else:
            self.eta = nn.Parameter(_finite("RelaxControl", "eta", eta))

    @property
    def temperature(self) -> torch.Tensor:
        return self.log_temperature.exp()


def rebar(
    dist,
    f: Callable[[torch.Tensor], torch.Tensor],
    num_samples: int = 1,
    *,
    control: RebarControl | None = None,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""REBAR (Tucker et al. 2017): the score function with the relaxation control variate.

    .. math::

        \hat g = \bigl[f(H(z)) - \eta f(\sigma_\lambda(\tilde z))\bigr]\nabla\log p(b)
                 + \eta\nabla f(\sigma_\lambda(z)) - \eta\nabla f(\sigma_\lambda(\tilde z)),

    averaged over ``num_samples`` independent draws. **Unbiased** for every λ > 0 and η.

    Cost per sample: three evaluations of ``f`` (one at ``b = H(z)``, two at relaxed inputs)
    plus one backward pass through the two relaxed ones (a second-order one when the control is
    being tuned, to form ``control_loss``).

    Args:
        dist: a ``Bernoulli``, ``Categorical`` or ``OneHotCategorical`` (rsample's or torch's,
            optionally inside ``Independent``) with any batch shape; the gradient reaches
            whatever ``dist.logits`` depends on.
        f: maps ``(num_samples, *batch, *event)`` to ``(num_samples, *batch)`` or to a prefix
            ``(num_samples, *batch[:k])`` (the remaining batch dimensions then form one joint
            outcome, e.g. a vector of 3 Bernoullis scored together). **Must be differentiable on
            relaxed inputs**: it is called on hard samples and on relaxations (values in (0, 1);
            for a ``Categorical``, ``f`` always receives one-hot vectors, float, shape ``(..., K)``,
            and relaxed points of the simplex). Gradients into ``f``'s own parameters are those
            of ``f(b)``.
        num_samples: independent draws averaged (≥ 1).
        control: a :class:`RebarControl` (λ, η); default a frozen ``RebarControl()``.
        generator: a ``torch.Generator`` for the noise.

    Returns:
        :class:`Estimate`: ``samples`` are the draws ``b`` in the distribution's own format
        (indices for a ``Categorical``), ``value`` the mean of ``f(b)``, and ``control_loss``
        :math:`\sum \hat g^2` over the logits, differentiable in the control's λ and η (see
        the module docstring).
    """
    name = "rebar"
    if control is None:
        control = RebarControl(requires_grad=False)
    elif not isinstance(control, RebarControl):
        raise ValueError(f"{name}: control must be a RebarControl, got {type(control).__name__}")

    def c(relaxed: torch.Tensor, f_relaxed: Callable) -> torch.Tensor:
        return control.eta.to(relaxed.dtype) * f_relaxed(relaxed)

    return _estimate(name, dist, f, num_samples, control, c, generator, f_differentiable=True)


def relax(
    dist,
    f: Callable[[torch.Tensor], torch.Tensor],
    num_samples: int = 1,
    *,
    control: RelaxControl,
    generator: torch.Generator | None = None,
) -> Estimate:
    r"""RELAX (Grathwohl et al. 2018): the score function with a learned surrogate control.

    .. math::

        \hat g = \bigl[f(b) - c_\phi(\tilde z)\bigr]\nabla\log p(b)
                 + \nabla c_\phi(z) - \nabla c_\phi(\tilde z),
        \qquad c_\phi(z) = r(\sigma_\lambda(z))\ [+\ \eta f(\sigma_\lambda(z))],

    averaged over ``num_samples`` draws. **Unbiased** for every surrogate ``r`` (it only needs
    to be differentiable in its input) and every λ, η.

    Cost per sample: one evaluation of ``f`` (at ``b``) and two of the surrogate ``c_φ`` (at
    ``z`` and :math:`\tilde z`) with one backward pass through them (second order when tuning);
    with the REBAR term, two more evaluations of ``f`` on relaxed inputs.

    Args:
        dist: as for :func:`rebar`.
        f: ``(num_samples, *batch, *event)`` → ``(num_samples, *batch)`` (or a prefix of the batch,
            as for :func:`rebar`). **May be non-differentiable** (a simulator, ``round``, …): only
            ``c_φ`` is differentiated — unless ``control.eta`` is set. For a ``Categorical``, ``f``
            receives indices, as ``dist.sample()`` gives them; with ``control.eta`` set it
            receives one-hot vectors (float, ``(..., K)``), since it also takes relaxed ones.
        num_samples: independent draws averaged (≥ 1).
        control: a :class:`RelaxControl`.
        generator: a ``torch.Generator`` for the noise.

    Returns:
        :class:`Estimate` as for :func:`rebar`; ``control_loss`` is differentiable in the
        surrogate's parameters and the control's λ (and η).
    """
    name = "relax"
    if not isinstance(control, RelaxControl):
        raise ValueError(f"{name}: control must be a RelaxControl, got {type(control).__name__}")

    def c(relaxed: torch.Tensor, f_relaxed: Callable) -> torch.Tensor:
        out = None
        if control.net is not None:
            out = control.net(relaxed)
        if control.eta is not None:
            term = control.eta.to(relaxed.dtype) * f_relaxed(relaxed)
            out = term if out is None else _match(name, out, term.shape, "control.net") + term
        return out

    return _estimate(
        name, dist, f, num_samples, control, c, generator, f_differentiable=control.eta is not None
    )


# --------------------------------------------------------------------------------------------


def _estimate(name, dist, f, num_samples, control, c, generator, *, f_differentiable):
    """The shared REBAR/RELAX computation; ``c(relaxed, f)`` is the control function."""
    problem = _Problem(name, dist)
    _check_generator(name, generator)
    n = check_num_samples(name, num_samples)
    kind, logits = problem.kind, problem.logits
    if not logits.is_floating_point():
        raise ValueError(f"{name}: dist.logits must be floating point, got {logits.dtype}")
    need_graph = torch.is_grad_enabled() and any(p.requires_grad for p in control.parameters())

    # Gradients are taken w.r.t. a local leaf copy of the logits and passed on to the caller's
    # graph as ĝ·logits: the same chain rule, and control_loss never reaches the model.
    lg = logits.detach().requires_grad_(True)
    with torch.no_grad():
        u, v = (_base_noise(kind, uniform((n, *lg.shape), lg, generator), lg) for _ in "uv")
        hard, index, score = _hard(kind, lg, u)
    # f sees one-hot vectors for a Categorical wherever it is also fed relaxed ones
    native = index if kind == "categorical" else hard
    fb = problem.evaluate(f, hard if f_differentiable else native)

    with torch.enable_grad():
        z = _relaxed_noise(kind, lg, u)
        z_tilde = _conditional_noise(kind, lg, v, hard)
        lam = control.temperature.to(lg.dtype)
        cz = _match(name, c(_relax(kind, z, lam), f), fb.shape, "the control")
        czt = _match(name, c(_relax(kind, z_tilde, lam), f), fb.shape, "the control")
        path = (cz - czt).sum() / n
        g_path = None
        if path.requires_grad:
            (g_path,) = torch.autograd.grad(path, lg, create_graph=need_graph, allow_unused=True)
        if g_path is None:
            # REBAR's control must depend on the relaxed input (else the correction is missing
            # and the estimate biased); a RELAX surrogate that ignores it is a constant baseline
            if f_differentiable or not path.requires_grad:
                what = "f on relaxed inputs" if f_differentiable else "control.net"
                raise ValueError(
                    f"{name}: {what} carries no gradient to its input (it must be "
                    "differentiable on relaxed inputs)"
                )
            g_path = torch.zeros_like(lg)
        # Score term with the analytic score ∇ log p(b) (b − σ(α), or onehot(b) − softmax);
        # its weight keeps the graph to the control parameters through c(z̃).
        weight = expand_right(fb.detach() - czt, score.dim())
        g = (weight * score).sum(0) / n + g_path

    control_loss = (g * g).sum() if need_graph else (g.detach() ** 2).sum()
    surrogate = (g.detach() * logits).sum()
    if fb.requires_grad:  # parameters of f get ∇ f(b)
        surrogate = surrogate + (fb.sum() - fb.detach().sum()) / n
    return Estimate(surrogate, fb.detach().mean(0), native, control_loss)


def _match(name: str, out, shape: torch.Size, what: str) -> torch.Tensor:
    """``out`` with the shape of ``f``'s output (a trailing size-1 dimension dropped)."""
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{name}: {what} must return a tensor, got {type(out).__name__}")
    if out.shape == (*shape, 1):
        out = out.squeeze(-1)
    if out.shape != shape:
        raise ValueError(
            f"{name}: {what} must return the shape of f's output {tuple(shape)}, "
            f"got {tuple(out.shape)}"
        )
    return out


def _finite(cls: str, arg: str, value) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.get_default_dtype()).clone()
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{cls}: {arg} must be finite, got {value!r}")
    return t


def _base_noise(kind: str, u: torch.Tensor, lg: torch.Tensor) -> torch.Tensor:
    """The noise the draws are built from, from float64 uniforms ``u``, in ``lg``'s dtype:
    logistic ``logit(u)`` (Bernoulli) or ``log E``, ``E = −log u`` (categorical)."""
    noise = logit(u) if kind == "bernoulli" else log_exponential(u)
    return noise.to(lg.dtype)


def _hard(kind: str, lg: torch.Tensor, u: torch.Tensor):
    """(hard draw (one-hot for the categorical kinds), index, ∇_logits log p(b)) from the base
    noise ``u``."""
    if kind == "bernoulli":
        b = (lg + u > 0).to(lg.dtype)
        return b, b, b - torch.sigmoid(lg)
    idx = (torch.log_softmax(lg, -1) - u).argmax(-1)
    onehot = F.one_hot(idx, lg.shape[-1]).to(lg.dtype)
    return onehot, idx, onehot - torch.softmax(lg, -1)


def _relaxed_noise(kind: str, lg: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``z(u, θ)``: logistic noise plus the logit, or Gumbel noise plus the log-probabilities."""
    if kind == "bernoulli":
        return lg + u
    return torch.log_softmax(lg, -1) - u


def _conditional_noise(kind: str, lg: torch.Tensor, v: torch.Tensor, hard: torch.Tensor):
    r""":math:`\tilde z \sim p(z \mid b)`, reparameterized by the base noise ``v`` (of a
    uniform, see :func:`_base_noise`) with ``b`` fixed."""
    if kind == "bernoulli":
        s = 2 * hard - 1
        return s * F.softplus(v + F.softplus(s * lg))
    log_e = v  # log E_k, E_k = −log(uniform_k)
    log_e_top = (log_e * hard).sum(-1, keepdim=True)  # log E_b (hard is one-hot)
    below = -torch.logaddexp(log_e - torch.log_softmax(lg, -1), log_e_top)
    return torch.where(hard.bool(), -log_e_top, below)


def _relax(kind: str, z: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """``σ(z/λ)`` or ``softmax(z/λ)``. Infinite ``z`` (logits of ±inf: probabilities 0 or 1)
    bypass the division so that ``∂/∂λ`` is 0 there, not ``0·inf = nan``."""
    finite = torch.isfinite(z)
    z = torch.where(finite, torch.where(finite, z, 0.0) / temperature, z)
    if kind == "bernoulli":
        return torch.sigmoid(z)
    return torch.softmax(z, -1)
