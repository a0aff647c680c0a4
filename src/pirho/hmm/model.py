"""``CategoricalHMM``: a thin shell that validates input once and calls the compiled kernels."""

from __future__ import annotations

import json
import os

import numpy as np

from pirho.hmm import kernels
from pirho.hmm.validation import as_symbol_batch, check_distribution

__all__ = ["CategoricalHMM"]

_FORMAT = "pirho.CategoricalHMM"


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


class CategoricalHMM:
    """Hidden Markov model with K hidden states and M discrete symbols.

    Parameters (validated; stored as read-only float64 arrays):

    - ``start`` (K,): P(h_1 = k).
    - ``trans`` (K, K): ``trans[i, j] = P(h_{t+1} = j | h_t = i)``, row = from-state.
    - ``emit`` (K, M): ``emit[k, v] = P(x_t = v | h_t = k)``.

    Every inference method takes ``x``, one sequence of ints in [0, M) (list, tuple or 1-D
    array), or a list of such sequences of any lengths (or a 2-D array, one sequence per row),
    in which case it returns a list (a 1-D array for :meth:`log_likelihood`) computed in one
    compiled pass over the concatenated batch.

    Seed notation: :meth:`forward` returns log π_t, π_t(h) = P(x_1..x_t, h_t = h);
    :meth:`backward` returns log ρ_t, ρ_t(h) = P(x_{t+1}..x_T | h_t = h) with ρ_T = 1;
    :meth:`posterior` is π_t ρ_t / P(X) and :meth:`filter` is π_t normalised.

    >>> m = CategoricalHMM([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.1, 0.9]])
    >>> round(m.log_likelihood([0, 1, 1]), 4)
    -2.1944
    """

    def __init__(self, start, trans, emit) -> None:
        start = check_distribution("start", start, ndim=1)
        trans = check_distribution("trans", trans, ndim=2)
        emit = check_distribution("emit", emit, ndim=2)
        n_states = start.shape[0]
        if trans.shape != (n_states, n_states):
            raise ValueError(
                f"trans must have shape (K, K) = ({n_states}, {n_states}) to match start (K,), "
                f"got {trans.shape}"
            )
        if emit.shape[0] != n_states:
            raise ValueError(
                f"emit must have shape (K, M) with K = {n_states} rows to match start, "
                f"got {emit.shape}"
            )
        self._start, self._trans, self._emit = start, trans, emit
        # Writable private copies for the kernels (one compiled signature for all callers)
        # and the transposed emissions (M, K): the kernels read step t's likelihoods as
        # emit_t[x_t], so no (T, K) likelihood array is ever built.
        self._k_start, self._k_trans = start.copy(), trans.copy()
        self._emit_t = np.ascontiguousarray(emit.T)
        self._log_start = _log(start)
        self._log_trans = _log(trans)
        self._log_emit_t = _log(self._emit_t)

    # -- parameters --------------------------------------------------------------------------
    @property
    def start(self) -> np.ndarray:
        """(K,) start probabilities, read-only."""
        return self._start

    @property
    def trans(self) -> np.ndarray:
        """(K, K) transition matrix, row = from-state, read-only."""
        return self._trans

    @property
    def emit(self) -> np.ndarray:
        """(K, M) emission matrix, read-only."""
        return self._emit

    @property
    def n_states(self) -> int:
        """K, the number of hidden states."""
        return int(self._start.shape[0])

    @property
    def n_symbols(self) -> int:
        """M, the number of symbols."""
        return int(self._emit.shape[1])

    def __repr__(self) -> str:
        return f"CategoricalHMM(n_states={self.n_states}, n_symbols={self.n_symbols})"

    # -- inference ---------------------------------------------------------------------------
    def _prepare(self, x):
        symbols, offsets, batched = as_symbol_batch(x, self.n_symbols)
        return symbols, offsets, batched

    @staticmethod
    def _split(rows: np.ndarray, offsets: np.ndarray, batched: bool):
        if not batched:
            return rows
        n_seq = offsets.shape[0] - 1
        length = rows.shape[0] // n_seq
        if offsets[1] == length and length * n_seq == rows.shape[0]:
            # Equal lengths (2-D input, fixed-size batches): views of one reshape, made in C.
            if (offsets == np.arange(n_seq + 1) * length).all():
                return list(rows.reshape(n_seq, length, *rows.shape[1:]))
        bounds = offsets.tolist()
        return [rows[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def log_likelihood(self, x):
        """log P(x): a float, or a (B,) array for a list of sequences; −inf if impossible.

        >>> from pirho.hmm import casino
        >>> round(casino().log_likelihood([5, 5, 5]), 4)
        -2.8708
        """
        symbols, offsets, batched = self._prepare(x)
        out = kernels._log_likelihood(self._k_start, self._k_trans, self._emit_t, symbols, offsets)
        return out if batched else float(out[0])

    def forward(self, x):
        """Forward messages log π_t, (T, K): ``log P(x_1..x_t, h_t = k)``.

        >>> from pirho.hmm import casino
        >>> casino().forward([5, 5]).shape
        (2, 2)
        """
        symbols, offsets, batched = self._prepare(x)
        out = kernels._forward_impl(self._k_start, self._k_trans, self._emit_t, symbols, offsets)
        return self._split(out, offsets, batched)

    def backward(self, x):
        """Backward messages log ρ_t, (T, K): ``log P(x_{t+1}..x_T | h_t = k)``; last row 0.

        >>> from pirho.hmm import casino
        >>> casino().backward([5, 5])[-1].tolist()
        [0.0, 0.0]
        """
        symbols, offsets, batched = self._prepare(x)
        out = kernels._backward_impl(self._k_trans, self._emit_t, symbols, offsets)
        return self._split(out, offsets, batched)

    def filter(self, x):
        """Filtering posterior (T, K): ``P(h_t = k | x_1..x_t)``; rows sum to 1.

        Raises ValueError if x has probability 0 under the model.

        >>> from pirho.hmm import casino
        >>> casino().filter([5, 5, 5]).round(3).tolist()
        [[0.25, 0.75], [0.132, 0.868], [0.082, 0.918]]
        """
        symbols, offsets, batched = self._prepare(x)
        out = kernels._filter_impl(
            self._k_start, self._k_trans, self._emit_t, symbols, offsets, batched
        )
        return self._split(out, offsets, batched)

    def posterior(self, x, lag: int | None = None):
        """Smoothing posterior (T, K): ``P(h_t = k | x_1..x_T)``; rows sum to 1.

        With ``lag = L`` it is the fixed-lag posterior ``P(h_t = k | x_1..x_{min(t+L, T)})``:
        ``lag = 0`` is :meth:`filter`, ``lag ≥ T − 1`` the full posterior. The full posterior
        costs O(T·K²); a fixed lag O(T·L·K²) for L ≤ 2K and O(T·K³) above (see
        :func:`pirho.hmm.kernels.fixed_lag_posterior`). Raises ValueError if x has
        probability 0.

        >>> from pirho.hmm import casino
        >>> casino().posterior([0, 5, 5], lag=1).round(3).tolist()
        [[0.396, 0.604], [0.183, 0.817], [0.187, 0.813]]
        """
        if lag is not None and (
            isinstance(lag, bool) or not isinstance(lag, int | np.integer) or lag < 0
        ):
            raise ValueError(f"lag must be None or a non-negative integer, got {lag!r}")
        symbols, offsets, batched = self._prepare(x)
        lik = self._emit_t
        if lag is None:
            out = kernels._posterior_impl(
                self._k_start, self._k_trans, lik, symbols, offsets, batched
            )
        else:
            out = kernels._fixed_lag_impl(
                self._k_start, self._k_trans, lik, symbols, offsets, int(lag), batched
            )
        return self._split(out, offsets, batched)

    def viterbi(self, x):
        """Most probable path: ``(path (T,) int64, log P(x, path))``; a list of such pairs
        for a list of sequences. Ties go to the lowest state index.

        Raises ValueError if x has probability 0 under the model.

        >>> from pirho.hmm import casino
        >>> path, log_prob = casino().viterbi([0, 5, 5, 5])
        >>> path.tolist(), round(log_prob, 4)
        ([1, 1, 1, 1], -5.3913)
        """
        symbols, offsets, batched = self._prepare(x)
        path, best = kernels._viterbi_impl(
            self._log_start,
            self._log_trans,
            self._log_emit_t,
            symbols,
            offsets,
            batched,
        )
        if not batched:
            return path, float(best[0])
        return list(zip(self._split(path, offsets, True), best.tolist(), strict=True))

    def sample(self, n_steps: int, seed=None):
        """Draw ``(states (T,), symbols (T,))`` int64 arrays of length ``n_steps``.

        ``seed`` is an int, None (fresh entropy) or a ``numpy.random.Generator``; the same int
        seed always gives the same draw.

        >>> from pirho.hmm import casino
        >>> states, rolls = casino().sample(5, seed=0)
        >>> states.shape, rolls.shape
        ((5,), (5,))
        """
        if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return kernels.sample_path(self._start, self._trans, self._emit, int(n_steps), rng)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready dict: ``{"format", "start", "trans", "emit"}`` (nested lists)."""
        return {
            "format": _FORMAT,
            "start": self._start.tolist(),
            "trans": self._trans.tolist(),
            "emit": self._emit.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> CategoricalHMM:
        """Inverse of :meth:`to_dict`; ValueError naming the missing or malformed entry.

        >>> from pirho.hmm import casino
        >>> CategoricalHMM.from_dict(casino().to_dict()).n_states
        2
        """
        if not isinstance(d, dict):
            raise ValueError(f"model JSON must be an object, got {type(d).__name__}")
        fmt = d.get("format", _FORMAT)
        if fmt != _FORMAT:
            raise ValueError(f"model JSON has format {fmt!r}, expected {_FORMAT!r}")
        missing = [key for key in ("start", "trans", "emit") if key not in d]
        if missing:
            raise ValueError(f"model JSON is missing {', '.join(map(repr, missing))}")
        return cls(d["start"], d["trans"], d["emit"])

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as JSON (floats round-trip exactly)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)
            f.write("\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> CategoricalHMM:
        """Read a model written by :meth:`save`; ValueError if the file is not a valid model."""
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{os.fspath(path)}: malformed model JSON: {exc}") from None
        try:
            return cls.from_dict(d)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None
