"""hmmlearn-compatible estimators over pirho's engine: switch by changing one import line.

``from hmmlearn import hmm`` → ``from pirho.hmm import sklearn as hmm``. The classes carry
hmmlearn 0.3.3's names, constructor arguments, fitted attributes and methods
(:class:`~pirho.hmm.estimator_base.BaseHMMEstimator`), give the same numbers from the same
parameters, and add semi-supervised ``fit(X, lengths, y)``, ``predict_proba(..., lag=L)`` and
missing observations (a NaN row; the symbol −1 for :class:`CategoricalHMM`).

scikit-learn is optional: with it the estimators are ``sklearn.base.BaseEstimator`` subclasses
(``clone``, ``GridSearchCV``), and :class:`GaussianHMM` initialises its means with
``sklearn.cluster.KMeans`` exactly as hmmlearn does; without it a k-means++ of pirho's own.

>>> import numpy as np
>>> from pirho.hmm import sklearn as hmm
>>> model = hmm.GaussianHMM(n_components=2, covariance_type="diag", init_params="")
>>> model.startprob_ = np.array([0.6, 0.4])
>>> model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
>>> model.means_ = np.array([[0.0], [5.0]])
>>> model.covars_ = np.array([[1.0], [1.0]])
>>> X = np.array([[0.1], [0.2], [5.1], [4.9]])
>>> model.predict(X).tolist()
[0, 0, 1, 1]
>>> round(model.score(X), 4)
-6.8527
"""

from __future__ import annotations

import math

import numpy as np

from pirho.hmm.emissions.covariance import components, log_density
from pirho.hmm.estimator_base import BaseHMMEstimator, ConvergenceMonitor, Stats, random_state_of

__all__ = ["CategoricalHMM", "GaussianHMM", "PoissonHMM", "ConvergenceMonitor", "ESTIMATORS",
           "load_estimator"]  # fmt: skip

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


# -- pure emission math ------------------------------------------------------------------------
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


def _cluster_means(X: np.ndarray, n_clusters: int, random_state) -> np.ndarray:
    try:
        from sklearn.cluster import KMeans  # optional extra: hmmlearn's exact initialisation
    except ImportError:  # pragma: no cover - exercised only without scikit-learn
        return kmeans_plus_plus(X, n_clusters, random_state_of(random_state))
    return (
        KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit(X).cluster_centers_
    )


