"""Option types for every ``pirho`` command: each option is checked once, while parsing.

argparse calls a ``type=`` function on the text the user typed (and on string defaults), so a
bad value stops the command with ``pirho ...: error: argument --lr: ...`` and exit code 2
before any work starts. Each function here raises :class:`argparse.ArgumentTypeError` with a
message naming the value; argparse adds the option's name.

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
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from pirho._files import check_outputs, output_path_problem

__all__ = [
    "ArgumentParser",
    "DefaultsHelpFormatter",
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

SEED_LIMIT = 2**32
# Casino rolls a command accepts: decoding keeps about 150 bytes per roll (states, symbols,
# messages, posteriors), so this is ~3 GB, and 20 s of CPU.
MAX_ROLLS = 20_000_000
# torch threads a command accepts: four per CPU (far more only slows torch; ~100,000 crash it)
MAX_THREADS = 4 * (os.cpu_count() or 1)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1.

    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer >= 1, got '0'
    """
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def int_in_range(minimum: int, maximum: int):
    """An option type for integers in [minimum, maximum] (its message names both bounds).

    >>> rolls = int_in_range(1, 1000)
    >>> rolls("99999999999999999999")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer in [1, 1,000], got '99999999999999999999'
    """

    def in_range(text: str) -> int:
        value = _integer(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"expected an integer in [{minimum:,}, {maximum:,}], got {text!r}"
            )
        return value

    in_range.__name__ = f"int_in_range({minimum}, {maximum})"
    return in_range


def thread_count(text: str) -> int:
    """``--threads``: an integer in [1, 4 × the CPUs].

    >>> thread_count("1")
    1
    """
    return int_in_range(1, MAX_THREADS)(text)


def nonnegative_int(text: str) -> int:
    """An integer >= 0.

    >>> nonnegative_int("0")
    0
    """
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**32).

    >>> seed("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a seed in [0, 4294967295], got '-1'
    """
    value = _integer(text)
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, {SEED_LIMIT - 1}], got {text!r}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (no nan, no inf).

    >>> finite_float("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite number, got 'nan'
    """
    return _number(text)


def positive_float(text: str) -> float:
    """A finite number > 0.

    >>> positive_float("1e-3")
    0.001
    """
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0.

    >>> nonnegative_float("0")
    0.0
    """
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def clip_value(text: str) -> float | None:
    """A gradient-norm clip: a number > 0, or ``none`` for no clipping.

    >>> clip_value("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number > 0 or 'none', got '0'
    """
    if text.strip().lower() == "none":
        return None
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a number > 0 or 'none', got {text!r}") from None


def _output(text: str, kind: str) -> str:
    problem = output_path_problem(text, kind=kind)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _role(role: str, kind: str | None = None):
    """Mark an option type as an input or output (``kind``) for :func:`check_command_files`."""

    def mark(function):
        function.file_role = role
        function.file_kind = kind
        return function

    return mark


@_role("output", "file")
def output_file(text: str) -> str:
    """A file pirho will write: not a folder, inside a writable folder (created if missing).

    >>> output_file("results.csv")
    'results.csv'
    """
    return _output(text, "file")


@_role("output", "json")
def json_file(text: str) -> str:
    """A JSON file pirho will write (an existing file there must be JSON, or ``--overwrite``).

    >>> json_file("results.json")
    'results.json'
    """
    return _output(text, "json")


@_role("output", "plot")
def plot_file(text: str) -> str:
    """A figure pirho will write: its suffix must be a format matplotlib writes.

    >>> plot_file("fig.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'fig.txt': matplotlib cannot write '.txt' files; use .png, ...
    """
    return _output(text, "plot")


@_role("output", "checkpoint")
def checkpoint_file(text: str) -> str:
    """A checkpoint pirho will write; an existing one needs ``--resume`` or ``--overwrite``
    (checked by :func:`check_command_files`, which sees both options).

    >>> checkpoint_file("lm.pt")
    'lm.pt'
    """
    return _output(text, "checkpoint")


@_role("output", "dir")
def output_dir(text: str) -> str:
    """A folder pirho will write into: a writable folder, or one it can create.

    >>> output_dir(".")
    '.'
    """
    return _output(text, "dir")


@_role("input")
def existing_file(text: str) -> str:
    """A file that exists and can be read (a folder is reported as a folder).

    >>> existing_file("/")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '/' is a directory, not a file
    """
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a file name")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not readable")
    return text


@_role("input")
def existing_path(text: str) -> str:
    """A file or a folder of files that exists and can be read (DATA of ``hmm fit``).

    >>> existing_path(".")
    '.'
    """
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not readable")
    return text


@_role("input")
def corpus_source(text: str) -> str:
    """``hkcancor`` (the bundled corpus) or a corpus file that exists (a folder is refused).

    >>> corpus_source("hkcancor")
    'hkcancor'
    """
    return text if text == "hkcancor" else existing_file(text)


@_role("input")
def ctcpc_or_file(text: str) -> str:
    """``ctcpc`` (the corpus inside pycantonese) or a text file that exists.

    >>> ctcpc_or_file("ctcpc")
    'ctcpc'
    """
    return text if text == "ctcpc" else existing_file(text)


@_role("input")
def input_or_stdin(text: str) -> str:
    """A readable file, or ``-`` for standard input.

    >>> input_or_stdin("-")
    '-'
    """
    return text if text == "-" else existing_file(text)


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
