"""Shared math of the per-feature discrete families (Poisson counts, Bernoulli bits).

Given the state, the D features are independent, so a row's log-likelihood is a sum over its
observed features: a partially missing row is marginalised exactly (its NaN features drop
out), and the M-step averages each feature over the steps where it was observed.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "observed_parts",
    "feature_statistics",
    "log_factorial",
    "sum_log_terms",
]


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
    """log(x!) = lgamma(x + 1) of non-negative integer-valued floats, elementwise, computed
    once per distinct value (no table up to the largest count: 2**31 costs what 2 costs).

    >>> log_factorial(np.array([0.0, 1.0, 4.0])).round(4).tolist()
    [0.0, 0.0, 3.1781]
    """
    distinct, inverse = np.unique(values, return_inverse=True)
    table = np.array([math.lgamma(v + 1.0) for v in distinct.tolist()], dtype=np.float64)
    return table[inverse.reshape(values.shape)] if distinct.size else np.zeros(values.shape)


def feature_statistics(observations: np.ndarray, posterior: np.ndarray) -> dict:
    """``mass`` (K, D) Σ_t P(h_t = k | x) [x_td observed] and ``sums`` (K, D)
    Σ_t P(h_t = k | x) x_td: the additive statistics of a per-feature mean.

    >>> st = feature_statistics(np.array([[1.0], [3.0], [np.nan]]), np.ones((3, 1)))
    >>> st["mass"].tolist(), st["sums"].tolist()
    ([[2.0]], [[4.0]])
    """
    observed, values = observed_parts(observations)
    return {"mass": posterior.T @ observed, "sums": posterior.T @ values}
