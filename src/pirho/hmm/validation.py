"""Checks at the public boundary of pirho.hmm: parameters and symbol sequences.

Everything here raises ValueError (or TypeError for a wrong kind of object) with a message
naming the bad argument, row, position or value; code behind the boundary trusts its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ROW_TOLERANCE = 1e-6  # a probability row must sum to 1 within this


def check_distribution(name: str, value, ndim: int) -> np.ndarray:
    """Return ``value`` as a read-only float64 array of probability rows, or raise ValueError.

    ``ndim`` is 1 for a vector (start) and 2 for a matrix whose rows are distributions.

    >>> check_distribution("start", [0.5, 0.5], ndim=1).tolist()
    [0.5, 0.5]
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(value, list | tuple) and all(isinstance(r, list | tuple) for r in value):
            lengths = sorted({len(row) for row in value})
            if len(lengths) > 1:  # numpy would say "inhomogeneous shape"
                raise ValueError(
                    f"{name} must have rows of equal length, got rows of lengths {lengths}"
                ) from None
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.ndim != ndim:
        shape = "(K,)" if ndim == 1 else "(K, K)" if name == "trans" else "(K, M)"
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    if arr.size == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    rows = arr.reshape(-1, arr.shape[-1])
    for i, row in enumerate(rows):
        where = f"{name}" if ndim == 1 else f"{name} row {i}"
        bad = np.flatnonzero(~np.isfinite(row) | (row < 0))
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"{where} has an invalid probability {float(row[j])} at index {j} "
                "(must be finite and >= 0)"
            )
        total = float(row.sum())
        if abs(total - 1.0) > ROW_TOLERANCE:
            raise ValueError(f"{where} sums to {total:.6g}, expected 1 (±{ROW_TOLERANCE:g})")
    arr.setflags(write=False)
    return arr


def _symbol_range(n_symbols: int | None) -> str:
    return "ints >= 0" if n_symbols is None else f"ints in [0, {n_symbols})"


def _as_flat_array(item, prefix: str, n_symbols: int | None) -> np.ndarray:
    """np.asarray of one sequence, or ValueError naming the first entry that is itself a
    sequence (a ragged nested list, which numpy would reject as an 'inhomogeneous shape')."""
    if isinstance(item, list | tuple):
        for t, v in enumerate(item):
            if isinstance(v, Sequence | np.ndarray) and not isinstance(v, str):
                shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
                raise ValueError(
                    f"{prefix}position {t} holds a {type(v).__name__} {shown}, not a symbol: "
                    f"a sequence is a flat list of {_symbol_range(n_symbols)}, and a batch a "
                    "list of such sequences"
                )
    return np.asarray(item)


def _check_symbols(arr: np.ndarray, n_symbols: int | None, label: str) -> np.ndarray:
    """Validate one sequence already converted by np.asarray; return it as int64."""
    prefix = f"{label}: " if label else ""
    if arr.ndim != 1:
        raise ValueError(f"{prefix}a sequence must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{prefix}sequence is empty (need at least one symbol)")
    if not np.issubdtype(arr.dtype, np.integer):
        values = arr.tolist()
        if arr.dtype.kind == "f":  # name the first non-integral value, else the first value
            fractional = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
            t = int(fractional[0]) if fractional.size else 0
            values = values[t:]
            offset = t
        else:
            offset = 0
        for t, v in enumerate(values, start=offset):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(
                    f"{prefix}symbol {v!r} at position {t} is not an integer "
                    f"(symbols are {_symbol_range(n_symbols)})"
                )
    return arr.astype(np.int64, copy=False)


