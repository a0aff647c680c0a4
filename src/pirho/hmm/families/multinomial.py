"""``MultinomialHMM``: counts of D outcomes in n trials per step (hmmlearn 0.3's multinomial)."""

from __future__ import annotations

import numpy as np

from pirho.hmm.base import ObservationBatch
from pirho.hmm.families.discrete import log_factorial, sum_log_terms
from pirho.hmm.families.family import VectorEmissionHMM
from pirho.hmm.families.observations import check_values
from pirho.hmm.priors import dirichlet_update
from pirho.hmm.validation import check_distribution

__all__ = ["MultinomialHMM"]


class MultinomialHMM(VectorEmissionHMM):
    """Hidden Markov model whose step t is a count vector x_t (D outcomes, n_t = Σ_d x_td
    trials) drawn from Multinomial(n_t, p_k) in state k.

    - ``start`` (K,), ``trans`` (K, K): as in :class:`~pirho.hmm.base.HiddenMarkovModel`;
    - ``probs`` (K, D): outcome probabilities per state, rows sum to 1 (hmmlearn's
      ``emissionprob_``); a 0 makes any count of that outcome impossible in that state;
    - ``n_trials``: trials per step, needed only by :meth:`sample` (None: sampling refuses).

    log P(x | k) = log n! − Σ_d log x_d! + Σ_d x_d log p_kd (log-gamma, no table). With one
    trial per step this is :class:`~pirho.hmm.families.categorical.CategoricalHMM` on one-hot rows.
    ``x``: (T, D) non-negative integer counts, a list of them or a (B, T, D) array; an
    all-NaN row is missing (a partly missing count vector has no multinomial likelihood).

    >>> m = MultinomialHMM([0.6, 0.4], [[0.7, 0.3], [0.4, 0.6]],
    ...                    [[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
    >>> round(float(np.exp(m.viterbi([[1, 0, 0], [0, 1, 0], [0, 0, 1]]).log_prob)), 5)
    0.01344
    """

    FORMAT = "pirho.MultinomialHMM"
    EMISSION_KEYS = ("probs", "n_trials")
    PARAM_LETTERS = "e"

    def __init__(self, start, trans, probs, n_trials: int | None = None) -> None:
        super().__init__(start, trans)
        probs = check_distribution("probs", probs, ndim=2)
        if probs.shape[0] != self.n_states:
            raise ValueError(
                f"probs must have shape (K, D) with K = {self.n_states} rows, got {probs.shape}"
            )
        if n_trials is not None and (
            isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer)
            or n_trials < 1
        ):  # fmt: skip
            raise ValueError(f"n_trials must be a positive integer or None, got {n_trials!r}")
        self._probs = probs
        self._n_trials = None if n_trials is None else int(n_trials)
        with np.errstate(divide="ignore"):
            self._log_probs = np.log(probs)

    @property
    def probs(self) -> np.ndarray:
        """(K, D) outcome probabilities, read-only."""
        return self._probs

    @property
    def n_trials(self) -> int | None:
        """Trials per step for :meth:`sample` (None if not set)."""
        return self._n_trials

    @property
    def n_features(self) -> int:
        """D, the number of outcomes."""
        return int(self._probs.shape[1])

    def _marginalises_partial(self) -> bool:
        return False

    def _partial_note(self) -> str:
        return "a count vector is complete or entirely NaN"

    def _check_observations(self, batch: ObservationBatch) -> None:
        check_values(batch, lambda v: (v >= 0) & (v == np.round(v)), "a count (integer >= 0)")

    def _log_emission(self, observations: np.ndarray) -> np.ndarray:
        counts = np.where(np.isnan(observations), 0.0, observations)
        coefficient = log_factorial(counts.sum(axis=1)) - log_factorial(counts).sum(axis=1)
        return coefficient[:, None] + sum_log_terms(counts, self._log_probs)

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self._n_trials is None:
            raise ValueError("sampling needs n_trials: MultinomialHMM(..., n_trials=n)")
        return rng.multinomial(self._n_trials, self._probs[states]).astype(np.float64)

    def _emission_params(self) -> dict:
        return {"probs": self._probs.tolist(), "n_trials": self._n_trials}

    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """``counts`` (K, D): Σ_t P(h_t = k | x) x_t over observed steps (additive)."""
        return {"counts": posterior.T @ np.where(np.isnan(observations), 0.0, observations)}

    def emission_m_step(self, stats: dict, params: str, prior=None, min_covar: float = 1e-3):
        """New ``probs`` (``e`` in params): the expected outcome counts normalised
        (:func:`~pirho.hmm.priors.dirichlet_update`; prior: a Dirichlet concentration or
        None); zeros stay zero, a state without counts keeps its row."""
        probs = np.array(self._probs)
        if "e" in params:
            probs = dirichlet_update(stats["counts"], probs, prior)
        return {"probs": probs, "n_trials": self._n_trials}

    def n_emission_parameters(self) -> int:
        """Σ_k (nonzero entries of probs row k − 1).

        >>> MultinomialHMM([1.0], [[1.0]], [[0.5, 0.5, 0.0]]).n_emission_parameters()
        1
        """
        return int((np.count_nonzero(self._probs, axis=1) - 1).sum())
