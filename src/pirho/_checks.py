"""Argument checks shared by every part of pirho: one place for each small rule.

Two kinds, both naming the offending value in their message:

- value checks (``check_int``, ``check_float``, ``check_seed``, ...) for *public* Python
  boundaries: a public function checks its input once, then trusts it. They take the
  argument's name and value, raise TypeError/ValueError, and return the value in the type the
  caller should use from then on;
- option types (``positive_int``, ``seed``, ``clip_value``, ``existing_file``, ...) for the
  command line: each takes the text a user typed and returns the checked value, or raises
  :class:`argparse.ArgumentTypeError` (argparse then adds the option's name). Experiments
  declare their options with them (:mod:`pirho.experiments.options`), the CLI builds argparse
  from those declarations, so no module below :mod:`pirho.cli` imports it.

>>> check_int("n_iter", 3, minimum=1), positive_int("3"), clip_value("none") is None
(3, 3, True)
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pirho._files import output_path_problem

__all__ = [
    "DEVICE_CHOICES",
    "MAX_ROLLS",
    "MAX_THREADS",
    "PRECISION_CHOICES",
    "SEED_LIMIT",
    "check_choice",
    "check_float",
    "check_int",
    "check_positive_int",
    "check_seed",
    "checkpoint_file",
    "clip_value",
    "corpus_source",
    "ctcpc_or_file",
    "device_option",
    "existing_file",
    "existing_path",
    "finite_float",
    "input_or_stdin",
    "int_in_range",
    "is_int",
    "json_file",
    "nonnegative_float",
    "nonnegative_int",
    "output_dir",
    "output_file",
    "plot_file",
    "positive_float",
    "positive_int",
    "precision_option",
    "seed",
    "thread_count",
]


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, False for bools, floats (even 2.0) and the rest.

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return `value` as an int, or raise naming `name` and the value.

    TypeError when it is not an integer (bools and floats included); ValueError when it is
    outside [minimum, maximum].

    >>> check_int("n_iter", 5, minimum=1)
    5
    >>> check_int("n_iter", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: n_iter must be >= 1, got 0
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """`check_int` with minimum 1.

    >>> check_positive_int("batch_size", 32)
    32
    """
    return check_int(name, value, minimum=1)


def check_seed(name: str, value: Any) -> int | None:
    """A random seed: None, or an integer in [0, 2**32).

    >>> check_seed("seed", 0), check_seed("seed", None)
    (0, None)
    """
    if value is None:
        return None
    return check_int(name, value, minimum=0, maximum=2**32 - 1)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Return `value` as a finite float, or raise naming `name` and the value.

    `strict_minimum=True` makes the minimum exclusive (a value must be > minimum).

    >>> check_float("lr", 0.5, minimum=0, strict_minimum=True)
    0.5
    >>> check_float("temperature", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite number, got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict_minimum and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return `value` if it is one of `choices`, else ValueError listing them.

    >>> check_choice("cell", "gru", ("rnn", "gru", "lstm"))
    'gru'
    """
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {tuple(choices)}")
    return value


# ---------------------------------------------------------------------------------------------
# Option types: the text a user typed on the command line -> a checked value
#
# argparse calls an option's ``type=`` function on the text the user typed (and on string
# defaults), so a bad value stops a command with ``error: argument --lr: ...`` and exit code 2
# before any work starts. Each function below takes that text and raises
# :class:`argparse.ArgumentTypeError` with a message naming it; argparse adds the option's
# name. They live here, below every command, so that an experiment can declare its options
# with them (``pirho.experiments.options.Option``) without importing :mod:`pirho.cli`.

SEED_LIMIT = 2**32
# Casino rolls a command accepts: decoding keeps about 150 bytes per roll (states, symbols,
# messages, posteriors), so this is ~3 GB, and 20 s of CPU.
MAX_ROLLS = 20_000_000
# torch threads a command accepts: four per CPU (far more only slows torch; ~100,000 crash it)
MAX_THREADS = 4 * (os.cpu_count() or 1)
DEVICE_CHOICES = ("cpu", "cuda", "auto")
PRECISION_CHOICES = ("fp32", "bf16", "auto")


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


def int_in_range(minimum: int, maximum: int) -> Callable[[str], int]:
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


def _one_of(text: str, choices: tuple[str, ...]) -> str:
    if text not in choices:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
    return text


def device_option(text: str) -> str:
    """``--device`` value: cpu, cuda or auto; cuda only where torch sees a GPU.

    >>> device_option("cpu")
    'cpu'
    """
    if _one_of(text, DEVICE_CHOICES) == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"'cuda' asked for, but torch {torch.__version__} sees no CUDA GPU here; "
                "use --device cpu or auto"
            )
    return text


def precision_option(text: str) -> str:
    """``--precision`` value: fp32, bf16 or auto.

    >>> precision_option("bf16")
    'bf16'
    """
    return _one_of(text, PRECISION_CHOICES)


# Paths: each type is marked as an input or an output (``file_role``, ``file_kind``), so that
# the command line's output guard (``pirho.cli._options.check_command_files``) finds a
# command's inputs and outputs among its options.


def _output(text: str, kind: str) -> str:
    problem = output_path_problem(text, kind=kind)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _role(role: str, kind: str | None = None):
    """Mark an option type as an input or output (``kind``) for the output guard."""

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
