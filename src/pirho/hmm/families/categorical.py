"""``CategoricalHMM``: the discrete-symbol family of :class:`~pirho.hmm.base.HiddenMarkovModel`."""

from __future__ import annotations

import numpy as np

from pirho.hmm._compiled.sampling import cumulative, sample_categorical
from pirho.hmm.base import HiddenMarkovModel, ObservationBatch
from pirho.hmm.engine import Likelihoods
from pirho.hmm.priors import dirichlet_update
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
    PARAM_LETTERS = "e"

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

    # -- the EM family protocol (pirho.hmm.fitting.em_loop) ----------------------------------
    @classmethod
    def observation_batch(cls, x, size: int) -> ObservationBatch:
        """``x`` validated and concatenated for M = ``size`` symbols (−1 = missing)."""
        return ObservationBatch(*as_symbol_batch(x, size, allow_missing=True))

    @property
    def observation_size(self) -> int:
        """M, the number of symbols (``observation_batch``'s ``size``)."""
        return self.n_symbols

    def log_emission(self, observations: np.ndarray) -> np.ndarray:
        """(N, K) log P(x_t | h_t = k) of validated symbols (N,); 0 on a missing symbol −1.

        >>> m = CategoricalHMM([1.0], [[1.0]], [[0.25, 0.75]])
        >>> m.log_emission(np.array([1, -1])).round(4).tolist()
        [[-0.2877], [0.0]]
        """
        return self._emit_table.log_table[observations]

    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """``counts`` (K, M): Σ_t P(h_t = k | x) [x_t = v] over observed steps (additive)."""
        observed = observations >= 0
        n_states, n_symbols = self.n_states, self.n_symbols
        index = observations[observed, None] * n_states + np.arange(n_states)
        flat = np.bincount(index.ravel(), weights=posterior[observed].ravel(),
                           minlength=n_symbols * n_states)  # fmt: skip
        return {"counts": flat.reshape(n_symbols, n_states).T}

    def emission_m_step(self, stats: dict, params: str, prior=None, min_covar: float = 1e-3):
        """New ``emit`` (``e`` in params) by :func:`~pirho.hmm.priors.dirichlet_update`;
        prior: a Dirichlet concentration (scalar or (K, M)) or None (maximum likelihood).
        Zeros of ``emit`` stay zero; a state without weight keeps its row."""
        if "e" not in params:
            return {"emit": self._emit}
        return {"emit": dirichlet_update(stats["counts"], np.array(self._emit), prior)}

    def with_parameters(self, start, trans, emission: dict) -> CategoricalHMM:
        """A CategoricalHMM with new start, trans and ``emission`` ({"emit": (K, M)})."""
        return CategoricalHMM(start, trans, **emission)

    _with_parameters = with_parameters

    def n_emission_parameters(self) -> int:
        """Σ_k (nonzero entries of emit row k − 1): structural zeros are not free.

        >>> CategoricalHMM([1.0], [[1.0]], [[0.5, 0.5, 0.0]]).n_emission_parameters()
        1
        """
        return int((np.count_nonzero(self._emit, axis=1) - 1).sum())
