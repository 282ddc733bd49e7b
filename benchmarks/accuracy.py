"""Accuracy of the sample derivatives dx/dθ of Gamma, Beta and Dirichlet draws (rsample vs torch).

Usage (from the repository root)::

    python -m benchmarks.accuracy          # writes benchmarks/ACCURACY.md

For each parameter point a few draws are taken (fixed seeds, float64), and the derivative each
library's ``rsample`` backpropagates for each draw is compared with an independent float64
reference: mpmath (40 digits) differentiating the exact CDF that the library holds fixed.

* Gamma (both libraries): the Gamma CDF, :math:`dx/dα = -(\\partial P(α, x)/\\partial α)/p(x)`.
* Beta and Dirichlet, torch: the (marginal) Beta CDF, :math:`dx/da = -(\\partial I_x(a, b)/
  \\partial a)/p(x)` — torch's ``_dirichlet_grad``.
* Beta and Dirichlet, rsample: its draws are normalized gammas, so the CDF held fixed is each
  gamma's (boosted below 1: :math:`G_a = G_{a+1}U^{1/a}`); the reference differentiates
  :math:`x = G_a/\\sum G` through mpmath's gamma CDF at the recorded gamma draws.

float32 rows: the same draws rounded to float32, differentiated in float32, against the float64
reference at the rounded points. The error is the largest relative error over the draws.
"""

from __future__ import annotations

import math
from pathlib import Path

import mpmath as mp
import torch
import torch.distributions as td

import rsample
from rsample.distributions.continuous import gamma as gamma_module

HERE = Path(__file__).resolve().parent
DRAWS = 32
F32, F64 = torch.float32, torch.float64
mp.mp.dps = 40


# ----------------------------------------------------------------- mpmath references
def _gamma_dx_da(a: float, x: float) -> float:
    """dx/da at fixed P(a, x), from the smaller side (no cancellation)."""
    a_, x_ = mp.mpf(a), mp.mpf(x)
    if x_ < a_:
        dside = mp.diff(lambda t: mp.gammainc(t, 0, x_, regularized=True), a_)
        sign = -1
    else:
        dside = mp.diff(lambda t: mp.gammainc(t, x_, mp.inf, regularized=True), a_)
        sign = 1
    density = mp.exp((a_ - 1) * mp.log(x_) - x_ - mp.loggamma(a_))
    return float(sign * dside / density)


def _beta_dx_da(a: float, b: float, x: float) -> tuple[float, float]:
    """(dx/da, dx/db) at fixed I_x(a, b)."""
    a_, b_, x_ = mp.mpf(a), mp.mpf(b), mp.mpf(x)
    density = mp.exp((a_ - 1) * mp.log(x_) + (b_ - 1) * mp.log1p(-x_) - mp.log(mp.beta(a_, b_)))
    da = mp.diff(lambda t: mp.betainc(t, b_, 0, x_, regularized=True), a_)
    db = mp.diff(lambda t: mp.betainc(a_, t, 0, x_, regularized=True), b_)
    return float(-da / density), float(-db / density)


def _log_gamma_dlog_da(a: float, g: float, e: float) -> mp.mpf:
    """d log G_a / da for rsample's boosted draw G_a = g·exp(−e/a) (g ~ Gamma(a + 1) if a < 1)."""
    if a < 1:
        return mp.mpf(_gamma_dx_da(a + 1, g)) / g + mp.mpf(e) / mp.mpf(a) ** 2
    return mp.mpf(_gamma_dx_da(a, g)) / g


