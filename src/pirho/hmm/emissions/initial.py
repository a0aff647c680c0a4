"""Data-driven starting values for EM: k-means++ centres and per-family initial parameters."""

from __future__ import annotations

import numpy as np

__all__ = ["kmeans_plus_plus", "kmeans", "sticky_transitions", "MAX_INIT_ROWS"]

MAX_INIT_ROWS = 20_000  # k-means sees at most this many complete rows (a random subset)


def kmeans_plus_plus(points: np.ndarray, n_centres: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): (n_centres, D) rows of ``points``.

    The first centre is uniform; each next one is drawn with probability proportional to the
    squared distance to the nearest centre so far. With fewer distinct points than centres the
    remaining draws are uniform (duplicates).

    >>> pts = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> sorted(np.round(kmeans_plus_plus(pts, 2, np.random.default_rng(0)).ravel()).tolist())
    [0.0, 10.0]
    """
    centres = np.empty((n_centres, points.shape[1]))
    centres[0] = points[rng.integers(points.shape[0])]
    nearest = ((points - centres[0]) ** 2).sum(axis=1)
    for c in range(1, n_centres):
        total = nearest.sum()
        if total > 0:
            index = int(np.searchsorted(np.cumsum(nearest), rng.random() * total, side="right"))
            index = min(index, points.shape[0] - 1)
        else:
            index = int(rng.integers(points.shape[0]))
        centres[c] = points[index]
        nearest = np.minimum(nearest, ((points - centres[c]) ** 2).sum(axis=1))
    return centres


def kmeans(
    points: np.ndarray, n_centres: int, rng: np.random.Generator, n_iter: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ seeding then ``n_iter`` Lloyd iterations: (centres (C, D), labels (P,)).

    A cluster that empties keeps its previous centre.

    >>> pts = np.array([[0.0], [0.2], [10.0], [10.2]])
    >>> centres, labels = kmeans(pts, 2, np.random.default_rng(0))
    >>> sorted(centres.ravel().round(2).tolist())
    [0.1, 10.1]
    """
    centres = kmeans_plus_plus(points, n_centres, rng)
    labels = np.zeros(points.shape[0], dtype=np.int64)
    for _ in range(n_iter):
        distances = (
            (points * points).sum(axis=1)[:, None]
            - 2.0 * points @ centres.T
            + (centres * centres).sum(axis=1)[None, :]
        )
        labels = distances.argmin(axis=1)
        counts = np.bincount(labels, minlength=n_centres)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, points)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres, labels


def sticky_transitions(n_states: int, rng: np.random.Generator) -> np.ndarray:
    """A random (K, K) transition matrix that stays put with probability in [0.5, 0.95] and
    spreads the rest by Dirichlet(1): hidden states in sequence data are usually persistent,
    and EM from a switchy start crawls.

    >>> t = sticky_transitions(3, np.random.default_rng(0))
    >>> bool(np.allclose(t.sum(axis=1), 1)), bool((np.diag(t) >= 0.5).all())
    (True, True)
    """
    if n_states == 1:
        return np.ones((1, 1))
    stay = rng.uniform(0.5, 0.95, size=(n_states, 1))
    off = rng.dirichlet(np.ones(n_states - 1), n_states)
    trans = np.zeros((n_states, n_states))
    for i in range(n_states):
        trans[i, np.arange(n_states) != i] = (1 - stay[i]) * off[i]
        trans[i, i] = stay[i, 0]
    return trans
