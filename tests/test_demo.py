"""``python -m rsample demo``: it runs, writes a PNG, and the numbers it prints are right.

The demo is run once, in-process and with fewer training steps than its default, and its printed
output is parsed. Every random draw comes from generators seeded by ``--seed``, so the run is
deterministic: the "within 5 SE" checks have a false-failure rate of ~6e-7 per estimate over
seeds, and for the fixed seed used here they either always pass or always fail.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import subprocess
import sys

import pytest
import torch

from rsample import TanhNormal, cli, demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NUMBER = r"([-+]?\d+\.\d+(?:e[-+]?\d+)?)"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(printed output, figure path)`` of one demo run."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("tqdm")
    out = tmp_path_factory.mktemp("demo") / "figure.png"
    buffer = io.StringIO()
    argv = ["demo", "--out", str(out), "--seed", "0", "--steps", "300", "--quiet"]
    with contextlib.redirect_stdout(buffer):
        status = cli.main(argv)
    assert status == 0
    return buffer.getvalue(), out


def _find(pattern: str, text: str) -> re.Match:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no line matches {pattern!r} in:\n{text}"
    return match


def test_writes_a_png(run):
    text, out = run
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 20_000  # three panels of plots, not an empty canvas
    assert f"wrote {out.resolve()}" in text


def test_prints_the_four_headed_parts(run):
    text, _ = run
    for part in ("== 1.", "== 2.", "== 3.", "== 4."):
        assert part in text


def test_grad_fn_facts(run):
    text, _ = run
    assert _find(r"^sample\(\)\s+grad_fn = (\S+)\s+requires_grad = (\S+)", text).groups() == (
        "None",
        "False",
    )
    grad_fn, requires_grad = _find(
        r"^rsample\(\)\s+grad_fn = (\S+)\s+requires_grad = (\S+)", text
    ).groups()
    assert grad_fn != "None" and grad_fn.endswith("Backward0")
    assert requires_grad == "True"


@pytest.mark.parametrize("param", ["loc", "scale"])
def test_part1_gradient_within_5_se_of_exact(run, param):
    text, _ = run
    estimate, se, exact = map(
        float, _find(rf"^d loss / d {param}\s+{NUMBER} ± {NUMBER}\s+{NUMBER}", text).groups()
    )
    assert exact == {"loc": 3.0, "scale": 1.6}[param]  # 2·loc, 2·scale for loc=1.5, scale=0.8
    assert 0 < se < 0.1
    assert abs(estimate - exact) < 5 * se


def test_training_converges_to_the_exact_optimum(run):
    text, _ = run
    gap, loc_err, scale_err = map(
        float,
        _find(
            rf"^final error: J − J\* = {NUMBER}\s+max\|loc − loc\*\| = {NUMBER}\s+"
            rf"max\|scale − scale\*\| = {NUMBER}",
            text,
        ).groups(),
    )
    # From the initial policy (loc 0, scale 1) the gap J − J* is ≈ 1.9.
    assert 0 <= gap < 1e-3
    assert loc_err < 0.05
    assert scale_err < 0.05


def _estimator_row(text: str, name: str) -> tuple[float, float, float]:
    mean, se, var, _ = _find(
        rf"^{re.escape(name)}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}", text
    ).groups()
    return float(mean), float(se), float(var)


def test_part3_pathwise_beats_score_function(run):
    text, _ = run
    exact = float(_find(rf"exact = cos\(loc\)·exp\(−scale²/2\) = {NUMBER}", text).group(1))
    assert exact == pytest.approx(math.cos(1.0) * math.exp(-0.125), abs=1e-5)
    path_mean, path_se, path_var = _estimator_row(text, "pathwise (rsample)")
    score_mean, score_se, score_var = _estimator_row(text, "score fn (sample + log_prob)")
    assert path_var < score_var
    assert path_se < score_se
    for mean, se in ((path_mean, path_se), (score_mean, score_se)):
        assert abs(mean - exact) < 5 * se
    ratio = float(_find(rf"variance ratio score / pathwise = {NUMBER}", text).group(1))
    assert ratio == pytest.approx(score_var / path_var, rel=0.01)


def test_exact_objective_matches_the_library_moments():
    """The demo's quadrature J agrees with −α·H + Var + (E[a] − a*)² from TanhNormal itself."""
    loc = torch.tensor([0.3, -1.0, 1.5], dtype=torch.float64)
    scale = torch.tensor([0.2, 0.7, 1.3], dtype=torch.float64)
    policy = TanhNormal(loc, scale)
    a_star = torch.tensor(demo.A_STAR, dtype=torch.float64)
    expected = -demo.ALPHA * policy.entropy() + policy.variance + (policy.mean - a_star).square()
    assert demo.exact_objective(loc, scale).item() == pytest.approx(expected.sum().item(), abs=1e-8)


def test_optimum_is_stationary_and_above_the_unrestricted_optimum():
    loc, scale, j_star = demo.optimal_tanh_normal()
    loc, log_scale = loc.clone().requires_grad_(), scale.log().requires_grad_()
    grads = torch.autograd.grad(demo.exact_objective(loc, log_scale.exp()), (loc, log_scale))
    assert max(g.abs().max().item() for g in grads) < 1e-8
    # The best over all policies (closed form) is a lower bound that TanhNormal cannot reach.
    assert demo.unrestricted_optimum() < j_star


def test_help_runs_as_a_module():
    for argv in (["--help"], ["demo", "--help"]):
        result = subprocess.run(
            [sys.executable, "-m", "rsample", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
    assert "--out" in result.stdout and "--seed" in result.stdout


def test_bad_arguments_exit_with_usage():
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        cli.main(["demo", "--steps", "0"])
    assert exc.value.code == 2
