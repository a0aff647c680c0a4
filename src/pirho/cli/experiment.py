"""``pirho experiment NAME [--quick] [--seed S] [--json PATH] [--out DIR] [--no-progress] ...``.

Parse, call, print. Each experiment declares its own options as data (its ``OPTIONS``, see
:mod:`pirho.experiments.options`); this module adds them after :data:`COMMON_OPTIONS` and
checks every one while parsing (types from :mod:`pirho._checks`), so a bad value or an
unwritable output path stops the command with ``pirho: error: ...`` (exit 2) before any work
starts.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from pirho.cli._options import (
    ArgumentParser,
    add_options,
    add_overwrite_argument,
    check_command_files,
    json_file,
    output_dir,
    seed,
)
from pirho.experiments import EXPERIMENTS, load_experiment
from pirho.experiments.options import Option

#: The options every experiment has: ``--quick --seed --json --out --no-progress``.
COMMON_OPTIONS: tuple[Option, ...] = (
    Option("--quick", action="store_true", help="small configuration (minutes)"),
    Option("--seed", type=seed, default=0, help="random seed (default 0)"),
    Option("--json", type=json_file, metavar="PATH", help="write the metrics here"),
    Option("--out", type=output_dir, metavar="DIR", help="write the plots here"),
    Option(
        "--no-progress", dest="progress", action="store_false", help="hide training progress bars"
    ),
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


def build_experiment_parser(name: str) -> tuple[argparse.ArgumentParser, ModuleType]:
    """The parser of ``pirho experiment NAME`` and the experiment's module.

    Its options: :data:`COMMON_OPTIONS`, then the module's ``OPTIONS``, then ``--overwrite``.

    >>> parser, module = build_experiment_parser("casino")
    >>> parser.parse_args(["--rolls", "500", "--quick"]).n_rolls, module.NAME
    (500, 'casino')
    """
    module = load_experiment(name)
    parser = ArgumentParser(prog=f"pirho experiment {name}", description=module.DESCRIPTION)
    add_options(parser, COMMON_OPTIONS)
    add_options(parser, module.OPTIONS)
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
