"""``GMMHMM`` for :mod:`pirho.hmm.sklearn`: hmmlearn 0.3.3's mixture-of-Gaussians estimator."""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho.hmm.compat.estimator_base import BaseHMMEstimator, random_state_of
from pirho.hmm.compat.estimator_math import (
    cluster_labels,
    cluster_means,
    float_rows,
    rows_for_clusters,
)
from pirho.hmm.families import gmm as _gmm
from pirho.hmm.priors import GMMPrior, check_concentration

__all__ = ["GMMHMM"]

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


class GMMHMM(BaseHMMEstimator):
    """HMM whose state emissions are mixtures of ``n_mix`` Gaussians, as ``hmmlearn.hmm.GMMHMM``.

    Fitted: ``weights_`` (K, M), ``means_`` (K, M, D), ``covars_`` in hmmlearn's GMM shapes:
    spherical (K, M), diag (K, M, D), full (K, M, D, D), tied (K, D, D) (one matrix per state).
    Priors default as hmmlearn's (``covars_prior``/``covars_weight`` None → per-type values);
    the EM update is hmmlearn 0.3.3's (covariance statistics centred on the current means).
    ``aic``/``bic`` count the weights as hmmlearn does (M − 1 in total). Codes: s, t, m, c, w.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-5, 1, (60, 1)), rng.normal(5, 1, (60, 1))])
    >>> model = GMMHMM(2, n_mix=2, random_state=0, n_iter=10).fit(X)
    >>> np.sort(model.means_.mean(axis=1).ravel()).round(0).tolist()  # one state per regime
    [-5.0, 5.0]
    """

    _PARAM_CODES = "stmcw"
    _FITTED = ("startprob_", "transmat_", "weights_", "means_", "covars_")
    _PIRHO_CLASS = _gmm.GMMHMM
    _PIRHO_NAMES = {**BaseHMMEstimator._PIRHO_NAMES, "weights": "weights_", "means": "means_",
                    "covars": "covars_"}  # fmt: skip

    def __init__(
        self,
        n_components: int = 1,
        n_mix: int = 1,
        min_covar: float = 1e-3,
        startprob_prior=1.0,
        transmat_prior=1.0,
        weights_prior=1.0,
        means_prior=0.0,
        means_weight=0.0,
        covars_prior=None,
        covars_weight=None,
        algorithm: str = "viterbi",
        covariance_type: str = "diag",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmcw",
        init_params: str = "stmcw",
        implementation: str = "log",
    ) -> None:
        super().__init__(
            n_components, startprob_prior, transmat_prior, algorithm, random_state, n_iter,
            tol, verbose, params, init_params, implementation,
        )  # fmt: skip
        self.n_mix = n_mix
        self.min_covar = min_covar
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.covariance_type = covariance_type

    def _check_hyper(self):
        super()._check_hyper()
        _checks.check_positive_int("n_mix", self.n_mix)
        _checks.check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES)

    def _emission_prior(self) -> GMMPrior:
        """The priors broadcast to their shapes, per-type defaults filled in (hmmlearn's)."""
        nc, nm, nf = self.n_components, self.n_mix, self.n_features
        defaults = {  # (covars_prior, covars_weight) when None
            "full": (0.0, -(1.0 + nf + 1.0)),
            "tied": (0.0, -(nm + nf + 1.0)),
            "diag": (-1.5, 0.0),
            "spherical": (-(nm + 2.0) / 2.0, 0.0),
        }[self.covariance_type]
        prior = defaults[0] if self.covars_prior is None else self.covars_prior
        weight = defaults[1] if self.covars_weight is None else self.covars_weight
        shapes = {
            "full": ((nc, nm, nf, nf), (nc, nm)),
            "tied": ((nc, nf, nf), (nc,)),
            "diag": ((nc, nm, nf), (nc, nm, nf)),
            "spherical": ((nc, nm), (nc, nm)),
        }[self.covariance_type]
        return GMMPrior(
            weights=check_concentration("weights_prior", self.weights_prior, (nc, nm)).copy(),
            means=np.broadcast_to(self.means_prior, (nc, nm, nf)).astype(float),
            means_weight=np.broadcast_to(self.means_weight, (nc, nm)).astype(float),
            covars=np.broadcast_to(prior, shapes[0]).astype(float),
            covars_weight=np.broadcast_to(weight, shapes[1]).astype(float),
        )

    def _validate_X(self, X):
        known = np.asarray(self.means_).shape[2] if hasattr(self, "means_") else None
        return float_rows(X, known)

    def _emission_kwargs(self):
        return {"weights": np.asarray(self.weights_, dtype=np.float64),
                "means": np.asarray(self.means_, dtype=np.float64),
                "covars": np.asarray(self.covars_, dtype=np.float64),
                "covariance_type": self.covariance_type}  # fmt: skip

    def _set_emissions(self, model):
        self.weights_ = np.array(model.weights)
        self.means_ = np.array(model.means)
        self.covars_ = np.array(model.covars)

    def _init_emissions(self, X, observed):
        data = X[observed]
        nc, nm, nf = self.n_components, self.n_mix, X.shape[1]
        self.n_features = nf
        if set(self.init_params) & set("mc") or not hasattr(self, "means_"):
            data = rows_for_clusters(data, 1, "means_ and covars_")
        cv = np.atleast_2d(np.cov(data.T)) + self.min_covar * np.eye(nf)
        if self._needs_init("w", "weights_"):
            self.weights_ = np.full((nc, nm), 1.0 / nm)
        if self._needs_init("m", "means_"):
            data = rows_for_clusters(data, nc, f"means_ of {nc} states")
            labels = cluster_labels(data, nc, self.random_state)
            centre = np.mean([data[labels == k].mean(axis=0) for k in range(nc)], axis=0)
            rs = random_state_of(self.random_state)
            self.means_ = np.stack(
                [cluster_means(data[labels == k], nm, self.random_state)
                 if (labels == k).sum() >= nm else rs.multivariate_normal(centre, cv, size=nm)
                 for k in range(nc)]
            )  # fmt: skip
        if self._needs_init("c", "covars_"):
            self.covars_ = {
                "tied": np.tile(cv, (nc, 1, 1)),
                "full": np.tile(cv, (nc, nm, 1, 1)),
                "diag": np.tile(np.diag(cv), (nc, nm, 1)),
                "spherical": np.full((nc, nm), cv.mean()),
            }[self.covariance_type]

    def _check_emissions(self):
        _checks.check_choice("covariance_type", self.covariance_type, COVARIANCE_TYPES)
        nc, nm = self.n_components, self.n_mix
        weights = np.asarray(self.weights_, dtype=np.float64)
        means = np.asarray(self.means_, dtype=np.float64)
        if weights.shape != (nc, nm) or not np.allclose(weights.sum(axis=1), 1.0):
            raise ValueError(f"weights_ must have shape ({nc}, {nm}) with rows summing to 1")
        if means.ndim != 3 or means.shape[:2] != (nc, nm):
            raise ValueError(f"means_ must have shape ({nc}, {nm}, D), got {means.shape}")
        nf = means.shape[2]
        want = {"spherical": (nc, nm), "diag": (nc, nm, nf), "full": (nc, nm, nf, nf),
                "tied": (nc, nf, nf)}[self.covariance_type]  # fmt: skip
        covars = np.asarray(self.covars_, dtype=np.float64)
        if covars.shape != want:
            raise ValueError(
                f"covars_ for covariance_type={self.covariance_type!r} must have shape {want}, "
                f"got {covars.shape}"
            )
        self.weights_, self.means_, self.covars_, self.n_features = weights, means, covars, nf

    def _n_emission_params(self):
        nc, nm, nf = self.n_components, self.n_mix, self.n_features
        covar_count = {"spherical": nc * nm, "diag": nc * nm * nf,
                       "full": nc * nm * nf * (nf + 1) // 2,
                       "tied": nc * nf * (nf + 1) // 2}[self.covariance_type]  # fmt: skip
        return {"m": nc * nm * nf, "c": covar_count, "w": nm - 1}

    def _sample_emission(self, state, random_state):
        component = random_state.choice(self.n_mix, p=self.weights_[state])
        covars = np.asarray(self.covars_)
        if self.covariance_type == "tied":
            cov = covars[state]
        elif self.covariance_type == "full":
            cov = covars[state, component]
        elif self.covariance_type == "diag":
            cov = np.diag(covars[state, component])
        else:
            cov = covars[state, component] * np.eye(self.n_features)
        return random_state.multivariate_normal(self.means_[state, component], cov)
