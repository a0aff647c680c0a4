"""Data-driven starting values for EM: k-means++ centres and per-family initial parameters."""

from __future__ import annotations

import numpy as np

from pirho.hmm.families.bernoulli import BernoulliHMM
from pirho.hmm.families.categorical import CategoricalHMM
from pirho.hmm.families.gaussian import GaussianHMM
from pirho.hmm.families.gmm import GMMHMM
from pirho.hmm.families.multinomial import MultinomialHMM
from pirho.hmm.families.poisson import PoissonHMM

__all__ = [
    "kmeans_plus_plus",
    "kmeans",
    "sticky_transitions",
    "noisy_frequencies",
    "initial_model",
    "STARTERS",
    "PARAM_KEYS",
    "MAX_INIT_ROWS",
]

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


def sticky_transitions(
    n_states: int, rng: np.random.Generator, include_self: bool = False
) -> np.ndarray:
    """A random (K, K) transition matrix that stays put with probability ≥ a draw in
    [0.5, 0.95]: hidden states in sequence data are usually persistent, and EM from a switchy
    start crawls.

    include_self False: row i stays with exactly that probability and spreads the rest over
    the other states by Dirichlet(1) (``fit``'s starts). True: the rest is spread over all K
    states, itself included (``baum_welch``'s starts; the draws its seeds have always made).

    >>> t = sticky_transitions(3, np.random.default_rng(0))
    >>> bool(np.allclose(t.sum(axis=1), 1)), bool((np.diag(t) >= 0.5).all())
    (True, True)
    >>> t = sticky_transitions(3, np.random.default_rng(0), include_self=True)
    >>> bool(np.allclose(t.sum(axis=1), 1)), bool((np.diag(t) >= 0.5).all())
    (True, True)
    """
    if include_self:
        stay = rng.uniform(0.5, 0.95, size=(n_states, 1))
        return stay * np.eye(n_states) + (1 - stay) * rng.dirichlet(np.ones(n_states), n_states)
    if n_states == 1:
        return np.ones((1, 1))
    stay = rng.uniform(0.5, 0.95, size=(n_states, 1))
    off = rng.dirichlet(np.ones(n_states - 1), n_states)
    trans = np.zeros((n_states, n_states))
    for i in range(n_states):
        trans[i, np.arange(n_states) != i] = (1 - stay[i]) * off[i]
        trans[i, i] = stay[i, 0]
    return trans


