"""``GaussianHMM``: one multivariate normal per state, four covariance parameterisations."""

from __future__ import annotations

import numpy as np

from pirho import _checks
from pirho.hmm.families.covariance import (
    COVARIANCE_TYPES,
    check_covars,
    components,
    floor_covariances,
    log_density,
    repair_covariances,
)
from pirho.hmm.families.family import VectorEmissionHMM, check_matrix
from pirho.hmm.priors import GaussianPrior

__all__ = [
    "GaussianHMM",
    "shifted_statistics",
    "scatter_about",
    "normal_m_step",
    "covariance_parameter_count",
]


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


def shifted_statistics(
    observations: np.ndarray, weights: np.ndarray, shift: np.ndarray, per_feature: bool
) -> dict:
    """Weighted moments of the observations about ``shift``, for C Gaussian components.

    observations (N, D), NaN = missing; weights (N, C) (0 on missing rows); shift (C, D), the
    current means (moments about them cancel little, and they add across chunks because
    every chunk is read under the same model). Returns ``weight`` (C,) Σ_t w_tc and

    - per_feature (diag, spherical: NaN entries skipped one by one): ``mass`` (C, D)
      Σ_t w_tc [x_td observed], ``sums`` (C, D) Σ_t w_tc (x_td − s_cd), ``squares`` (C, D)
      Σ_t w_tc (x_td − s_cd)²;
    - otherwise (full, tied: rows are complete or entirely NaN): ``mass`` (C,), ``sums``
      (C, D), ``scatter`` (C, D, D) Σ_t w_tc (x_t − s_c)(x_t − s_c)ᵀ.

    >>> st = shifted_statistics(np.array([[1.0], [3.0]]), np.ones((2, 1)), np.array([[2.0]]),
    ...                         False)
    >>> st["mass"].tolist(), st["sums"].tolist(), st["scatter"].tolist()
    ([2.0], [[0.0]], [[[2.0]]])
    """
    observed = ~np.isnan(observations)
    complete = bool(observed.all())
    if not complete:  # an entirely missing step carries no weight
        weights = weights * observed.any(axis=1)[:, None]
    # Moments about one common centre c (the mean of the shifts) by matrix products, then
    # moved to each component's shift exactly: Σ w (x − s) = Σ w (x − c) − m (s − c), and so
    # on. c lies among the means, so little cancels, and c is the same in every chunk.
    centre = shift.mean(axis=0)
    x = observations - centre if complete else np.where(observed, observations - centre, 0.0)
    offset = shift - centre  # d_c = s_c − c, (C, D)
    out = {"weight": weights.sum(axis=0)}
    if per_feature:
        mass = (
            np.repeat(out["weight"][:, None], shift.shape[1], axis=1) if complete
            else weights.T @ observed.astype(np.float64)
        )  # fmt: skip
        first = weights.T @ x
        second = weights.T @ (x * x)
        out.update(
            mass=mass,
            sums=first - offset * mass,
            squares=second - 2.0 * offset * first + offset * offset * mass,
        )
        return out
    if not complete:
        weights = weights * observed.all(axis=1)[:, None]
    mass = weights.sum(axis=0)
    first = weights.T @ x
    scatter = np.empty((shift.shape[0], shift.shape[1], shift.shape[1]))
    for c in range(shift.shape[0]):  # one (D, N) @ (N, D) product per component
        scatter[c] = (x * weights[:, c : c + 1]).T @ x
    cross = np.einsum("cd,ce->cde", offset, first)
    scatter += (
        -cross
        - cross.transpose(0, 2, 1)
        + mass[:, None, None] * np.einsum("cd,ce->cde", offset, offset)
    )
    out.update(mass=mass, sums=first - offset * mass[:, None], scatter=scatter)
    return out


def scatter_about(scatter, sums, delta, mass):
    """(K, D, D) Σ_t γ_tk (x_t − μ_k)(x_t − μ_k)ᵀ from moments about a shift c: ``scatter``
    Σ γ (x − c)(x − c)ᵀ, ``sums`` Σ γ (x − c), ``delta`` = μ − c, ``mass`` Σ γ (K,).

    >>> x = np.array([[1.0], [3.0]]); c = np.array([[0.0]]); mu = x.mean(axis=0, keepdims=True)
    >>> scatter_about(np.array([x.T @ x]), x.sum(axis=0, keepdims=True), mu - c, np.array([2.0]))
    array([[[2.]]])
    """
    outer = np.einsum("kd,ke->kde", delta, sums)
    return (
        scatter
        - outer
        - outer.transpose(0, 2, 1)
        + mass[:, None, None] * np.einsum("kd,ke->kde", delta, delta)
    )