# -- estimators --------------------------------------------------------------------------------
class CategoricalHMM(BaseHMMEstimator):
    """HMM with categorical emissions, as ``hmmlearn.hmm.CategoricalHMM``.

    X: (n_samples, 1) integer symbols in [0, n_features); −1 = missing. Fitted:
    ``emissionprob_`` (n_components, n_features). ``params``/``init_params`` codes: s, t, e.

    >>> import numpy as np
    >>> m = CategoricalHMM(n_components=2, n_iter=5, random_state=0).fit([[0], [1], [1], [2]])
    >>> m.emissionprob_.shape, len(m.monitor_.history) <= 5
    ((2, 3), True)
    """

    _PARAM_CODES = "ste"
    _FITTED = ("startprob_", "transmat_", "emissionprob_")

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        *,
        emissionprob_prior=1.0,
        n_features: int | None = None,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "log",
    ) -> None:
        super().__init__(
            n_components, startprob_prior, transmat_prior, algorithm, random_state, n_iter,
            tol, verbose, params, init_params, implementation,
        )  # fmt: skip
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    def _validate_X(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != 1 or X.shape[0] == 0:
            raise ValueError(f"X must have shape (n_samples, 1) of integer symbols, got {X.shape}")
        if not np.issubdtype(X.dtype, np.integer):
            raise ValueError(f"X must hold integer symbols (-1 = missing), got dtype {X.dtype}")
        symbols = X[:, 0].astype(np.int64)
        bad = np.flatnonzero(symbols < -1)
        if self.n_features is not None:
            bad = np.flatnonzero((symbols < -1) | (symbols >= self.n_features))
        if bad.size:
            t = int(bad[0])
            upper = "" if self.n_features is None else f", {self.n_features}"
            raise ValueError(
                f"symbol {int(symbols[t])} at row {t} is outside [0{upper}) and not -1"
            )
        return symbols, symbols == -1

    def _log_emission(self, symbols):
        with np.errstate(divide="ignore"):
            return np.log(self.emissionprob_.T[symbols])

    def _init_emissions(self, symbols, observed):
        if self.n_features is None:
            self.n_features = int(symbols.max()) + 1
        if self._needs_init("e", "emissionprob_"):
            rs = random_state_of(self.random_state)
            emit = rs.rand(self.n_components, self.n_features)
            self.emissionprob_ = emit / emit.sum(axis=1, keepdims=True)

    def _check_emissions(self):
        emit = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        if self.n_features is None:
            self.n_features = emit.shape[1]
        if emit.shape != (self.n_components, self.n_features):
            raise ValueError(
                f"emissionprob_ must have shape ({self.n_components}, {self.n_features}), "
                f"got {emit.shape}"
            )
        if (emit < 0).any() or not np.allclose(emit.sum(axis=1), 1.0):
            raise ValueError("emissionprob_ rows must be non-negative and sum to 1")
        self.emissionprob_ = emit

    def _emission_stats(self, symbols, weights):
        observed = symbols >= 0
        obs = np.stack(
            [np.bincount(symbols[observed], weights=weights[observed, k],
                         minlength=self.n_features) for k in range(self.n_components)]
        )  # fmt: skip
        return {"obs": obs}

    def _emission_mstep(self, stats: Stats):
        if "e" in self.params:
            emit = np.maximum(np.asarray(self.emissionprob_prior) - 1 + stats["obs"], 0)
            total = emit.sum(axis=1, keepdims=True)
            self.emissionprob_ = emit / np.where(total == 0, 1.0, total)

    def _n_emission_params(self):
        return {"e": self.n_components * (self.n_features - 1)}

    def _sample_emission(self, state, random_state):
        cdf = np.cumsum(self.emissionprob_[state])
        return [int((cdf > random_state.rand()).argmax())]


class GaussianHMM(BaseHMMEstimator):
    """HMM with Gaussian emissions, as ``hmmlearn.hmm.GaussianHMM``.

    X: (n_samples, n_features) floats; an all-NaN row is missing. Fitted: ``means_`` (K, D),
    ``covars_`` — read as (K, D, D) full matrices whatever the type, set in the compact shape
    of ``covariance_type``: spherical (K,), diag (K, D), full (K, D, D), tied (D, D) (hmmlearn's
    convention). ``params``/``init_params`` codes: s, t, m, c.

    >>> import numpy as np
    >>> X = np.concatenate([np.zeros((20, 1)), np.full((20, 1), 5.0)])
    >>> X = X + np.random.default_rng(0).normal(0, 0.1, X.shape)
    >>> m = GaussianHMM(n_components=2, random_state=0, n_iter=20).fit(X)
    >>> sorted(abs(m.means_.ravel().round(0)).tolist())
    [0.0, 5.0]
    """

    _PARAM_CODES = "stmc"
    _FITTED = ("startprob_", "transmat_", "means_", "_covars_")

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        startprob_prior=1.0,
        transmat_prior=1.0,
        means_prior=0,
        means_weight=0,
        covars_prior=1e-2,
        covars_weight=1,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
    ) -> None:
        super().__init__(
            n_components, startprob_prior, transmat_prior, algorithm, random_state, n_iter,
            tol, verbose, params, init_params, implementation,
        )  # fmt: skip
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    @property
    def covars_(self) -> np.ndarray:
        """(K, D, D) covariance matrices (set in the compact shape of ``covariance_type``)."""
        return full_covariances(self._diag_or_compact(), self.covariance_type, self.n_components)

    @covars_.setter
    def covars_(self, covars) -> None:
        self._covars_ = np.array(covars, dtype=np.float64)

    def _diag_or_compact(self) -> np.ndarray:
        covars = self._covars_
        if self.covariance_type == "spherical":
            return np.repeat(covars.reshape(-1, 1), np.asarray(self.means_).shape[1], axis=1)
        return covars

    def _check_hyper(self):
        super()._check_hyper()
        from pirho._checks import check_choice, check_float

        check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES)
        check_float("min_covar", self.min_covar, minimum=0.0)

    def _validate_X(self, X):
        n_features = np.asarray(self.means_).shape[1] if hasattr(self, "means_") else None
        return float_rows(X, n_features)

    def _log_emission(self, X):
        compact = self._covars_ if self.covariance_type != "tied" else self._covars_[None]
        covariance_type = "full" if self.covariance_type == "tied" else self.covariance_type
        if covariance_type == "full" and compact.shape[0] != self.n_components:
            compact = np.repeat(compact, self.n_components, axis=0)
        return log_density(X, components(np.asarray(self.means_), compact, covariance_type))

    def _init_emissions(self, X, observed):
        data = X[observed]
        self.n_features = X.shape[1]
        if self._needs_init("m", "means_"):
            self.means_ = _cluster_means(data, self.n_components, self.random_state)
        if self._needs_init("c", "_covars_"):
            cv = np.atleast_2d(np.cov(data.T)) + self.min_covar * np.eye(X.shape[1])
            n = self.n_components
            self._covars_ = {
                "spherical": np.full(n, cv.mean()),
                "diag": np.tile(np.diag(cv), (n, 1)),
                "full": np.tile(cv, (n, 1, 1)),
                "tied": cv,
            }[self.covariance_type]

    def _check_emissions(self):
        from pirho._checks import check_choice

        check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES)
        means = np.atleast_2d(np.asarray(self.means_, dtype=np.float64))
        n, d = self.n_components, means.shape[1]
        if means.shape[0] != n:
            raise ValueError(f"means_ must have shape ({n}, D), got {means.shape}")
        self.means_, self.n_features = means, d
        covars = np.asarray(self._covars_, dtype=np.float64)
        expected = {"spherical": (n,), "diag": (n, d), "full": (n, d, d), "tied": (d, d)}
        want = expected[self.covariance_type]
        if covars.shape != want:
            raise ValueError(
                f"covars_ for covariance_type={self.covariance_type!r} must have shape {want}, "
                f"got {covars.shape}"
            )
        for k, cov in enumerate(self.covars_):
            if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() <= 0:
                raise ValueError(f"covars_ of state {k} is not symmetric positive definite")

    def _emission_stats(self, X, weights):
        stats = {"post": weights.sum(axis=0), "obs": weights.T @ X}
        if self.covariance_type in ("spherical", "diag"):
            stats["obs**2"] = weights.T @ X**2
        else:
            stats["obs*obs.T"] = np.einsum("nk,nd,ne->kde", weights, X, X)
        return stats

    def _emission_mstep(self, stats: Stats):
        denom = stats["post"][:, None]
        prior, weight = self.means_prior, self.means_weight
        if "m" in self.params:
            self.means_ = (weight * prior + stats["obs"]) / (weight + denom)
        if "c" not in self.params:
            return
        means = self.means_
        meandiff = means - prior
        if self.covariance_type in ("spherical", "diag"):
            c_n = weight * meandiff**2 + stats["obs**2"] - 2 * means * stats["obs"]
            c_n = c_n + means**2 * denom
            c_d = max(self.covars_weight - 1, 0) + denom
            covars = (self.covars_prior + c_n) / np.maximum(c_d, 1e-5)
            self._covars_ = covars.mean(axis=1) if self.covariance_type == "spherical" else covars
            return
        obs_mean = np.einsum("kd,ke->kde", stats["obs"], means)
        c_n = (
            weight * np.einsum("kd,ke->kde", meandiff, meandiff)
            + stats["obs*obs.T"]
            - obs_mean
            - obs_mean.transpose(0, 2, 1)
            + np.einsum("kd,ke->kde", means, means) * stats["post"][:, None, None]
        )
        cv_weight = max(self.covars_weight - self.n_features, 0)
        if self.covariance_type == "tied":
            self._covars_ = (self.covars_prior + c_n.sum(axis=0)) / (
                cv_weight + stats["post"].sum()
            )
        else:
            self._covars_ = (self.covars_prior + c_n) / (cv_weight + stats["post"][:, None, None])

    def _n_emission_params(self):
        n, d = self.n_components, self.n_features
        covar_count = {
            "spherical": n, "diag": n * d, "full": n * d * (d + 1) // 2, "tied": d * (d + 1) // 2,
        }[self.covariance_type]  # fmt: skip
        return {"m": n * d, "c": covar_count}

    def _sample_emission(self, state, random_state):
        return random_state.multivariate_normal(self.means_[state], self.covars_[state])


