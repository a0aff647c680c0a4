"""``pirho experiment NAME [--quick] [--seed S] [--json PATH] [--out DIR] [options]``."""

from __future__ import annotations

import argparse

from pirho.experiments import EXPERIMENTS, load_experiment


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small configuration (minutes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="write the metrics as JSON here")
    parser.add_argument("--out", metavar="DIR", help="write the plots into this folder")


def register(subparsers) -> None:
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
    module = load_experiment(name)
    parser = argparse.ArgumentParser(
        prog=f"pirho experiment {name}", description=getattr(module, "DESCRIPTION", None)
    )
    add_common_arguments(parser)
    module.add_arguments(parser)
    return parser, module


def run_command(args: argparse.Namespace) -> int:
    parser, module = build_experiment_parser(args.name)
    options = vars(parser.parse_args(args.options))
    json_path = options.pop("json")
    result = module.run(**options)
    if result.summary:
        print(result.summary)
    if json_path:
        result.write_json(json_path)
        print(f"wrote {json_path}")
    for figure in result.figures:
        print(f"wrote {figure}")
    return 0
