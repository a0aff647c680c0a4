"""``pirho demo [--out DIR] [--seed S] [--full] [--no-text] [--lang en|zh]``: the main job, no
arguments needed."""

from __future__ import annotations

import argparse

from pirho.cli._options import output_dir, seed


def register(subparsers) -> None:
    """Add ``pirho demo`` to the ``pirho`` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="run every experiment (quick) and write an offline HTML report",
        description=(
            "Casino decoding, brute force vs DP, uni/bi-RNN vs the exact filter/smoother, "
            "contextual embeddings for 'bank', and (with The Time Machine) the bi-LM leak and "
            "cloze — quick configurations, a few minutes on 2 cores. Writes report.html "
            "(figures embedded), every PNG and results.json."
        ),
    )
    parser.add_argument(
        "--out",
        type=output_dir,
        default="pirho-demo",
        metavar="DIR",
        help="output folder (default pirho-demo)",
    )
    parser.add_argument("--seed", type=seed, default=0, metavar="S", help="random seed (default 0)")
    parser.add_argument(
        "--full",
        action="store_true",
        help="full configurations instead of quick ones (slow: lm-leak trains 500 epochs)",
    )
    parser.add_argument(
        "--no-text",
        dest="include_text",
        action="store_false",
        help="skip the sections that train on real text (lm-leak, cloze, tagging)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide training progress bars"
    )
    parser.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help="language of the report and its figures: en (default) or zh (Chinese; needs a CJK "
        "font such as Debian's fonts-noto-cjk for the figures)",
    )
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the demo with the parsed options (it prints its own progress and table)."""
    from pirho.experiments.demo import run_demo  # the CLI boundary: keep `pirho --help` light

    run_demo(
        args.out,
        seed=args.seed,
        full=args.full,
        include_text=args.include_text,
        progress=args.progress,
        lang=args.lang,
    )
    return 0
