"""``PoissonHMM``: independent Poisson counts per feature and state."""

from __future__ import annotations

import numpy as np

from pirho.hmm.base import ObservationBatch
from pirho.hmm.families.discrete import (
    feature_statistics,
    log_factorial,
    observed_parts,
    sum_log_terms,
)
from pirho.hmm.families.family import VectorEmissionHMM, check_matrix
from pirho.hmm.families.observations import check_values
from pirho.hmm.priors import GammaPrior

__all__ = ["PoissonHMM"]


class PoissonHMM(VectorEmissionHMM):
    """Hidden Markov model whose D count features are independent Poisson given the state.

    - ``start`` (K,), ``trans`` (K, K): as in :class:`~pirho.hmm.base.HiddenMarkovModel`;
    - ``rates`` (K, D): λ_kd ≥ 0, the mean count of feature d in state k (hmmlearn's
      ``lambdas_``); a rate of 0 makes any positive count impossible in that state.

    ``x``: (T, D) counts (non-negative integers as floats or ints; (T,) when D = 1), a list of
    them or a (B, T, D) array. NaN = missing: a NaN row has likelihood 1, a NaN entry is left
    out of its row's likelihood (features are independent given the state).

    >>> m = PoissonHMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[1.0], [10.0]])
    >>> m.viterbi([0, 1, 12, 9]).path.tolist()
    [0, 0, 1, 1]
    """

    FORMAT = "pirho.PoissonHMM"
    EMISSION_KEYS = ("rates",)
    PARAM_LETTERS = "l"

    def __init__(self, start, trans, rates) -> None:
        super().__init__(start, trans)
        shape = np.shape(rates)
        if len(shape) != 2:
            raise ValueError(f"rates must have shape (K, D), got {shape}")
        self._rates = check_matrix("rates", rates, (self.n_states, shape[1]), low=0.0)
        with np.errstate(divide="ignore"):
            self._log_rates = np.log(self._rates)

    @property
    def rates(self) -> np.ndarray:
        """(K, D) Poisson means, read-only."""
        return self._rates

    @property
    def n_features(self) -> int:
        """D, the number of count features."""
        return int(self._rates.shape[1])

    def _check_observations(self, batch: ObservationBatch) -> None:
        check_values(batch, lambda v: (v >= 0) & (v == np.round(v)), "a count (integer >= 0)")

    def _log_emission(self, observations: np.ndarray) -> np.ndarray:
        observed, counts = observed_parts(observations)
        # log P(x | k) = Σ_d x_d log λ_kd − λ_kd − log x_d!
        return (
            sum_log_terms(counts, self._log_rates)
            - observed @ self._rates.T
            - log_factorial(counts).sum(axis=1, keepdims=True)
        )

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(self._rates[states]).astype(np.float64)

    def _emission_params(self) -> dict:
        return {"rates": self._rates.tolist()}

    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """``mass``, ``sums`` (K, D), as :func:`~.discrete.feature_statistics` computes them."""
        return feature_statistics(observations, posterior)

    def emission_m_step(
        self, stats: dict, params: str, prior: GammaPrior | None = None, min_covar: float = 1e-3
    ) -> dict:
        """New ``rates`` (``l`` in params): the posterior-weighted mean count (prior None), or
        hmmlearn 0.3.3's Gamma-prior update (:class:`~pirho.hmm.priors.GammaPrior`); a
        (state, feature) without posterior weight keeps its rate."""
        old = np.array(self._rates)
        if "l" not in params:
            return {"rates": old}
        mass, sums = stats["mass"], stats["sums"]
        has = mass > 0
        mean = sums / np.where(has, mass, 1.0)
        if prior is not None:
            total = mass.sum(axis=0, keepdims=True)  # hmmlearn's n: every state's mass
            mean = (prior.prior + total * mean) / (prior.weight + total)
        return {"rates": np.where(has, mean, old)}

    def n_emission_parameters(self) -> int:
        """K·D rates.

        >>> PoissonHMM([1.0], [[1.0]], [[1.0, 2.0]]).n_emission_parameters()
        2
        """
        return int(self._rates.size)
