"""Command line: ``python -m rsample <command>`` (also installed as the ``rsample`` script).

Commands:
    demo    pathwise gradients through ``rsample()`` in four short parts; writes a PNG.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rsample",
        description="rsample: torch.distributions with correct, fast, differentiable rsample().",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="show sample() vs rsample(), train a TanhNormal policy, compare gradient estimators",
        description=(
            "A tour of pathwise gradients: sample() vs rsample() on a Normal, a SAC-style "
            "TanhNormal actor trained through rsample_and_log_prob, and pathwise vs "
            "score-function gradient estimates. CPU only, under a minute; writes a PNG. "
            "Needs the 'demo' extra (matplotlib, tqdm)."
        ),
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("rsample-demo.png"),
        help="where to write the figure (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument(
        "--steps",
        type=_int_at_least(1),
        default=1500,
        help="training steps of the policy (default: %(default)s)",
    )
    demo.add_argument(
        "--samples",
        type=_int_at_least(2),
        default=10_000,
        help="draws per gradient estimate in parts 1 and 3 (default: %(default)s)",
    )
    demo.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (it is also off when stderr is no tty)",
    )
    return parser


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {low}, got {text!r}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse rejects others


def _demo(args: argparse.Namespace) -> int:
    missing = [name for name in ("matplotlib", "tqdm") if not _importable(name)]
    if missing:
        raise SystemExit(f"rsample demo needs {' and '.join(missing)}: pip install 'rsample[demo]'")
    from .demo import DemoConfig, run

    run(
        DemoConfig(
            out=args.out,
            seed=args.seed,
            steps=args.steps,
            samples=args.samples,
            progress=not args.quiet,
        )
    )
    return 0


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
