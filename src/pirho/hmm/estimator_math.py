"""Pure emission math for :mod:`pirho.hmm.sklearn`: input checks, log-densities, k-means.

Arrays in, arrays out; the estimators call these after validating their parameters.
"""

from __future__ import annotations

import math

import numpy as np

from pirho.hmm.estimator_base import random_state_of

__all__ = [
    "float_rows",
    "full_covariances",
    "poisson_log_pmf",
    "bernoulli_log_pmf",
    "kmeans_plus_plus",
    "cluster_means",
    "cluster_labels",
]


def float_rows(X, n_features: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(X (N, D) float64 with missing rows set to 0, missing (N,) bool).

    A row that is all NaN is missing; a row with some NaN is an error (ValueError naming it).

    >>> X, missing = float_rows([[1.0], [float("nan")]], None)
    >>> X.tolist(), missing.tolist()
    ([[1.0], [0.0]], [False, True])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n_samples, n_features), got {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features per row, the model has {n_features}")
    if np.isfinite(X).all():  # the common case: one pass, no copy
        return X, np.zeros(X.shape[0], dtype=bool)
    nan = np.isnan(X)
    missing = nan.all(axis=1)
    partial = np.flatnonzero(nan.any(axis=1) & ~missing)
    if partial.size:
        raise ValueError(f"X row {int(partial[0])} is partly NaN: a missing row must be all NaN")
    if np.isinf(X).any():
        t = int(np.flatnonzero(np.isinf(X).any(axis=1))[0])
        raise ValueError(f"X row {t} holds an infinite value")
    X = X.copy()
    X[missing] = 0.0
    return X, missing


def full_covariances(covars: np.ndarray, covariance_type: str, n_states: int) -> np.ndarray:
    """(K, D, D) covariance matrices from diag-shaped (K, D) variances (spherical and diag
    types; a spherical state's D variances are equal), a tied (D, D) or full (K, D, D) array.

    >>> full_covariances(np.array([[1.0, 2.0]]), "diag", 1).tolist()
    [[[1.0, 0.0], [0.0, 2.0]]]
    """
    if covariance_type in ("spherical", "diag"):
        return np.stack([np.diag(row) for row in covars])
    if covariance_type == "tied":
        return np.repeat(covars[None], n_states, axis=0)
    return covars


def poisson_log_pmf(X: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """(N, K) Σ_d log Poisson(x_td; λ_kd) from counts X (N, D) and rates (K, D).

    >>> poisson_log_pmf(np.array([[2.0]]), np.array([[1.0]])).round(4)
    array([[-1.6931]])
    """
    values, inverse = np.unique(X, return_inverse=True)
    log_factorial = np.array([math.lgamma(v + 1.0) for v in values])[inverse.reshape(X.shape)]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rates = np.log(rates)
    terms = X @ np.where(np.isneginf(log_rates), 0.0, log_rates).T - rates.sum(axis=1)
    zero_rate_hit = (X > 0).astype(float) @ (rates == 0).T.astype(float) > 0
    out = terms - log_factorial.sum(axis=1)[:, None]
    out[zero_rate_hit] = -np.inf
    return out


def kmeans_plus_plus(X: np.ndarray, n_clusters: int, rng: np.random.RandomState, n_rounds=50):
    """Cluster centres (n_clusters, D): k-means++ seeding then Lloyd iterations."""
    centres = [X[rng.randint(X.shape[0])]]
    for _ in range(1, n_clusters):
        dist = np.min([((X - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = dist.sum()
        probs = dist / total if total > 0 else np.full(X.shape[0], 1.0 / X.shape[0])
        centres.append(X[rng.choice(X.shape[0], p=probs)])
    centres = np.array(centres)
    for _ in range(n_rounds):
        assign = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        updated = np.array(
            [X[assign == k].mean(axis=0) if (assign == k).any() else centres[k]
             for k in range(n_clusters)]
        )  # fmt: skip
        if np.allclose(updated, centres):
            break
        centres = updated
    return centres


def cluster_means(X: np.ndarray, n_clusters: int, random_state) -> np.ndarray:
    """(n_clusters, D) initial means: scikit-learn's KMeans(n_init=10) as hmmlearn uses, else
    :func:`kmeans_plus_plus` when scikit-learn is not installed."""
    try:
        from sklearn.cluster import KMeans  # optional extra: hmmlearn's exact initialisation
    except ImportError:  # pragma: no cover - exercised only without scikit-learn
        return kmeans_plus_plus(X, n_clusters, random_state_of(random_state))
    return (
        KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit(X).cluster_centers_
    )


def cluster_labels(X: np.ndarray, n_clusters: int, random_state) -> np.ndarray:
    """(N,) cluster of each row: scikit-learn's KMeans(n_init=10) when installed (hmmlearn's
    GMMHMM initialisation), else the nearest :func:`kmeans_plus_plus` centre."""
    try:
        from sklearn.cluster import KMeans  # optional extra
    except ImportError:  # pragma: no cover - exercised only without scikit-learn
        centres = kmeans_plus_plus(X, n_clusters, random_state_of(random_state))
        return np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    return KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit_predict(X)


def bernoulli_log_pmf(X: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(N, K) Σ_d [x_d log p_kd + (1 − x_d) log(1 − p_kd)] from binary X (N, D) and probs
    (K, D); a term whose probability is 0 makes the step impossible (−inf), and 0 · log 0 = 0.

    >>> bernoulli_log_pmf(np.array([[1.0, 0.0]]), np.array([[0.5, 0.0], [1.0, 1.0]])).round(4)
    array([[-0.6931,    -inf]])
    """
    out = np.zeros((X.shape[0], probs.shape[0]))
    for counted, p in ((X == 1, probs), (X == 0, 1.0 - probs)):
        counted = counted.astype(np.float64)
        with np.errstate(divide="ignore"):
            log_p = np.log(p)
        out += counted @ np.where(p > 0, log_p, 0.0).T
        out[counted @ (p == 0).T.astype(np.float64) > 0] = -np.inf
    return out
