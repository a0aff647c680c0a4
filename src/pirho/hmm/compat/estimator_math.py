"""Input checks and initialisation helpers of :mod:`pirho.hmm.sklearn` (the emission math is
the families' own, in :mod:`pirho.hmm.families`).

Arrays in, arrays out; the estimators call these after validating their parameters.
"""

from __future__ import annotations

import numpy as np

from pirho.hmm.compat.estimator_base import random_state_of
from pirho.hmm.families.observations import real_array
from pirho.hmm.fitting.init import kmeans

__all__ = [
    "float_rows",
    "full_covariances",
    "rows_for_clusters",
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
    X = real_array(X, "X")
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


def _generator(random_state) -> np.random.Generator:
    """A numpy Generator seeded from a RandomState / seed (scikit-learn-free fallback)."""
    return np.random.default_rng(random_state_of(random_state).randint(2**31 - 1))


def rows_for_clusters(data: np.ndarray, n_clusters: int, what: str) -> np.ndarray:
    """``data`` (the observed rows) if k-means can place ``n_clusters`` centres in it, else a
    ValueError in pirho's words (instead of scikit-learn's "n_samples=1 should be >=
    n_clusters=2" or "Found array with 0 sample(s)").

    >>> rows_for_clusters(np.zeros((1, 1)), 2, "means_")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X has 1 observed row(s), too few to initialise the means_ by k-means (need ...
    """
    if data.shape[0] == 0:
        raise ValueError("X has no observed rows (every row is missing): nothing to initialise "
                         f"the {what} from")  # fmt: skip
    if data.shape[0] < n_clusters:
        raise ValueError(
            f"X has {data.shape[0]} observed row(s), too few to initialise the {what} by "
            f"k-means (need at least {n_clusters}; give more data or fewer states)"
        )
    return data


def cluster_means(X: np.ndarray, n_clusters: int, random_state) -> np.ndarray:
    """(n_clusters, D) initial means: scikit-learn's KMeans(n_init=10) as hmmlearn uses, else
    pirho's k-means (:func:`pirho.hmm.fitting.init.kmeans`) when scikit-learn is not
    installed."""
    try:
        from sklearn.cluster import KMeans  # optional extra: hmmlearn's exact initialisation
    except ImportError:  # pragma: no cover - exercised only without scikit-learn
        return kmeans(X, n_clusters, _generator(random_state))[0]
    return (
        KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit(X).cluster_centers_
    )


def cluster_labels(X: np.ndarray, n_clusters: int, random_state) -> np.ndarray:
    """(N,) cluster of each row: scikit-learn's KMeans(n_init=10) when installed (hmmlearn's
    GMMHMM initialisation), else pirho's k-means labels."""
    try:
        from sklearn.cluster import KMeans  # optional extra
    except ImportError:  # pragma: no cover - exercised only without scikit-learn
        return kmeans(X, n_clusters, _generator(random_state))[1]
    return KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit_predict(X)
