"""``pirho experiment NAME [--quick] [--seed S] [--json PATH] [--out DIR] [--no-progress] ...``.

Parse, call, print: every option is checked while parsing (types from
:mod:`pirho.cli._options`), so a bad value or an unwritable output path stops the command with
``pirho: error: ...`` (exit 2) before any work starts.
"""

from __future__ import annotations

import argparse

from pirho.cli._options import (
    ArgumentParser,
    add_overwrite_argument,
    check_command_files,
    json_file,
    output_dir,
    seed,
)
from pirho.experiments import EXPERIMENTS, load_experiment


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every experiment has: ``--quick --seed --json --out --no-progress``."""
    parser.add_argument("--quick", action="store_true", help="small configuration (minutes)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--json", type=json_file, metavar="PATH", help="write the metrics here")
    parser.add_argument("--out", type=output_dir, metavar="DIR", help="write the plots here")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide training progress bars"
    )


def register(subparsers) -> None:
    """Add ``pirho experiment`` to the ``pirho`` parser."""
    parser = subparsers.add_parser(
        "experiment",
        help="run one of pirho's measured claims",
        description="Run an experiment. Names: " + ", ".join(EXPERIMENTS),
    )
    parser.add_argument(
        "name", choices=list(EXPERIMENTS), metavar="NAME", help="one of: " + ", ".join(EXPERIMENTS)
    )
    parser.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="experiment options (see pirho experiment NAME --help)",
    )
    parser.set_defaults(func=run_command)


def build_experiment_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    """The parser of ``pirho experiment NAME`` (common options + the module's) and the module."""
    module = load_experiment(name)
    parser = ArgumentParser(prog=f"pirho experiment {name}", description=module.DESCRIPTION)
    add_common_arguments(parser)
    module.add_arguments(parser)
    add_overwrite_argument(parser)
    return parser, module


def run_command(args: argparse.Namespace) -> int:
    """Parse the experiment's options, run it, print its summary and what it wrote."""
    parser, module = build_experiment_parser(args.name)
    namespace = parser.parse_args(args.options)
    check_command_files(parser, namespace)  # the one output guard, before any work
    options = vars(namespace)
    options.pop("overwrite")
    json_path = options.pop("json")
    result = module.run(**options)
    print(result.summary)
    if json_path:
        result.write_json(json_path)
        print(f"wrote {json_path}")
    for figure in result.figures:
        print(f"wrote {figure}")
    return 0
