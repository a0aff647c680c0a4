"""Explicit-duration (semi-Markov) HMMs: a state lasts a duration drawn from its own law.

In an HMM a state's duration is geometric. A :class:`SemiMarkovHMM` draws a segment's state
from ``start`` (first segment) or ``trans`` (zero diagonal: the next segment is another
state), its duration d ∈ 1..D from that state's row of a :class:`Durations` table, and one
observation per step from the state's emission distribution, given by a model of any pirho
family (its own start and trans are ignored).

Conventions, the same for every method, the brute force and the tests:

- every sequence starts a fresh segment at its first step;
- the **last segment is right-censored**: it has lasted *at least* its observed length, so
  its duration factor is the survival S_k(d) = Σ_{d' ≥ d} p_k(d') (pyhsmm's default; an
  ordinary HMM, whose chain just stops, is the geometric special case);
- durations are 1..D; a Poisson or negative-binomial law is truncated at D and renormalised
  over 1..D, and the mass it had beyond D is reported as :attr:`Durations.truncated_mass`
  (with it, segments longer than D are impossible: choose D well above the longest regime).

The math is in pure functions — :func:`expected_statistics` (the counts of the recursions in
:mod:`pirho.hmm._compiled.semi_markov`), :func:`e_step`, :func:`m_step` — and
:func:`semi_markov_em` runs them in pirho's one EM iteration,
:func:`pirho.hmm.fitting.em_loop.iterate_em` (the HMMs'
:func:`~pirho.hmm.fitting.em_loop.run_em` runs the same code), so ``n_iter``, ``tol``,
``history``, ``monitor`` and the decrease guard mean what docs/conventions.md says. The
emissions are reached through the family protocol of :mod:`pirho.hmm.fitting.em_loop`
(``log_emission``, ``emission_statistics``, ``emission_m_step``, ``with_parameters``); start
and trans are updated by :func:`pirho.hmm.priors.dirichlet_update`, which keeps structural
zeros.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pirho import _checks
from pirho._atomic import atomic_open
from pirho._numba import announce_compilation
from pirho.hmm._compiled import semi_markov as kernels
from pirho.hmm.base import HiddenMarkovModel, ObservationBatch, split_rows
from pirho.hmm.fitting.em import FAMILIES, as_labels, fit
from pirho.hmm.fitting.em_loop import EMMonitor, clamp_to_labels, iterate_em, warn_unused_states
from pirho.hmm.priors import EMPrior, dirichlet_update
from pirho.hmm.validation import check_distribution

__all__ = [
    "Durations",
    "DURATION_FAMILIES",
    "SemiMarkovHMM",
    "Segmentation",
    "SegmentationBatch",
    "SegmentBoundaries",
    "SemiMarkovStatistics",
    "SemiMarkovFit",
    "expected_statistics",
    "e_step",
    "m_step",
    "semi_markov_em",
    "fit_semi_markov",
]

DURATION_FAMILIES = ("table", "poisson", "nbinom")
"""Duration laws: a free (K, D) table, or d − 1 Poisson / negative binomial, truncated at D."""

FORMAT = "pirho.SemiMarkovHMM"


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


# -- durations ---------------------------------------------------------------------------------
def _log_factorials(n: int) -> np.ndarray:
    """log(m!) for m = 0..n−1."""
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n, dtype=np.float64)))])


def _poisson_log_base(max_duration: int) -> np.ndarray:
    return -_log_factorials(max_duration)


def _nbinom_log_base(r: float, max_duration: int) -> np.ndarray:
    n = np.arange(max_duration, dtype=np.float64)
    return np.array([math.lgamma(m + r) - math.lgamma(r) for m in n]) - _log_factorials(
        max_duration
    )


def _truncated(log_base: np.ndarray, theta: float, log_norm_full: float):
    """Row of the law exp(θ n + base(n) − A) on n = 0..D−1, renormalised, and the mass the
    untruncated law puts beyond D−1 (A = ``log_norm_full``, its full log-normaliser)."""
    logits = theta * np.arange(log_base.shape[0]) + log_base
    top = logits.max()
    log_kept = top + math.log(np.exp(logits - top).sum())
    row = np.exp(logits - log_kept)
    row /= row.sum()
    lost = -math.expm1(min(log_kept - log_norm_full, 0.0))
    return row, max(lost, 0.0)


@dataclass(frozen=True)
class Durations:
    """Per-state duration laws on 1..D.

    family: ``"table"`` (free probabilities), ``"poisson"`` (d − 1 ~ Poisson(rate), mean
        duration 1 + rate) or ``"nbinom"`` (d − 1 ~ NegBinomial(n, p): P(d − 1 = m) =
        Γ(m + n)/(Γ(n) m!) p^n (1 − p)^m, scipy's convention, mean duration 1 + n(1 − p)/p).
    params: the family's parameters as (K,) arrays (``rates``; ``n``, ``p``); empty for a table.
    table: (K, D) read-only, ``table[k, d-1]`` = p_k(d), rows summing to 1 (truncated laws
        renormalised over 1..D).
    truncated_mass: (K,) the mass the untruncated law puts on d > D (0 for a table): what
        the model cannot represent.

    Build one with :meth:`from_table`, :meth:`poisson` or :meth:`nbinom`.

    >>> d = Durations.poisson([2.0, 9.0], max_duration=30)
    >>> d.table.shape, d.mean().round(3).tolist(), bool(d.truncated_mass.max() < 1e-6)
    ((2, 30), [3.0, 10.0], True)
    """

    family: str
    params: dict
    table: np.ndarray
    truncated_mass: np.ndarray

    @property
    def max_duration(self) -> int:
        """D, the longest possible duration."""
        return int(self.table.shape[1])

    @property
    def n_states(self) -> int:
        """K."""
        return int(self.table.shape[0])

    def mean(self) -> np.ndarray:
        """(K,) mean duration under the (truncated) table.

        >>> Durations.from_table([[0.5, 0.5]]).mean().tolist()
        [1.5]
        """
        return self.table @ np.arange(1, self.max_duration + 1)

    @classmethod
    def from_table(cls, table) -> Durations:
        """A free (K, D) table, rows = distributions over d = 1..D.

        >>> Durations.from_table([[0.5, 0.5], [1.0, 0.0]]).max_duration
        2
        """
        table = check_distribution("durations", table, ndim=2)
        return cls("table", {}, table, np.zeros(table.shape[0]))

    @classmethod
    def poisson(cls, rates, max_duration: int) -> Durations:
        """d − 1 ~ Poisson(rates[k]) truncated at D = ``max_duration`` and renormalised.

        >>> Durations.poisson([4.0], 5).truncated_mass.round(4).tolist()
        [0.3712]
        """
        max_duration = _checks.check_positive_int("max_duration", max_duration)
        rates = _check_positive_vector("rates", rates)
        base = _poisson_log_base(max_duration)
        rows = [_truncated(base, math.log(lam), lam) for lam in rates]
        return cls._build("poisson", {"rates": rates}, rows)

    @classmethod
    def nbinom(cls, n, p, max_duration: int) -> Durations:
        """d − 1 ~ NegBinomial(n[k], p[k]) truncated at D = ``max_duration``, renormalised.
        n = 1 is the geometric law P(d) = p (1 − p)^(d−1).

        >>> Durations.nbinom([1.0], [0.5], 3).table.round(4).tolist()
        [[0.5714, 0.2857, 0.1429]]
        """
        max_duration = _checks.check_positive_int("max_duration", max_duration)
        n = _check_positive_vector("n", n)
        p = _check_positive_vector("p", p, high=1.0)
        if n.shape != p.shape:
            raise ValueError(f"n has shape {n.shape} but p has shape {p.shape}")
        rows = []
        for r, q in zip(n, p, strict=True):
            base = _nbinom_log_base(r, max_duration)
            if q == 1.0:  # all mass on d = 1
                row = np.zeros(max_duration)
                row[0] = 1.0
                rows.append((row, 0.0))
            else:  # θ = log(1 − p); the full normaliser is p^(−n)
                rows.append(_truncated(base, math.log1p(-q), -r * math.log(q)))
        return cls._build("nbinom", {"n": n, "p": p}, rows)

    @classmethod
    def _build(cls, family, params, rows) -> Durations:
        table = np.array([row for row, _ in rows])
        table.setflags(write=False)
        lost = np.array([mass for _, mass in rows])
        lost.setflags(write=False)
        for value in params.values():
            value.setflags(write=False)
        return cls(family, params, table, lost)

    def survival(self) -> np.ndarray:
        """(K, D) S_k(d) = Σ_{d' ≥ d} p_k(d'), the censored last segment's factor.

        >>> Durations.from_table([[0.25, 0.5, 0.25]]).survival().tolist()
        [[1.0, 0.75, 0.25]]
        """
        return np.ascontiguousarray(np.cumsum(self.table[:, ::-1], axis=1)[:, ::-1])

    def to_dict(self) -> dict:
        """JSON-ready: ``{"family", "max_duration", <params> | "table"}``.

        >>> Durations.poisson([2.0], 10).to_dict()
        {'family': 'poisson', 'max_duration': 10, 'rates': [2.0]}
        """
        out: dict[str, Any] = {"family": self.family, "max_duration": self.max_duration}
        if self.family == "table":
            out["table"] = self.table.tolist()
        out.update({key: value.tolist() for key, value in self.params.items()})
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Durations:
        """Inverse of :meth:`to_dict`.

        >>> Durations.from_dict({"family": "table", "table": [[1.0]]}).max_duration
        1
        """
        if not isinstance(d, dict):
            raise ValueError(f"durations JSON must be an object, got {type(d).__name__}")
        family = _checks.check_choice("durations family", d.get("family"), DURATION_FAMILIES)
        if family == "table":
            return cls.from_table(d["table"])
        if family == "poisson":
            return cls.poisson(d["rates"], d["max_duration"])
        return cls.nbinom(d["n"], d["p"], d["max_duration"])


def _check_positive_vector(name: str, value, high: float | None = None) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric (K,) array: {exc}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must have shape (K,), got {arr.shape}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (arr <= 0) | ((arr > high) if high is not None else False)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        bound = f"(0, {high}]" if high is not None else "(0, inf)"
        raise ValueError(f"{name}[{k}] = {arr[k]} is outside {bound}")
    return arr


# -- the emission family ------------------------------------------------------------------------
def _check_emissions(emissions) -> HiddenMarkovModel:
    """``emissions`` if it is a model of a pirho family with the EM protocol, else TypeError."""
    if not isinstance(emissions, HiddenMarkovModel) or not hasattr(emissions, "emission_m_step"):
        raise TypeError(
            "emissions must be a model of a pirho emission family (GaussianHMM, GMMHMM, "
            "PoissonHMM, BernoulliHMM, MultinomialHMM, CategoricalHMM), got "
            f"{type(emissions).__name__}"
        )
    return emissions


# -- result types ------------------------------------------------------------------------------
class Segmentation(NamedTuple):
    """The most probable segmentation of one sequence; unpacks like the HMMs' Viterbi result,
    ``path, log_prob = model.viterbi(x)``.

    path: (T,) int64, the state of every step (also ``.states``).
    log_prob: log P(x, segmentation).
    segments: (S, 3) int64 rows ``(start, duration, state)`` in time order (a property).

    >>> Segmentation(np.array([1, 1, 0]), -2.0).segments.tolist()
    [[0, 2, 1], [2, 1, 0]]
    """

    path: np.ndarray
    log_prob: float

    @property
    def states(self) -> np.ndarray:
        """(T,) the state of every step (the same array as ``path``)."""
        return self.path

    @property
    def segments(self) -> np.ndarray:
        """(S, 3) int64 rows ``(start, duration, state)``."""
        return segments_of(self.path)


class SegmentationBatch(list):
    """A list of :class:`Segmentation` (one per sequence) with ``.paths`` and ``.log_probs``.

    >>> batch = SegmentationBatch([Segmentation(np.array([0]), -1.0)])
    >>> batch.log_probs.tolist(), [p.tolist() for p in batch.paths]
    ([-1.0], [[0]])
    """

    @property
    def paths(self) -> list[np.ndarray]:
        """The (T_b,) best paths."""
        return [item.path for item in self]

    @property
    def log_probs(self) -> np.ndarray:
        """(B,) log P(x_b, best segmentation)."""
        return np.array([item.log_prob for item in self])


class SegmentBoundaries(NamedTuple):
    """Posterior segment-boundary marginals of one sequence, (T, K) each.

    begins[t, k]: P(a segment of state k begins at step t | x) (row 0 = P(h_1 = k | x)).
    ends[t, k]: P(a segment of state k ends at step t | x); the last row is the censored last
        segment: P(h_T = k | x).
    """

    begins: np.ndarray
    ends: np.ndarray


class SemiMarkovStatistics(NamedTuple):
    """Expected sufficient statistics of a batch (the E-step), summed over sequences.

    log_likelihood: (B,) log P(x_b) (with labels: log P(x_b, labels respected)).
    posterior: (N, K) P(h_t = k | x), concatenated steps.
    start_counts: (K,) expected first states.
    trans_counts: (K, K) expected segment-to-segment transitions.
    duration_counts: (K, D) expected number of segments of k lasting d (``[k, d-1]``); the
        censored last segment's true duration d' ≥ its observed d is spread over d' in
        proportion to p_k(d') (exact EM for right-censored data).
    emission: the family's sufficient statistics (its ``emission_statistics`` of
        ``posterior``), filled by :func:`e_step`; None from :func:`expected_statistics`.
    """

    log_likelihood: np.ndarray
    posterior: np.ndarray
    start_counts: np.ndarray
    trans_counts: np.ndarray
    duration_counts: np.ndarray
    emission: dict | None = None


@dataclass(frozen=True)
class SemiMarkovFit:
    """Outcome of :func:`semi_markov_em` / :func:`fit_semi_markov`.

    model: the fitted :class:`SemiMarkovHMM`. history: (n_iter + 1,) total log-likelihood
    of the starting model and after each accepted M-step (docs/conventions.md, "EM: n_iter,
    tol, history"). converged: the last gain fell below tol, or the monitor's guard stopped a
    decrease. n_iter: M-steps taken.
    """

    model: SemiMarkovHMM
    history: np.ndarray
    converged: bool
    n_iter: int

    @property
    def log_likelihood(self) -> float:
        """Total log-likelihood of ``model`` on the training data."""
        return float(self.history[-1])


# -- the model ---------------------------------------------------------------------------------
def _check_trans(trans, n_states: int) -> np.ndarray:
    trans = check_distribution("trans", trans, ndim=2)
    if trans.shape != (n_states, n_states):
        raise ValueError(
            f"trans must have shape (K, K) = ({n_states}, {n_states}) to match start, "
            f"got {trans.shape}"
        )
    diagonal = np.flatnonzero(np.diag(trans) != 0)
    if diagonal.size:
        k = int(diagonal[0])
        raise ValueError(
            f"trans row {k} has trans[{k}, {k}] = {trans[k, k]}: a semi-Markov model's trans "
            "must have a zero diagonal (a state's stay is its duration, not a self-transition)"
        )
    return trans


class SemiMarkovHMM:
    """Explicit-duration HMM with K ≥ 2 states.

    start (K,): P(first segment's state = k). trans (K, K): P(next segment is j | this one is
    k), zero diagonal, rows summing to 1. durations: a :class:`Durations` or a (K, D) table.
    emissions: a model of a pirho emission family with K states (``GaussianHMM``,
    ``GMMHMM``, ``PoissonHMM``, ``BernoulliHMM``, ``CategoricalHMM``); only its emission
    parameters are used, and ``x`` takes that family's form (one sequence or a list).

    Every inference method runs one compiled pass over the concatenated batch in
    O(T·K·D + T·K²) time and O(T·K) memory beyond the (K, D) table. The last segment of every
    sequence is right-censored (see the module docstring).

    >>> from pirho.hmm import PoissonHMM
    >>> emissions = PoissonHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [8.0]])
    >>> m = SemiMarkovHMM([0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]],
    ...                   Durations.poisson([5.0, 5.0], 40), emissions)
    >>> states, x = m.sample(200, seed=0)
    >>> bool((m.viterbi(x).states == states).mean() > 0.9)
    True
    """

    def __init__(self, start, trans, durations, emissions) -> None:
        start = check_distribution("start", start, ndim=1)
        n_states = int(start.shape[0])
        if n_states < 2:
            raise ValueError(
                f"start has K = {n_states} state; a semi-Markov model needs K >= 2 (with one "
                "state there is a single segment)"
            )
        self._start = start
        self._trans = _check_trans(trans, n_states)
        if not isinstance(durations, Durations):
            durations = Durations.from_table(durations)
        if durations.n_states != n_states:
            raise ValueError(
                f"durations has {durations.n_states} rows, expected K = {n_states} to match start"
            )
        self._durations = durations
        _check_emissions(emissions)
        if emissions.n_states != n_states:
            raise ValueError(
                f"emissions has K = {emissions.n_states} states, expected {n_states} to match start"
            )
        self._emissions = emissions
        self._kernel_start = start.copy()
        self._kernel_trans = self._trans.copy()
        self._dur = np.ascontiguousarray(durations.table, dtype=np.float64).copy()
        self._surv = durations.survival()

    # -- parameters ------------------------------------------------------------------------------
    @property
    def start(self) -> np.ndarray:
        """(K,) first-segment state probabilities, read-only."""
        return self._start

    @property
    def trans(self) -> np.ndarray:
        """(K, K) segment-to-segment transitions, zero diagonal, read-only."""
        return self._trans

    @property
    def durations(self) -> Durations:
        """The duration laws; ``durations.table`` is (K, D)."""
        return self._durations

    @property
    def emissions(self) -> HiddenMarkovModel:
        """The emission family's model (its start and trans are not used)."""
        return self._emissions

    @property
    def n_states(self) -> int:
        """K."""
        return int(self._start.shape[0])

    @property
    def max_duration(self) -> int:
        """D."""
        return self._durations.max_duration

    def __repr__(self) -> str:
        return (
            f"SemiMarkovHMM(n_states={self.n_states}, durations={self._durations.family!r}, "
            f"max_duration={self.max_duration}, emissions={type(self._emissions).__name__})"
        )

    def replace(self, **changes) -> SemiMarkovHMM:
        """A copy with some of ``start``, ``trans``, ``durations``, ``emissions`` replaced.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([1.0, 0.0], [[0, 1], [1, 0]], [[0.5, 0.5], [1.0, 0.0]], casino())
        >>> m.replace(start=[0.0, 1.0]).start.tolist()
        [0.0, 1.0]
        """
        parts = {"start": self._start, "trans": self._trans, "durations": self._durations,
                 "emissions": self._emissions}  # fmt: skip
        unknown = set(changes) - set(parts)
        if unknown:
            raise TypeError(f"replace() got unknown parameter {sorted(unknown)[0]!r}")
        parts.update(changes)
        return SemiMarkovHMM(**parts)

    # -- inference -------------------------------------------------------------------------------
    def _prepared(self, x) -> tuple[ObservationBatch, np.ndarray]:
        batch = self._emissions._as_batch(x)
        log_lik = self._emissions.log_emission(batch.observations)  # type: ignore[attr-defined]
        return batch, np.ascontiguousarray(log_lik.T)

    def _forward(self, log_emission_t, offsets):
        announce_compilation(kernels.forward)
        return kernels.forward(
            self._kernel_start, self._kernel_trans, self._dur, self._surv, log_emission_t, offsets
        )

    def _smoothed(self, x):
        """(batch, log_lik (B,), begin marginals (K, N), end marginals (K, N))."""
        batch, log_emission_t = self._prepared(x)
        log_lik, begin, end, scaled = self._forward(log_emission_t, batch.offsets)
        _raise_if_impossible(log_lik, batch)
        begin_back, end_back, _, _ = kernels.backward(
            self._kernel_trans, self._dur, self._surv, begin, end, scaled, batch.offsets, False
        )
        return batch, log_lik, begin * begin_back, end * end_back

    def log_likelihood(self, x):
        """log P(x): a float, or a (B,) array for a list of sequences; −inf if impossible.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], casino())
        >>> round(m.log_likelihood([5, 5, 0]), 4)
        -4.0943
        """
        batch, log_emission_t = self._prepared(x)
        log_lik = self._forward(log_emission_t, batch.offsets)[0]
        return log_lik if batch.batched else float(log_lik[0])

    def posterior(self, x):
        """State marginals P(h_t = k | x), (T, K) (a list for a batch); rows sum to 1.

        Raises ValueError if x is impossible under the model.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], casino())
        >>> m.posterior([5, 5, 0]).sum(axis=1).round(12).tolist()
        [1.0, 1.0, 1.0]
        """
        batch, _, begins, ends = self._smoothed(x)
        return split_rows(kernels.occupancy(begins, ends, batch.offsets).T, batch)

    def boundaries(self, x):
        """Segment-boundary marginals: a :class:`SegmentBoundaries` ``(begins, ends)`` of
        (T, K) arrays — P(a segment of k begins / ends at t | x) — or a list of them.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], casino())
        >>> b = m.boundaries([5, 5, 0])
        >>> b.begins.shape, round(float(b.ends[-1].sum()), 12)
        ((3, 2), 1.0)
        """
        batch, _, begins, ends = self._smoothed(x)
        begins, ends = split_rows(begins.T, batch), split_rows(ends.T, batch)
        if not batch.batched:
            return SegmentBoundaries(begins, ends)
        return [SegmentBoundaries(b, e) for b, e in zip(begins, ends, strict=True)]

    def viterbi(self, x):
        """The most probable segmentation: a :class:`Segmentation` ``(path (T,), log_prob)``
        with ``.segments`` (S, 3) rows (start, duration, state), or a
        :class:`SegmentationBatch` of them. Raises ValueError if x is impossible.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.0, 1.0], [0.0, 1.0]], casino())
        >>> m.viterbi([5, 5, 0, 0, 5, 5]).segments.tolist()
        [[0, 2, 1], [2, 2, 0], [4, 2, 1]]
        """
        batch, log_emission_t = self._prepared(x)
        announce_compilation(kernels.viterbi)
        path, best = kernels.viterbi(_log(self._start), _log(self._trans), _log(self._dur),
                                     _log(self._surv), log_emission_t, batch.offsets)  # fmt: skip
        _raise_if_impossible(best, batch)
        bounds = batch.offsets.tolist()
        items = [
            Segmentation(path[lo:hi], float(score))
            for lo, hi, score in zip(bounds[:-1], bounds[1:], best, strict=True)
        ]
        return SegmentationBatch(items) if batch.batched else items[0]

    def sample(self, n_steps: int, seed=None):
        """Draw ``(states (T,) int64, observations)`` of length ``n_steps``; the last segment
        is cut at T (right-censored). ``seed``: int, None or a ``numpy.random.Generator``.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([1.0, 0.0], [[0, 1], [1, 0]], [[0.0, 1.0], [0.0, 1.0]], casino())
        >>> m.sample(5, seed=0)[0].tolist()
        [0, 0, 1, 1, 0]
        """
        n_steps = _checks.check_positive_int("n_steps", n_steps)
        rng = _rng(seed)
        cum = [_cumulative(a) for a in (self._start, self._trans, self._dur)]
        states = kernels.sample_prior(*cum, n_steps, rng.random(2 * n_steps + 1))
        return states, self._emissions._sample_emissions(states, rng)

    def sample_posterior(self, x, n_samples: int, seed=None):
        """Exact draws of the whole path from P(h_1..h_T | x) (forward filtering, backward
        sampling over segments): (n_samples, T) int64, or a list of such arrays for a batch.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], casino())
        >>> m.sample_posterior([5, 5, 0], 4, seed=0).shape
        (4, 3)
        """
        n_samples = _checks.check_positive_int("n_samples", n_samples)
        rng = _rng(seed)
        batch, log_emission_t = self._prepared(x)
        log_lik, begin, end, scaled = self._forward(log_emission_t, batch.offsets)
        _raise_if_impossible(log_lik, batch)
        n_rows = int(batch.offsets[-1])
        draws = np.empty((n_samples, n_rows), dtype=np.int64)
        for i in range(n_samples):
            draws[i] = kernels.sample_posterior(self._kernel_trans, self._dur, self._surv, begin,
                                                end, scaled, batch.offsets,
                                                rng.random(2 * n_rows + 1))  # fmt: skip
        if not batch.batched:
            return draws
        bounds = batch.offsets.tolist()
        return [draws[:, lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    # -- construction and serialisation ----------------------------------------------------------
    @classmethod
    def from_hmm(cls, hmm: HiddenMarkovModel, max_duration: int, durations: str = "poisson"):
        """The semi-Markov model closest to an ordinary HMM: trans = its off-diagonal rows
        renormalised (uniform where a state never leaves), durations matched to its geometric
        ones (``"nbinom"`` with n = 1 and ``"table"`` are the geometric law itself, truncated at
        D; ``"poisson"`` has the same mean), emissions = ``hmm`` itself. A starting point for EM.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM.from_hmm(casino(), 400, "nbinom")
        >>> m.trans.tolist(), m.durations.mean().round(2).tolist()
        ([[0.0, 1.0], [1.0, 0.0]], [20.0, 10.0])
        """
        if not isinstance(hmm, HiddenMarkovModel):
            raise TypeError(f"hmm must be a pirho HMM, got {type(hmm).__name__}")
        max_duration = _checks.check_positive_int("max_duration", max_duration)
        family = _checks.check_choice("durations", durations, DURATION_FAMILIES)
        n_states = hmm.n_states
        stay = np.clip(np.diag(hmm.trans), 0.0, 1.0 - 1e-9)
        off = np.array(hmm.trans) * (1.0 - np.eye(n_states))
        totals = off.sum(axis=1, keepdims=True)
        uniform = (1.0 - np.eye(n_states)) / max(n_states - 1, 1)
        trans = np.where(totals > 0, off / np.where(totals > 0, totals, 1.0), uniform)
        if family == "poisson":
            law = Durations.poisson(np.maximum(stay / (1.0 - stay), 1e-3), max_duration)
        else:
            law = Durations.nbinom(np.ones(n_states), 1.0 - stay, max_duration)
            if family == "table":
                law = Durations.from_table(law.table)
        return cls(hmm.start, trans, law, hmm)

    def to_dict(self) -> dict:
        """JSON-ready dict: ``{"format", "start", "trans", "durations", "emissions"}``.

        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM.from_hmm(casino(), 30)
        >>> SemiMarkovHMM.from_dict(m.to_dict()).durations.family
        'poisson'
        """
        return {
            "format": FORMAT,
            "start": self._start.tolist(),
            "trans": self._trans.tolist(),
            "durations": self._durations.to_dict(),
            "emissions": self._emissions.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> SemiMarkovHMM:
        """Inverse of :meth:`to_dict`; ValueError naming what is missing or malformed.

        >>> SemiMarkovHMM.from_dict({"format": "pirho.CategoricalHMM"})
        Traceback (most recent call last):
        ...
        ValueError: model JSON must be an object with format 'pirho.SemiMarkovHMM'
        """
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"model JSON must be an object with format {FORMAT!r}")
        missing = [k for k in ("start", "trans", "durations", "emissions") if k not in d]
        if missing:
            raise ValueError(f"model JSON is missing {', '.join(map(repr, missing))}")
        tag = d["emissions"].get("format") if isinstance(d["emissions"], dict) else None
        family = next((c for c in FAMILIES.values() if c.FORMAT == tag), None)
        if family is None:
            raise ValueError(f"model JSON's emissions have an unknown format {tag!r}")
        return cls(d["start"], d["trans"], Durations.from_dict(d["durations"]),
                   family.from_dict(d["emissions"]))  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON, atomically; returns the path.

        >>> import pathlib, tempfile
        >>> from pirho.hmm import casino
        >>> m = SemiMarkovHMM.from_hmm(casino(), 30)
        >>> path = m.save(pathlib.Path(tempfile.mkdtemp()) / "hsmm.json")
        >>> SemiMarkovHMM.load(path).durations.max_duration
        30
        """
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=1)
            handle.write("\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SemiMarkovHMM:
        """Read a model written by :meth:`save`; ValueError naming the file and the problem."""
        from pirho._files import read_json

        d = read_json(path, "model")
        try:
            return cls.from_dict(d)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None


# -- helpers -----------------------------------------------------------------------------------
def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_checks.check_seed("seed", seed))


def _cumulative(probs: np.ndarray) -> np.ndarray:
    cum = np.cumsum(np.asarray(probs, dtype=np.float64), axis=-1)
    return np.ascontiguousarray(cum / cum[..., -1:])


def _raise_if_impossible(scores: np.ndarray, batch: ObservationBatch) -> None:
    bad = np.flatnonzero(np.isneginf(scores))
    if bad.size:
        which = f"sequence {int(bad[0])} " if batch.batched else "x "
        raise ValueError(f"{which}has probability 0 under the model")


def segments_of(states: np.ndarray) -> np.ndarray:
    """(S, 3) rows ``(start, duration, state)`` of the runs of a state path (no two adjacent
    segments share a state in a semi-Markov model, so runs are segments).

    >>> segments_of(np.array([1, 1, 0, 0, 0, 1])).tolist()
    [[0, 2, 1], [2, 3, 0], [5, 1, 1]]
    """
    states = np.asarray(states, dtype=np.int64)
    if states.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    firsts = np.concatenate([[0], np.flatnonzero(np.diff(states)) + 1])
    lengths = np.diff(np.concatenate([firsts, [states.size]]))
    return np.stack([firsts, lengths, states[firsts]], axis=1).astype(np.int64)


# -- E-step ------------------------------------------------------------------------------------
def expected_statistics(
    start: np.ndarray,
    trans: np.ndarray,
    durations: np.ndarray,
    log_emission: np.ndarray,
    offsets: np.ndarray,
) -> SemiMarkovStatistics:
    """Expected counts of a batch under a semi-Markov model (the E-step, a pure function).

    start (K,), trans (K, K), durations (K, D) table, log_emission (N, K) = log P(x_t | k)
    of the concatenated steps, offsets (B + 1,). An impossible sequence gets log-likelihood
    −inf and contributes no counts.

    >>> stats = expected_statistics(np.array([0.5, 0.5]), np.array([[0.0, 1.0], [1.0, 0.0]]),
    ...                             np.array([[0.5, 0.5], [0.5, 0.5]]), np.zeros((4, 2)),
    ...                             np.array([0, 4]))
    >>> stats.posterior.sum(axis=1).round(12).tolist(), stats.start_counts.tolist()
    ([1.0, 1.0, 1.0, 1.0], [0.5, 0.5])
    """
    start = np.ascontiguousarray(start, dtype=np.float64)
    trans = np.ascontiguousarray(trans, dtype=np.float64)
    dur = np.ascontiguousarray(durations, dtype=np.float64)
    surv = np.ascontiguousarray(np.cumsum(dur[:, ::-1], axis=1)[:, ::-1])
    log_emission_t = np.ascontiguousarray(log_emission.T)
    announce_compilation(kernels.forward)
    log_lik, begin, end, scaled = kernels.forward(start, trans, dur, surv, log_emission_t, offsets)
    begin_back, end_back, complete, censored = kernels.backward(
        trans, dur, surv, begin, end, scaled, offsets, True
    )
    begins, ends = begin * begin_back, end * end_back
    posterior = kernels.occupancy(begins, ends, offsets).T
    firsts = offsets[:-1]
    lasts = offsets[1:] - 1
    live = np.isfinite(log_lik)
    start_counts = begins[:, firsts[live]].sum(axis=1)
    # ξ(k → j between t and t+1) = π_t(k, ends) trans[k, j] ρ*_{t+1}(j) / P(x), all t but
    # each sequence's last step
    inner = np.ones(offsets[-1], dtype=bool)
    inner[lasts] = False
    rows = np.flatnonzero(inner)
    trans_counts = (end[:, rows] @ begin_back[:, rows + 1].T) * trans
    # the censored last segment's true duration d' ≥ d, with probability p(d')/S(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(surv > 0, censored / surv, 0.0)
    duration_counts = complete + dur * np.cumsum(spread, axis=1)
    return SemiMarkovStatistics(log_lik, posterior, start_counts, trans_counts, duration_counts)


def e_step(
    model: SemiMarkovHMM, observations: np.ndarray, offsets: np.ndarray, labels=None
) -> SemiMarkovStatistics:
    """The E-step of :func:`semi_markov_em` for one validated, concatenated batch: the
    counts of :func:`expected_statistics` under ``model`` plus the emission family's
    sufficient statistics (``emission``) of the state posterior.

    observations: (N, ·) in the family's format; offsets: (B + 1,); labels: None or (N,)
    int64, each step's state or −1 (a labelled step is clamped to its state and the
    log-likelihood is log P(x, labels respected)). ValueError when a sequence has probability
    0 under the model (and labels).

    >>> from pirho.hmm import casino
    >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], casino())
    >>> stats = e_step(m, np.array([5, 5, 0]), np.array([0, 3]))
    >>> bool(np.isclose(stats.log_likelihood.sum(), m.log_likelihood([5, 5, 0])))
    True
    >>> round(float(stats.emission["counts"].sum()), 12)   # one unit of posterior per step
    3.0
    """
    emissions = model.emissions
    log_lik = emissions.log_emission(observations)  # type: ignore[attr-defined]
    if labels is not None:
        log_lik = clamp_to_labels(log_lik, labels)
    stats = expected_statistics(model._kernel_start, model._kernel_trans, model._dur, log_lik,
                                offsets)  # fmt: skip
    impossible = np.flatnonzero(np.isneginf(stats.log_likelihood))
    if impossible.size:
        given = " given its labels" if labels is not None else ""
        raise ValueError(f"sequence {int(impossible[0])} has probability 0 under the model{given}")
    emission = emissions.emission_statistics(observations, stats.posterior)  # type: ignore
    return stats._replace(emission=emission)


# -- M-step ------------------------------------------------------------------------------------
def _solve_mean(log_base: np.ndarray, target: float, low: float, high: float) -> float:
    """θ in [low, high] with E[n] = target under exp(θ n + base(n)) on n = 0..D−1: the
    maximum-likelihood natural parameter of a truncated exponential family (the mean is
    increasing in θ), by bisection to machine precision."""
    n = np.arange(log_base.shape[0])

    def mean_at(theta: float) -> float:
        logits = theta * n + log_base
        w = np.exp(logits - logits.max())
        return float((w * n).sum() / w.sum())

    if mean_at(low) >= target:
        return low
    if mean_at(high) <= target:
        return high
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mean_at(mid) < target:
            low = mid
        else:
            high = mid
        if high - low < 1e-13 * max(1.0, abs(mid)):
            break
    return 0.5 * (low + high)


def _expected_log(table: np.ndarray, counts: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, counts * np.log(table), 0.0)
    return float(terms.sum())


def duration_m_step(durations: Durations, counts: np.ndarray) -> Durations:
    """New duration laws from expected counts (K, D) (``counts[k, d-1]``).

    table: the counts normalised (closed form). poisson: d − 1 ~ Poisson(λ) truncated at D is
    an exponential family in log λ, so its maximum-likelihood λ matches the truncated mean
    to the counts' mean of d − 1 — that is λ = mean (the closed form) when no mass lies beyond
    D, and a 1-D bisection on log λ otherwise. nbinom: a 1-D golden-section search over
    log n of the profile likelihood, p given n by the same moment equation in log(1 − p);
    kept only if it does not lower the expected log-likelihood (a generalised EM step).
    A state without counts keeps its law.

    >>> old = Durations.poisson([1.0], 40)
    >>> counts = np.zeros((1, 40)); counts[0, [2, 4]] = 1.0   # durations 3 and 5
    >>> duration_m_step(old, counts).params["rates"].round(6).tolist()
    [3.0]
    """
    total = counts.sum(axis=1)
    if durations.family == "table":
        return Durations.from_table(dirichlet_update(counts, np.array(durations.table)))
    max_d = durations.max_duration
    n = np.arange(max_d)
    means = np.where(total > 0, (counts * n).sum(axis=1) / np.where(total > 0, total, 1.0), 0.0)
    if durations.family == "poisson":
        base = _poisson_log_base(max_d)
        rates = np.array(durations.params["rates"])
        for k in np.flatnonzero(total > 0):
            theta = _solve_mean(base, means[k], math.log(1e-8), math.log(1e8))
            rates[k] = math.exp(theta)
        return Durations.poisson(rates, max_d)
    r_old, p_old = np.array(durations.params["n"]), np.array(durations.params["p"])
    r_new, p_new = r_old.copy(), p_old.copy()
    for k in np.flatnonzero(total > 0):

        def profile(log_r: float, k=k) -> tuple[float, float]:
            base = _nbinom_log_base(math.exp(log_r), max_d)
            theta = _solve_mean(base, means[k], -60.0, math.log1p(-1e-12))
            row, _ = _truncated(base, theta, 0.0)
            return _expected_log(row, counts[k]), -math.expm1(theta)

        r_k, p_k = _golden_max(profile, math.log(1e-2), math.log(1e4))
        old = _expected_log(Durations.nbinom([r_old[k]], [p_old[k]], max_d).table[0], counts[k])
        new = _expected_log(Durations.nbinom([r_k], [p_k], max_d).table[0], counts[k])
        if new >= old:
            r_new[k], p_new[k] = r_k, p_k
    return Durations.nbinom(r_new, np.clip(p_new, 1e-12, 1.0), max_d)


def _golden_max(profile, low: float, high: float, n_steps: int = 60) -> tuple[float, float]:
    """(n, p) maximising ``profile(log n)`` over [low, high] by golden-section search."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = profile(c)[0], profile(d)[0]
    for _ in range(n_steps):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = profile(c)[0]
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = profile(d)[0]
    best = 0.5 * (a + b)
    return math.exp(best), profile(best)[1]


