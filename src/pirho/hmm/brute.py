"""Brute force: enumerate all K^T hidden paths. The reference the DP kernels are checked against.

P(X) = Σ over every path h_1..h_T of P(h_1) P(x_1|h_1) Π_t P(h_t|h_{t-1}) P(x_t|h_t). This module
computes that sum literally — one log joint probability per path, K^T of them — with no
recursion over messages, so it shares no logic with :mod:`pirho.hmm.kernels`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pirho import _checks
from pirho.hmm.families.categorical import CategoricalHMM
from pirho.hmm.validation import as_symbol_batch

__all__ = [
    "BruteForceResult",
    "brute_force",
    "DEFAULT_MAX_PATHS",
    "within_path_budget",
    "path_log_joint",
]

DEFAULT_MAX_PATHS = 2**22
"""Default path budget (4,194,304 paths ≈ 32 MiB per float array, well under a second)."""


@dataclass(frozen=True)
class BruteForceResult:
    """What enumerating every path gives.

    log_likelihood: log P(x) = log Σ_paths P(x, path).
    posterior: (T, K), P(h_t = k | x) = Σ_{paths with h_t = k} P(x, path) / P(x).
    best_path: (T,) int64, argmax_path P(x, path) (lowest index among exact ties).
    best_log_prob: log P(x, best_path).
    n_paths: K^T, the number of paths summed.
    n_dp_operations: T·K², the multiply-adds the forward recursion needs for the same sum.
    """

    log_likelihood: float
    posterior: np.ndarray
    best_path: np.ndarray
    best_log_prob: float
    n_paths: int
    n_dp_operations: int


def within_path_budget(n_states: int, n_steps: int, max_paths: int = DEFAULT_MAX_PATHS) -> bool:
    """Whether K^T = ``n_states ** n_steps`` paths fit in ``max_paths``, without forming K^T
    (at T = 10⁶ it has 300,000 digits).

    >>> within_path_budget(2, 22), within_path_budget(2, 23), within_path_budget(2, 10**6)
    (True, False, False)
    """
    if n_states <= 1:
        return max_paths >= 1
    if n_steps * math.log2(n_states) > math.log2(max_paths) + 1:
        return False
    return n_states**n_steps <= max_paths


def _log_joint(log_start, log_trans, log_lik) -> np.ndarray:
    n_steps, n_states = log_lik.shape
    # Paths in lexicographic order, last step fastest: path p's state at step t is
    # (p // K^(T-1-t)) % K, and its most recent state while growing is p % K.
    log_joint = log_start + log_lik[0]
    for t in range(1, n_steps):
        last = np.arange(log_joint.shape[0]) % n_states
        log_joint = (log_joint[:, None] + log_trans[last, :] + log_lik[t][None, :]).ravel()
    return log_joint


def path_log_joint(log_start, log_trans, log_lik, *, max_paths: int = DEFAULT_MAX_PATHS):
    """log P(x, h) for every one of the K^T paths h of one sequence, any emission family.

    log_start (K,), log_trans (K, K), log_lik (T, K) = log P(x_t | h_t = k). Returns
    (K^T,) float64 in lexicographic path order, last step fastest: path index p has
    h_t = (p // K^(T-1-t)) % K (``np.unravel_index(p, (K,) * T)``); −inf for a path of
    probability 0. Enumerated literally, one path at a time, with no message passing.
    ValueError above ``max_paths`` (default 2^22).

    >>> lj = path_log_joint(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                     np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.exp(lj).round(4).tolist()     # paths 00, 01, 10, 11
    [0.1125, 0.0225, 0.005, 0.036]
    """
    max_paths = _checks.check_int("max_paths", max_paths, minimum=1)
    arrays = [np.asarray(a, dtype=np.float64) for a in (log_start, log_trans, log_lik)]
    log_start, log_trans, log_lik = arrays
    n_states = log_start.shape[0]
    if log_start.ndim != 1 or log_trans.shape != (n_states, n_states):
        raise ValueError(
            f"log_start must be (K,) and log_trans (K, K), got {log_start.shape} and "
            f"{log_trans.shape}"
        )
    if log_lik.ndim != 2 or log_lik.shape[1] != n_states or log_lik.shape[0] == 0:
        raise ValueError(f"log_lik must have shape (T, {n_states}) with T ≥ 1, got {log_lik.shape}")
    if not within_path_budget(n_states, log_lik.shape[0], max_paths):
        raise ValueError(
            f"K^T = {n_states}^{log_lik.shape[0]} paths exceed the budget max_paths = {max_paths:,}"
        )
    return _log_joint(log_start, log_trans, log_lik)


def brute_force(model: CategoricalHMM, x, *, max_paths: int = DEFAULT_MAX_PATHS):
    """Enumerate all K^T state paths of one sequence ``x`` (T,) and sum/maximise over them.

    Refuses with ValueError when K^T exceeds ``max_paths`` (default 2^22) instead of running
    out of memory or time. Memory and time are O(K^T · T).

    >>> from pirho.hmm import casino
    >>> r = brute_force(casino(), [5, 5, 0])
    >>> r.n_paths, round(r.log_likelihood, 4), r.best_path.tolist()
    (8, -4.1959, [1, 1, 1])
    """
    if not isinstance(model, CategoricalHMM):
        raise TypeError(f"model must be a CategoricalHMM, got {type(model).__name__}")
    max_paths = _checks.check_int("max_paths", max_paths, minimum=1)
    symbols, offsets, batched = as_symbol_batch(x, model.n_symbols)
    if batched:
        raise ValueError("brute_force takes one sequence, not a list of sequences")
    n_states, n_steps = model.n_states, int(symbols.shape[0])
    if not within_path_budget(n_states, n_steps, max_paths):
        log10_paths = n_steps * math.log10(n_states)
        count = f"{n_states**n_steps:,}" if log10_paths < 18 else f"10^{log10_paths:.1f}"
        raise ValueError(
            f"brute force over K^T = {n_states}^{n_steps} ≈ {count} paths (K = {n_states}, "
            f"T = {n_steps}) exceeds the budget max_paths = {max_paths:,}; use the DP methods "
            "or pass a larger max_paths"
        )
    n_paths = n_states**n_steps
    with np.errstate(divide="ignore"):
        log_start, log_trans = np.log(model.start), np.log(model.trans)
        log_emit = np.log(model.emit)
    log_joint = _log_joint(log_start, log_trans, log_emit[:, symbols].T)
    finite = np.isfinite(log_joint)
    if finite.any():
        top = log_joint[finite].max()
        weights = np.where(finite, np.exp(log_joint - top), 0.0)
        total = weights.sum()
        log_likelihood = float(top + np.log(total))
        grid = weights.reshape((n_states,) * n_steps) / total
        posterior = np.stack(
            [grid.sum(axis=tuple(a for a in range(n_steps) if a != t)) for t in range(n_steps)]
        )
    else:
        log_likelihood = -np.inf
        posterior = np.full((n_steps, n_states), np.nan)
    best = int(np.argmax(log_joint))
    best_path = np.array(np.unravel_index(best, (n_states,) * n_steps), dtype=np.int64)
    return BruteForceResult(
        log_likelihood=log_likelihood,
        posterior=posterior,
        best_path=best_path,
        best_log_prob=float(log_joint[best]),
        n_paths=n_paths,
        n_dp_operations=n_steps * n_states * n_states,
    )
