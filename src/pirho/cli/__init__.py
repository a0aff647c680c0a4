"""``pirho`` command line: a thin shell over pirho.hmm, pirho.nn and pirho.experiments.

Each command group lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``func`` (called with the parsed namespace, returns an exit code).
Heavy imports (torch) happen inside the command functions, so ``pirho hmm ...`` stays light.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pirho import __version__

# Command-group modules, each with register(subparsers).
COMMAND_MODULES = (
    "pirho.cli.hmm",
    "pirho.cli.lm",
    "pirho.cli.experiment",
    "pirho.cli.tag",
    "pirho.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pirho",
        description="Two-way sequence inference: exact HMMs and learned bidirectional RNNs.",
    )
    parser.add_argument("--version", action="version", version=f"pirho {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
        print(f"pirho: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pirho: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