def m_step(
    model: SemiMarkovHMM,
    stats: SemiMarkovStatistics,
    params: str,
    prior: EMPrior | None = None,
    min_covar: float = 1e-3,
) -> SemiMarkovHMM:
    """The model maximising the expected complete-data log-likelihood (plus the log-prior)
    given the statistics of :func:`e_step` (a pure function): start ``s`` and trans ``t`` by
    :func:`~pirho.hmm.priors.dirichlet_update` (entries of probability 0 stay 0, so the zero
    diagonal does; a state without counts keeps its row), durations ``d``
    (:func:`duration_m_step`), the emissions by the family's ``emission_m_step`` on its
    letters; letters not in ``params`` keep their values exactly.

    prior: an :class:`~pirho.hmm.priors.EMPrior` (Dirichlet on start and trans, the family's
    emission prior) or None (maximum likelihood); durations have no prior.

    >>> from pirho.hmm import casino
    >>> m = SemiMarkovHMM([0.5, 0.5], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], casino())
    >>> x = np.array([5, 5, 0, 1, 5, 5])
    >>> stats = e_step(m, x, np.array([0, 6]))
    >>> new = m_step(m, stats, params="sd")
    >>> new.trans.tolist(), bool((new.emissions.emit == m.emissions.emit).all())
    ([[0.0, 1.0], [1.0, 0.0]], True)
    """
    prior = prior if prior is not None else EMPrior()
    start = model.start
    if "s" in params:
        start = dirichlet_update(stats.start_counts, np.array(model.start), prior.start)
    trans = model.trans
    if "t" in params:
        trans = dirichlet_update(stats.trans_counts, np.array(model.trans), prior.trans)
    durations = model.durations
    if "d" in params:
        durations = duration_m_step(durations, stats.duration_counts)
    emissions = model.emissions
    letters = "".join(c for c in params if c in emissions.PARAM_LETTERS)  # type: ignore
    if letters:
        if stats.emission is None:
            raise ValueError("stats has no emission statistics: take them with e_step")
        new = emissions.emission_m_step(stats.emission, letters, prior.emission, min_covar)  # type: ignore
        emissions = emissions.with_parameters(emissions.start, emissions.trans, new)  # type: ignore
    return SemiMarkovHMM(start, trans, durations, emissions)