def normal_m_step(
    stats: dict,
    shift: np.ndarray,
    covars: np.ndarray,
    covariance_type: str,
    update_means: bool,
    update_covars: bool,
    min_covar: float,
    n_groups: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood (means (C, D), covars) of C Gaussian components from their
    :func:`shifted_statistics` about ``shift`` (the current means).

    covars: the current ones — (C,) spherical, (C, D) diag, (C, D, D) full, and for "tied"
    (n_groups, D, D): the components form ``n_groups`` equal consecutive groups sharing one
    matrix (1 group for a tied GaussianHMM, K for a tied GMMHMM). A component (feature,
    group) without posterior weight keeps its values; frozen means (``update_means`` False)
    enter the covariances as they are. Covariances are floored at ``min_covar`` (variances /
    eigenvalues).

    >>> x = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> post = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    >>> shift = np.zeros((2, 1))
    >>> mu, var = normal_m_step(shifted_statistics(x, post, shift, True), shift,
    ...                         np.ones((2, 1)), "diag", True, True, 1e-3)
    >>> mu.ravel().tolist(), var.ravel().tolist()
    ([1.0, 11.0], [1.0, 1.0])
    """
    mass, sums = stats["mass"], stats["sums"]
    per_feature = covariance_type in ("diag", "spherical")
    has = mass > 0
    shaped_mass = mass if per_feature else mass[:, None]
    delta = np.where(shaped_mass > 0, sums / np.where(shaped_mass > 0, shaped_mass, 1.0), 0.0)
    if not update_means:
        delta = np.zeros_like(delta)
    means = shift + delta
    if not update_covars:
        return means, covars
    if per_feature:
        # Σ w (x − μ')² about the new means μ' = shift + δ, from the moments about shift.
        scatter = np.maximum(stats["squares"] - 2.0 * delta * sums + delta * delta * mass, 0.0)
        if covariance_type == "diag":
            new = np.where(has, scatter / np.where(has, mass, 1.0), covars)
        else:
            total = mass.sum(axis=1)
            new = np.where(total > 0, scatter.sum(axis=1) / np.where(total > 0, total, 1.0),
                           covars)  # fmt: skip
        return means, floor_covariances(new, True, min_covar)
    scatter = scatter_about(stats["scatter"], sums, delta, mass)
    if covariance_type == "tied":
        group_scatter = scatter.reshape(n_groups, -1, *scatter.shape[1:]).sum(axis=1)
        group_mass = mass.reshape(n_groups, -1).sum(axis=1)[:, None, None]
        new = np.where(group_mass > 0, group_scatter / np.where(group_mass > 0, group_mass, 1.0),
                       covars.reshape(n_groups, *covars.shape[-2:]))  # fmt: skip
        new = new.reshape(covars.shape)
    else:
        new = np.where(has[:, None, None], scatter / np.where(has, mass, 1.0)[:, None, None],
                       covars)  # fmt: skip
    return means, floor_covariances(new, False, min_covar)


def _hmmlearn_normal_step(stats, shift, covars, covariance_type, params, prior, min_covar):
    """hmmlearn 0.3.3's GaussianHMM M-step under its prior (complete rows), from the moments
    about ``shift``: means (w·μ₀ + Σ γx) / (w + Σ γ); covariances (covars_prior + w·(μ −
    μ₀)(μ − μ₀)ᵀ + Σ γ (x − μ)(x − μ)ᵀ) / (max(covars_weight − 1 (diag) or − D (full), 0) +
    Σ γ), the spherical variance the mean of the diagonal ones; a degenerate result is
    repaired as hmmlearn's densities do (:func:`~.covariance.repair_covariances`)."""
    per_feature = covariance_type in ("diag", "spherical")
    post = stats["weight"]
    denom = post[:, None]
    obs = stats["sums"] + denom * shift  # Σ_t γ_tk x_t
    weight, mean_prior = prior.means_weight, prior.means_prior
    means = (weight * mean_prior + obs) / (weight + denom) if "m" in params else shift
    if "c" not in params:
        return means, covars
    delta = means - shift
    meandiff = means - mean_prior
    sums = stats["sums"]
    if per_feature:
        scatter = stats["squares"] - 2 * delta * sums + delta**2 * denom
        c_n = weight * meandiff**2 + scatter
        c_d = max(prior.covars_weight - 1, 0) + denom
        new = (prior.covars_prior + c_n) / np.maximum(c_d, 1e-5)
        new = new.mean(axis=1) if covariance_type == "spherical" else new
        return means, repair_covariances(new, True, min_covar)
    scatter = scatter_about(stats["scatter"], sums, delta, post)
    c_n = weight * np.einsum("kd,ke->kde", meandiff, meandiff) + scatter
    cv_weight = max(prior.covars_weight - shift.shape[1], 0)
    if covariance_type == "tied":
        new = (prior.covars_prior + c_n.sum(axis=0)) / (cv_weight + post.sum())
    else:
        new = (prior.covars_prior + c_n) / (cv_weight + post[:, None, None])
    return means, repair_covariances(new, False, min_covar)


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

    def emission_statistics(self, observations: np.ndarray, posterior: np.ndarray) -> dict:
        """:func:`shifted_statistics` of the state posterior (N, K) about the current means
        (additive across sequences and chunks)."""
        return shifted_statistics(
            observations, posterior, np.asarray(self._means),
            self._covariance_type in ("diag", "spherical"),
        )  # fmt: skip

    def emission_m_step(
        self, stats: dict, params: str, prior: GaussianPrior | None = None,
        min_covar: float = 1e-3,
    ) -> dict:  # fmt: skip
        """New ``means`` (``m`` in params) and ``covars`` (``c``) from the statistics.

        prior None: maximum likelihood, covariances floored at ``min_covar``; a
        :class:`~pirho.hmm.priors.GaussianPrior`: hmmlearn 0.3.3's MAP update (no floor).
        """
        shift = np.asarray(self._means)
        covars = np.array(self._covars)
        if prior is None:
            means, covars = normal_m_step(
                stats, shift, covars, self._covariance_type, "m" in params, "c" in params,
                min_covar,
            )  # fmt: skip
        else:
            means, covars = _hmmlearn_normal_step(
                stats, shift, covars, self._covariance_type, params, prior, min_covar
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
