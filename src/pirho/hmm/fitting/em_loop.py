"""The one EM (Baum–Welch) loop of ``pirho.hmm``: every family, every entry point.

:func:`run_em` serves :func:`~pirho.hmm.fitting.baum_welch.baum_welch`,
:func:`~pirho.hmm.fitting.em.em`, ``fit``, ``fit_supervised``, the hmmlearn estimators of
:mod:`pirho.hmm.sklearn` and :func:`~pirho.hmm.dask.fit_distributed`; its iteration,
:func:`iterate_em`, also runs the semi-Markov model's EM
(:func:`pirho.hmm.semi_markov.semi_markov_em`, its own E- and M-step).

- E-step (:func:`expected_statistics`): the family's likelihoods, the compiled
  forward–backward of :func:`pirho.hmm.engine.expected_counts`, then the family's sufficient
  statistics from the state posterior. A :class:`Statistics` adds across sequences, chunks
  and workers (:func:`add_statistics`), so a distributed E-step is a map-reduce.
- M-step (:func:`maximise`): start and transitions by
  :func:`~pirho.hmm.priors.dirichlet_update` (structural zeros stay exactly 0), the
  emissions by the family's ``emission_m_step``; ``prior=None`` is maximum likelihood.

The family protocol (what a model class provides; adding a family is one file):

- ``log_emission(observations (N, ·)) -> (N, K)`` log P(x_t | h_t = k), 0 on missing steps,
  and ``_likelihoods(observations)`` (the kernels' view of the same numbers);
- ``emission_statistics(observations, posterior (N, K)) -> dict`` of arrays that add;
- ``emission_m_step(stats, params, prior=None, min_covar=1e-3) -> dict``: the new emission
  parameters (constructor keywords), only those whose letters are in ``params`` changed;
- ``with_parameters(start, trans, emission) -> model``; ``n_emission_parameters()``;
  ``PARAM_LETTERS`` (hmmlearn's letters); ``_as_batch(x)`` (validation).

Conventions (docs/conventions.md, "EM: n_iter, tol, history"): ``n_iter`` is the maximum
number of M-steps; ``history[0]`` is the starting model's log-likelihood and ``history[i]``
that of the model after the i-th M-step, so the returned model's is ``history[-1]``; ``tol``
is an absolute gain in total log-likelihood (nats, summed over sequences): EM stops after
the first M-step that gains less.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from pirho.hmm import engine
from pirho.hmm.base import HiddenMarkovModel, ObservationBatch
from pirho.hmm.engine import Likelihoods
from pirho.hmm.priors import EMPrior, dirichlet_update

__all__ = [
    "Statistics",
    "EMMonitor",
    "EMResult",
    "expected_statistics",
    "labelled_likelihoods",
    "add_statistics",
    "maximise",
    "run_em",
    "EMTrace",
    "iterate_em",
    "clamp_to_labels",
    "warn_unused_states",
]


class Statistics(NamedTuple):
    """Sufficient statistics of one E-step; every field adds across sequences and chunks.

    start: (K,) Σ_b P(h_1 = k | x_b). trans: (K, K) Σ_b Σ_t P(h_t = i, h_{t+1} = j | x_b).
    emission: the family's arrays (see its ``emission_statistics``).
    log_likelihood: Σ_b log P(x_b) of the model the statistics were taken under.
    """

    start: np.ndarray
    trans: np.ndarray
    emission: dict
    log_likelihood: float


def add_statistics(a: Statistics, b: Statistics) -> Statistics:
    """The statistics of two disjoint sets of sequences (under the same model), summed.

    >>> s = Statistics(np.ones(2), np.ones((2, 2)), {"counts": np.ones((2, 3))}, -1.0)
    >>> float(add_statistics(s, s).emission["counts"].sum()), add_statistics(s, s).log_likelihood
    (12.0, -2.0)
    """
    return Statistics(
        a.start + b.start,
        a.trans + b.trans,
        {key: a.emission[key] + b.emission[key] for key in a.emission},
        a.log_likelihood + b.log_likelihood,
    )


def expected_statistics(
    model: HiddenMarkovModel, observations: np.ndarray, offsets: np.ndarray, labels=None
) -> Statistics:
    """E-step over one concatenated batch.

    observations: (N, ·) validated, concatenated (the family's format); offsets: (B + 1,)
    sequence boundaries; labels: None or (N,) int64, the state of each step or −1 (a labelled
    step's posterior is clamped to its label; the log-likelihood is then log P(x, labels)).
    ValueError when a sequence has probability 0 under the model (and labels).

    >>> from pirho.hmm import brute_force, casino
    >>> stats = expected_statistics(casino(), np.array([5, 5, 0]), np.array([0, 3]))
    >>> exact = brute_force(casino(), [5, 5, 0])  # Σ over the 8 paths
    >>> bool(np.isclose(stats.log_likelihood, exact.log_likelihood))
    True
    >>> bool(np.allclose(stats.emission["counts"][:, [0, 5]].T, [exact.posterior[2],
    ...                                                         exact.posterior[:2].sum(0)]))
    True
    """
    lik = labelled_likelihoods(model, observations, labels)
    counts = engine.expected_counts(model._kernel_start, model._kernel_trans, lik, offsets)
    impossible = np.isneginf(counts.log_likelihood)
    if impossible.any():
        b = int(np.flatnonzero(impossible)[0])
        given = " given its labels" if labels is not None else ""
        raise ValueError(f"sequence {b} has probability 0 under the model{given}")
    emission = model.emission_statistics(observations, counts.posterior)  # type: ignore
    return Statistics(
        counts.start_counts, counts.trans_counts, emission, float(counts.log_likelihood.sum())
    )


def labelled_likelihoods(
    model: HiddenMarkovModel, observations: np.ndarray, labels=None
) -> Likelihoods:
    """The kernels' emission likelihoods of ``observations``; with ``labels`` ((N,), −1 =
    unknown) a labelled step's likelihood is 0 in every state but its label's.

    >>> from pirho.hmm import casino
    >>> lik = labelled_likelihoods(casino(), np.array([5, 5]), np.array([-1, 1]))
    >>> (lik.table[1] > 0).tolist()
    [False, True]
    """
    if labels is None:
        return model._likelihoods(observations)
    log_lik = model.log_emission(observations)  # type: ignore[attr-defined]
    return Likelihoods.from_log(clamp_to_labels(log_lik, labels))


def clamp_to_labels(log_emission: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, K) log-likelihoods with −inf where step t is labelled (``labels[t] >= 0``) with
    another state than k; unlabelled steps (−1) unchanged. labels: (N,) int64.

    >>> clamp_to_labels(np.zeros((2, 2)), np.array([-1, 1])).tolist()
    [[0.0, 0.0], [-inf, 0.0]]
    """
    known = labels >= 0
    clamp = np.zeros(log_emission.shape, dtype=bool)
    clamp[known] = np.arange(log_emission.shape[1])[None, :] != labels[known, None]
    return np.where(clamp, -np.inf, log_emission)


def maximise(
    model: HiddenMarkovModel,
    stats: Statistics,
    params: str,
    prior: EMPrior | None = None,
    min_covar: float = 1e-3,
) -> HiddenMarkovModel:
    """M-step: the model of ``model``'s family maximising the expected complete-data
    log-likelihood (plus the log-prior) given ``stats``; only ``params``' letters change.

    A start entry or transition of probability 0 stays 0; a transition row without
    expected counts (a state never left) keeps its row.

    >>> from pirho.hmm import casino
    >>> m = casino()
    >>> stats = expected_statistics(m, np.array([5, 5, 5, 0]), np.array([0, 4]))
    >>> maximise(m, stats, "st").emit.tolist() == m.emit.tolist()
    True
    """
    prior = prior if prior is not None else EMPrior()
    start = dirichlet_update(stats.start, np.asarray(model.start), prior.start) \
        if "s" in params else model.start  # fmt: skip
    trans = dirichlet_update(stats.trans, np.asarray(model.trans), prior.trans) \
        if "t" in params else model.trans  # fmt: skip
    emission = model.emission_m_step(  # type: ignore[attr-defined]
        stats.emission, params, prior.emission, min_covar
    )
    return model.with_parameters(start, trans, emission)  # type: ignore[attr-defined]


class EMMonitor:
    """pirho's stopping rule, with hmmlearn's monitor interface (``report``, ``converged``,
    ``history``, ``iter``), so an hmmlearn ``ConvergenceMonitor`` can stand in for it.

    tol: stop once an M-step gains less than ``tol`` (total log-likelihood, nats).
    guard: when True, :func:`run_em` stops at an M-step that *lowers* the log-likelihood
        and keeps the better, earlier model (EM cannot lower it except by round-off, or by a
        prior's pull); tests that assert a non-decreasing history turn it off, so a bug that
        lowers the likelihood shows instead of being reported as convergence.
    verbose: print each iteration to stderr.

    >>> m = EMMonitor(tol=0.1)
    >>> m.report(-10.0); m.report(-9.95); m.converged
    True
    """

    def __init__(self, tol: float = 1e-4, guard: bool = True, verbose: bool = False) -> None:
        self.tol, self.guard, self.verbose = tol, guard, verbose
        self.history: list[float] = []
        self.iter = 0

    def _reset(self) -> None:
        self.history, self.iter = [], 0

    def report(self, log_prob: float) -> None:
        """Record the log-likelihood of the next model."""
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else float("nan")
            print(f"{self.iter:>10d} {log_prob:16.8f} {delta:+16.8f}", file=sys.stderr)
        self.history.append(float(log_prob))
        self.iter += 1

    @property
    def converged(self) -> bool:
        """Whether the last M-step gained less than ``tol``."""
        return len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol


class EMResult(NamedTuple):
    """Outcome of :func:`run_em`.

    model: the last accepted model; its log-likelihood is ``history[-1]``.
    history: (n + 1,) total log-likelihood of the starting model and after each accepted
        M-step (with labels: log P(x, labels)).
    converged: the monitor's verdict at the end (or the guard stopped a decrease).
    statistics: the E-step :class:`Statistics` of ``model`` (one more :func:`maximise` from
        them is hmmlearn's final M-step).
    unused_states: states without expected transitions out of them in the last E-step
        (their transition rows were kept, not re-estimated).
    """

    model: HiddenMarkovModel
    history: np.ndarray
    converged: bool
    statistics: Statistics
    unused_states: np.ndarray


def run_em(
    model: HiddenMarkovModel,
    data,
    *,
    params: str | None = None,
    prior: EMPrior | None = None,
    labels=None,
    n_iter: int = 100,
    tol: float = 1e-4,
    monitor=None,
    min_covar: float = 1e-3,
    warn_unused: bool = True,
) -> EMResult:
    """EM from ``model``: at most ``n_iter`` M-steps, stopping when the monitor says so.

    data: an :class:`~pirho.hmm.base.ObservationBatch` (validated, concatenated), one
        sequence or a list in the family's format, or a function ``model -> Statistics``
        (a distributed E-step, e.g. a map-reduce over files; ``labels`` must then be None).
    params: letters of the parameters to update (default ``"st"`` + the family's letters).
    prior: :class:`~pirho.hmm.priors.EMPrior` or None (maximum likelihood).
    labels: (N,) int64 state per step, −1 = unknown (semi-supervised: clamped posteriors).
    monitor: decides convergence after each accepted M-step (``report(log_prob)``,
        ``converged``); default ``EMMonitor(tol)`` (with the decrease guard). ``tol`` is used
        only to build the default.
    warn_unused: warn (RuntimeWarning) when a state ends without expected transitions out
        (too few data for K states, or a state EM emptied).

    >>> from pirho.hmm import casino
    >>> _, rolls = casino().sample(300, seed=0)
    >>> result = run_em(casino(), rolls, n_iter=5, monitor=EMMonitor(tol=0.0, guard=False))
    >>> len(result.history), bool(np.all(np.diff(result.history) > 0))
    (6, True)
    """
    params = "st" + model.PARAM_LETTERS if params is None else params  # type: ignore[attr-defined]
    monitor = EMMonitor(tol) if monitor is None else monitor
    if callable(data) and not isinstance(data, np.ndarray | list | tuple | ObservationBatch):
        if labels is not None:
            raise ValueError("labels cannot be given with a distributed E-step")
        e_step: Callable[[Any], Statistics] = data
    else:
        batch = data if isinstance(data, ObservationBatch) else model._as_batch(data)

        def e_step(current):
            return expected_statistics(current, batch.observations, batch.offsets, labels)

    trace = iterate_em(
        model,
        e_step,
        lambda current, stats: maximise(current, stats, params, prior, min_covar),
        n_iter=n_iter,
        monitor=monitor,
    )
    model, stats = trace.model, trace.statistics
    unused = (
        np.flatnonzero(stats.trans.sum(axis=1) == 0) if "t" in params and model.n_states > 1
        else np.zeros(0, dtype=np.int64)
    )  # fmt: skip
    if warn_unused and unused.size and _has_steps_after_first(stats):
        warn_unused_states(unused, model.n_states)
    return EMResult(model, trace.history, trace.converged, stats, unused)


class EMTrace(NamedTuple):
    """Outcome of :func:`iterate_em`.

    model: the last accepted model. history: (n + 1,) total log-likelihood of the starting
    model and after each accepted M-step. converged: the monitor's verdict at the end, or the
    guard stopped a decrease. statistics: the E-step statistics of ``model``.
    """

    model: Any
    history: np.ndarray
    converged: bool
    statistics: Any


def iterate_em(
    model,
    e_step: Callable[[Any], Any],
    m_step: Callable[[Any, Any], Any],
    *,
    n_iter: int,
    monitor,
) -> EMTrace:
    """The EM iteration of every fit in pirho (HMMs through :func:`run_em`, the semi-Markov
    model through :func:`pirho.hmm.semi_markov.semi_markov_em`): E-step, then up to
    ``n_iter`` times M-step → E-step, history, monitor, guard.

    e_step(model) -> statistics with a ``log_likelihood`` field: the total log-likelihood
        (a float) or per-sequence values (an array), summed here.
    m_step(model, statistics) -> the next model.
    monitor: ``_reset()``, ``report(log_prob)``, ``converged`` and optionally ``guard``
        (see :class:`EMMonitor`); a monitor serves one run, so it is reset first. The loop
        stops before an M-step when ``monitor.converged``; with ``guard`` a candidate whose
        log-likelihood is lower than the last accepted one is dropped and the run stops.

    The meaning of ``n_iter`` and ``history`` is docs/conventions.md's ("EM: n_iter, tol,
    history"): at most ``n_iter`` M-steps; ``history[0]`` is the starting model's.

    >>> def e_step(m):  # a toy "model": a number climbing towards 0 by halving its distance
    ...     return Statistics(np.zeros(1), np.zeros((1, 1)), {}, -abs(m))
    >>> trace = iterate_em(-8.0, e_step, lambda m, s: m / 2, n_iter=10, monitor=EMMonitor(1.0))
    >>> trace.history.tolist(), trace.converged
    ([-8.0, -4.0, -2.0, -1.0, -0.5], True)
    """
    monitor._reset()  # a monitor serves one run (hmmlearn's has the same method)
    stats = e_step(model)
    total = _total_log_likelihood(stats)
    history = [total]
    monitor.report(total)
    guard = bool(getattr(monitor, "guard", False))
    stopped = False
    for _ in range(n_iter):
        if monitor.converged:
            break
        candidate = m_step(model, stats)
        candidate_stats = e_step(candidate)
        total = _total_log_likelihood(candidate_stats)
        if guard and total < history[-1]:
            stopped = True  # keep the better model: see EMMonitor.guard
            break
        model, stats = candidate, candidate_stats
        history.append(total)
        monitor.report(total)
    return EMTrace(model, np.array(history), stopped or bool(monitor.converged), stats)


def _total_log_likelihood(stats) -> float:
    value = stats.log_likelihood
    return float(value) if np.ndim(value) == 0 else float(np.sum(value))


def warn_unused_states(unused: np.ndarray, n_states: int) -> None:
    """The RuntimeWarning of a fit that ends with states without expected transitions out of
    them (``unused``, state indices): their transition rows were kept, not re-estimated.
    Called by a fitting function, it points at the line that called that function.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_unused_states(np.array([2]), 3)
    >>> str(caught[0].message)[:50]
    'state(s) [2] have no expected transitions out of t'
    """
    warnings.warn(
        f"state(s) {np.asarray(unused).tolist()} have no expected transitions out of them: "
        "their transition rows kept their previous values (too few data for "
        f"{n_states} states?)",
        RuntimeWarning,
        stacklevel=3,
    )


def _has_steps_after_first(stats: Statistics) -> bool:
    """Whether the data had any transition at all (single-step sequences have none)."""
    return bool(stats.trans.sum() > 0)