# -- EM ----------------------------------------------------------------------------------------
def _param_letters(model: SemiMarkovHMM) -> str:
    return "std" + model.emissions.PARAM_LETTERS  # type: ignore[attr-defined]


def _unused_states(model: SemiMarkovHMM, stats: SemiMarkovStatistics, params: str) -> np.ndarray:
    """States whose trans row has a free choice (two or more next states possible) but no
    expected segment transitions out of them: their rows were kept, not re-estimated."""
    if "t" not in params or not stats.trans_counts.sum() > 0:
        return np.zeros(0, dtype=np.int64)
    free = np.count_nonzero(model.trans, axis=1) >= 2
    return np.flatnonzero(free & (stats.trans_counts.sum(axis=1) == 0))


def semi_markov_em(
    model: SemiMarkovHMM,
    x,
    *,
    params: str | None = None,
    n_iter: int = 100,
    tol: float = 1e-4,
    labels=None,
    min_covar: float = 1e-3,
    prior: EMPrior | None = None,
    monitor=None,
) -> SemiMarkovFit:
    """EM (Baum–Welch for segments) from ``model``, on pirho's one EM iteration
    (:func:`pirho.hmm.fitting.em_loop.iterate_em`): at most ``n_iter`` M-steps, stopping after the
    first that gains less than ``tol`` in total log-likelihood (docs/conventions.md, "EM:
    n_iter, tol, history").

    params: letters of the parameters to update — ``s`` start, ``t`` trans, ``d`` durations,
    and the emission family's (``mc``, ``l``, ``e``, …); default all. labels: shaped like x,
    each step's state or −1 (unknown); a labelled step is clamped to its state and the history
    is then log P(x, labels respected). prior: an :class:`~pirho.hmm.priors.EMPrior` or None
    (maximum likelihood). monitor: the stopping rule, default
    :class:`~pirho.hmm.fitting.em_loop.EMMonitor` ``(tol)`` with the decrease guard on (an M-step
    that lowers the likelihood is not taken); ``EMMonitor(tol, guard=False)`` runs on through
    a decrease. Every M-step is exact except the negative binomial's (a generalised EM step,
    see :func:`duration_m_step`), so without a prior the history never decreases beyond
    round-off. Warns (RuntimeWarning) when a state whose trans row has a choice ends without
    expected segment transitions out of it (its row was kept), as :func:`pirho.hmm.em` does.

    >>> from pirho.hmm import PoissonHMM
    >>> emissions = PoissonHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [6.0]])
    >>> truth = SemiMarkovHMM([0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]],
    ...                       Durations.poisson([4.0, 9.0], 40), emissions)
    >>> _, x = truth.sample(2000, seed=1)
    >>> guess = truth.replace(durations=Durations.poisson([1.0, 1.0], 40))
    >>> result = semi_markov_em(guess, x, params="d", n_iter=50)
    >>> result.model.durations.params["rates"].round(0).tolist()
    [4.0, 9.0]
    >>> result.n_iter == len(result.history) - 1
    True
    """
    if not isinstance(model, SemiMarkovHMM):
        raise TypeError(f"model must be a SemiMarkovHMM, got {type(model).__name__}")
    letters = _param_letters(model)
    params = letters if params is None else params
    if not isinstance(params, str):
        raise TypeError(f"params must be a string of letters from {letters!r}, got {params!r}")
    bad = [c for c in params if c not in letters]
    if bad:
        raise ValueError(f"params={params!r} has {bad[0]!r}, not one of {letters!r}")
    n_iter = _checks.check_int("n_iter", n_iter, minimum=0)
    tol = _checks.check_float("tol", tol, minimum=0.0)
    min_covar = _checks.check_float("min_covar", min_covar, minimum=0.0)
    if prior is not None and not isinstance(prior, EMPrior):
        raise TypeError(f"prior must be a pirho.hmm.priors.EMPrior or None, got {prior!r}")
    batch = model.emissions._as_batch(x)
    label_rows = None if labels is None else as_labels(labels, batch, model.n_states)
    trace = iterate_em(
        model,
        lambda current: e_step(current, batch.observations, batch.offsets, label_rows),
        lambda current, stats: m_step(current, stats, params, prior, min_covar),
        n_iter=n_iter,
        monitor=EMMonitor(tol) if monitor is None else monitor,
    )
    unused = _unused_states(trace.model, trace.statistics, params)
    if unused.size:
        warn_unused_states(unused, model.n_states)
    return SemiMarkovFit(trace.model, trace.history, trace.converged, len(trace.history) - 1)


