"""``pirho explore``: write the interactive forward–backward page (see :mod:`pirho.explore`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pirho.cli._options import existing_file, output_file


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="write an interactive forward-backward page (one offline HTML file)",
        description="Write one self-contained HTML page (no network needed) that runs the "
        "forward-backward algorithm in the browser: edit the model, type, click or sample a "
        "sequence, and watch π_t, ρ_t, the posterior, the fixed-lag smoother and Viterbi.",
    )
    parser.add_argument(
        "--model",
        type=existing_file,
        metavar="HMM.json",
        help="a CategoricalHMM saved with CategoricalHMM.save (default: the dishonest casino; "
        "the 'bank' example is always on the page too)",
    )
    parser.add_argument(
        "--out",
        type=output_file,
        default="explore.html",
        metavar="PATH",
        help="where to write (default explore.html)",
    )
    parser.add_argument(
        "--rolls",
        metavar="A,B,...",
        help="the initial sequence as comma-separated symbols (casino: faces 1..6; "
        "a --model: symbol numbers 0..M-1)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pirho.explore import write_explorer
    from pirho.hmm import CategoricalHMM

    out = Path(args.out)
    model = None
    if args.model is not None:
        model = CategoricalHMM.load(args.model)
    path = write_explorer(out, model, rolls=args.rolls)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB); open it in any browser")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0
