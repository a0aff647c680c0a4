"""``VectorEmissionHMM``: what the vector-observation families share.

A family here fills two more hooks on top of :class:`~pirho.hmm.base.HiddenMarkovModel`'s:

- ``_log_emission(observations (N, D)) -> (N, K)``: log P(x_t | h_t = k) for complete rows
  (and, where the family marginalises them, partially missing rows); rows that are entirely
  NaN are overwritten with 0 here, so a missing step has likelihood 1 in every state;
- ``emission_statistics(observations, posterior) -> dict``: additive sufficient statistics
  given the (N, K) state posterior (missing entries skipped);
- ``emission_m_step(stats, params, prior=None, min_covar) -> dict``: the emission parameters
  maximising the expected complete-data log-likelihood (plus the log-prior), updating only
  the parameters whose letters are in ``params``, as constructor keyword arguments
  (the protocol of :mod:`pirho.hmm.fitting.em_loop`).

plus ``PARAM_LETTERS`` (its hmmlearn letters) and ``n_emission_parameters()`` (free
parameters, for AIC/BIC).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from pirho.hmm.base import HiddenMarkovModel, ObservationBatch, split_rows
from pirho.hmm.engine import Likelihoods
from pirho.hmm.families.observations import as_vector_batch, missing_rows

__all__ = ["VectorEmissionHMM", "check_matrix"]


def check_matrix(name: str, value, shape: tuple[int, ...], low=None, high=None, open_low=False):
    """``value`` as a read-only float64 array of ``shape`` with finite entries in the range;
    ValueError naming ``name``, the index and the value otherwise.

    >>> check_matrix("rates", [[1.0, 2.0]], (1, 2), low=0.0).tolist()
    [[1.0, 2.0]]
    >>> check_matrix("rates", [[1.0, -2.0]], (1, 2), low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: rates[0, 1] = -2.0 is outside [0.0, inf)
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    low_v = -np.inf if low is None else low
    high_v = np.inf if high is None else high
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(arr) & (arr >= low_v) & (arr <= high_v)
        if open_low:
            ok &= arr > low_v
    bad = np.flatnonzero(~ok)
    if bad.size:
        index = ", ".join(str(int(i)) for i in np.unravel_index(bad[0], shape))
        value = arr.flat[bad[0]]
        if not np.isfinite(value):
            raise ValueError(f"{name}[{index}] is {value} (not finite)")
        left = "(" if open_low else "["
        right = "]" if np.isfinite(high_v) else ")"
        raise ValueError(f"{name}[{index}] = {value} is outside {left}{low_v}, {high_v}{right}")
    arr.setflags(write=False)
    return arr


class VectorEmissionHMM(HiddenMarkovModel):
    """Base of the families whose observations are (T, D) float vectors (NaN = missing).

    ``x`` is one (T, D) sequence (a (T,) array when D = 1), a list of them or a (B, T, D)
    array; see :func:`pirho.hmm.families.observations.as_vector_batch`.
    """

    PARAM_LETTERS: ClassVar[str]
    """hmmlearn's letters of this family's emission parameters, e.g. ``"mc"``."""

    @property
    @abstractmethod
    def n_features(self) -> int:
        """D, the dimension of one observation."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_states={self.n_states}, n_features={self.n_features})"

    @classmethod
    def observation_batch(cls, x, size: int) -> ObservationBatch:
        """``x`` (one sequence or a list) validated and concatenated, ``size`` = D (what
        ``fit`` reads before any model exists; NaN = missing)."""
        return as_vector_batch(x, size)

    @property
    def observation_size(self) -> int:
        """D, the size of one observation (``observation_batch``'s ``size``)."""
        return self.n_features

    def _as_batch(self, x) -> ObservationBatch:
        batch = as_vector_batch(x, self.n_features)
        self._check_observations(batch)
        if not self._marginalises_partial():
            partial = missing_rows(batch.observations)[1]
            if partial.any():
                n = int(np.flatnonzero(partial)[0])
                b = int(np.searchsorted(batch.offsets, n, side="right")) - 1
                prefix = f"sequence {b}: " if batch.batched else ""
                raise ValueError(
                    f"{prefix}observation at position {n - batch.offsets[b]} is partially "
                    f"missing (some entries NaN); {self._partial_note()}"
                )
        return batch

    def _marginalises_partial(self) -> bool:
        """Whether rows with only some entries NaN are accepted (those entries marginalised)."""
        return True

    def _check_observations(self, batch: ObservationBatch) -> None:
        """Family-specific value checks (counts, binary values); none by default."""

    def _partial_note(self) -> str:
        return "this model needs rows that are complete or entirely NaN"

    @abstractmethod
    def _log_emission(self, observations: np.ndarray) -> np.ndarray:
        """(N, K) log P(x_t | h_t = k); the values of entirely-NaN rows are ignored."""

    def log_emission(self, observations: np.ndarray) -> np.ndarray:
        """(N, K) log P(x_t | h_t = k) of concatenated, validated observations, 0 on missing
        rows (the matrix the recursions read; EM calls it directly)."""
        out = self._log_emission(observations)
        nan = np.isnan(observations)
        if nan.any():
            out[nan.all(axis=1)] = 0.0
        return out

    def emission_log_likelihood(self, x):
        """log P(x_t | h_t = k): (T, K) for one sequence, a list for a batch; 0 on missing rows.

        >>> from pirho.hmm import PoissonHMM
        >>> m = PoissonHMM([1.0], [[1.0]], [[2.0]])
        >>> m.emission_log_likelihood([0, np.nan]).round(4).tolist()
        [[-2.0], [0.0]]
        """
        batch = self._as_batch(x)
        return split_rows(self.log_emission(batch.observations), batch)

    def _likelihoods(self, observations: np.ndarray) -> Likelihoods:
        return Likelihoods.from_log(self.log_emission(observations))

    @abstractmethod
    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """Sufficient statistics (a dict of arrays that add across sequences, chunks and
        workers) of the emissions, given the (N, K) state posterior; NaN entries skipped."""

    @abstractmethod
    def emission_m_step(
        self, stats: dict, params: str, prior=None, min_covar: float = 1e-3
    ) -> dict:
        """New emission parameters (constructor keywords) from summed statistics; only the
        letters in ``params`` change; ``prior`` None = maximum likelihood."""

    @abstractmethod
    def n_emission_parameters(self) -> int:
        """Number of free emission parameters (for AIC/BIC)."""

    def with_parameters(self, start, trans, emission: dict):
        """A model of the same family with new start, trans and emission parameters
        (``emission``: constructor keywords, as ``emission_m_step`` returns them)."""
        return type(self)(start, trans, **emission)

    _with_parameters = with_parameters
