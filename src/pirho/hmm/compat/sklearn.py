"""hmmlearn-compatible estimators over pirho's engine: switch by changing one import line.

``from hmmlearn import hmm`` → ``from pirho.hmm import sklearn as hmm``. The classes carry
hmmlearn 0.3.3's names, constructor arguments, fitted attributes and methods
(:class:`~pirho.hmm.compat.estimator_base.BaseHMMEstimator`), give the same numbers from the same
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

from pirho.hmm.compat.estimator_base import BaseHMMEstimator, ConvergenceMonitor, random_state_of
from pirho.hmm.compat.estimator_math import (
    cluster_means,
    float_rows,
    full_covariances,
    rows_for_clusters,
)
from pirho.hmm.compat.sklearn_gmm import GMMHMM
from pirho.hmm.families import bernoulli as _bernoulli
from pirho.hmm.families import categorical as _model
from pirho.hmm.families import gaussian as _gaussian
from pirho.hmm.families import multinomial as _multinomial
from pirho.hmm.families import poisson as _poisson
from pirho.hmm.priors import GammaPrior, GaussianPrior, check_concentration

__all__ = ["CategoricalHMM", "GaussianHMM", "GMMHMM", "PoissonHMM", "BernoulliHMM",
           "MultinomialHMM",
           "ConvergenceMonitor",
           "ESTIMATORS",
           "load_estimator"]  # fmt: skip

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


# -- estimators --------------------------------------------------------------------------------
class CategoricalHMM(BaseHMMEstimator):
    """HMM with categorical emissions, as ``hmmlearn.hmm.CategoricalHMM``.

    X: (n_samples, 1) integer symbols in [0, n_features); −1 = missing. Fitted:
    ``emissionprob_`` (n_components, n_features). ``params``/``init_params`` codes: s, t, e.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)  # symbols 0/1 in a first regime, 2/3 in a second
    >>> X = np.concatenate([rng.integers(0, 2, (30, 1)), rng.integers(2, 4, (30, 1))])
    >>> m = CategoricalHMM(n_components=2, n_iter=50, random_state=1).fit(X)
    >>> m.emissionprob_.round(1).tolist(), m.predict(X)[[0, -1]].tolist()
    ([[0.3, 0.7, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]], [0, 1])
    """

    _PARAM_CODES = "ste"
    _FITTED = ("startprob_", "transmat_", "emissionprob_")
    _PIRHO_CLASS = _model.CategoricalHMM
    _PIRHO_NAMES = {**BaseHMMEstimator._PIRHO_NAMES, "emit": "emissionprob_"}

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

    def _pirho_observations(self, symbols, missing):
        return symbols

    def _emission_kwargs(self):
        return {"emit": np.asarray(self.emissionprob_, dtype=np.float64)}

    def _set_emissions(self, model):
        self.emissionprob_ = np.array(model.emit)

    def _emission_prior(self):
        shape = (self.n_components, self.n_features)
        return check_concentration("emissionprob_prior", self.emissionprob_prior, shape)

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
        self.emissionprob_ = emit

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
    _PIRHO_CLASS = _gaussian.GaussianHMM
    _PIRHO_NAMES = {**BaseHMMEstimator._PIRHO_NAMES, "means": "means_", "covars": "covars_"}

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
        covars = np.array(covars, dtype=np.float64)
        if self.covariance_type == "spherical" and covars.ndim > 1 and covars.size == len(covars):
            covars = covars.reshape(-1)  # one variance per state, in any shape (as hmmlearn)
        self._covars_ = covars

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

    def _emission_kwargs(self):
        return {"means": np.asarray(self.means_, dtype=np.float64), "covars": self._covars_,
                "covariance_type": self.covariance_type}  # fmt: skip

    def _set_emissions(self, model):
        self.means_ = np.array(model.means)
        self._covars_ = np.array(model.covars)

    def _emission_prior(self):
        return GaussianPrior(self.means_prior, self.means_weight, self.covars_prior,
                             self.covars_weight)  # fmt: skip

    def _init_emissions(self, X, observed):
        data = X[observed]
        self.n_features = X.shape[1]
        if self._needs_init("m", "means_"):
            data = rows_for_clusters(
                data, self.n_components, f"means_ of {self.n_components} states"
            )
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
    _PIRHO_CLASS = _poisson.PoissonHMM
    _PIRHO_NAMES = {**BaseHMMEstimator._PIRHO_NAMES, "rates": "lambdas_"}

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

    def _emission_kwargs(self):
        return {"rates": np.asarray(self.lambdas_, dtype=np.float64)}

    def _set_emissions(self, model):
        self.lambdas_ = np.array(model.rates)

    def _emission_prior(self):
        return GammaPrior(self.lambdas_prior, self.lambdas_weight)

    def _init_emissions(self, X, observed):
        self.n_features = X.shape[1]
        if self._needs_init("l", "lambdas_"):
            data = rows_for_clusters(X[observed], 1, "lambdas_")
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
        self.lambdas_, self.n_features = rates, rates.shape[1]

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
    >>> X = np.array([[1, 1]] * 30 + [[0, 0]] * 30)  # two regimes, 10% of the bits flipped
    >>> X = np.where(np.random.default_rng(0).random(X.shape) < 0.1, 1 - X, X)
    >>> BernoulliHMM(2, random_state=0, n_iter=20).fit(X).emissionprob_.round(1).tolist()
    [[0.9, 0.8], [0.1, 0.1]]
    """

    _PARAM_CODES = "ste"
    _FITTED = ("startprob_", "transmat_", "emissionprob_")
    _PIRHO_CLASS = _bernoulli.BernoulliHMM
    _PIRHO_NAMES = {**BaseHMMEstimator._PIRHO_NAMES, "probs": "emissionprob_"}

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

    def _emission_kwargs(self):
        return {"probs": np.asarray(self.emissionprob_, dtype=np.float64)}

    def _set_emissions(self, model):
        self.emissionprob_ = np.array(model.probs)

    def _emission_prior(self):
        shape = (self.n_components, self.n_features)
        return check_concentration("emissionprob_prior", self.emissionprob_prior, shape)

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
        self.emissionprob_, self.n_features = probs, probs.shape[1]

    def _n_emission_params(self):
        return {"e": self.n_components * self.n_features}

    def _sample_emission(self, state, random_state):
        return (random_state.rand(self.n_features) < self.emissionprob_[state]).astype(float)


