"""Vector observations at the public boundary: one (T, D) sequence or a batch of them.

Every non-categorical family reads its input through :func:`as_vector_batch`. The rules:

- one sequence: a (T, D) array (or nested list); with D = 1 a 1-D (T,) array is also one
  sequence of T scalars;
- a batch: a list or tuple of such sequences (any lengths), or a (B, T, D) array;
- a NaN row is a missing observation (likelihood 1 in every state); a row with only some
  entries NaN is *partially* missing, and each family says whether it can marginalise those.

Anything else raises ValueError/TypeError naming the sequence, the position and the value.
"""

from __future__ import annotations

import warnings

import numpy as np

from pirho.hmm.base import ObservationBatch

__all__ = ["as_vector_batch", "missing_rows", "check_values", "real_array"]


def real_array(values, label: str = "x") -> np.ndarray:
    """``np.asarray(values, dtype=float64)``, but complex input is refused (TypeError naming
    ``label``) instead of losing its imaginary part with only numpy's warning.

    >>> real_array([[1+1j]], "x")
    Traceback (most recent call last):
    ...
    TypeError: x holds complex numbers; observations must be real
    """
    if np.iscomplexobj(values):
        raise TypeError(f"{label} holds complex numbers; observations must be real")
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            return np.asarray(values, dtype=np.float64)
        except np.exceptions.ComplexWarning:
            raise TypeError(f"{label} holds complex numbers; observations must be real") from None


def _as_float_array(item, label: str) -> np.ndarray:
    if isinstance(item, str | bytes):
        raise TypeError(f"{label}must be numeric observations, not a string")
    try:
        return real_array(item, label.rstrip(": ") or "x")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, TypeError) and "complex" in str(exc):
            raise
        raise ValueError(f"{label}observations must be numeric: {exc}") from None


def _one_sequence(arr: np.ndarray, n_features: int, label: str) -> np.ndarray:
    """Validate one sequence already converted to float64; return it as (T, D)."""
    if arr.ndim == 1 and n_features == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        want = "(T, D)" if n_features > 1 else "(T,) or (T, 1)"
        raise ValueError(f"{label}a sequence must have shape {want}, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{label}sequence is empty (need at least one observation)")
    if arr.shape[1] != n_features:
        raise ValueError(
            f"{label}observations have D = {arr.shape[1]} features, the model has D = {n_features}"
        )
    infinite = np.isinf(arr)
    if infinite.any():
        t, d = (int(i) for i in np.argwhere(infinite)[0])
        raise ValueError(f"{label}observation {arr[t, d]} at position {t}, feature {d} is infinite")
    return arr


def as_vector_batch(x, n_features: int) -> ObservationBatch:
    """Concatenate one sequence or a batch of D-dimensional observations.

    Returns an :class:`~pirho.hmm.base.ObservationBatch` whose ``observations`` are (N, D)
    float64 (NaN = missing), ``offsets`` (B + 1,) and ``batched``.

    >>> b = as_vector_batch([np.zeros((2, 3)), np.ones((1, 3))], n_features=3)
    >>> b.observations.shape, b.offsets.tolist(), b.batched
    ((3, 3), [0, 2, 3], True)
    >>> as_vector_batch([0.5, 1.5, np.nan], n_features=1).observations.ravel().tolist()
    [0.5, 1.5, nan]
    """
    if isinstance(x, list | tuple):
        if len(x) == 0:
            raise ValueError("x is empty: expected a (T, D) sequence or a list of them")
        if isinstance(x[0], np.ndarray):
            items, batched = list(x), True
        else:
            try:
                arr = real_array(x)
            except TypeError as exc:
                if "complex" in str(exc):
                    raise
                items, batched = list(x), True
            except ValueError:  # ragged nesting: a list of sequences
                items, batched = list(x), True
            else:
                items, batched = ([arr], False) if arr.ndim <= 2 else (list(arr), True)
    elif isinstance(x, np.ndarray):
        if x.ndim == 3:
            items, batched = list(x), True
        else:
            items, batched = [x], False
    else:
        raise TypeError(
            f"x must be a (T, D) array, a list of them or a (B, T, D) array, got {type(x).__name__}"
        )
    if batched and len(items) == 0:
        raise ValueError("empty batch: x contains no sequences")
    arrays = []
    for b, item in enumerate(items):
        label = f"sequence {b}: " if batched else ""
        arrays.append(_one_sequence(_as_float_array(item, label), n_features, label))
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([a.shape[0] for a in arrays], out=offsets[1:])
    observations = np.ascontiguousarray(arrays[0] if len(arrays) == 1 else np.concatenate(arrays))
    return ObservationBatch(observations, offsets, batched)


def missing_rows(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(missing (N,) bool: every entry NaN, partial (N,) bool: some but not all NaN)``.

    >>> m, p = missing_rows(np.array([[np.nan, np.nan], [1.0, np.nan], [1.0, 2.0]]))
    >>> m.tolist(), p.tolist()
    ([True, False, False], [False, True, False])
    """
    nan = np.isnan(observations)
    missing = nan.all(axis=1)
    return missing, nan.any(axis=1) & ~missing


def check_values(batch: ObservationBatch, valid, what: str) -> None:
    """ValueError naming the first non-NaN entry for which ``valid(values)`` is False.

    ``what`` describes the allowed values, e.g. ``"a count (integer >= 0)"``.

    >>> b = as_vector_batch([[0.0], [2.0]], n_features=1)
    >>> check_values(b, lambda v: v >= 0, "a count (integer >= 0)")
    """
    obs = batch.observations
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(obs) & ~valid(obs)
    if not bad.any():
        return
    n, d = (int(i) for i in np.argwhere(bad)[0])
    b = int(np.searchsorted(batch.offsets, n, side="right")) - 1
    prefix = f"sequence {b}: " if batch.batched else ""
    raise ValueError(
        f"{prefix}observation {float(obs[n, d])!r} at position {n - batch.offsets[b]}, feature {d} "
        f"is not {what}"
    )
