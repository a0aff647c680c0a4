"""Option types for every ``pirho`` command: each option is checked once, while parsing.

argparse calls a ``type=`` function on the text the user typed (and on string defaults), so a
bad value stops the command with ``pirho ...: error: argument --lr: ...`` and exit code 2
before any work starts. The types themselves (``positive_int``, ``seed``, ``json_file``, ...)
live in :mod:`pirho._checks`, below every command, so that experiments can declare their
options as data (:class:`pirho.experiments.options.Option`); they are re-exported here for the
commands. :func:`add_options` turns such declarations into argparse options.

Files are checked by :mod:`pirho._files`: each output type (``output_file``, ``json_file``,
``plot_file``, ``checkpoint_file``, ``output_dir``) checks its own path while parsing, and
:func:`check_command_files`, which ``pirho`` runs on every command once its options are
parsed, checks them together (an output that is an input, two outputs on one path, an
existing checkpoint without ``--resume`` or ``--overwrite``). :func:`check_output_paths` is for
paths a command derives itself (a plot inside ``--out``).

>>> positive_int("3")
3
>>> clip_value("none") is None
True
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pirho._checks import (
    MAX_ROLLS,
    MAX_THREADS,
    SEED_LIMIT,
    checkpoint_file,
    clip_value,
    corpus_source,
    ctcpc_or_file,
    existing_file,
    existing_path,
    finite_float,
    input_or_stdin,
    int_in_range,
    json_file,
    nonnegative_float,
    nonnegative_int,
    output_dir,
    output_file,
    plot_file,
    positive_float,
    positive_int,
    seed,
    thread_count,
)
from pirho._files import check_outputs, output_path_problem

if TYPE_CHECKING:
    from pirho.experiments.options import Option

__all__ = [
    "MAX_ROLLS",
    "MAX_THREADS",
    "SEED_LIMIT",
    "ArgumentParser",
    "DefaultsHelpFormatter",
    "add_options",
    "check_command_files",
    "check_output_paths",
    "checkpoint_file",
    "corpus_source",
    "clip_value",
    "existing_file",
    "existing_path",
    "ctcpc_or_file",
    "input_or_stdin",
    "int_in_range",
    "json_file",
    "finite_float",
    "nonnegative_float",
    "nonnegative_int",
    "output_dir",
    "output_file",
    "output_path_problem",
    "plot_file",
    "positive_float",
    "positive_int",
    "seed",
    "thread_count",
]


def add_options(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """Add declared options (:class:`pirho.experiments.options.Option`) to ``parser``, in order.

    Each becomes one ``parser.add_argument`` call with the fields it sets (flag, ``type``,
    ``default``, ``help``, ``metavar``, ``choices``, ``action``, ``dest``); the options that
    share an ``exclusive`` name form one mutually exclusive group.

    >>> from pirho.experiments.options import Option
    >>> parser = ArgumentParser(prog="demo")
    >>> add_options(parser, (Option("--epochs", type=positive_int, metavar="N"),
    ...                      Option("--text", exclusive="source"),
    ...                      Option("--corpus", choices=("ctcpc",), exclusive="source")))
    >>> parser.parse_args(["--epochs", "3"])
    Namespace(epochs=3, text=None, corpus=None)
    >>> [action.dest for action in parser._mutually_exclusive_groups[0]._group_actions]
    ['text', 'corpus']
    """
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for option in options:
        target: argparse._ActionsContainer = parser
        if option.exclusive is not None:
            if option.exclusive not in groups:
                groups[option.exclusive] = parser.add_mutually_exclusive_group()
            target = groups[option.exclusive]
        fields = {
            "action": None if option.action == "store" else option.action,
            "type": option.type,
            "default": option.default,
            "metavar": option.metavar,
            "choices": option.choices,
            "dest": option.dest,
            "help": option.help,
        }
        target.add_argument(option.flag, **{k: v for k, v in fields.items() if v is not None})


def _option_name(action: argparse.Action) -> str:
    if action.option_strings:
        return max(action.option_strings, key=len)
    return action.metavar if isinstance(action.metavar, str) else action.dest.upper()


def check_command_files(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Run the output guard (:func:`pirho._files.check_outputs`) on one parsed command.

    The parser's options whose type is marked as an output (``output_file``, ``json_file``,
    ``plot_file``, ``checkpoint_file``, ``output_dir``) are its outputs; those marked as an
    input (``existing_file``, ``existing_path``, ...) its inputs; ``--resume`` and
    ``--overwrite`` are read from ``args``. ValueError naming every problem.

    >>> parser = ArgumentParser(prog="demo")
    >>> _ = parser.add_argument("input", type=existing_file)
    >>> _ = parser.add_argument("-o", type=output_file)
    >>> check_command_files(parser, parser.parse_args(["/dev/null", "-o", "/dev/null"]))
    Traceback (most recent call last):
    ...
    ValueError: -o /dev/null is the input INPUT: writing it would destroy the input; give ...
    """
    outputs, inputs = [], []
    for action in parser._actions:
        role = getattr(action.type, "file_role", None)
        value = getattr(args, action.dest, None)
        if role is None or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if role == "output":
                outputs.append((_option_name(action), item, action.type.file_kind))
            elif item not in ("-", "hkcancor"):
                inputs.append((_option_name(action), item))
    if getattr(args, "resume", False) and getattr(args, "overwrite", False):
        raise ValueError("--resume continues the checkpoint and --overwrite replaces it: give one")
    has_overwrite = any(a.dest == "overwrite" for a in parser._actions)
    has_resume = any(a.dest == "resume" for a in parser._actions)
    check_outputs(
        outputs,
        inputs,
        resume=bool(getattr(args, "resume", False)),
        overwrite=bool(getattr(args, "overwrite", False)),
        overwrite_option="--overwrite" if has_overwrite else None,
        resume_option="--resume" if has_resume else None,
    )


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--overwrite`` to a command that writes files."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing file at an output path even when it is a checkpoint or "
        "not the kind of file the output writes",
    )


def check_output_paths(
    files: Iterable[str | os.PathLike | None] = (),
    dirs: Iterable[str | os.PathLike | None] = (),
) -> None:
    """Raise ValueError naming every output path of a command that cannot be written.

    Call it before any work starts with all the paths the command will write (``None`` entries
    are skipped, so optional outputs can be passed as they are).

    >>> check_output_paths(files=["out.json", None], dirs=["."])
    >>> check_output_paths(files=["."])
    Traceback (most recent call last):
    ...
    ValueError: '.' is a directory; give a file name inside it
    """
    problems = [
        problem
        for kind, paths in (("file", files), ("dir", dirs))
        for path in paths
        if path is not None
        for problem in [output_path_problem(path, kind=kind)]
        if problem
    ]
    if problems:
        raise ValueError("; ".join(problems))


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that ends each option with ``(default: X)`` when it has a default worth showing
    (not None, not False, not already in the text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or default in (None, False, argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text + " (default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose errors read ``pirho: error: argument --x: ...`` (exit 2).

    Sub-parsers made with ``add_subparsers`` inherit the class, so every ``pirho`` command
    reports a bad option the same way.

    >>> parser = ArgumentParser(prog="pirho demo")
    >>> _ = parser.add_argument("--seed", type=seed, default=0)
    >>> parser.parse_args(["--seed", "7"]).seed
    7
    """

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"pirho: error: {message}\n")
