"""Shared math of the per-feature discrete families (Poisson counts, Bernoulli bits).

Given the state, the D features are independent, so a row's log-likelihood is a sum over its
observed features: a partially missing row is marginalised exactly (its NaN features drop
out), and the M-step averages each feature over the steps where it was observed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["observed_parts", "weighted_feature_means", "log_factorial", "sum_log_terms"]


def observed_parts(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(observed (N, D) float 0/1, values (N, D) with NaN replaced by 0)``.

    >>> obs, val = observed_parts(np.array([[1.0, np.nan]]))
    >>> obs.tolist(), val.tolist()
    ([[1.0, 0.0]], [[1.0, 0.0]])
    """
    observed = ~np.isnan(observations)
    return observed.astype(np.float64), np.where(observed, observations, 0.0)


def sum_log_terms(weights: np.ndarray, log_values: np.ndarray) -> np.ndarray:
    """Σ_d weights[n, d] · log_values[k, d] → (N, K), with 0 · log 0 = 0 and w · log 0 = −inf
    for w > 0 (exact structural zeros, no NaN).

    >>> log_values = np.array([[-np.inf], [np.log(0.5)]])
    >>> sum_log_terms(np.array([[0.0], [2.0]]), log_values).round(4).tolist()
    [[0.0, 0.0], [-inf, -1.3863]]
    """
    with np.errstate(divide="ignore"):
        zero = np.isneginf(log_values)
    out = weights @ np.where(zero, 0.0, log_values).T
    if zero.any():
        out[((weights > 0) @ zero.T.astype(np.float64)) > 0] = -np.inf
    return out


def log_factorial(values: np.ndarray) -> np.ndarray:
    """log(x!) of non-negative integer-valued floats, elementwise (a cumulative log table).

    >>> log_factorial(np.array([0.0, 1.0, 4.0])).round(4).tolist()
    [0.0, 0.0, 3.1781]
    """
    top = int(values.max()) if values.size else 0
    table = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, top + 1, dtype=np.float64)))])
    return table[values.astype(np.int64)]


def weighted_feature_means(
    observations: np.ndarray, posterior: np.ndarray, old: np.ndarray
) -> np.ndarray:
    """Per state and feature, the posterior-weighted mean of the observed values (K, D); a
    (state, feature) with no weight keeps ``old``.

    >>> weighted_feature_means(np.array([[1.0], [3.0], [np.nan]]), np.ones((3, 1)),
    ...                        np.zeros((1, 1))).tolist()
    [[2.0]]
    """
    observed, values = observed_parts(observations)
    counts = posterior.T @ observed
    sums = posterior.T @ values
    return np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), old)
