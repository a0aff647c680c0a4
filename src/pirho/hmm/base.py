"""``HiddenMarkovModel``: everything an HMM does that does not depend on its emissions.

A family (categorical, Gaussian, Poisson, …) subclasses it and supplies four hooks:

- ``_as_batch(x) -> ObservationBatch`` — validate one sequence or a list of them and return
  the concatenated observations with offsets (raise ValueError/TypeError naming the problem);
- ``_likelihoods(observations) -> Likelihoods`` — what the recursions read: a table and the
  row of it each step uses (:mod:`pirho.hmm.engine`). A family with a (N, K) log-likelihood
  matrix returns ``Likelihoods.from_log(matrix)``; a missing observation is a row of zeros in
  that matrix (likelihood 1 in every state);
- ``_sample_emissions(states, rng) -> observations`` — one observation per state;
- ``_emission_params() -> dict`` — the emission parameters for :meth:`to_dict`, keyed by the
  constructor's argument names (``EMISSION_KEYS``); :meth:`from_dict` passes them back.

The base owns start/trans validation and storage, every inference method (one compiled pass
over a concatenated batch), state-path sampling and the JSON format.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

from pirho import _checks
from pirho._atomic import atomic_open
from pirho._numba import announce_compilation
from pirho.hmm import engine, sampling
from pirho.hmm._compiled.sampling import sample_categorical, sample_states
from pirho.hmm.engine import Likelihoods, ViterbiBatch, ViterbiResult
from pirho.hmm.validation import check_distribution

__all__ = ["HiddenMarkovModel", "ObservationBatch", "ViterbiBatch", "ViterbiResult"]


class ObservationBatch(NamedTuple):
    """Observations of one sequence or a batch, concatenated.

    observations: (N, ...) the steps of every sequence, one after another.
    offsets: (B + 1,) int64; sequence b is ``observations[offsets[b]:offsets[b + 1]]``.
    batched: False when the caller passed one sequence (results are then not wrapped in a list).
    """

    observations: np.ndarray
    offsets: np.ndarray
    batched: bool


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def split_rows(values: np.ndarray, batch: ObservationBatch):
    """Per-step results (N, ...) as the caller passed them: the array itself for one sequence,
    else a list of per-sequence views (one reshape when all lengths are equal).

    >>> b = ObservationBatch(np.zeros(3), np.array([0, 2, 3]), True)
    >>> [v.tolist() for v in split_rows(np.arange(3), b)]
    [[0, 1], [2]]
    """
    if not batch.batched:
        return values
    offsets = batch.offsets
    n_seq = offsets.shape[0] - 1
    length = values.shape[0] // n_seq
    if length * n_seq == values.shape[0] and (offsets == np.arange(n_seq + 1) * length).all():
        return list(values.reshape(n_seq, length, *values.shape[1:]))
    bounds = offsets.tolist()
    return [values[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


class HiddenMarkovModel(ABC):
    """A hidden Markov model with K states; the emission family is a subclass's business.

    ``start`` (K,): P(h_1 = k). ``trans`` (K, K): ``trans[i, j] = P(h_{t+1} = j | h_t = i)``.
    Both are validated and stored as read-only float64 arrays.

    Every inference method takes ``x``, one sequence or a list of sequences of any lengths (in
    the form the family documents), and for a list returns a list (a 1-D array for
    :meth:`log_likelihood`) computed in one compiled pass over the concatenated batch.

    Seed notation: :meth:`forward` returns log π_t, π_t(h) = P(x_1..x_t, h_t = h);
    :meth:`backward` returns log ρ_t, ρ_t(h) = P(x_{t+1}..x_T | h_t = h) with ρ_T = 1;
    :meth:`posterior` is π_t ρ_t / P(X) and :meth:`filter` is π_t normalised.

    >>> from pirho.hmm import CategoricalHMM
    >>> isinstance(CategoricalHMM([1.0], [[1.0]], [[1.0]]), HiddenMarkovModel)
    True
    """

    FORMAT: ClassVar[str]
    """The ``"format"`` tag of this family's JSON, e.g. ``"pirho.CategoricalHMM"``."""
    EMISSION_KEYS: ClassVar[tuple[str, ...]]
    """Constructor argument names of the emission parameters, in :meth:`to_dict` order."""

    def __init__(self, start, trans) -> None:
        start = check_distribution("start", start, ndim=1)
        trans = check_distribution("trans", trans, ndim=2)
        n_states = start.shape[0]
        if trans.shape != (n_states, n_states):
            raise ValueError(
                f"trans must have shape (K, K) = ({n_states}, {n_states}) to match start (K,), "
                f"got {trans.shape}"
            )
        self._start, self._trans = start, trans
        # Writable private copies for the kernels: one compiled signature for all callers.
        self._kernel_start, self._kernel_trans = start.copy(), trans.copy()
        self._log_start, self._log_trans = _log(start), _log(trans)

    # -- hooks -------------------------------------------------------------------------------
    @abstractmethod
    def _as_batch(self, x) -> ObservationBatch:
        """Validate ``x`` (one sequence or a list) and concatenate it."""

    @abstractmethod
    def _likelihoods(self, observations: np.ndarray) -> Likelihoods:
        """Emission likelihoods of concatenated observations (N steps)."""

    @abstractmethod
    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One observation drawn from each state of ``states`` (T,)."""

    @abstractmethod
    def _emission_params(self) -> dict[str, Any]:
        """The emission parameters as JSON-ready values keyed by ``EMISSION_KEYS``."""

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
    def n_states(self) -> int:
        """K, the number of hidden states."""
        return int(self._start.shape[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_states={self.n_states})"

    # -- inference ---------------------------------------------------------------------------
    def _prepared(self, x) -> tuple[ObservationBatch, Likelihoods]:
        batch = self._as_batch(x)
        return batch, self._likelihoods(batch.observations)

    def log_likelihood(self, x):
        """log P(x): a float, or a (B,) array for a list of sequences; −inf if impossible.

        >>> from pirho.hmm import casino
        >>> round(casino().log_likelihood([5, 5, 5]), 4)
        -2.8708
        """
        batch, lik = self._prepared(x)
        out = engine.sequence_log_likelihoods(
            self._kernel_start, self._kernel_trans, lik, batch.offsets
        )
        return out if batch.batched else float(out[0])

    def forward(self, x):
        """Forward messages log π_t, (T, K): ``log P(x_1..x_t, h_t = k)``.

        >>> from pirho.hmm import casino
        >>> casino().forward([5, 5]).shape
        (2, 2)
        """
        batch, lik = self._prepared(x)
        out = engine.log_forward(self._kernel_start, self._kernel_trans, lik, batch.offsets)
        return split_rows(out, batch)

    def backward(self, x):
        """Backward messages log ρ_t, (T, K): ``log P(x_{t+1}..x_T | h_t = k)``; last row 0.

        >>> from pirho.hmm import casino
        >>> casino().backward([5, 5])[-1].tolist()
        [0.0, 0.0]
        """
        batch, lik = self._prepared(x)
        return split_rows(engine.log_backward(self._kernel_trans, lik, batch.offsets), batch)

    def filter(self, x):
        """Filtering posterior (T, K): ``P(h_t = k | x_1..x_t)``; rows sum to 1.

        Raises ValueError if x has probability 0 under the model.

        >>> from pirho.hmm import casino
        >>> casino().filter([5, 5, 5]).round(3).tolist()
        [[0.25, 0.75], [0.132, 0.868], [0.082, 0.918]]
        """
        batch, lik = self._prepared(x)
        out = engine.filter_posterior(
            self._kernel_start, self._kernel_trans, lik, batch.offsets, batch.batched
        )
        return split_rows(out, batch)

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
        if lag is not None:
            lag = _checks.check_int("lag", lag, minimum=0)
        batch, lik = self._prepared(x)
        start, trans, offsets = self._kernel_start, self._kernel_trans, batch.offsets
        if lag is None:
            out = engine.smoothed_posterior(start, trans, lik, offsets, batch.batched)
        else:
            out = engine.fixed_lag_posterior(start, trans, lik, offsets, lag, batch.batched)
        return split_rows(out, batch)

    def viterbi(self, x):
        """Most probable path: a :class:`ViterbiResult` ``(path (T,) int64, log_prob)`` —
        log P(x, path) — or, for a list of sequences, a list-like :class:`ViterbiBatch` of
        them (also ``.paths`` and ``.log_probs``). Ties go to the lowest state index. Raises
        ValueError if x has probability 0 under the model.

        >>> from pirho.hmm import casino
        >>> path, log_prob = casino().viterbi([0, 5, 5, 5])
        >>> path.tolist(), round(log_prob, 4)
        ([1, 1, 1, 1], -5.3913)
        """
        batch, lik = self._prepared(x)
        path, best = engine.best_paths(
            self._log_start, self._log_trans, lik, batch.offsets, batch.batched
        )
        if not batch.batched:
            return ViterbiResult(path, float(best[0]))
        return ViterbiBatch(split_rows(path, batch), best)

    def sample(self, n_steps: int, seed=None):
        """Draw ``(states (T,) int64, observations (T, ...))`` of length ``n_steps``.

        ``seed`` is an int in [0, 2**32), None (fresh entropy) or a ``numpy.random.Generator``;
        the same int seed always gives the same draw.

        >>> from pirho.hmm import casino
        >>> states, rolls = casino().sample(5, seed=0)
        >>> states.shape, rolls.shape
        ((5,), (5,))
        """
        n_steps = _checks.check_positive_int("n_steps", n_steps)
        if not isinstance(seed, np.random.Generator):
            seed = np.random.default_rng(_checks.check_seed("seed", seed))
        announce_compilation(sample_categorical)
        states = sample_states(self._start, self._trans, n_steps, seed)
        return states, self._sample_emissions(states, seed)

    def sample_posterior(self, x, n_samples: int, seed=None):
        """Whole state paths drawn exactly from P(h_1..h_T | x): (n_samples, T) int64, or a
        list of such arrays for a list of sequences (one compiled pass over the batch).

        Forward filtering, backward sampling: h_T ∝ π_T, then h_t ∝ π_t(h) · trans[h, h_{t+1}]
        (see :func:`pirho.hmm.kernels.sample_posterior`). Unlike drawing each step from
        :meth:`posterior`, the paths keep the coupling between neighbouring states: a
        transition of probability 0 never appears. Missing observations constrain nothing,
        as in every method. ``seed``: an int in [0, 2**32), None or a
        ``numpy.random.Generator``. ValueError if x has probability 0, or if the paths would
        exceed 2^28 entries (n_samples × total steps) in one call.

        >>> from pirho.hmm import casino
        >>> paths = casino().sample_posterior([5, 5, 5, 0], n_samples=3, seed=0)
        >>> paths.shape, paths.dtype.name
        ((3, 4), 'int64')
        """
        batch, lik = self._prepared(x)
        n_samples = sampling.check_n_samples(n_samples, int(batch.offsets[-1]))
        rng = sampling.as_generator(seed)
        paths = sampling.posterior_paths(
            self._kernel_start, self._kernel_trans, lik, batch.offsets, n_samples, rng,
            batch.batched,
        )  # fmt: skip
        if not batch.batched:
            return paths
        bounds = batch.offsets.tolist()
        return [paths[:, lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-ready dict: ``{"format", "start", "trans", <emission parameters>}``.

        >>> from pirho.hmm import casino
        >>> sorted(casino().to_dict())
        ['emit', 'format', 'start', 'trans']
        """
        return {
            "format": self.FORMAT,
            "start": self._start.tolist(),
            "trans": self._trans.tolist(),
            **self._emission_params(),
        }

    @classmethod
    def from_dict(cls, d: dict):
        """Inverse of :meth:`to_dict`; ValueError naming the missing or malformed entry.

        >>> from pirho.hmm import CategoricalHMM, casino
        >>> CategoricalHMM.from_dict(casino().to_dict()).n_states
        2
        """
        if not isinstance(d, dict):
            raise ValueError(f"model JSON must be an object, got {type(d).__name__}")
        fmt = d.get("format", cls.FORMAT)
        if fmt != cls.FORMAT:
            raise ValueError(f"model JSON has format {fmt!r}, expected {cls.FORMAT!r}")
        keys = ("start", "trans", *cls.EMISSION_KEYS)
        missing = [key for key in keys if key not in d]
        if missing:
            raise ValueError(f"model JSON is missing {', '.join(map(repr, missing))}")
        return cls(**{key: d[key] for key in keys})

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON (floats round-trip exactly), atomically; returns the path.

        >>> import pathlib, tempfile
        >>> from pirho.hmm import casino
        >>> path = casino().save(pathlib.Path(tempfile.mkdtemp()) / "casino.json")
        >>> type(casino()).load(path).n_states
        2
        """
        with atomic_open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)
            f.write("\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a model written by :meth:`save`; ValueError if the file is not a valid model."""
        from pirho._files import read_json

        d = read_json(path, "model")  # errors name the file: missing, not UTF-8, truncated
        try:
            return cls.from_dict(d)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None
