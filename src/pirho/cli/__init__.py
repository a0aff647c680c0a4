"""``pirho`` command line: a thin shell over pirho.hmm, pirho.nn and pirho.experiments.

Each command group lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``func`` (called with the parsed namespace, returns an exit code).
Heavy imports (torch) happen inside the command functions, so ``pirho hmm ...`` stays light.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

from pirho import __version__
from pirho.cli._options import ArgumentParser, add_overwrite_argument, check_command_files

# What a command may raise once its options have been checked: reported as one line, exit 2.
# (CheckpointError is a ValueError; FloatingPointError is a diverged training run.)
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, OSError, FloatingPointError)

# Command-group modules, each with register(subparsers).
COMMAND_MODULES = (
    "pirho.cli.hmm",
    "pirho.cli.lm",
    "pirho.cli.experiment",
    "pirho.cli.tag",
    "pirho.cli.embed",
    "pirho.cli.demo",
    "pirho.cli.explore",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``pirho`` parser with every command group registered."""
    parser = ArgumentParser(
        prog="pirho",
        description="Two-way sequence inference: exact HMMs and learned bidirectional RNNs.",
    )
    parser.add_argument("--version", action="version", version=f"pirho {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    for command in _leaf_parsers(parser):
        kinds = {getattr(action.type, "file_kind", None) for action in command._actions}
        has_overwrite = any(action.dest == "overwrite" for action in command._actions)
        if kinds & {"checkpoint", "json", "file", "plot"} and not has_overwrite:
            add_overwrite_argument(command)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser of the tree that runs a command (one without sub-commands)."""
    children = [child for action in _subparsers(parser) for child in action.choices.values()]
    if not children:
        return [parser]
    return [leaf for child in children for leaf in _leaf_parsers(child)]


def command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The parser of the command ``args`` was parsed for (``pirho hmm fit`` → fit's parser)."""
    for action in _subparsers(parser):
        chosen = getattr(args, action.dest, None)
        if chosen in action.choices:
            return command_parser(action.choices[chosen], args)
    return parser


def interrupted_message(args: argparse.Namespace, argv: list[str]) -> str:
    """What to print after Ctrl-C: for a training command, the checkpoint and how to resume.

    A command marks itself resumable with ``set_defaults(resumable=True)`` and has
    ``--checkpoint`` and ``--resume`` options.

    >>> ns = argparse.Namespace(resumable=True, checkpoint="no-such.pt")
    >>> print(interrupted_message(ns, ["lm", "train"]))
    pirho: interrupted
    no checkpoint was written yet (no-such.pt); run the same command to start again
    """
    lines = ["pirho: interrupted"]
    if getattr(args, "resumable", False):
        checkpoint = Path(args.checkpoint)
        if checkpoint.is_file():
            resume = argv if "--resume" in argv else [*argv, "--resume"]
            lines.append(f"last checkpoint: {checkpoint}")
            lines.append("resume with: " + shlex.join(["pirho", *resume]))
        else:
            lines.append(
                f"no checkpoint was written yet ({checkpoint}); run the same command to start again"
            )
    return "\n".join(lines)


def memory_message(exc: BaseException) -> str:
    """What to say when a command ran out of memory (a size no option check foresaw).

    >>> memory_message(MemoryError("Unable to allocate 74.5 GiB"))  # doctest: +ELLIPSIS
    'out of memory (Unable to allocate 74.5 GiB); use smaller sizes (states, hidden size, ...)'
    """
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "MemoryError"
    return f"out of memory ({detail}); use smaller sizes (states, hidden size, batch, rolls)"


def main(argv: list[str] | None = None) -> int:
    """Run one ``pirho`` command; returns its exit code (2 for any reported error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        # the one output guard, before any work: see pirho._files.check_outputs
        check_command_files(command_parser(parser, args), args)
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        print(f"pirho: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # numpy's _ArrayMemoryError included
        print(f"pirho: error: {memory_message(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if "allocate" not in str(exc):  # torch's allocators say "can't allocate memory"
            raise
        print(f"pirho: error: {memory_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted_message(args, argv), file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