class MultinomialHMM(BaseHMMEstimator):
    """HMM with multinomial emissions (counts of D outcomes in n trials per step), as
    ``hmmlearn.hmm.MultinomialHMM`` 0.3 — hmmlearn's n-trial multinomial, not its pre-0.3
    categorical model (that is :class:`CategoricalHMM`).

    X: (n_samples, n_features) non-negative integer counts, each row summing to ``n_trials``
    (an int; None: taken from the first X, one total per row). Fitted: ``emissionprob_``
    (K, D). ``params``/``init_params`` codes: s, t, e. ``sample`` needs a single
    ``n_trials``.

    >>> import numpy as np
    >>> m = MultinomialHMM(2, n_trials=1, init_params="")
    >>> m.startprob_, m.transmat_ = np.array([0.6, 0.4]), np.array([[0.7, 0.3], [0.4, 0.6]])
    >>> m.emissionprob_ = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
    >>> m.predict(np.eye(3, dtype=int)).tolist()  # one trial = a categorical symbol
    [1, 0, 0]
    """

    _PARAM_CODES = "ste"
    _FITTED = ("startprob_", "transmat_", "emissionprob_")
    _PIRHO_CLASS = _multinomial.MultinomialHMM
    _PIRHO_NAMES = {**BaseHMMEstimator._PIRHO_NAMES, "probs": "emissionprob_"}

    def __init__(
        self,
        n_components: int = 1,
        n_trials=None,
        startprob_prior=1.0,
        transmat_prior=1.0,
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
        self.n_trials = n_trials

    def _validate_X(self, X):
        counts = np.asarray(X)
        if counts.ndim != 2 or counts.shape[0] == 0:
            raise ValueError(f"X must be a non-empty (n_samples, n_features) array, got "
                             f"{counts.shape}")  # fmt: skip
        if np.iscomplexobj(counts):
            raise TypeError("X holds complex numbers; counts must be real integers")
        known = getattr(self, "n_features", None)
        if hasattr(self, "emissionprob_"):
            known = np.atleast_2d(self.emissionprob_).shape[1]
        if known is not None and counts.shape[1] != known:
            raise ValueError(f"X has {counts.shape[1]} outcomes per row, the model has {known}")
        if not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
            bad = np.flatnonzero(((counts < 0) | (counts != np.round(counts))).any(axis=1))
            where = f" (row {int(bad[0])})" if bad.size else ""
            raise ValueError(f"X must hold non-negative integer counts{where}, got dtype "
                             f"{counts.dtype}")  # fmt: skip
        totals = counts.sum(axis=1)
        if self.n_trials is None:
            self.n_trials = totals
        elif not (totals == np.asarray(self.n_trials)).all():
            t = int(np.flatnonzero(totals != np.asarray(self.n_trials))[0])
            raise ValueError(f"X row {t} sums to {int(totals[t])}, not n_trials")
        self.n_features = counts.shape[1]
        return counts.astype(np.float64), np.zeros(counts.shape[0], dtype=bool)

    def _check_and_set_n_features(self, X) -> None:
        """hmmlearn's check of X (kept for code written against its internals)."""
        self._validate_X(X)

    def _emission_kwargs(self):
        trials = None if self.n_trials is None else np.unique(np.asarray(self.n_trials))
        single = int(trials[0]) if trials is not None and trials.size == 1 else None
        return {"probs": np.asarray(self.emissionprob_, dtype=np.float64), "n_trials": single}

    def _set_emissions(self, model):
        self.emissionprob_ = np.array(model.probs)

    def _emission_prior(self):
        return None  # hmmlearn's multinomial update has no emission prior

    def _init_emissions(self, X, observed):
        self.n_features = X.shape[1]
        if self._needs_init("e", "emissionprob_"):
            rs = random_state_of(self.random_state)
            emit = rs.rand(self.n_components, self.n_features)
            self.emissionprob_ = emit / emit.sum(axis=1, keepdims=True)

    def _check_emissions(self):
        emit = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        n_features = getattr(self, "n_features", None) or emit.shape[1]
        if emit.shape != (self.n_components, n_features):
            raise ValueError(
                f"emissionprob_ must have shape ({self.n_components}, {n_features}), "
                f"got {emit.shape}"
            )
        if self.n_trials is None:
            raise ValueError("n_trials must be set (an int, or rows' totals from X)")
        self.emissionprob_, self.n_features = emit, n_features

    def _n_emission_params(self):
        return {"e": self.n_components * (self.n_features - 1)}

    def _sample_emission(self, state, random_state):
        trials = None if self.n_trials is None else np.unique(np.asarray(self.n_trials))
        if trials is None or trials.size != 1:
            raise ValueError(f"sampling needs a single n_trials, got {self.n_trials!r}")
        return random_state.multinomial(int(trials[0]), self.emissionprob_[state])


ESTIMATORS = {
    cls.__name__: cls
    for cls in (CategoricalHMM, GaussianHMM, PoissonHMM, BernoulliHMM, GMMHMM, MultinomialHMM)
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
