"""Option types for every ``pirho`` command: each option is checked once, while parsing.

argparse calls a ``type=`` function on the text the user typed (and on string defaults), so a
bad value stops the command with ``pirho ...: error: argument --lr: ...`` and exit code 2
before any work starts. Each function here raises :class:`argparse.ArgumentTypeError` with a
message naming the value; argparse adds the option's name.

Output paths are checked by one function, :func:`output_path_problem`, used both by the
``output_file`` / ``output_dir`` types and by :func:`check_output_paths`, which a command calls
for paths it derives itself (a plot inside ``--out``) before it starts.

>>> positive_int("3")
3
>>> clip_value("none") is None
True
"""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ArgumentParser",
    "check_output_paths",
    "clip_value",
    "existing_file",
    "finite_float",
    "nonnegative_float",
    "nonnegative_int",
    "output_dir",
    "output_file",
    "output_path_problem",
    "positive_float",
    "positive_int",
    "seed",
]

SEED_LIMIT = 2**32


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


def _nearest_existing(path: Path) -> Path:
    """The path itself or its closest ancestor that exists (a file or a folder)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")  # pragma: no cover - the filesystem root always exists


def _writable_folder_problem(folder: Path, shown: str) -> str | None:
    """Why files cannot be created in the existing folder ``folder`` (None when they can).

    Root passes ``os.access`` for any folder, so a folder with no write bit for anyone counts
    as read-only too: that is what its owner asked for.
    """
    mode = folder.stat().st_mode
    if not os.access(folder, os.W_OK | os.X_OK) or not mode & (
        stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    ):
        return f"{shown}: folder {str(folder)!r} is not writable"
    return None


def output_path_problem(path: str | os.PathLike, *, kind: str = "file") -> str | None:
    """Why ``path`` cannot be written as an output ``kind`` ("file" or "dir"); None if it can.

    A file output must not be a folder; a folder output must not be a file. Folders missing
    on the way are fine (pirho creates them) as long as the nearest one that exists is a
    writable folder, not a file. The message names the path as the user wrote it.

    >>> output_path_problem(".", kind="file")
    "'.' is a directory; give a file name inside it"
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    shown = repr(os.fspath(path))
    target = Path(path)
    if kind == "file" and target.is_dir():
        return f"{shown} is a directory; give a file name inside it"
    if kind == "dir" and target.exists() and not target.is_dir():
        return f"{shown} is a file, not a folder"
    existing = _nearest_existing(target if kind == "dir" else target.parent)
    if not existing.is_dir():
        return f"{shown}: {str(existing)!r} is a file, not a folder"
    if kind == "file" and target.exists() and not os.access(target, os.W_OK):
        return f"{shown} is not writable"
    return _writable_folder_problem(existing, shown)


def _output(text: str, kind: str) -> str:
    problem = output_path_problem(text, kind=kind)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def output_file(text: str) -> str:
    """A file pirho will write: not a folder, inside a writable folder (created if missing).

    >>> output_file("results.json")
    'results.json'
    """
    return _output(text, "file")


def output_dir(text: str) -> str:
    """A folder pirho will write into: a writable folder, or one it can create.

    >>> output_dir(".")
    '.'
    """
    return _output(text, "dir")


def existing_file(text: str) -> str:
    """A file that exists and can be read (a folder is reported as a folder).

    >>> existing_file("/")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: '/' is a directory, not a file
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not readable")
    return text


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
