r"""Implicit reparameterization: exact ``rsample`` gradients for any sampler with a known CDF.

For a draw :math:`x` with CDF :math:`F(x;\theta)`, hold :math:`F(x;\theta) = u` fixed (``u`` is
the draw's uniform "noise", never materialized). Differentiating gives

.. math:: \frac{dx}{d\theta} = -\frac{\partial F(x;\theta)/\partial\theta}{p(x;\theta)},

(Figurnov, Mohamed & Mnih 2018, "Implicit Reparameterization Gradients", eq. 5). So a sampler
that draws without gradient (rejection, inverse CDF without a differentiable inverse, a C++
kernel) becomes a pathwise sampler once the CDF is differentiable in :math:`\theta`.

:func:`implicit_rsample` is the one mechanism every family uses; a user-defined distribution
gains ``rsample`` by supplying a sampler, a CDF and a log-density::

    class MyWeibull(rsample.Distribution):
        rsample_kind = "implicit"
        ...
        def rsample(self, sample_shape=(), *, generator=None):
            with torch.no_grad():
                x = ...  # any sampler
            return implicit_rsample(x, (self.scale, self.concentration),
                                    log_prob=weibull_log_prob, cdf=weibull_cdf)

``rsample.testing.check_distribution`` then validates the gradients against quadrature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["implicit_rsample"]

CdfFn = Callable[..., torch.Tensor]
CdfGradFn = Callable[..., Sequence[torch.Tensor | None]]


def implicit_rsample(
    x: torch.Tensor,
    params: Sequence[torch.Tensor],
    *,
    log_prob: CdfFn | None = None,
    cdf: CdfFn | None = None,
    cdf_grad: CdfGradFn | None = None,
    sample_grad: CdfGradFn | None = None,
) -> torch.Tensor:
    r"""``x`` (drawn without gradient) as a differentiable function of ``params``.

    Give exactly one way to differentiate:

    * ``cdf(x, *params)``, differentiable in ``params`` by autograd, with ``log_prob``;
    * ``cdf_grad(x, *params)``: :math:`\partial F/\partial\theta_i` for each parameter
      (``None`` where none is needed), elementwise at ``x``, with ``log_prob`` — for series or
      closed forms more accurate than autograd of the CDF;
    * ``sample_grad(x, *params)``: :math:`\partial x/\partial\theta_i` itself, for families
      that evaluate the ratio stably where :math:`p` and :math:`\partial F/\partial\theta`
      both underflow (tiny Gamma concentrations).

    ``log_prob(x, *params)`` is :math:`\log p(x;\theta)`. ``x`` may have any shape that
    ``params`` broadcast to. The value returned is ``x``; the backward pass gives
    :math:`\partial x/\partial\theta_i = -(\partial F/\partial\theta_i)/p`, summed over the
    dimensions where ``params[i]`` was broadcast. Double backward is not supported and raises.
    """
    modes = sum(fn is not None for fn in (cdf, cdf_grad, sample_grad))
    if modes != 1:
        raise ValueError("implicit_rsample: give exactly one of cdf, cdf_grad or sample_grad")
    if sample_grad is None and log_prob is None:
        raise ValueError("implicit_rsample: cdf and cdf_grad need log_prob as well")
    params = tuple(params)
    if not torch.is_grad_enabled() or not any(p.requires_grad for p in params):
        return x
    return _ImplicitSample.apply(x.detach(), (log_prob, cdf, cdf_grad, sample_grad), *params)


class _ImplicitSample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, fns, *params):
        ctx.fns = fns
        ctx.save_for_backward(x, *params)
        return x.clone()  # a fresh output: in-place changes to it must not corrupt ``x``

    @staticmethod
    def backward(ctx, grad_x):
        x, *params = ctx.saved_tensors
        double_backward = torch.is_grad_enabled()  # backward(create_graph=True)
        with torch.no_grad():
            grads = _sample_gradients(ctx.fns, x, params, grad_x, ctx.needs_input_grad[2:])
        if double_backward:
            grads = _refuse_double_backward(grads)
        return (None, None, *grads)


def _sample_gradients(fns, x, params, grad_x, needs) -> list[torch.Tensor | None]:
    """``Σ grad_x · ∂x/∂θ_i`` over the draws, for each parameter."""
    log_prob, cdf, cdf_grad, sample_grad = fns
    if sample_grad is not None:
        return _weighted(sample_grad(x, *params), grad_x, params, needs)
    # Each draw's weight −grad/p; the CDF's vector–Jacobian product then sums over draws.
    weight = -grad_x * torch.exp(-log_prob(x, *params))
    if cdf_grad is not None:
        return _weighted(cdf_grad(x, *params), weight, params, needs)
    return _cdf_vjp(cdf, x, params, weight, needs)


def _refuse_double_backward(grads):
    """Outputs whose own backward raises: a second derivative is refused, never silently 0.

    (``∂x/∂θ`` itself depends on θ; a graph through these gradients would miss that term.)
    """
    message = (
        b"rsample: double backward through an implicit reparameterization "
        b"(implicit_rsample) is not supported"
    )
    present = [g for g in grads if g is not None]
    refused = torch._C._functions.DelayedError(message, len(present))(
        *(g.detach().requires_grad_() for g in present)
    )
    refusing = iter(
        (refused,) if isinstance(refused, torch.Tensor) else refused
    )  # one: a bare tensor
    return [None if g is None else next(refusing) for g in grads]


def _cdf_vjp(cdf, x, params, weight, needs) -> list[torch.Tensor | None]:
    """``Σ weight · ∂F/∂θ_i`` reduced to each parameter's shape, by autograd of ``cdf``."""
    leaves = [p.detach().requires_grad_(need) for p, need in zip(params, needs)]
    wanted = [leaf for leaf in leaves if leaf.requires_grad]
    with torch.enable_grad():
        value = cdf(x, *leaves)
        partials = torch.autograd.grad(value, wanted, weight, allow_unused=True)
    found = iter(partials)
    return [next(found) if leaf.requires_grad else None for leaf in leaves]


def _weighted(partials, weight, params, needs) -> list[torch.Tensor | None]:
    """``Σ weight · partial_i`` over the draws, reduced to each parameter's shape."""
    grads = []
    for partial, param, need in zip(partials, params, needs):
        if not need or partial is None:
            grads.append(None)
        else:
            grads.append(_sum_to_shape(weight * partial, param.shape))
    return grads


def _sum_to_shape(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Undo broadcasting: sum ``t`` over the dimensions that ``shape`` was expanded along."""
    if t.shape == shape:
        return t
    lead = t.dim() - len(shape)
    expanded = (lead + i for i, n in enumerate(shape) if n == 1 and t.shape[lead + i] != 1)
    dims = [*range(lead), *expanded]
    return t.sum(dims, keepdim=True).reshape(shape) if dims else t.reshape(shape)
