"""``CategoricalHMM``: the discrete-symbol family of :class:`~pirho.hmm.base.HiddenMarkovModel`."""

from __future__ import annotations

import numpy as np

from pirho.hmm.base import HiddenMarkovModel, ObservationBatch
from pirho.hmm.engine import Likelihoods
from pirho.hmm.sampling import cumulative, sample_categorical
from pirho.hmm.validation import as_symbol_batch, check_distribution

__all__ = ["CategoricalHMM"]


class CategoricalHMM(HiddenMarkovModel):
    """Hidden Markov model with K hidden states and M discrete symbols.

    Parameters (validated; stored as read-only float64 arrays):

    - ``start`` (K,): P(h_1 = k).
    - ``trans`` (K, K): ``trans[i, j] = P(h_{t+1} = j | h_t = i)``, row = from-state.
    - ``emit`` (K, M): ``emit[k, v] = P(x_t = v | h_t = k)``.

    ``x`` is one sequence of ints in [0, M) (list, tuple or 1-D array), or a list of such
    sequences of any lengths (or a 2-D array, one sequence per row). The symbol −1 is a
    missing observation: likelihood 1 in every state. Inference methods are
    those of :class:`~pirho.hmm.base.HiddenMarkovModel`; the kernels read step t's likelihoods
    as ``emit.T[x_t]`` (a row gather), so no (T, K) likelihood array is ever built.

    >>> m = CategoricalHMM([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.1, 0.9]])
    >>> round(m.log_likelihood([0, 1, 1]), 4)
    -2.1944
    """

    FORMAT = "pirho.CategoricalHMM"
    EMISSION_KEYS = ("emit",)

    def __init__(self, start, trans, emit) -> None:
        super().__init__(start, trans)
        emit = check_distribution("emit", emit, ndim=2)
        if emit.shape[0] != self.n_states:
            raise ValueError(
                f"emit must have shape (K, M) with K = {self.n_states} rows to match start, "
                f"got {emit.shape}"
            )
        self._emit = emit
        # (M + 1, K): row v = P(v | h = k) for every k; the last row, all ones, is what a
        # missing symbol −1 reads (negative indices wrap around, in numpy and numba alike).
        emit_t = np.ascontiguousarray(np.vstack([emit.T, np.ones((1, emit.shape[0]))]))
        with np.errstate(divide="ignore"):
            log_emit_t = np.log(emit_t)
        self._emit_table = Likelihoods(emit_t, log_emit_t, np.empty(0, np.int64), None)
        self._cum_emit = cumulative(emit)

    @property
    def emit(self) -> np.ndarray:
        """(K, M) emission matrix, read-only."""
        return self._emit

    @property
    def n_symbols(self) -> int:
        """M, the number of symbols."""
        return int(self._emit.shape[1])

    def __repr__(self) -> str:
        return f"CategoricalHMM(n_states={self.n_states}, n_symbols={self.n_symbols})"

    def _as_batch(self, x) -> ObservationBatch:
        return ObservationBatch(*as_symbol_batch(x, self.n_symbols, allow_missing=True))

    def _likelihoods(self, observations: np.ndarray) -> Likelihoods:
        return self._emit_table._replace(rows=observations)

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return sample_categorical(self._cum_emit, states, rng.random(states.shape[0]))

    def _emission_params(self) -> dict:
        return {"emit": self._emit.tolist()}