# ----------------------------------------------------------------- recording rsample's draws
class _Recorder:
    """Keeps the boosted gamma draws g and the log-gammas log G that ``module`` draws."""

    def __init__(self, module):
        self.module = module
        self.g: list[torch.Tensor] = []
        self.log_g: list[torch.Tensor] = []

    def __enter__(self):
        self._gamma, self._log = (
            gamma_module.standard_gamma_rsample,
            self.module.__dict__["log_standard_gamma_rsample"],
        )

        def gamma(*args, **kwargs):
            out = self._gamma(*args, **kwargs)
            self.g.append(out.detach().clone())
            return out

        def log_gamma(*args, **kwargs):
            out = self._log(*args, **kwargs)
            self.log_g.append(out.detach().clone())
            return out

        gamma_module.standard_gamma_rsample = gamma
        self.module.log_standard_gamma_rsample = log_gamma
        return self

    def __exit__(self, *exc):
        gamma_module.standard_gamma_rsample = self._gamma
        self.module.log_standard_gamma_rsample = self._log


def _rel(got: float, want: float) -> float:
    return abs(got - want) / abs(want) if want != 0 else abs(got)


def _leaf(value, n: int, dtype=F64) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=dtype)
    return t.expand(n, *t.shape).clone().requires_grad_()


def _dlog_g(alpha: float, g: float, log_g: float):
    """d log G/dα along rsample's path, G = g·exp(−E/α) boosted (E recovered from log G)."""
    if alpha < 1:
        e = alpha * (math.log(g) - log_g)
        return mp.mpf(_gamma_dx_da(alpha + 1, g)) / g + mp.mpf(e) / mp.mpf(alpha) ** 2
    return mp.mpf(_gamma_dx_da(alpha, g)) / g


# ----------------------------------------------------------------- Gamma
def gamma_rows() -> list[tuple]:
    rows = []
    for alpha in (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1e3):
        x64 = torch._standard_gamma(
            torch.full((DRAWS,), alpha, dtype=F64), generator=torch.Generator().manual_seed(7)
        ).clamp_min(1e-300)
        errs = {}
        for dtype in (F64, F32):
            a = torch.full((DRAWS,), alpha, dtype=dtype)
            x = x64.to(dtype).clamp_min(torch.finfo(dtype).tiny)
            ours = rsample.special.standard_gamma_grad(a, x).double()
            theirs = torch._standard_gamma_grad(a, x).double()
            ref = [_gamma_dx_da(alpha, float(v)) for v in x.double()]
            errs[("rsample", dtype)] = max(_rel(float(o), r) for o, r in zip(ours, ref))
            errs[("torch", dtype)] = max(_rel(float(t), r) for t, r in zip(theirs, ref))
        rows.append((f"Gamma(α={alpha:g})", "dx/dα", errs))
    return rows


# ----------------------------------------------------------------- Beta and Dirichlet
def _interior(x: torch.Tensor) -> bool:
    finfo = torch.finfo(x.dtype)
    return bool(((x > finfo.tiny) & (x < 1 - finfo.eps)).all())


def _torch_simplex_errors(alpha: list[float]) -> dict:
    """torch's dx_i/dα_i (its marginal-Beta CDF held fixed) vs mpmath, float64 and float32."""
    errs = {}
    total = sum(alpha)
    for dtype in (F64, F32):
        conc = _leaf(alpha, DRAWS, dtype)
        x = td.Dirichlet(conc).rsample(torch.Size())  # seeded below for determinism
        worst = 0.0
        for i, a in enumerate(alpha):
            (grad,) = torch.autograd.grad(x[:, i].sum(), conc, retain_graph=True)
            for n in range(DRAWS):
                xi = float(x[n, i].detach())
                if not _interior(x[n, i].detach()):
                    continue
                ref, _ = _beta_dx_da(a, total - a, xi)
                worst = max(worst, _rel(float(grad[n, i]), ref))
        errs[dtype] = worst
    return errs


