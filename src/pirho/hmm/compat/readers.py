"""Readers for users' sequence data: CSV/TSV, ``.npy`` and ``.npz``, whole or streamed.

Every reader returns observations in hmmlearn's layout — one (N, D) float array ``X`` of all
steps, and ``lengths`` (B,) splitting it into sequences — so the result goes straight into
:mod:`pirho.hmm.sklearn` (``model.fit(data.X, data.lengths)``).

Formats:

- **CSV / TSV** (``.csv``, ``.tsv``, ``.txt``; the delimiter is a comma, a tab or spaces, by
  extension or sniffed from the first data line). A first row with any non-numeric field is a
  header. Sequences are either given by a **sequence-id column** (``sequence_column=NAME`` or
  its index; each sequence one contiguous run of rows) or separated by **blank lines**.
  ``columns=[names]`` picks the feature columns (default: all but the id). An empty field,
  ``NA``, ``NaN`` or ``?`` is missing (NaN): an all-NaN row is a missing observation.
- **.npy**: (T,) or (T, D) is one sequence; (B, T, D) is B sequences of length T.
- **.npz**: arrays ``X`` and ``lengths`` (hmmlearn's pair), or else every array in the file is
  one sequence, in the file's order.

:func:`iter_sequences` streams a file one sequence at a time (CSV line by line, ``.npy``
memory-mapped), so a file larger than memory is never read whole; ``read_sequences`` collects
the same stream.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pirho._files import check_input_path, iter_text_lines, load_array

__all__ = ["SequenceData", "read_sequences", "iter_sequences", "MISSING_TOKENS"]

MISSING_TOKENS = frozenset({"", "na", "nan", "?", "null", "none"})
"""Field values (case-insensitive, stripped) read as a missing value (NaN)."""

_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")


@dataclass(frozen=True)
class SequenceData:
    """Sequences read from a file, concatenated.

    X: (N, D) float64, every step of every sequence (NaN = missing).
    lengths: (B,) int64, the length of each sequence (sums to N).
    ids: B sequence names (the id column's values, or "0", "1", … by position).
    columns: D feature names (header names, or "x0", "x1", …).
    """

    X: np.ndarray
    lengths: np.ndarray
    ids: list[str]
    columns: list[str]

    @property
    def sequences(self) -> list[np.ndarray]:
        """The B sequences as a list of (T_b, D) views of ``X``."""
        return np.split(self.X, np.cumsum(self.lengths)[:-1])


def _parse_float(field: str, where: str) -> float:
    text = field.strip()
    if text.lower() in MISSING_TOKENS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{where}: {field!r} is not a number (or a missing-value marker)"
        ) from None


def _is_numeric(field: str) -> bool:
    text = field.strip()
    if text.lower() in MISSING_TOKENS:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_line(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def _guess_delimiter(path: Path, first_line: str) -> str | None:
    if path.suffix.lower() == ".tsv" or "\t" in first_line:
        return "\t"
    if path.suffix.lower() == ".csv" or "," in first_line:
        return ","
    return None  # whitespace


def _text_sequences(
    path: Path, sequence_column, columns, delimiter
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (id, (T, D) array) per sequence of a delimited text file, streaming."""
    numbered = iter_text_lines(path)  # errors name the file, the byte and its offset
    first = next(((n, line) for n, line in numbered if line.strip()), None)
    if first is None:
        raise ValueError(f"{path}: no data")
    if delimiter is None:
        delimiter = _guess_delimiter(path, first[1])
    fields = _split_line(first[1], delimiter)
    header = None if all(map(_is_numeric, fields)) else [f.strip() for f in fields]
    n_fields = len(fields)
    id_index, keep, _ = _layout(path, sequence_column, columns, header, n_fields)

    def rows():
        if header is None:
            yield first
        yield from numbered

    if id_index is None:
        yield from _blank_separated(path, rows(), delimiter, n_fields, keep)
    else:
        yield from _grouped_by_id(path, rows(), delimiter, n_fields, id_index, keep)


def _id_index(path: Path, sequence_column, header, n_fields: int) -> int | None:
    if sequence_column is None:
        return None
    if isinstance(sequence_column, int) and not isinstance(sequence_column, bool):
        if not 0 <= sequence_column < n_fields:
            raise ValueError(
                f"sequence_column={sequence_column} is outside the {n_fields} columns of {path}"
            )
        return sequence_column
    if header is None or sequence_column not in header:
        found = "it has no header row" if header is None else f"its columns are {header}"
        raise ValueError(f"sequence_column={sequence_column!r} is not a column of {path}: {found}")
    return header.index(sequence_column)


def _layout(path: Path, sequence_column, columns, header, n_fields: int):
    """(id column index or None, indices of the feature columns, their names)."""
    id_index = _id_index(path, sequence_column, header, n_fields)
    names = header or [f"x{i}" for i in range(n_fields)]
    if columns is None:
        keep = [i for i in range(n_fields) if i != id_index]
    else:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise ValueError(f"columns {unknown} are not columns of {path}: it has {names}")
        keep = [names.index(c) for c in columns]
    return id_index, keep, [names[i] for i in keep]


def _row_values(path, number, line, delimiter, n_fields, keep) -> list[float]:
    fields = _split_line(line, delimiter)
    if len(fields) != n_fields:
        raise ValueError(f"{path} line {number}: {len(fields)} fields, expected {n_fields}")
    return [_parse_float(fields[i], f"{path} line {number}") for i in keep]


def _blank_separated(path, rows, delimiter, n_fields, keep):
    block: list[list[float]] = []
    index = 0
    for number, line in rows:
        if not line.strip():
            if block:
                yield str(index), np.array(block)
                index, block = index + 1, []
            continue
        block.append(_row_values(path, number, line, delimiter, n_fields, keep))
    if block:
        yield str(index), np.array(block)


def _grouped_by_id(path, rows, delimiter, n_fields, id_index, keep):
    """Consecutive runs of one id are one sequence; an id seen again later is an error
    (streaming cannot regroup without holding the file)."""
    current, block, finished = None, [], set()
    for number, line in rows:
        if not line.strip():
            continue
        seq_id = _split_line(line, delimiter)[id_index].strip()
        if seq_id != current:
            if block:
                yield current, np.array(block)
                finished.add(current)
            if seq_id in finished:
                raise ValueError(
                    f"{path} line {number}: sequence {seq_id!r} appears again after other "
                    "sequences; sort the file by the sequence column"
                )
            current, block = seq_id, []
        block.append(_row_values(path, number, line, delimiter, n_fields, keep))
    if block:
        yield current, np.array(block)


def _as_steps(array: np.ndarray, where: str) -> np.ndarray:
    if np.iscomplexobj(array):
        raise ValueError(f"{where}: holds complex numbers; expected real numbers")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: holds {array.dtype} values; expected numbers")
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{where}: expected (T,) or (T, D) with T > 0, got shape {array.shape}")
    return array


def _npy_sequences(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    array = load_array(path, mmap=True)  # never pickle; errors name the file
    if array.ndim == 3:
        for b in range(array.shape[0]):
            yield str(b), _as_steps(array[b], f"{path}[{b}]")
    else:
        yield "0", _as_steps(array, str(path))


def _npz_sequences(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    archive = load_array(path)  # {name: array}; never pickle; errors name the file
    if "X" in archive and "lengths" in archive:
        X = _as_steps(archive["X"], f"{path}: X")
        lengths = np.asarray(archive["lengths"])
        if lengths.ndim != 1 or (lengths < 1).any() or int(lengths.sum()) != X.shape[0]:
            raise ValueError(
                f"{path}: lengths must be positive and sum to X's {X.shape[0]} rows, "
                f"got {lengths.tolist()[:10]}"
            )
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for b in range(lengths.shape[0]):
            yield str(b), X[bounds[b] : bounds[b + 1]]
        return
    for name in archive:
        yield name, _as_steps(archive[name], f"{path}: {name}")


def iter_sequences(
    path: str | os.PathLike,
    *,
    sequence_column: str | int | None = None,
    columns: list[str] | None = None,
    delimiter=None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(sequence_id, X (T, D) float64)`` one sequence at a time.

    A CSV/TSV is read line by line and an ``.npy`` memory-mapped, so only the current
    sequence is in memory. With ``sequence_column`` each sequence must be one contiguous run
    of rows (a repeated id raises ValueError naming the line). ``delimiter``: None to guess.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("id,a\\n1,0.5\\n1,NA\\n2,3\\n")
    >>> [(i, x.ravel().tolist()) for i, x in iter_sequences(p, sequence_column="id")]
    [('1', [0.5, nan]), ('2', [3.0])]
    """
    path = check_input_path(path, "data file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        yield from _npy_sequences(path)
    elif suffix == ".npz":
        yield from _npz_sequences(path)
    elif suffix in _TEXT_SUFFIXES:
        yield from _text_sequences(path, sequence_column, columns, delimiter)
    else:
        raise ValueError(
            f"{path}: unknown data format {suffix!r}; expected .csv, .tsv, .txt, .npy or .npz"
        )


def _column_names(path: Path, sequence_column, columns, delimiter, n_features: int) -> list[str]:
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return [f"x{i}" for i in range(n_features)]
    first = next(line for _, line in iter_text_lines(path) if line.strip())
    fields = _split_line(first, delimiter if delimiter else _guess_delimiter(path, first))
    if all(map(_is_numeric, fields)):
        return [f"x{i}" for i in range(n_features)]
    header = [f.strip() for f in fields]
    return _layout(path, sequence_column, columns, header, len(fields))[2]


def read_sequences(
    path: str | os.PathLike,
    *,
    sequence_column: str | int | None = None,
    columns: list[str] | None = None,
    delimiter=None,
) -> SequenceData:
    """Read every sequence of ``path`` into one :class:`SequenceData` (X, lengths, ids).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.tsv"
    >>> _ = p.write_text("a\\tb\\n1\\t2\\n3\\t4\\n\\n5\\t6\\n")
    >>> data = read_sequences(p)
    >>> data.X.shape, data.lengths.tolist(), data.columns
    ((3, 2), [2, 1], ['a', 'b'])
    """
    ids, blocks = [], []
    stream = iter_sequences(
        path, sequence_column=sequence_column, columns=columns, delimiter=delimiter
    )
    for seq_id, block in stream:
        if blocks and block.shape[1] != blocks[0].shape[1]:
            raise ValueError(
                f"{path}: sequence {seq_id!r} has {block.shape[1]} features, "
                f"the first has {blocks[0].shape[1]}"
            )
        ids.append(seq_id)
        blocks.append(np.asarray(block, dtype=np.float64))
    if not blocks:
        raise ValueError(f"{path}: no sequences")
    X = np.concatenate(blocks)
    lengths = np.array([b.shape[0] for b in blocks], dtype=np.int64)
    names = _column_names(Path(path), sequence_column, columns, delimiter, X.shape[1])
    return SequenceData(X, lengths, ids, names)
