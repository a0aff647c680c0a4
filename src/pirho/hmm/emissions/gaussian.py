"""``GaussianHMM``: one multivariate normal per state, four covariance parameterisations."""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho.hmm.emissions.covariance import (
    COVARIANCE_TYPES,
    check_covars,
    components,
    floor_covariances,
    log_density,
)
from pirho.hmm.emissions.family import VectorEmissionHMM, check_matrix

__all__ = ["GaussianHMM", "gaussian_m_step", "covariance_parameter_count"]


def covariance_parameter_count(
    covariance_type: str, n_states: int, n_features: int, n_mix: int = 1, mixture: bool = False
) -> int:
    """Free covariance parameters: spherical 1, diag D, full D(D+1)/2 per component; tied
    D(D+1)/2 once (Gaussian) or once per state (mixture).

    >>> covariance_parameter_count("full", 2, 3), covariance_parameter_count("tied", 2, 3)
    (12, 6)
    """
    n_comp = n_states * n_mix
    per_matrix = n_features * (n_features + 1) // 2
    return {
        "spherical": n_comp,
        "diag": n_comp * n_features,
        "full": n_comp * per_matrix,
        "tied": (n_states if mixture else 1) * per_matrix,
    }[covariance_type]


def weighted_scatter(x: np.ndarray, weights: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Σ_t w_tc (x_t − μ_c)(x_t − μ_c)ᵀ for every column c of ``weights`` (N, C): (C, D, D).

    ``x`` (N, D) has no NaN (missing rows carry weight 0); ``means`` (C, D) need not be the
    weighted means (frozen means).

    >>> weighted_scatter(np.array([[1.0], [3.0]]), np.ones((2, 1)), np.array([[2.0]])).tolist()
    [[[2.0]]]
    """
    out = np.empty((weights.shape[1], x.shape[1], x.shape[1]))
    for c in range(weights.shape[1]):  # one (D, N) @ (N, D) product per component
        centred = x - means[c]
        out[c] = (centred * weights[:, c : c + 1]).T @ centred
    return out


def gaussian_m_step(
    observations: np.ndarray,
    posterior: np.ndarray,
    means: np.ndarray,
    covars: np.ndarray,
    covariance_type: str,
    update_means: bool,
    update_covars: bool,
    min_covar: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood (means (K, D), covars) given the state posterior (N, K).

    NaN entries are skipped (per feature for diag/spherical; full/tied rows are complete or
    entirely missing). A state with no posterior weight keeps its parameters. Covariances are
    floored at ``min_covar`` (variances / eigenvalues). Frozen means enter the covariance as
    they are.

    >>> x = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> post = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    >>> mu, var = gaussian_m_step(x, post, np.zeros((2, 1)), np.ones((2, 1)), "diag",
    ...                           True, True, 1e-3)
    >>> mu.ravel().tolist(), var.ravel().tolist()
    ([1.0, 11.0], [1.0, 1.0])
    """
    nan = np.isnan(observations)
    observed = ~nan
    complete = not nan.any()
    # Work relative to the data's mean: the expanded sums of squares then cancel less.
    if complete:
        centre = observations.mean(axis=0)
        x = observations - centre
        counts = np.repeat(posterior.sum(axis=0)[:, None], x.shape[1], axis=1)
    else:
        x = np.where(observed, observations, 0.0)
        centre = x.sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
        x = np.where(observed, x - centre, 0.0)
        counts = posterior.T @ observed.astype(np.float64)  # (K, D) mass per state, feature
    means = means - centre
    weight = posterior
    sums = weight.T @ x
    has_data = counts > 0
    if update_means:
        means = np.where(has_data, sums / np.where(has_data, counts, 1.0), means)
    if not update_covars:
        return means + centre, covars
    if covariance_type in ("diag", "spherical"):
        squares = weight.T @ (x * x)
        # Σ_t w (x − μ)² expanded, so no (N, K, D) array; μ may be frozen.
        scatter = np.maximum(squares - 2.0 * means * sums + means * means * counts, 0.0)
        if covariance_type == "diag":
            new = np.where(has_data, scatter / np.where(has_data, counts, 1.0), covars)
        else:
            mass = counts.sum(axis=1)
            new = np.where(mass > 0, scatter.sum(axis=1) / np.where(mass > 0, mass, 1.0), covars)
        return means + centre, floor_covariances(new, True, min_covar)
    if not complete:
        weight = weight * observed.all(axis=1)[:, None]
    mass = weight.sum(axis=0)
    scatter = weighted_scatter(x, weight, means)
    if covariance_type == "tied":
        new = scatter.sum(axis=0) / mass.sum() if mass.sum() > 0 else covars
    else:
        new = np.where(
            mass[:, None, None] > 0, scatter / np.where(mass > 0, mass, 1.0)[:, None, None], covars
        )
    return means + centre, floor_covariances(new, False, min_covar)


class GaussianHMM(VectorEmissionHMM):
    """Hidden Markov model with a multivariate normal emission per state.

    - ``start`` (K,), ``trans`` (K, K): as in :class:`~pirho.hmm.base.HiddenMarkovModel`;
    - ``means`` (K, D): μ_k;
    - ``covars``: Σ_k in hmmlearn's shape for ``covariance_type``: "full" (K, D, D),
      "diag" (K, D) variances, "spherical" (K,) one variance per state, "tied" (D, D) shared.

    ``x``: a (T, D) float array ((T,) when D = 1), a list of them, or a (B, T, D) array. A row
    of NaN is a missing step (likelihood 1 in every state). For "diag" and "spherical" a row
    with only some NaN entries is marginalised (those features are left out of the density);
    "full" and "tied" reject such rows.

    >>> m = GaussianHMM([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], [[0.0], [3.0]], [1.0, 1.0],
    ...                 covariance_type="spherical")
    >>> m.posterior([0.1, np.nan, 2.9]).round(3).tolist()
    [[0.948, 0.052], [0.533, 0.467], [0.065, 0.935]]
    """

    FORMAT = "pirho.GaussianHMM"
    EMISSION_KEYS = ("means", "covars", "covariance_type")
    PARAM_LETTERS = "mc"

    def __init__(self, start, trans, means, covars, covariance_type: str = "full") -> None:
        super().__init__(start, trans)
        self._covariance_type = _checks.check_choice(
            "covariance_type", covariance_type, COVARIANCE_TYPES
        )
        means = np.asarray(means, dtype=np.float64) if not isinstance(means, str) else means
        if not isinstance(means, np.ndarray) or means.ndim != 2:
            shape = getattr(means, "shape", None)
            raise ValueError(f"means must have shape (K, D), got {shape}")
        self._means = check_matrix("means", means, (self.n_states, means.shape[1]))
        self._covars = check_covars(covars, covariance_type, self.n_states, means.shape[1])
        self._components = components(self._means, self._covars, covariance_type)

    @property
    def means(self) -> np.ndarray:
        """(K, D) state means, read-only."""
        return self._means

    @property
    def covars(self) -> np.ndarray:
        """Covariances in the shape of ``covariance_type`` (see the class doc), read-only."""
        return self._covars

    @property
    def covariance_type(self) -> str:
        """ "full", "diag", "spherical" or "tied"."""
        return self._covariance_type

    @property
    def n_features(self) -> int:
        """D, the dimension of one observation."""
        return int(self._means.shape[1])

    def full_covars(self) -> np.ndarray:
        """(K, D, D) every state's covariance matrix, whatever ``covariance_type``.

        >>> m = GaussianHMM([1.0], [[1.0]], [[0.0, 0.0]], [2.0], covariance_type="spherical")
        >>> m.full_covars().tolist()
        [[[2.0, 0.0], [0.0, 2.0]]]
        """
        comp = self._components
        if comp.diagonal:
            return comp.variances[:, :, None] * np.eye(self.n_features)
        chol = np.linalg.inv(comp.precision_chol)
        return chol @ np.transpose(chol, (0, 2, 1))

    def _marginalises_partial(self) -> bool:
        return self._covariance_type in ("diag", "spherical")

    def _partial_note(self) -> str:
        return f"covariance_type={self._covariance_type!r} needs complete rows or all-NaN rows"

    def _log_emission(self, observations: np.ndarray) -> np.ndarray:
        return log_density(observations, self._components)

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal((states.shape[0], self.n_features))
        comp = self._components
        if comp.diagonal:
            return self._means[states] + np.sqrt(comp.variances)[states] * noise
        chol = np.linalg.inv(comp.precision_chol)
        return self._means[states] + np.einsum("tij,tj->ti", chol[states], noise)

    def _emission_params(self) -> dict:
        return {
            "means": self._means.tolist(),
            "covars": self._covars.tolist(),
            "covariance_type": self._covariance_type,
        }

    def _m_step(self, observations, posterior, params: str, min_covar: float) -> dict:
        means, covars = gaussian_m_step(
            observations,
            posterior,
            np.array(self._means),
            np.array(self._covars),
            self._covariance_type,
            "m" in params,
            "c" in params,
            min_covar,
        )
        return {"means": means, "covars": covars, "covariance_type": self._covariance_type}

    def n_emission_parameters(self) -> int:
        """Free emission parameters: K·D means plus the covariance parameters of the type.

        >>> GaussianHMM([1.0], [[1.0]], [[0.0, 0.0]], [[1.0, 1.0]], "diag").n_emission_parameters()
        4
        """
        return self.n_states * self.n_features + covariance_parameter_count(
            self._covariance_type, self.n_states, self.n_features
        )