def fit_semi_markov(
    x,
    n_states: int,
    family="gaussian",
    *,
    durations: str = "poisson",
    max_duration: int,
    seed=None,
    n_iter: int = 100,
    tol: float = 1e-4,
    labels=None,
    min_covar: float = 1e-3,
    **hmm_options,
) -> SemiMarkovFit:
    """Fit a semi-Markov model from data: an ordinary HMM by :func:`pirho.hmm.fit` (family,
    ``hmm_options`` such as ``covariance_type``, ``seed``), converted by
    :meth:`SemiMarkovHMM.from_hmm`, then :func:`semi_markov_em` on every parameter.

    >>> from pirho.hmm import PoissonHMM
    >>> emissions = PoissonHMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [6.0]])
    >>> truth = SemiMarkovHMM([0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]],
    ...                       Durations.poisson([6.0, 12.0], 50), emissions)
    >>> _, x = truth.sample(3000, seed=0)
    >>> result = fit_semi_markov(x, 2, "poisson", max_duration=50, seed=0)
    >>> sorted(result.model.durations.mean().round(0).tolist())
    [7.0, 13.0]
    """
    family_name = _checks.check_choice("durations", durations, DURATION_FAMILIES)
    max_duration = _checks.check_positive_int("max_duration", max_duration)
    hmm = fit(x, n_states, family, seed=seed, n_iter=n_iter, tol=tol, labels=labels,
              min_covar=min_covar, **hmm_options).model  # fmt: skip
    start = SemiMarkovHMM.from_hmm(hmm, max_duration, family_name)
    return semi_markov_em(start, x, n_iter=n_iter, tol=tol, labels=labels, min_covar=min_covar)
