"""``BernoulliHMM``: independent binary features per state."""

from __future__ import annotations

import numpy as np

from pirho.hmm.base import ObservationBatch
from pirho.hmm.families.discrete import feature_statistics, observed_parts, sum_log_terms
from pirho.hmm.families.family import VectorEmissionHMM, check_matrix
from pirho.hmm.families.observations import check_values

__all__ = ["BernoulliHMM"]


class BernoulliHMM(VectorEmissionHMM):
    """Hidden Markov model whose D binary features are independent Bernoulli given the state.

    - ``start`` (K,), ``trans`` (K, K): as in :class:`~pirho.hmm.base.HiddenMarkovModel`;
    - ``probs`` (K, D): P(x_d = 1 | h = k), in [0, 1] (0 or 1 make the other value impossible).

    ``x``: (T, D) values in {0, 1} ((T,) when D = 1), a list of them or a (B, T, D) array. NaN
    = missing: a NaN row has likelihood 1, a NaN entry is left out of its row's likelihood.

    >>> m = BernoulliHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[0.1, 0.2], [0.9, 0.8]])
    >>> m.viterbi([[0, 0], [1, 1], [1, np.nan]]).path.tolist()
    [0, 1, 1]
    """

    FORMAT = "pirho.BernoulliHMM"
    EMISSION_KEYS = ("probs",)
    PARAM_LETTERS = "e"

    def __init__(self, start, trans, probs) -> None:
        super().__init__(start, trans)
        shape = np.shape(probs)
        if len(shape) != 2:
            raise ValueError(f"probs must have shape (K, D), got {shape}")
        self._probs = check_matrix("probs", probs, (self.n_states, shape[1]), low=0.0, high=1.0)
        with np.errstate(divide="ignore"):
            self._log_probs = np.log(self._probs)
            self._log_complement = np.log1p(-self._probs)

    @property
    def probs(self) -> np.ndarray:
        """(K, D) probabilities of a 1, read-only."""
        return self._probs

    @property
    def n_features(self) -> int:
        """D, the number of binary features."""
        return int(self._probs.shape[1])

    def _check_observations(self, batch: ObservationBatch) -> None:
        check_values(batch, lambda v: (v == 0) | (v == 1), "binary (0 or 1)")

    def _log_emission(self, observations: np.ndarray) -> np.ndarray:
        observed, ones = observed_parts(observations)
        return sum_log_terms(ones, self._log_probs) + sum_log_terms(
            observed - ones, self._log_complement
        )

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        probs = self._probs[states]
        return (rng.random(probs.shape) < probs).astype(np.float64)

    def _emission_params(self) -> dict:
        return {"probs": self._probs.tolist()}

    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """``mass``, ``sums`` (K, D), as :func:`~.discrete.feature_statistics` computes them."""
        return feature_statistics(observations, posterior)

    def emission_m_step(self, stats: dict, params: str, prior=None, min_covar: float = 1e-3):
        """New ``probs`` (``e`` in params): the posterior-weighted frequency of ones; prior: a
        symmetric Beta(a, a) concentration a (scalar or (K, D)), adding a − 1 pseudo-ones and
        pseudo-zeros. A (state, feature) without weight keeps its probability."""
        old = np.array(self._probs)
        if "e" not in params:
            return {"probs": old}
        extra = 0.0 if prior is None else np.asarray(prior, dtype=np.float64) - 1.0
        numerator = stats["sums"] + extra
        denominator = stats["mass"] + 2.0 * extra
        ok = (stats["mass"] > 0) & (denominator > 0)
        new = np.clip(numerator / np.where(ok, denominator, 1.0), 0.0, 1.0)
        return {"probs": np.where(ok, new, old)}

    def n_emission_parameters(self) -> int:
        """K·D probabilities.

        >>> BernoulliHMM([1.0], [[1.0]], [[0.5, 0.5]]).n_emission_parameters()
        2
        """
        return int(self._probs.size)
