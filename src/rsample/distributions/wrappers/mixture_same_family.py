r"""Finite mixture of distributions from one family, with an exact ``rsample``.

.. math:: p(x) = \sum_{k=1}^K \pi_k\, p_k(x), \qquad \pi = \mathrm{softmax}(\text{logits}),

where the component :math:`p_k` is slice :math:`k` of the rightmost batch dimension of
``component_distribution``. ``log_prob`` is a ``logsumexp``; mean and variance come from the
law of total variance.

**Sampling.** :math:`k` is drawn by inverting the cumulative weights at one uniform per draw;
:math:`x` is then drawn from component :math:`k` alone (its parameters gathered at :math:`k`)
for rsample families, or from all components followed by a gather otherwise (as torch does).

**Gradients** (``rsample``): the draw is made without a graph and differentiated implicitly
(Figurnov, Mohamed & Mnih 2018, "Implicit Reparameterization Gradients"), with respect to the
mixture weights and every component parameter alike:

* univariate components (event shape ``()``): through the mixture CDF
  :math:`F(x) = \sum_k \pi_k F_k(x)`, :math:`dx/d\theta = -(\partial F/\partial\theta)/p(x)`,
  by :func:`rsample.gradients.implicit_rsample`;
* factorized components (``Independent`` of a univariate family, event :math:`(d,)`, or more
  dims, flattened): through the sequence of conditional CDFs (Graves 2016, "Stochastic
  backpropagation through mixture density distributions")

  .. math:: F_j(x_j \mid x_{<j}) = \sum_k w_{kj} F_{kj}(x_j), \qquad
      w_{kj} \propto \pi_k \prod_{i<j} p_{ki}(x_i),

  whose Jacobian :math:`\partial F/\partial x` is lower triangular with diagonal
  :math:`p_j(x_j \mid x_{<j}) = \sum_k w_{kj} p_{kj}(x_j)`; the backward pass solves the
  transposed triangular system for the incoming gradient (a loop over the :math:`d` event
  coordinates, vectorized over draws and components).

Tails: the gradient needs :math:`\partial\log F/\partial\theta` and :math:`F/p`, both
formed in log space from the family's ``log_cdf`` where it has one (``log(cdf)`` otherwise):
:math:`\log p` and, below the median, :math:`\log F` are ``logsumexp`` sums; above it
:math:`\log F = \operatorname{log1p}(\sum_k \pi_k \operatorname{expm1}(\log F_k))` keeps the
digits of :math:`S = 1 - F` that a ``logsumexp`` would round away. :math:`F/p` so stays finite
where both underflow. The weights' gradient :math:`\pi_j(F_j - F)/F` cancels catastrophically
when every :math:`F_k` rounds to 1; it is formed instead from the centered terms
:math:`F_k/F - 1 = \operatorname{expm1}(\log F_k - \log F)`, exact in both tails: the tensor
differentiated is :math:`T = \sum_k \pi_k\,\operatorname{expm1}(\log F_k - c)` with
:math:`c = \log F` held fixed, whose gradient is that of :math:`\log F` (its value,
:math:`\approx 0`, is unused). A component whose log-CDF (or log-density) is :math:`-\infty` at
a draw contributes nothing; it is evaluated again at its mean and masked, so that its own
backward never sees ``0·inf``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.distributions as _td
from torch.distributions import constraints

from ... import _random, _validation
from ..._eager import host_reads_free
from ..._shapes import broadcast_shapes
from ...distribution import Distribution, _is_lazy
from ...gradients import implicit_rsample
from ._wrapper import draw
from .independent import Independent

__all__ = ["MixtureSameFamily"]

_NAME = "MixtureSameFamily"
_LN2 = math.log(2.0)


class _KindOfMixture:
    """``"implicit"`` where :meth:`MixtureSameFamily.rsample` is defined, else ``None``.

    ``None`` on the class itself (``Distribution.__init_subclass__`` checks the class value).
    """

    def __get__(self, obj, owner=None) -> str | None:
        if obj is None:
            return None
        return "implicit" if obj._reparam is not None else None


class MixtureSameFamily(Distribution):
    """Drop-in for ``torch.distributions.MixtureSameFamily``, plus an exact ``rsample``.

    Args:
        mixture_distribution: a ``torch.distributions.Categorical`` over the ``K`` components;
            its batch shape must broadcast with ``component_distribution.batch_shape[:-1]``.
        component_distribution: a distribution whose rightmost batch dimension (of size ``K``)
            indexes the components.
        validate_args: as for every distribution.

    ``has_rsample`` is true exactly when the component (after unwrapping ``Independent``
    wrappers) is a univariate family (event shape ``()``) with ``has_rsample`` and its own
    ``cdf`` method, the CDF being differentiable in its parameters (every rsample family's is;
    torch's ``Gamma.cdf``, for instance, is not in the concentration, and backward then raises).
    Otherwise (e.g. full-covariance ``MultivariateNormal`` components) ``rsample`` raises
    ``NotImplementedError`` and ``sample`` still works.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {}
    rsample_kind = _KindOfMixture()

    def __init__(
        self,
        mixture_distribution: _td.Categorical,
        component_distribution: _td.Distribution,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(mixture_distribution, _td.Categorical):
            raise ValueError(
                f"{_NAME}: mixture_distribution must be a torch.distributions.Categorical, "
                f"got {type(mixture_distribution).__name__}"
            )
        if not isinstance(component_distribution, _td.Distribution):
            raise ValueError(
                f"{_NAME}: component_distribution must be a torch.distributions.Distribution, "
                f"got {type(component_distribution).__name__}"
            )
        comp_batch = component_distribution.batch_shape
        if len(comp_batch) == 0:
            raise ValueError(
                f"{_NAME}: component_distribution must have a batch dimension indexing the "
                "components (its rightmost), got batch shape ()"
            )
        num = mixture_distribution.param_shape[-1]
        if num != comp_batch[-1]:
            raise ValueError(
                f"{_NAME}: mixture_distribution has {num} categories but "
                f"component_distribution.batch_shape[-1] is {comp_batch[-1]}"
            )
        mix_batch = mixture_distribution.batch_shape
        try:
            batch_shape = broadcast_shapes(mix_batch, comp_batch[:-1])
        except RuntimeError:
            raise ValueError(
                f"{_NAME}: mixture_distribution.batch_shape {tuple(mix_batch)} does not "
                "broadcast with component_distribution.batch_shape[:-1] "
                f"{tuple(comp_batch[:-1])}"
            ) from None
        if batch_shape != comp_batch[:-1]:
            component_distribution = component_distribution.expand((*batch_shape, num))
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = num
        self._event_ndims = len(component_distribution.event_shape)
        self._reparam = _reparam_kind(component_distribution)
        super().__init__(batch_shape, component_distribution.event_shape, validate_args)

    def expand(self, batch_shape, _instance=None) -> MixtureSameFamily:
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = torch.Size(batch_shape)
        new._component_distribution = self._component_distribution.expand(
            (*batch_shape, self._num_component)
        )
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        new._reparam = self._reparam
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mixture_distribution(self) -> _td.Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> _td.Distribution:
        return self._component_distribution

    @property
    def has_rsample(self) -> bool:
        return self._reparam is not None

    @constraints.dependent_property
    def support(self):
        """The component's support (checked against every component, as in torch, where it
        depends on their parameters)."""
        support = self._component_distribution.support
        if _validation._bounds(support) is not None:
            return support  # the same for every component
        return constraints.MixtureSameFamilyConstraint(support)

    # ----------------------------------------------------------------- sampling
    def sample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        with torch.no_grad():
            return self._draw(torch.Size(sample_shape), generator)

    def rsample(self, sample_shape=torch.Size(), *, generator=None) -> torch.Tensor:
        """A draw differentiable in the mixture weights and every component parameter."""
        if self._reparam is None:
            raise NotImplementedError(
                f"{_NAME}.rsample needs components that are a univariate family with a "
                "differentiable cdf (or Independent of one); got "
                f"{type(self._component_distribution).__name__} with event shape "
                f"{tuple(self.event_shape)}. Use sample(), or a score-function estimator."
            )
        with torch.no_grad():
            x = self._draw(torch.Size(sample_shape), generator)
        if not torch.is_grad_enabled():
            return x
        if self._reparam == "univariate":
            return self._implicit_univariate(x)
        return self._implicit_factorized(x)

    def _draw(self, sample_shape: torch.Size, generator) -> torch.Tensor:
        index = self._draw_index(sample_shape, generator)
        comp = self._component_distribution
        kdim = len(self.batch_shape)
        selected = None if torch.compiler.is_compiling() else _select(comp, index, kdim)
        if selected is not None:
            return draw(selected, "sample", (), generator)
        values = draw(comp, "sample", sample_shape, generator)  # S + B + (K,) + E
        dim = index.dim()
        trail = (1,) * (1 + self._event_ndims)
        index = index.reshape(index.shape + trail).expand((*index.shape, 1, *self.event_shape))
        return values.gather(dim, index).squeeze(dim)

    def _draw_index(self, sample_shape: torch.Size, generator) -> torch.Tensor:
        """Component indices, shape ``sample_shape + batch_shape``: the number of cumulative
        weights ``c_k`` (k < K) at or below ``u·c_K``, ``u ~ U[0, 1)`` (a zero weight is never
        chosen: its ``c_k`` equals its predecessor's)."""
        mix = self._mixture_distribution
        probs = mix.__dict__.get("probs")  # exp(logits) is cheaper than softmax for small K
        cum = (probs if probs is not None else mix.logits.exp()).detach().cumsum(-1)
        u = _random.uniform(
            sample_shape + self.batch_shape, dtype=cum.dtype, device=cum.device, generator=generator
        )
        u = (u * cum[..., -1]).unsqueeze(-1)
        return (cum[..., :-1] <= u).sum(-1)

    # ----------------------------------------------------------------- implicit gradients
    def _implicit_univariate(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`dx/d\theta = -(\partial F/\partial\theta)/p` via the implicit engine.

        The engine differentiates the standardization :math:`T(\theta)` built here with its graph
        (gradient that of :math:`\log F`), given :math:`dx/dT = r = -F/p`; so every tensor the
        mixture and the components depend on receives its gradient, whatever the
        parameterization (logits or probs, rsample or torch components).
        """
        base = _innermost(self._component_distribution)
        value = x.unsqueeze(-1)
        log_pi = self._log_weights()
        with torch.no_grad():
            log_p = torch.logsumexp(log_pi + base.log_prob(value), -1)
        log_f = _guarded(_component_log_cdf, base, value)
        t, r, _, _ = _standardize(log_pi, log_f, log_p, -1)
        return implicit_rsample(x, (t,), sample_grad=lambda _x, _t: (r,))

    def _implicit_factorized(self, x: torch.Tensor) -> torch.Tensor:
        """The conditional-CDF standardization (Graves 2016) for ``Independent`` components."""
        base = _innermost(self._component_distribution)
        n = self._event_ndims
        lead = x.dim() - n
        value = x.unsqueeze(lead)  # S + B + (1,) + E
        log_pk = _guarded(_component_log_prob, base, value).flatten(-n)  # graph in θ
        log_fk = _guarded(_component_log_cdf, base, value).flatten(-n)
        # log w_kj = log π_k + Σ_{i<j} log p_ki(x_i), normalized over k.
        prefix = torch.nn.functional.pad(log_pk[..., :-1].cumsum(-1), (1, 0))
        log_a = self._log_weights().unsqueeze(-1) + prefix
        log_w = log_a - torch.logsumexp(log_a, -2, keepdim=True)
        with torch.no_grad():
            log_p = torch.logsumexp(log_w + log_pk, -2)  # log p_j(x_j | x_<j)
        t, r, w, e = _standardize(log_w, log_fk, log_p, -2)
        if not t.requires_grad:
            return x
        with torch.no_grad():
            # J~_mj = Σ_k s_kj b_km: b_km = w_km (F_km − F_m)/p_m = −r_m w_km e_km.
            b = (w * e).mul_(-r.unsqueeze(-2))
        flat = x.flatten(lead) if n > 1 else x
        out = _ConditionalCdfSample.apply(flat, t, r, b, base, value)
        return out.reshape(x.shape)

    # ----------------------------------------------------------------- scoring
    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x) = \operatorname{logsumexp}_k(\log\pi_k + \log p_k(x))`."""
        if self._validate_args:
            self._validate_sample(value)
        log_pk = self._component_distribution.log_prob(self._pad(value))
        return torch.logsumexp(log_pk + self._log_weights(), -1)

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r""":math:`F(x) = \sum_k \pi_k F_k(x)` (univariate components)."""
        if self._validate_args:
            self._validate_sample(value)
        cdf_k = self._component_distribution.cdf(self._pad(value))
        return (cdf_k * self._mixture_distribution.probs).sum(-1)

    # ----------------------------------------------------------------- moments
    @property
    def mean(self) -> torch.Tensor:
        r""":math:`\sum_k \pi_k \mu_k`."""
        probs = self._pad_mixture(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> torch.Tensor:
        r"""Law of total variance: :math:`\sum_k \pi_k \sigma_k^2 + \sum_k \pi_k(\mu_k-\mu)^2`."""
        probs = self._pad_mixture(self._mixture_distribution.probs)
        dim = -1 - self._event_ndims
        comp = self._component_distribution
        spread = (comp.mean - self._pad(self.mean)).square()
        return (probs * comp.variance).sum(dim) + (probs * spread).sum(dim)

    # ----------------------------------------------------------------- helpers
    def _log_weights(self) -> torch.Tensor:
        """``log π``: a torch ``Categorical`` stores its logits normalized (``logsumexp`` 0)."""
        return self._mixture_distribution.logits

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """Insert the component dimension before the event dims."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture(self, x: torch.Tensor) -> torch.Tensor:
        """Weights ``(..., K)`` aligned with component moments ``(..., K) + event_shape``."""
        return x.reshape(x.shape + (1,) * self._event_ndims)

    def __repr__(self) -> str:
        return f"{_NAME}(\n  {self._mixture_distribution},\n  {self._component_distribution})"


class _ConditionalCdfSample(torch.autograd.Function):
    r"""``x`` (drawn without a graph) made differentiable through ``t``, whose gradient in
    :math:`\theta` is that of :math:`\log F_j(x_j \mid x_{<j})` at fixed ``x``.

    Holding :math:`F(x;\theta)` fixed, :math:`J\,dx/d\theta = -\partial F/\partial\theta` with
    :math:`J = \partial F/\partial x = \mathrm{diag}(p)\,\tilde J` (:math:`\tilde J` unit lower
    triangular), so :math:`dx/d\theta = \tilde J^{-1}\mathrm{diag}(r)\,\partial T/\partial\theta`
    with :math:`r = -F/p`, and the gradient reaching ``t`` is :math:`r \odot u` where
    :math:`\tilde J^\top u = g`. Below the diagonal, as :math:`\sum_k \partial_{x_i} w_{kj} = 0`,

    .. math:: \tilde J_{mj} = \frac{1}{p_m}\sum_k \frac{\partial w_{km}}{\partial x_j}
        (F_{km} - F_m) = \sum_k s_{kj} b_{km}, \qquad b_{km} = \frac{w_{km}(F_{km}-F_m)}{p_m},

    with the scores :math:`s_{kj} = \partial_{x_j}\log p_{kj}(x_j)`. Back substitution
    :math:`u_j = g_j - \sum_{m>j}\tilde J_{mj} u_m` carries :math:`\sum_{m>j} u_m b_{km}` as one
    accumulator per component.
    """

    @staticmethod
    def forward(ctx, x, t, r, b, base, value):
        ctx.base = base
        ctx.save_for_backward(r, b, value)
        return x.clone()

    @staticmethod
    def backward(ctx, grad_x):
        r, b, value = ctx.saved_tensors
        double_backward = torch.is_grad_enabled()
        scores = _scores(ctx.base, value, b.shape)
        with torch.no_grad():
            grad_t = r * _back_substitute(grad_x, scores, b)
        if double_backward:
            grad_t = _refuse_double_backward(grad_t)
        return None, grad_t, None, None, None, None


def _scores(base, value: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """``∂ log p_kj(x_j) / ∂x_j`` for every component and coordinate, reshaped to ``shape``
    ``(..., K, D)``; ``value`` is the draw with a singleton component dimension."""
    lead = value.dim() - len(base.batch_shape)
    expanded = value.expand(value.shape[:lead] + base.batch_shape)
    # torch.func.grad rather than autograd.grad: dynamo traces it (fullgraph compiles).
    grad = torch.func.grad(lambda v: base.log_prob(v).sum())(expanded.detach())
    # A draw on the edge of a component's support (a floored Gamma draw) can give an infinite
    # score where that component's weight is 0: keep the products s·b finite (0, not NaN).
    big = math.sqrt(torch.finfo(grad.dtype).max)
    return torch.nan_to_num(grad, nan=0.0, posinf=big, neginf=-big).reshape(shape)


def _back_substitute(g: torch.Tensor, s: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve :math:`\\tilde J^\\top u = g` (see :class:`_ConditionalCdfSample`); a loop over
    the ``D`` event coordinates, vectorized over draws and components."""
    d = g.shape[-1]
    s = s.movedim(-1, 0)
    b = b.movedim(-1, 0)
    g = g.movedim(-1, 0)
    u = torch.empty_like(g)
    acc = None
    for j in range(d - 1, -1, -1):
        u_j = g[j] if acc is None else g[j] - (s[j] * acc).sum(-1)
        u[j] = u_j
        if j:
            step = u_j.unsqueeze(-1) * b[j]
            acc = step if acc is None else acc + step
    return u.movedim(0, -1)


def _standardize(log_w, log_f, log_p, dim: int):
    r"""``(T, r, w, e)`` for mixture sums over ``dim`` of weights :math:`e^{\log w}` and component
    log-CDFs ``log_f``:

    * :math:`T = \sum_k w_k e_k`, :math:`e_k = \operatorname{expm1}(\log F_k - c)`, with its
      graph, where :math:`c = \log F` is held fixed: :math:`\partial T = \partial\log F` (as
      :math:`\sum_k w_k = 1`), and :math:`\partial T/\partial w_k = F_k/F - 1` is exact even
      where every :math:`F_k` rounds to 1;
    * :math:`r = dx/dT = -F/p = -e^{c - \log p}`, capped so a draw where :math:`p` underflows
      gets a finite factor;
    * :math:`w` and :math:`e` without their graphs.
    """
    w = log_w.exp()
    with torch.no_grad():
        # log F: a logsumexp loses absolute digits of order eps·|log π| (fatal when
        # F = 1 − 1e-12); above the median log1p(Σ π_k expm1(log F_k)) = log1p(−S) keeps them.
        c_low = torch.logsumexp(log_w + log_f, dim, keepdim=True)
        c_up = torch.log1p((w * torch.expm1(log_f)).sum(dim, keepdim=True))
        c = torch.where(c_low > -_LN2, c_up, c_low).clamp(min=torch.finfo(log_f.dtype).min)
        r = -torch.exp((c.squeeze(dim) - log_p).clamp(max=_max_log(log_p.dtype)))
    e = torch.expm1(log_f - c)
    t = (w * e).sum(dim)
    return t, r, w.detach(), e.detach()


def _max_log(dtype: torch.dtype) -> float:
    """Cap for ``log(F/p)``: ``F/p`` is then at most ``sqrt(max float)``."""
    return 0.5 * math.log(torch.finfo(dtype).max)


def _component_log_cdf(base: _td.Distribution, value: torch.Tensor) -> torch.Tensor:
    """``log F_k(value)``: the family's ``log_cdf`` where it has one (accurate in the lower
    tail, and in the upper tail ``log F_k − log F`` keeps the survival functions' digits), else
    ``log(cdf)``."""
    log_cdf = getattr(base, "log_cdf", None)
    if log_cdf is not None:
        return log_cdf(value)
    return torch.log(base.cdf(value))


def _component_log_prob(base: _td.Distribution, value: torch.Tensor) -> torch.Tensor:
    return base.log_prob(value)


def _guarded(fn, base: _td.Distribution, value: torch.Tensor) -> torch.Tensor:
    """``fn(base, value)`` per component (a log-density or log-CDF), with ``−inf`` (or NaN)
    entries replaced by the constant ``−inf``.

    Such entries (a draw outside a component's support, or a CDF that underflows even as a
    log, e.g. a floored Gamma draw seen by a large-concentration component) carry no
    gradient, but the family's own backward there may give ``0·inf = NaN`` (``exp(log f −
    log F)`` with both ``−inf``). So they are evaluated again at the component's mean, where
    the family's backward is finite, and masked. On the CPU in eager mode the second
    evaluation runs only when some entry needs it; elsewhere (no host reads) it always runs.
    """
    out = fn(base, value)
    if not out.requires_grad:
        return out
    bad = ~(out.detach() > -math.inf)
    if host_reads_free(out) and not bool(bad.any()):
        return out
    with torch.no_grad():
        mean = base.mean.to(value.dtype)
        safe = torch.where(bad & torch.isfinite(mean), mean, value)
    return torch.where(bad, -math.inf, fn(base, safe))


def _refuse_double_backward(grad: torch.Tensor) -> torch.Tensor:
    """An output whose own backward raises: a second derivative is refused, never silently
    wrong (``dx/dθ`` depends on θ through paths this backward does not record)."""
    message = (
        b"rsample: double backward through MixtureSameFamily.rsample (an implicit "
        b"reparameterization) is not supported"
    )
    return torch._C._functions.DelayedError(message, 1)(grad.detach().requires_grad_())


def _innermost(dist: _td.Distribution) -> _td.Distribution:
    """The distribution inside any ``Independent`` wrappers (rsample's or torch's)."""
    while isinstance(dist, (Independent, _td.Independent)):
        dist = dist.base_dist
    return dist


def _reparam_kind(component: _td.Distribution) -> str | None:
    """``"univariate"``, ``"factorized"`` or ``None``: how ``rsample`` differentiates."""
    base = _innermost(component)
    if base.event_shape != () or not base.has_rsample:
        return None
    if type(base).cdf is _td.Distribution.cdf:
        return None  # no CDF to standardize with
    return "univariate" if component.event_shape == () else "factorized"


def _select(dist: _td.Distribution, index: torch.Tensor, kdim: int) -> _td.Distribution | None:
    """The components chosen by ``index`` (shape ``sample_shape + B``) as one distribution of
    batch shape ``index.shape`` plus the batch dims after the component dimension (which is
    dimension ``kdim`` of ``dist``'s batch ``B + (K,) + T``), or ``None`` where that cannot be
    built generically.

    An rsample family whose ``expand`` is the generic one declares every batch-shaped tensor it
    stores (``arg_constraints``, ``_derived_params``, ``_batch_free``, lazy attributes), so
    gathering each parameter along the component dimension is as safe as ``expand``. Drawing
    from the selection costs one draw instead of ``K``.
    """
    if isinstance(dist, Independent):
        base = _select(dist.base_dist, index, kdim)
        if base is None:
            return None
        return Independent(base, dist.reinterpreted_batch_ndims, validate_args=False)
    cls = type(dist)
    if not isinstance(dist, Distribution) or cls.expand is not Distribution.expand:
        return None
    lead = index.dim()
    sample_shape = index.shape[: lead - kdim]
    trailing = dist.batch_shape[kdim + 1 :]
    new = cls.__new__(cls)
    for key, value in dist.__dict__.items():
        if key in ("_batch_shape", "_event_shape", *dist._draw_state) or _is_lazy(cls, key):
            continue
        event_dim = dist._param_event_dim(key)
        if event_dim is not None and isinstance(value, torch.Tensor):
            event = value.shape[value.dim() - event_dim :]
            full = sample_shape + dist.batch_shape + event
            rest = trailing + event
            idx = index.reshape(index.shape + (1,) * (1 + len(rest)))
            idx = idx.expand((*index.shape, 1, *rest))
            new.__dict__[key] = value.expand(full).gather(lead, idx).squeeze(lead)
        elif isinstance(value, torch.Tensor) and key not in dist._batch_free:
            return None
        else:
            new.__dict__[key] = value
    new._batch_shape = index.shape + trailing
    new._event_shape = dist.event_shape
    return new