class PoissonHMM(BaseHMMEstimator):
    """HMM with independent Poisson emissions per feature, as ``hmmlearn.hmm.PoissonHMM``.

    X: (n_samples, n_features) non-negative integer counts (any numeric dtype); an all-NaN row
    is missing. Fitted: ``lambdas_`` (K, D). ``params``/``init_params`` codes: s, t, l.

    >>> import numpy as np
    >>> X = np.array([[0], [1], [0], [9], [11], [10]])
    >>> m = PoissonHMM(n_components=2, random_state=0, n_iter=30).fit(X)
    >>> sorted(m.lambdas_.ravel().round(1).tolist())
    [0.3, 10.0]
    """

    _PARAM_CODES = "stl"
    _FITTED = ("startprob_", "transmat_", "lambdas_")

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        lambdas_prior=0.0,
        lambdas_weight=0.0,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stl",
        init_params: str = "stl",
        implementation: str = "log",
    ) -> None:
        super().__init__(
            n_components, startprob_prior, transmat_prior, algorithm, random_state, n_iter,
            tol, verbose, params, init_params, implementation,
        )  # fmt: skip
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight

    def _validate_X(self, X):
        n_features = np.asarray(self.lambdas_).shape[1] if hasattr(self, "lambdas_") else None
        X, missing = float_rows(X, n_features)
        bad = np.flatnonzero(((X < 0) | (X != np.round(X))).any(axis=1))
        if bad.size:
            t = int(bad[0])
            raise ValueError(f"X row {t} = {X[t].tolist()} is not non-negative integer counts")
        return X, missing

    def _log_emission(self, X):
        return poisson_log_pmf(X, np.asarray(self.lambdas_))

    def _init_emissions(self, X, observed):
        self.n_features = X.shape[1]
        if self._needs_init("l", "lambdas_"):
            data = X[observed]
            mean, var = data.mean(), data.var()
            rs = random_state_of(self.random_state)
            self.lambdas_ = rs.gamma(
                shape=mean**2 / var, scale=var / mean, size=(self.n_components, X.shape[1])
            )

    def _check_emissions(self):
        rates = np.atleast_2d(np.asarray(self.lambdas_, dtype=np.float64))
        if rates.shape[0] != self.n_components:
            raise ValueError(
                f"lambdas_ must have shape ({self.n_components}, D), got {rates.shape}"
            )
        if not np.isfinite(rates).all() or (rates < 0).any():
            raise ValueError("lambdas_ must be finite and non-negative")
        self.lambdas_, self.n_features = rates, rates.shape[1]

    def _emission_stats(self, X, weights):
        return {"post": weights.sum(axis=0), "obs": weights.T @ X}

    def _emission_mstep(self, stats: Stats):
        if "l" in self.params:
            # hmmlearn 0.3.3's Gamma-prior update, n being the total posterior mass.
            n = stats["post"].sum()
            y_bar = stats["obs"] / stats["post"][:, None]
            self.lambdas_ = (self.lambdas_prior + n * y_bar) / (self.lambdas_weight + n)

    def _n_emission_params(self):
        return {"l": self.n_components * self.n_features}

    def _sample_emission(self, state, random_state):
        return random_state.poisson(self.lambdas_[state])


ESTIMATORS = {cls.__name__: cls for cls in (CategoricalHMM, GaussianHMM, PoissonHMM)}
"""Estimator class name → class, for :func:`load_estimator`."""


def load_estimator(document: dict) -> BaseHMMEstimator:
    """The estimator a ``to_dict()`` document describes, whatever its class.

    >>> m = PoissonHMM(1, init_params="")
    >>> m.startprob_, m.transmat_, m.lambdas_ = [1.0], [[1.0]], [[2.0]]
    >>> load_estimator(m.to_dict()).lambdas_.tolist()
    [[2.0]]
    """
    name = document.get("estimator") if isinstance(document, dict) else None
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; expected one of {sorted(ESTIMATORS)}")
    return ESTIMATORS[name].from_dict(document)