def _rsample_simplex_errors(alpha: list[float], module, make, dtype=F64) -> float:
    """rsample's full Jacobian dx_i/dα_k along its gamma path vs mpmath (at its own draws)."""
    conc = _leaf(alpha, DRAWS, dtype)
    with _Recorder(module) as rec:
        x = make(conc).rsample(generator=torch.Generator().manual_seed(13))
    # Dirichlet draws its K gammas in one call, Beta its two in two calls (a, then b).
    g, log_g = (t[0] if len(t) == 1 else torch.stack(t, -1) for t in (rec.g, rec.log_g))
    x = x if x.dim() == 2 else torch.stack((x, 1 - x), -1)  # Beta: its two components
    worst = None  # stays None if every draw is floored (then there is nothing to compare)
    for i in range(len(alpha)):
        (grad,) = torch.autograd.grad(x[:, i].sum(), conc, retain_graph=True)
        for n in range(DRAWS):
            if not _interior(x[n].detach()):
                continue
            logs = [mp.mpf(float(v)) for v in log_g[n]]
            top = max(logs)
            w = [mp.exp(v - top) for v in logs]
            xs = [v / sum(w) for v in w]
            for k, a in enumerate(alpha):
                d = _dlog_g(a, float(g[n, k]), float(log_g[n, k]))
                ref = xs[i] * ((1 if i == k else 0) - xs[k]) * d
                worst = max(worst or 0.0, _rel(float(grad[n, k]), float(ref)))
    return worst


def simplex_rows() -> list[tuple]:
    from rsample.distributions.continuous import beta as beta_module
    from rsample.distributions.multivariate import dirichlet as dirichlet_module

    def make_beta(conc):
        return rsample.Beta(conc[..., 0], conc[..., 1])

    rows = []
    for a, b in ((0.01, 0.5), (0.5, 2.0), (2.0, 3.0), (30.0, 0.3), (1e3, 1e3), (1e-3, 5.0)):
        torch.manual_seed(11)
        theirs = _torch_simplex_errors([a, b])
        errs = {("torch", F64): theirs[F64], ("torch", F32): theirs[F32]}
        for dtype in (F64, F32):
            errs["rsample", dtype] = _rsample_simplex_errors([a, b], beta_module, make_beta, dtype)
        rows.append((f"Beta({a:g}, {b:g})", "dx/da, dx/db", errs))
    for alpha in ((0.1, 0.5, 2.0), (2.0, 3.0, 5.0), (1e-2, 1.0, 30.0)):
        torch.manual_seed(12)
        theirs = _torch_simplex_errors(list(alpha))
        errs = {("torch", F64): theirs[F64], ("torch", F32): theirs[F32]}
        for dtype in (F64, F32):
            errs["rsample", dtype] = _rsample_simplex_errors(
                list(alpha), dirichlet_module, rsample.Dirichlet, dtype
            )
        name = "Dirichlet(" + ", ".join(f"{v:g}" for v in alpha) + ")"
        rows.append((name, "dx_i/dα_k (torch: k = i)", errs))
    return rows


# ----------------------------------------------------------------- table
def _cell(errs: dict, key) -> str:
    """The error, or "–" (not measured) / "floored" (every draw at the dtype's floor)."""
    if key not in errs:
        return "–"
    return "floored" if errs[key] is None else f"{errs[key]:.1e}"


def table(rows) -> list[str]:
    lines = [
        "| distribution | derivative | rsample float64 | rsample float32 | torch float64 "
        "| torch float32 |",
        "|---|---|---|---|---|---|",
    ]
    for dist, name, errs in rows:
        cells = [
            _cell(errs, ("rsample", F64)),
            _cell(errs, ("rsample", F32)),
            _cell(errs, ("torch", F64)),
            _cell(errs, ("torch", F32)),
        ]
        lines.append(f"| {dist} | {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    rows = gamma_rows() + simplex_rows()
    lines = [
        "# Sample-derivative accuracy (largest relative error over the draws)",
        "",
        *(line.strip() for line in (__doc__ or "").splitlines()[6:]),
        "",
        f"torch {torch.__version__}, {DRAWS} draws per point, reference mpmath at 40 digits.",
        "",
        *table(rows),
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "ACCURACY.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