def as_symbol_batch(
    x, n_symbols: int | None, allow_missing: bool = False
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Turn one sequence or a list of sequences into (symbols (N,), offsets (B + 1,), batched).

    ``allow_missing``: also accept −1, a missing observation.

    One sequence: a 1-D list / tuple / array of ints. A batch: a list or tuple of such
    sequences (any lengths) or a 2-D integer array (one sequence per row). ``n_symbols``
    None accepts any int >= 0 (the caller infers M from the data).

    >>> s, o, batched = as_symbol_batch([[0, 1], [2]], n_symbols=3)
    >>> s.tolist(), o.tolist(), batched
    ([0, 1, 2], [0, 2, 3], True)
    """
    fast = _fast_symbol_batch(x)
    if fast is not None:
        symbols, offsets, batched = fast
        _check_range(symbols, offsets, n_symbols, batched, allow_missing)
        return symbols, offsets, batched
    if isinstance(x, np.ndarray):
        if x.ndim == 1:
            items, batched = [x], False
        elif x.ndim == 2:
            items, batched = list(x), True
        else:
            raise ValueError(f"x must be a 1-D sequence or a list of them, got shape {x.shape}")
    elif isinstance(x, list | tuple):
        if len(x) == 0:
            raise ValueError(
                "x is empty: expected a non-empty sequence of symbols or a non-empty list of "
                "sequences"
            )
        batched = isinstance(x[0], Sequence | np.ndarray) and not isinstance(x[0], str)
        items = list(x) if batched else [x]
    elif isinstance(x, str | bytes):
        raise TypeError("x must be a sequence of integer symbols, not a string")
    else:
        raise TypeError(
            f"x must be a list, tuple or array of integer symbols (or a list of them), "
            f"got {type(x).__name__}"
        )
    if batched and len(items) == 0:
        raise ValueError("empty batch: x contains no sequences")
    arrays = []
    for b, item in enumerate(items):
        if type(item) is np.ndarray and item.ndim == 1 and item.dtype.kind in "iu" and item.size:
            arrays.append(item)  # fast path: already a non-empty 1-D integer array
            continue
        label = f"sequence {b}" if batched else ""
        if batched and not isinstance(item, Sequence | np.ndarray) or isinstance(item, str):
            raise TypeError(f"sequence {b} is a {type(item).__name__}, not a sequence of symbols")
        prefix = f"{label}: " if label else ""
        arrays.append(_check_symbols(_as_flat_array(item, prefix, n_symbols), n_symbols, label))
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    symbols = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    symbols = np.ascontiguousarray(symbols.astype(np.int64, copy=False))
    _check_range(symbols, offsets, n_symbols, batched, allow_missing)
    return symbols, offsets, batched


def _fast_symbol_batch(x):
    """The common, already-clean inputs without a Python check per symbol: a non-empty 1-D
    integer array, a 2-D integer array with rows, or a list of non-empty 1-D integer arrays.
    Returns (symbols int64 (N,), offsets, batched) or None for anything else (which then takes
    the general path and its detailed error messages)."""
    if type(x) is np.ndarray:
        if x.dtype.kind not in "iu" or x.size == 0:
            return None
        if x.ndim == 1:
            symbols, n_seq, length = x, 1, x.shape[0]
        elif x.ndim == 2:
            symbols, n_seq, length = x.reshape(-1), x.shape[0], x.shape[1]
        else:
            return None
        offsets = np.arange(n_seq + 1, dtype=np.int64) * length
        return np.ascontiguousarray(symbols, dtype=np.int64), offsets, x.ndim == 2
    if type(x) is not list or not x or not all(type(a) is np.ndarray for a in x):
        return None
    # One dtype, signed or narrower than 64 bits unsigned (uint64 mixed with int64 would
    # concatenate to float; bool is not a symbol type), every array 1-D and non-empty.
    dtypes = {a.dtype for a in x}
    if len(dtypes) != 1:
        return None
    dtype = dtypes.pop()
    if not (dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8)):
        return None
    if {a.ndim for a in x} != {1}:
        return None
    lengths = np.fromiter(map(len, x), np.int64, len(x))
    if lengths.min() == 0:
        return None
    offsets = np.zeros(len(x) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    symbols = x[0] if len(x) == 1 else np.concatenate(x)
    return np.ascontiguousarray(symbols, dtype=np.int64), offsets, True


def _check_range(
    symbols: np.ndarray,
    offsets: np.ndarray,
    n_symbols: int | None,
    batched: bool,
    allow_missing: bool = False,
) -> None:
    """Raise ValueError naming the first symbol outside [0, n_symbols) (below 0 when
    n_symbols is None; −1 allowed with ``allow_missing``); two reductions when all are in
    range (the common case), the position search only when one is not."""
    low = -1 if allow_missing else 0
    upper = np.iinfo(np.int64).max if n_symbols is None else n_symbols
    if symbols.min() >= low and symbols.max() < upper:
        return
    n = int(np.flatnonzero((symbols < low) | (symbols >= upper))[0])
    b = int(np.searchsorted(offsets, n, side="right")) - 1
    prefix = f"sequence {b}: " if batched else ""
    where = "negative" if n_symbols is None else f"outside [0, {n_symbols})"
    missing = " (or -1 = missing)" if allow_missing else ""
    raise ValueError(
        f"{prefix}symbol {int(symbols[n])} at position {n - offsets[b]} is {where}{missing}"
    )
