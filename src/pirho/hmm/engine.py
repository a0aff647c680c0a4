"""The probability-space layer between the compiled recursions and every HMM front end.

**The row-gather idea.** A recursion needs, at each step t of a concatenated batch, the K
emission likelihoods P(x_t | h_t = k). Here they are handed over as a :class:`Likelihoods`
table plus a row index: step t reads ``table[rows[t]]``. A categorical model passes its
transposed emission matrix (M, K) as the table and the symbols as ``rows``, so no (T, K)
array is ever gathered; any other emission family (Gaussian, Poisson, …) computes a (N, K)
log-likelihood matrix and passes it through :meth:`Likelihoods.from_log`, with
``rows = arange(N)``. A missing observation is a row of ones (log-likelihood 0 in every
state): it constrains nothing.

Each table row may be scaled by a positive factor per step (``shift[t]`` is its log): every
result but the log-probabilities is invariant to that, and the functions here add the shifts
back to those. So a log-likelihood matrix whose rows span 1e-300 … 1 never underflows.

Batches are always concatenated: ``offsets`` (B + 1,) with sequence b on steps
``offsets[b]:offsets[b + 1]``. Inputs here are trusted (the public boundary checked them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from pirho._numba import announce_compilation
from pirho.hmm._compiled import recursions, smoothing

__all__ = [
    "Likelihoods",
    "ExpectedCounts",
    "ViterbiResult",
    "ViterbiBatch",
    "log_forward",
    "log_backward",
    "sequence_log_likelihoods",
    "filter_posterior",
    "smoothed_posterior",
    "fixed_lag_posterior",
    "best_paths",
    "expected_counts",
    "raise_if_impossible",
]


class Likelihoods(NamedTuple):
    """Emission likelihoods of a concatenated batch of N steps, read by row gather.

    table: (R, K) float64, ``P(x_t | h_t = k) = table[rows[t], k] · exp(shift[t])``.
    log_table: (R, K) float64, ``log P(x_t | h_t = k) = log_table[rows[t], k]`` (unshifted;
        Viterbi's max-plus recursion reads this one).
    rows: (N,) int64, the table row of each step.
    shift: (N,) float64 log scale factor per step, or None when the table is unscaled.
    """

    table: np.ndarray
    log_table: np.ndarray
    rows: np.ndarray
    shift: np.ndarray | None

    @classmethod
    def from_log(cls, log_lik: np.ndarray) -> Likelihoods:
        """From a (N, K) log-likelihood matrix: each row shifted by its maximum, so every
        step's best state has likelihood 1. An all −inf row (impossible step) gets shift 0.

        >>> lik = Likelihoods.from_log(np.log([[0.5, 0.25], [1e-300, 1e-301]]))
        >>> lik.table.round(3).tolist(), lik.rows.tolist()
        ([[1.0, 0.5], [1.0, 0.1]], [0, 1])
        """
        log_lik = np.ascontiguousarray(log_lik, dtype=np.float64)
        shift = log_lik.max(axis=1)
        shift[np.isneginf(shift)] = 0.0
        table = np.exp(log_lik - shift[:, None])
        return cls(table, log_lik, np.arange(log_lik.shape[0]), shift)


class ViterbiResult(NamedTuple):
    """Most probable state path of one sequence.

    path: (T,) int64, argmax over paths of P(x, path) (ties to the lowest state index).
    log_prob: log P(x, path) for that path.
    """

    path: np.ndarray
    log_prob: float


class ViterbiBatch(Sequence):
    """Viterbi results of a batch, list-like: item b (and iteration) is the
    :class:`ViterbiResult` of sequence b.

    paths: list of (T_b,) int64 best paths. log_probs: (B,) log P(x_b, path_b).
    The per-sequence named tuples are made when asked for, not up front.

    >>> batch = ViterbiBatch([np.array([0, 1]), np.array([1])], np.array([-1.5, -0.5]))
    >>> len(batch), batch[1], [r.log_prob for r in batch]
    (2, ViterbiResult(path=array([1]), log_prob=-0.5), [-1.5, -0.5])
    """

    __slots__ = ("paths", "log_probs")

    def __init__(self, paths: list[np.ndarray], log_probs: np.ndarray) -> None:
        self.paths = paths
        self.log_probs = log_probs

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ViterbiBatch(self.paths[index], self.log_probs[index])
        return ViterbiResult(self.paths[index], float(self.log_probs[index]))

    def __iter__(self):
        return map(ViterbiResult, self.paths, self.log_probs.tolist())

    def __repr__(self) -> str:
        return f"ViterbiBatch({list(self)!r})"


class ExpectedCounts(NamedTuple):
    """E-step statistics of a batch (what EM needs, whatever the emission family).

    posterior: (N, K), P(h_t = k | x_1..x_T) per step (zeros for an impossible sequence).
    trans_counts: (K, K), Σ_b Σ_t P(h_t = i, h_{t+1} = j | x_b).
    start_counts: (K,), Σ_b P(h_1 = k | x_b).
    log_likelihood: (B,), log P(x_b); −inf for an impossible sequence (it adds no counts).
    """

    posterior: np.ndarray
    trans_counts: np.ndarray
    start_counts: np.ndarray
    log_likelihood: np.ndarray


def raise_if_impossible(impossible: np.ndarray, batched: bool) -> None:
    """ValueError naming the first sequence flagged as having probability 0."""
    if impossible.any():
        b = int(np.flatnonzero(impossible)[0])
        which = f"sequence {b}" if batched else "the sequence"
        raise ValueError(f"{which} has probability 0 under the model (log-likelihood -inf)")


def _prefix_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarted at each sequence start."""
    total = np.cumsum(values)
    before = total[offsets[:-1]] - values[offsets[:-1]]
    return total - np.repeat(before, np.diff(offsets))


def _log_or_minus_inf(scaled: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """log(scaled) + log_scale per row, exactly −inf where ``scaled`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(scaled) + log_scale[:, None]
    out[scaled == 0.0] = -np.inf
    return out


def log_forward(start, trans, lik: Likelihoods, offsets) -> np.ndarray:
    """log π_t (N, K): ``log P(x_1..x_t, h_t = k)``; −inf where that probability is 0.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> alpha = log_forward(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]), lik,
    ...                     np.array([0, 2]))
    >>> np.exp(alpha).round(4).tolist()
    [[0.25, 0.05], [0.1175, 0.0585]]
    """
    announce_compilation(recursions.forward_filter)
    n_steps = lik.rows.shape[0]
    filt = np.empty((n_steps, start.shape[0]))
    log_prefix = np.empty(n_steps)
    recursions.forward_filter(start, trans, lik.table, lik.rows, offsets, filt, log_prefix, True)
    # log π_t(k) = log P(x_1..x_t) + log P(h_t = k | x_1..x_t)
    if lik.shift is not None:
        log_prefix += _prefix_sums(lik.shift, offsets)
    return _log_or_minus_inf(filt, log_prefix)


def log_backward(trans, lik: Likelihoods, offsets) -> np.ndarray:
    """log ρ_t (N, K): ``log P(x_{t+1}..x_T | h_t = k)``; the last row of each sequence is 0.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> beta = log_backward(np.array([[0.9, 0.1], [0.2, 0.8]]), lik, np.array([0, 2]))
    >>> np.exp(beta).round(4).tolist()
    [[0.54, 0.82], [1.0, 1.0]]
    """
    announce_compilation(recursions.backward_messages)
    n_steps = lik.rows.shape[0]
    beta = np.empty((n_steps, trans.shape[0]))
    log_scale = np.empty(n_steps)
    recursions.backward_messages(
        np.ascontiguousarray(trans.T), lik.table, lik.rows, offsets, beta, log_scale
    )
    log_beta = _log_or_minus_inf(beta, log_scale)
    if lik.shift is not None:
        # ρ_t covers steps t+1..T: add the shifts of those steps (total minus prefix through t).
        prefix = _prefix_sums(lik.shift, offsets)
        log_beta += (np.repeat(prefix[offsets[1:] - 1], np.diff(offsets)) - prefix)[:, None]
    log_beta[offsets[1:] - 1] = 0.0
    return log_beta


def sequence_log_likelihoods(start, trans, lik: Likelihoods, offsets) -> np.ndarray:
    """log P(x_b) per sequence (B,); −inf for an impossible one. O(K) memory.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> ll = sequence_log_likelihoods(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...                               lik, np.array([0, 2]))
    >>> np.exp(ll).round(4).tolist()
    [0.176]
    """
    announce_compilation(recursions.log_likelihood)
    out = recursions.log_likelihood(start, trans, lik.table, lik.rows, offsets)
    if lik.shift is not None:
        out = out + np.add.reduceat(lik.shift, offsets[:-1])
    return out


def filter_posterior(start, trans, lik: Likelihoods, offsets, batched: bool) -> np.ndarray:
    """P(h_t = k | x_1..x_t) (N, K); ValueError if a sequence has probability 0.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> filter_posterior(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]), lik,
    ...                  np.array([0, 2]), False).round(4).tolist()
    [[0.8333, 0.1667], [0.6676, 0.3324]]
    """
    announce_compilation(recursions.forward_filter)
    filt = np.empty((lik.rows.shape[0], start.shape[0]))
    impossible = recursions.forward_filter(
        start, trans, lik.table, lik.rows, offsets, filt, np.empty(0), False
    )
    raise_if_impossible(impossible, batched)
    return filt


def smoothed_posterior(
    start, trans, lik: Likelihoods, offsets, batched: bool, method: str = "auto"
) -> np.ndarray:
    """P(h_t = k | x_1..x_T) = π_t ρ_t / P(X), (N, K); ValueError if a sequence is impossible.

    ``method`` picks the algorithm ("auto" by default; the others exist for tests that check
    they agree): "paired" — two states and no entry below ``smoothing.PAIR_MIN``, two steps
    per link of the recursion; "lockstep" — a batch with K ≥ ``smoothing.LOCKSTEP_MIN_STATES``,
    sequences advanced together with one matrix product per step; "loop" — the rest.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> smoothed_posterior(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]), lik,
    ...                    np.array([0, 2]), False).round(4).tolist()
    [[0.767, 0.233], [0.6676, 0.3324]]
    """
    post = np.empty((lik.rows.shape[0], start.shape[0]))
    n_states = start.shape[0]
    if method == "auto":
        method = smoothing.choose_posterior_method(trans, lik.table, offsets.shape[0] - 1)
    # only the kernel about to run may compile: a cold one that is not used says nothing
    announce_compilation(
        {
            "paired": smoothing.posterior_two_state_paired,
            "lockstep": smoothing.posterior_lockstep,
        }.get(method, smoothing.posterior)
    )
    if method == "paired":  # no state is ever ruled out: every sequence is possible
        smoothing.posterior_two_state_paired(start, trans, lik.table, lik.rows, offsets, post)
        return post
    if method == "lockstep":
        order = np.argsort(-np.diff(offsets), kind="stable")
        impossible = smoothing.posterior_lockstep(
            start, trans, lik.table, lik.rows, offsets, order, post
        )
    else:
        trans_t = np.ascontiguousarray(trans.T)
        impossible = smoothing.posterior(start, trans, trans_t, lik.table, lik.rows, offsets, post)
    del n_states
    raise_if_impossible(impossible, batched)
    return post


def fixed_lag_posterior(
    start, trans, lik: Likelihoods, offsets, lag: int, batched: bool, method: str = "auto"
) -> np.ndarray:
    """P(h_t = k | x_1..x_{min(t+lag, T)}) (N, K); ValueError if a sequence is impossible.

    ``lag ≥ T − 1`` for every sequence is the smoothing posterior. ``method``: "window"
    (each step runs a backward pass over its own window, O(N·lag·K²)) or "blocks" (the window
    message factored through block pivots, O(N·K³)); "auto" takes "window" for lag ≤ 2K.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9], [0.5, 0.1]]))
    >>> fixed_lag_posterior(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]), lik,
    ...                     np.array([0, 3]), 1, False).round(4).tolist()
    [[0.767, 0.233], [0.8369, 0.1631], [0.9093, 0.0907]]
    """
    announce_compilation(smoothing.fixed_lag_window, smoothing.fixed_lag_blocks)
    if lag >= int(np.diff(offsets).max()) - 1:
        return smoothed_posterior(start, trans, lik, offsets, batched)
    post = np.empty((lik.rows.shape[0], start.shape[0]))
    if method == "auto":
        method = "window" if lag <= 2 * start.shape[0] else "blocks"
    if method == "window":
        impossible = smoothing.fixed_lag_window(
            start, trans, np.ascontiguousarray(trans.T), lik.table, lik.rows, offsets, lag, post
        )
    else:
        impossible = smoothing.fixed_lag_blocks(
            start, trans, lik.table, lik.rows, offsets, lag, post
        )
    raise_if_impossible(impossible, batched)
    return post


def best_paths(log_start, log_trans, lik: Likelihoods, offsets, batched: bool):
    """Viterbi over a batch: (paths (N,) int64 concatenated, log P(x_b, path_b) (B,)).

    ValueError if a sequence has probability 0.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> path, best = best_paths(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]), lik,
    ...                         np.array([0, 2]), False)
    >>> path.tolist(), np.exp(best).round(4).tolist()
    ([0, 0], [0.1125])
    """
    announce_compilation(recursions.viterbi)
    path = np.empty(lik.rows.shape[0], dtype=np.int64)
    n_states = log_start.shape[0]
    back = np.empty(
        (int(np.diff(offsets).max()), n_states), dtype=np.int8 if n_states <= 127 else np.int32
    )
    best, impossible = recursions.viterbi(
        log_start, log_trans, lik.log_table, lik.rows, offsets, path, back
    )
    raise_if_impossible(impossible, batched)
    return path, best


def expected_counts(start, trans, lik: Likelihoods, offsets) -> ExpectedCounts:
    """E-step statistics: posterior per step, summed transition and start counts, log P(x_b).

    No (N, K, K) array is built; an impossible sequence adds nothing and has −inf.

    >>> lik = Likelihoods.from_log(np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> c = expected_counts(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]), lik,
    ...                     np.array([0, 2]))
    >>> round(float(c.trans_counts.sum()), 6), c.posterior.round(4).tolist()
    (1.0, [[0.767, 0.233], [0.6676, 0.3324]])
    """
    announce_compilation(smoothing.expected_counts)
    post, trans_counts, start_counts, log_lik = smoothing.expected_counts(
        start, trans, np.ascontiguousarray(trans.T), lik.table, lik.rows, offsets
    )
    if lik.shift is not None:
        log_lik = log_lik + np.add.reduceat(lik.shift, offsets[:-1])
    return ExpectedCounts(post, trans_counts, start_counts, log_lik)