def _complete_rows(observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows = observations[~np.isnan(observations).any(axis=1)]
    if rows.shape[0] == 0:
        raise ValueError("x has no complete observation to initialise the model from")
    if rows.shape[0] > MAX_INIT_ROWS:
        rows = rows[rng.choice(rows.shape[0], MAX_INIT_ROWS, replace=False)]
    return rows


def _data_covariance(points: np.ndarray, min_covar: float) -> np.ndarray:
    n_features = points.shape[1]
    if points.shape[0] < 2:
        return np.eye(n_features)
    return np.atleast_2d(np.cov(points.T)) + max(min_covar, 1e-6) * np.eye(n_features)


def _shaped_covars(cov: np.ndarray, covariance_type: str, lead: tuple[int, ...], tied_lead):
    """The data covariance ``cov`` (D, D) repeated into a type's ``covars`` shape."""
    diag = np.diag(cov)
    return {
        "full": np.broadcast_to(cov, (*lead, *cov.shape)).copy(),
        "tied": np.broadcast_to(cov, (*tied_lead, *cov.shape)).copy(),
        "diag": np.broadcast_to(diag, (*lead, diag.shape[0])).copy(),
        "spherical": np.full(lead, diag.mean()),
    }[covariance_type]


def _gaussian_start(points, n_states, rng, options, min_covar) -> dict:
    """k-means++ / Lloyd centres as means; the data covariance (+ floor) for every state."""
    covariance_type = options["covariance_type"]
    means = kmeans(points, n_states, rng)[0]
    covars = _shaped_covars(_data_covariance(points, min_covar), covariance_type, (n_states,), ())
    return {"means": means, "covars": covars, "covariance_type": covariance_type}


def _gmm_start(points, n_states, rng, options, min_covar) -> dict:
    """k-means into K clusters, then k-means into M inside each (all points if a cluster is
    too small); uniform weights; the data covariance for every component."""
    covariance_type, n_mix = options["covariance_type"], options["n_mix"]
    _, labels = kmeans(points, n_states, rng)
    means = np.empty((n_states, n_mix, points.shape[1]))
    for k in range(n_states):
        members = points[labels == k]
        means[k] = kmeans(members if members.shape[0] >= n_mix else points, n_mix, rng)[0]
    covars = _shaped_covars(
        _data_covariance(points, min_covar), covariance_type, (n_states, n_mix), (n_states,)
    )
    return {
        "weights": np.full((n_states, n_mix), 1.0 / n_mix),
        "means": means,
        "covars": covars,
        "covariance_type": covariance_type,
    }


def _poisson_start(points, n_states, rng, options, min_covar) -> dict:
    """k-means++ / Lloyd centres of the counts as rates (at least 1e-3)."""
    return {"rates": np.maximum(kmeans(points, n_states, rng)[0], 1e-3)}


def _bernoulli_start(points, n_states, rng, options, min_covar) -> dict:
    """k-means++ / Lloyd centres of the bits as probabilities, kept inside [0.01, 0.99]."""
    return {"probs": np.clip(kmeans(points, n_states, rng)[0], 0.01, 0.99)}


def noisy_frequencies(freq: np.ndarray, n_states: int, rng: np.random.Generator) -> np.ndarray:
    """(K, M) emission rows: the symbol frequencies ``freq`` (M,) (+ 1e-3) times independent
    Gamma(1) noise per entry, renormalised — states start distinct but plausible.

    >>> e = noisy_frequencies(np.array([0.5, 0.5]), 3, np.random.default_rng(0))
    >>> e.shape, bool(np.allclose(e.sum(axis=1), 1))
    ((3, 2), True)
    """
    emit = (freq + 1e-3) * rng.gamma(1.0, size=(n_states, freq.shape[0]))
    return emit / emit.sum(axis=1, keepdims=True)


def _multinomial_start(points, n_states, rng, options, min_covar) -> dict:
    """The data's outcome frequencies with Gamma(1) noise (:func:`noisy_frequencies`)."""
    totals = points.sum(axis=0)
    return {"probs": noisy_frequencies(totals / max(totals.sum(), 1.0), n_states, rng)}


def _categorical_start(symbols, n_states, rng, options, min_covar) -> dict:
    """The data's symbol frequencies with Gamma(1) noise (:func:`noisy_frequencies`)."""
    freq = np.bincount(symbols[symbols >= 0], minlength=options["n_symbols"]) / max(
        int((symbols >= 0).sum()), 1
    )
    return {"emit": noisy_frequencies(freq, n_states, rng)}


STARTERS = {  # family → (points, K, rng, options, min_covar) -> emission keyword arguments
    GaussianHMM: _gaussian_start,
    GMMHMM: _gmm_start,
    PoissonHMM: _poisson_start,
    BernoulliHMM: _bernoulli_start,
    MultinomialHMM: _multinomial_start,
    CategoricalHMM: _categorical_start,
}
PARAM_KEYS = {  # family → {hmmlearn letter: constructor argument}
    GaussianHMM: {"m": "means", "c": "covars"},
    GMMHMM: {"w": "weights", "m": "means", "c": "covars"},
    PoissonHMM: {"l": "rates"},
    BernoulliHMM: {"e": "probs"},
    MultinomialHMM: {"e": "probs"},
    CategoricalHMM: {"e": "emit"},
}


def initial_model(
    model_class: type,
    observations: np.ndarray,
    n_states: int,
    rng: np.random.Generator,
    options: dict,
    init=None,
    init_params: str = "",
    min_covar: float = 1e-3,
):
    """A starting model for EM: the parameters whose letters are in ``init_params`` drawn from
    the data, the others taken from ``init`` (a model of ``model_class``, or None when every
    letter is drawn).

    observations: (N, D) floats (NaN = missing) or (N,) symbols (−1 = missing), validated.
    options: ``covariance_type`` (Gaussian families), ``n_mix`` (GMM), ``n_symbols``
    (categorical). Draws: uniform start (``s``), :func:`sticky_transitions` (``t``), the
    family's :data:`STARTERS` entry for its emission letters.

    >>> x = np.concatenate([np.zeros((50, 1)), np.full((50, 1), 8.0)])
    >>> m = initial_model(PoissonHMM, x, 2, np.random.default_rng(0), {}, init_params="stl")
    >>> sorted(m.rates.ravel().round(3).tolist())
    [0.001, 8.0]
    """
    if "s" in init_params:
        start = np.full(n_states, 1.0 / n_states)
    else:
        start = init.start
    trans = sticky_transitions(n_states, rng) if "t" in init_params else init.trans
    keys = PARAM_KEYS[model_class]
    drawn_keys = {keys[c] for c in init_params if c in keys}
    emission = dict(init._emission_params()) if init is not None else {}
    if drawn_keys:
        points = (
            observations if model_class is CategoricalHMM else _complete_rows(observations, rng)
        )
        drawn = STARTERS[model_class](points, n_states, rng, options, min_covar)
        # Shape options (covariance_type) come with the draw only when there is no init.
        emission.update({k: v for k, v in drawn.items() if k in drawn_keys or init is None})
    return model_class(start, trans, **emission)
