"""``GMMHMM``: a mixture of M Gaussians per state."""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho.hmm.families.covariance import (
    COVARIANCE_TYPES,
    check_covars,
    components,
    log_density,
    repair_covariances,
)
from pirho.hmm.families.family import VectorEmissionHMM, check_matrix
from pirho.hmm.families.gaussian import (
    covariance_parameter_count,
    normal_m_step,
    shifted_statistics,
)
from pirho.hmm.priors import GMMPrior
from pirho.hmm.validation import check_distribution

__all__ = ["GMMHMM", "mixture_log_likelihood"]


def mixture_log_likelihood(
    component_log_density: np.ndarray, log_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """From log N_km(x_t) (N, K, M) and log w_km (K, M): ``(log Σ_m w_km N_km(x_t) (N, K),
    responsibilities P(m | x_t, h_t = k) (N, K, M))``; a state where every component has
    probability 0 gets −inf and zero responsibilities.

    >>> ll, resp = mixture_log_likelihood(np.log([[[0.5, 0.25]]]), np.log([[0.5, 0.5]]))
    >>> round(float(np.exp(ll[0, 0])), 4), resp.round(4).tolist()
    (0.375, [[[0.6667, 0.3333]]])
    """
    joint = component_log_density + log_weights[None]
    top = joint.max(axis=2, keepdims=True)
    top = np.where(np.isneginf(top), 0.0, top)
    scaled = np.exp(joint - top)
    total = scaled.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore"):
        log_total = np.log(total) + top
    resp = scaled / np.where(total > 0, total, 1.0)
    return log_total[:, :, 0], resp


class GMMHMM(VectorEmissionHMM):
    """Hidden Markov model whose emission in state k is a mixture of M Gaussians.

    - ``start`` (K,), ``trans`` (K, K): as in :class:`~pirho.hmm.base.HiddenMarkovModel`;
    - ``weights`` (K, M): mixture weights, rows sum to 1;
    - ``means`` (K, M, D);
    - ``covars`` in hmmlearn's GMMHMM shapes: "full" (K, M, D, D), "diag" (K, M, D),
      "spherical" (K, M), "tied" (K, D, D) — one matrix per state shared by its components.

    ``x`` as for :class:`~pirho.hmm.families.gaussian.GaussianHMM`: NaN rows are missing;
    partially missing rows are marginalised for "diag" and "spherical" only.

    >>> m = GMMHMM([1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [1.0, 0.0]],
    ...            [[[-3.0], [3.0]], [[0.0], [0.0]]], [[1.0, 1.0], [1.0, 1.0]], "spherical")
    >>> m.posterior([3.0, 0.0]).round(3).tolist()
    [[1.0, 0.0], [0.011, 0.989]]
    """

    FORMAT = "pirho.GMMHMM"
    EMISSION_KEYS = ("weights", "means", "covars", "covariance_type")
    PARAM_LETTERS = "wmc"

    def __init__(self, start, trans, weights, means, covars, covariance_type: str = "full"):
        super().__init__(start, trans)
        self._covariance_type = _checks.check_choice(
            "covariance_type", covariance_type, COVARIANCE_TYPES
        )
        weights = check_distribution("weights", weights, ndim=2)
        if weights.shape[0] != self.n_states:
            raise ValueError(
                f"weights must have shape (K, M) with K = {self.n_states}, got {weights.shape}"
            )
        n_mix = weights.shape[1]
        shape = np.shape(means)
        if len(shape) != 3:
            raise ValueError(f"means must have shape (K, M, D), got {shape}")
        self._weights = weights
        self._means = check_matrix("means", means, (self.n_states, n_mix, shape[2]))
        self._covars = check_covars(covars, covariance_type, self.n_states, shape[2], n_mix)
        self._components = components(self._means, self._covars, covariance_type)
        with np.errstate(divide="ignore"):
            self._log_weights = np.log(weights)

    @property
    def weights(self) -> np.ndarray:
        """(K, M) mixture weights, read-only."""
        return self._weights

    @property
    def means(self) -> np.ndarray:
        """(K, M, D) component means, read-only."""
        return self._means

    @property
    def covars(self) -> np.ndarray:
        """Component covariances in the shape of ``covariance_type``, read-only."""
        return self._covars

    @property
    def covariance_type(self) -> str:
        """ "full", "diag", "spherical" or "tied"."""
        return self._covariance_type

    @property
    def n_mix(self) -> int:
        """M, the number of mixture components per state."""
        return int(self._weights.shape[1])

    @property
    def n_features(self) -> int:
        """D, the dimension of one observation."""
        return int(self._means.shape[2])

    def _marginalises_partial(self) -> bool:
        return self._covariance_type in ("diag", "spherical")

    def _partial_note(self) -> str:
        return f"covariance_type={self._covariance_type!r} needs complete rows or all-NaN rows"

    def _mixture(self, observations: np.ndarray):
        dens = log_density(observations, self._components)
        return mixture_log_likelihood(
            dens.reshape(-1, self.n_states, self.n_mix), self._log_weights
        )

    def _log_emission(self, observations: np.ndarray) -> np.ndarray:
        return self._mixture(observations)[0]

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cum = np.cumsum(self._weights, axis=1)
        u = rng.random(states.shape[0]) * cum[states, -1]
        mix = (u[:, None] >= cum[states]).sum(axis=1).clip(max=self.n_mix - 1)
        flat = states * self.n_mix + mix
        comp = self._components
        noise = rng.standard_normal((states.shape[0], self.n_features))
        if comp.diagonal:
            return comp.means[flat] + np.sqrt(comp.variances[flat]) * noise
        chol = np.linalg.inv(comp.precision_chol)
        return comp.means[flat] + np.einsum("tij,tj->ti", chol[flat], noise)

    def _emission_params(self) -> dict:
        return {
            "weights": self._weights.tolist(),
            "means": self._means.tolist(),
            "covars": self._covars.tolist(),
            "covariance_type": self._covariance_type,
        }

    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """:func:`~pirho.hmm.families.gaussian.shifted_statistics` of the joint posterior
        P(h_t = k, m | x) (N, K·M) about the current component means."""
        n_states, n_mix, n_features = self._means.shape
        missing = np.isnan(observations).all(axis=1)
        _, resp = self._mixture(observations)
        joint = np.where(missing[:, None, None], 0.0, posterior[:, :, None] * resp)
        return shifted_statistics(
            observations, joint.reshape(-1, n_states * n_mix),
            np.asarray(self._means).reshape(-1, n_features),
            self._covariance_type in ("diag", "spherical"),
        )  # fmt: skip

    def emission_m_step(
        self, stats: dict, params: str, prior: GMMPrior | None = None, min_covar: float = 1e-3
    ) -> dict:
        """New ``weights`` (``w``), ``means`` (``m``), ``covars`` (``c``) from the statistics.

        prior None: maximum likelihood (weights = each component's share of its state's
        posterior mass; covariances floored at ``min_covar``); a
        :class:`~pirho.hmm.priors.GMMPrior`: hmmlearn 0.3.3's MAP update.
        """
        n_states, n_mix, n_features = self._means.shape
        if prior is not None:
            return _hmmlearn_gmm_step(self, stats, params, prior, min_covar)
        mass = stats["weight"].reshape(n_states, n_mix)
        weights = np.array(self._weights)
        if "w" in params:
            state_mass = mass.sum(axis=1, keepdims=True)
            weights = np.where(
                state_mass > 0, mass / np.where(state_mass > 0, state_mass, 1), weights
            )
        tied = self._covariance_type == "tied"
        covars = np.array(self._covars)
        flat_covars = covars if tied else covars.reshape(n_states * n_mix, *covars.shape[2:])
        means, new_covars = normal_m_step(
            stats, np.asarray(self._means).reshape(-1, n_features), flat_covars,
            self._covariance_type, "m" in params, "c" in params, min_covar, n_groups=n_states,
        )  # fmt: skip
        return {
            "weights": weights,
            "means": means.reshape(n_states, n_mix, n_features),
            "covars": new_covars.reshape(covars.shape),
            "covariance_type": self._covariance_type,
        }

    def n_emission_parameters(self) -> int:
        """K·(M − 1) weights (nonzero ones), K·M·D means and the covariance parameters.

        >>> GMMHMM([1.0], [[1.0]], [[0.5, 0.5]], [[[0.0], [1.0]]], [[1.0, 1.0]],
        ...        "spherical").n_emission_parameters()
        5
        """
        n_states, n_mix, n_features = self._means.shape
        weights = int((np.count_nonzero(self._weights, axis=1) - 1).sum())
        return (
            weights
            + n_states * n_mix * n_features
            + covariance_parameter_count(
                self._covariance_type, n_states, n_features, n_mix, mixture=True
            )
        )


def _hmmlearn_gmm_step(
    model: GMMHMM, stats: dict, params: str, prior: GMMPrior, min_covar: float
) -> dict:
    """hmmlearn 0.3.3's GMMHMM M-step under its prior, from the moments about the current
    means (hmmlearn's covariance statistics are taken about those, not the new means)."""
    n_states, n_mix, n_features = model._means.shape
    covariance_type = model._covariance_type
    shift = np.asarray(model._means)
    post = stats["weight"].reshape(n_states, n_mix)  # Σ_t P(h_t = k, m | x)
    sums = stats["sums"].reshape(n_states, n_mix, n_features)
    weights, means = np.array(model._weights), shift
    if "w" in params:
        alphas = prior.weights - 1
        weights = (post + alphas) / (post.sum(axis=1) + alphas.sum(axis=1))[:, None]
    if "m" in params:
        m_n = sums + post[:, :, None] * shift + prior.means_weight[:, :, None] * prior.means
        m_d = post + prior.means_weight
        m_d[(weights == 0) & (m_n == 0).all(axis=-1)] = 1
        means = m_n / m_d[:, :, None]
    if "c" not in params:
        return {"weights": weights, "means": means, "covars": np.array(model._covars),
                "covariance_type": covariance_type}  # fmt: skip
    lambdas, centred = prior.means_weight, means - prior.means
    alphas, betas = prior.covars, prior.covars_weight
    if covariance_type == "full":
        c_stat = stats["scatter"].reshape(n_states, n_mix, n_features, n_features)
        c_n = np.swapaxes(alphas, 2, 3) + lambdas[:, :, None, None] * np.einsum(
            "kmd,kme->kmde", centred, centred
        )
        c_d = (post + 1 + betas + n_features + 1)[:, :, None, None]
    elif covariance_type == "diag":
        c_stat = stats["squares"].reshape(n_states, n_mix, n_features)
        c_n = lambdas[:, :, None] * centred**2 + 2 * betas
        c_d = post[:, :, None] + 1 + 2 * (alphas + 1)
    elif covariance_type == "spherical":
        c_stat = stats["squares"].reshape(n_states, n_mix, n_features).sum(axis=2)
        c_n = lambdas * np.einsum("kmd,kmd->km", centred, centred) + 2 * betas
        c_d = n_features * (post + 1) + 2 * (alphas + 1)
    else:
        c_stat = stats["scatter"].reshape(n_states, n_mix, n_features, n_features).sum(axis=1)
        c_n = np.einsum("km,kmd,kme->kde", lambdas, centred, centred) + np.swapaxes(alphas, 1, 2)
        c_d = (post.sum(axis=1) + n_mix + betas + n_features + 1)[:, None, None]
    covars = repair_covariances((c_n + c_stat) / c_d, covariance_type in ("diag", "spherical"),
                                min_covar)  # fmt: skip
    return {"weights": weights, "means": means, "covars": covars,
            "covariance_type": covariance_type}  # fmt: skip
