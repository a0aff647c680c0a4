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

import numpy as np

from pirho.hmm.emissions.covariance import components, log_density
from pirho.hmm.estimator_base import BaseHMMEstimator, ConvergenceMonitor, Stats, random_state_of
from pirho.hmm.estimator_math import (
    bernoulli_log_pmf,
    cluster_means,
    float_rows,
    full_covariances,
    poisson_log_pmf,
)
from pirho.hmm.sklearn_gmm import GMMHMM

__all__ = ["CategoricalHMM", "GaussianHMM", "GMMHMM", "PoissonHMM", "BernoulliHMM",
           "ConvergenceMonitor",
           "ESTIMATORS",
           "load_estimator"]  # fmt: skip

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


def weighted_sums(X: np.ndarray, weights: np.ndarray) -> Stats:
    """``post`` (K,) Σ_t w_tk and ``obs`` (K, D) Σ_t w_tk x_t: the statistics of any family
    whose M-step is a weighted mean (Poisson rates, Bernoulli probabilities)."""
    return {"post": weights.sum(axis=0), "obs": weights.T @ X}


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
            self.means_ = cluster_means(data, self.n_components, self.random_state)
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
        return weighted_sums(X, weights)

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


class BernoulliHMM(BaseHMMEstimator):
    """HMM with independent binary features per state (hmmlearn 0.3.3 has no such class; it
    follows the same conventions).

    X: (n_samples, n_features) of 0/1; an all-NaN row is missing. Fitted: ``emissionprob_``
    (K, D) = P(x_d = 1 | h = k). ``params``/``init_params`` codes: s, t, e. The emission
    update is the posterior-weighted frequency of ones, smoothed by ``emissionprob_prior``
    (a Beta(a, a) prior: a − 1 pseudo-ones and pseudo-zeros per entry; 1 = none).

    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 1], [1, 1], [0, 0]])
    >>> m = BernoulliHMM(2, random_state=0, n_iter=20).fit(X)
    >>> m.emissionprob_.shape
    (2, 2)
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

    def _validate_X(self, X):
        known = np.asarray(self.emissionprob_).shape[1] if hasattr(self, "emissionprob_") else None
        X, missing = float_rows(X, known)
        bad = np.flatnonzero(((X != 0) & (X != 1)).any(axis=1))
        if bad.size:
            t = int(bad[0])
            raise ValueError(f"X row {t} = {X[t].tolist()} is not binary (0 or 1)")
        return X, missing

    def _log_emission(self, X):
        return bernoulli_log_pmf(X, self.emissionprob_)

    def _init_emissions(self, X, observed):
        self.n_features = X.shape[1]
        if self._needs_init("e", "emissionprob_"):
            rs = random_state_of(self.random_state)
            self.emissionprob_ = rs.rand(self.n_components, X.shape[1])

    def _check_emissions(self):
        probs = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        if probs.shape[0] != self.n_components:
            raise ValueError(
                f"emissionprob_ must have shape ({self.n_components}, D), got {probs.shape}"
            )
        if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
            raise ValueError("emissionprob_ entries must lie in [0, 1]")
        self.emissionprob_, self.n_features = probs, probs.shape[1]

    def _emission_stats(self, X, weights):
        return weighted_sums(X, weights)

    def _emission_mstep(self, stats: Stats):
        if "e" in self.params:
            extra = np.asarray(self.emissionprob_prior) - 1.0
            denom = stats["post"][:, None] + 2 * extra
            self.emissionprob_ = (stats["obs"] + extra) / np.where(denom > 0, denom, 1.0)

    def _n_emission_params(self):
        return {"e": self.n_components * self.n_features}

    def _sample_emission(self, state, random_state):
        return (random_state.rand(self.n_features) < self.emissionprob_[state]).astype(float)


ESTIMATORS = {
    cls.__name__: cls for cls in (CategoricalHMM, GaussianHMM, PoissonHMM, BernoulliHMM, GMMHMM)
}
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
