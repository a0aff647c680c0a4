"""Gaussian covariances: the four parameterisations, their validation, log-densities and floor.

``covariance_type`` follows hmmlearn 0.3.3. For a :class:`GaussianHMM` with K states and D
features the ``covars`` shapes are: "spherical" (K,), "diag" (K, D), "full" (K, D, D),
"tied" (D, D) (one matrix shared by every state). For a :class:`GMMHMM` with M components per
state: "spherical" (K, M), "diag" (K, M, D), "full" (K, M, D, D), "tied" (K, D, D) (one matrix
per state, shared by its components).

Internally every Gaussian component (a state, or a state's mixture component) is either
diagonal — variances (C, D) — or full — a lower Cholesky factor L (C, D, D) with Σ = L Lᵀ.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pirho.hmm._compiled.emissions import diagonal_gaussian_log_density

__all__ = [
    "COVARIANCE_TYPES",
    "Components",
    "check_covars",
    "components",
    "log_density",
    "floor_covariances",
    "covars_shape",
]

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")
LOG_2PI = float(np.log(2.0 * np.pi))


def covars_shape(
    covariance_type: str, n_states: int, n_features: int, n_mix: int | None = None
) -> tuple[int, ...]:
    """The ``covars`` shape of a covariance type (``n_mix=None``: one Gaussian per state).

    >>> covars_shape("tied", 3, 2), covars_shape("tied", 3, 2, n_mix=4)
    ((2, 2), (3, 2, 2))
    """
    lead = (n_states,) if n_mix is None else (n_states, n_mix)
    return {
        "spherical": lead,
        "diag": (*lead, n_features),
        "full": (*lead, n_features, n_features),
        "tied": (n_features, n_features) if n_mix is None else (n_states, n_features, n_features),
    }[covariance_type]


def _index(flat: int, shape: tuple[int, ...]) -> str:
    return ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) if shape else ""


def check_covars(
    covars, covariance_type: str, n_states: int, n_features: int, n_mix: int | None = None
) -> np.ndarray:
    """Validate ``covars`` for its type; return a read-only float64 copy.

    ValueError names the entry: a wrong shape, a NaN or infinite value, a variance ≤ 0, a
    matrix that is not symmetric or not positive definite.

    >>> check_covars([[1.0, 0.5], [0.5, 1.0]], "tied", 2, 2).shape
    (2, 2)
    >>> check_covars([1.0, -1.0], "spherical", 2, 3)
    Traceback (most recent call last):
    ...
    ValueError: covars[1] = -1.0 must be > 0 (spherical variances)
    """
    try:
        arr = np.array(covars, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"covars must be a numeric array: {exc}") from None
    shape = covars_shape(covariance_type, n_states, n_features, n_mix)
    if arr.shape != shape:
        raise ValueError(
            f"covars for covariance_type={covariance_type!r} must have shape {shape}, "
            f"got {arr.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"covars[{_index(bad[0], shape)}] is {arr.flat[bad[0]]} (not finite)")
    if covariance_type in ("spherical", "diag"):
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise ValueError(
                f"covars[{_index(bad[0], shape)}] = {arr.flat[bad[0]]} must be > 0 "
                f"({covariance_type} variances)"
            )
    else:
        matrices = arr.reshape(-1, n_features, n_features)
        lead = shape[:-2]
        for c, matrix in enumerate(matrices):
            where = f"covars[{_index(c, lead)}]" if lead else "covars"
            scale = max(float(np.abs(matrix).max()), np.finfo(float).tiny)
            if np.abs(matrix - matrix.T).max() > 1e-8 * scale:
                raise ValueError(f"{where} is not symmetric")
            try:
                np.linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                low = float(np.linalg.eigvalsh(matrix).min())
                raise ValueError(
                    f"{where} is not positive definite (smallest eigenvalue {low:.3g})"
                ) from None
    arr.setflags(write=False)
    return arr


class Components(NamedTuple):
    """C Gaussian components in the form the log-density reads.

    means: (C, D). diagonal: True when the covariances are diagonal.
    variances: (C, D) when diagonal, else None.
    precision_chol: (C, D, D) L⁻¹ with Σ = L Lᵀ when full, else None.
    half_log_det: (C,) ½ log |Σ_c|.
    """

    means: np.ndarray
    diagonal: bool
    variances: np.ndarray | None
    precision_chol: np.ndarray | None
    half_log_det: np.ndarray


def components(means: np.ndarray, covars: np.ndarray, covariance_type: str) -> Components:
    """Components from (validated) ``means`` (K, D) or (K, M, D) and ``covars`` of the type.

    >>> c = components(np.zeros((2, 3)), np.array([1.0, 4.0]), "spherical")
    >>> c.diagonal, c.variances[1].tolist(), c.half_log_det.round(4).tolist()
    (True, [4.0, 4.0, 4.0], [0.0, 2.0794])
    """
    n_features = means.shape[-1]
    flat_means = means.reshape(-1, n_features)
    n_comp = flat_means.shape[0]
    if covariance_type in ("spherical", "diag"):
        variances = covars.reshape(n_comp, -1) * np.ones((1, n_features))
        half_log_det = 0.5 * np.log(variances).sum(axis=1)
        return Components(flat_means, True, variances, None, half_log_det)
    if covariance_type == "tied":  # one matrix for all (Gaussian) or per state (mixture)
        per = covars.reshape(-1, n_features, n_features)
        full = np.repeat(per, n_comp // per.shape[0], axis=0)
    else:
        full = covars.reshape(n_comp, n_features, n_features)
    chol = np.linalg.cholesky(full)
    precision_chol = np.linalg.inv(chol)
    half_log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return Components(flat_means, False, None, precision_chol, half_log_det)


def log_density(observations: np.ndarray, comp: Components) -> np.ndarray:
    """log N(x_t; μ_c, Σ_c) for every step and component, (N, C); no Python loop over N
    (diagonal: one compiled pass; full: one (N, D) @ (D, D) solve per component).

    NaN entries are marginalised out for diagonal components (a NaN row gives 0); full
    components need complete rows (a NaN row gives NaN: the caller masks it).

    >>> c = components(np.zeros((1, 1)), np.ones(1), "spherical")
    >>> (log_density(np.array([[0.0], [np.nan]]), c) + 0.0).round(4).tolist()
    [[-0.9189], [0.0]]
    """
    if comp.diagonal:
        return diagonal_gaussian_log_density(observations, comp.means, comp.variances)
    means = comp.means
    x = observations
    n_features = means.shape[1]
    out = np.empty((x.shape[0], means.shape[0]))
    for c in range(means.shape[0]):  # a loop over components; each is one (N, D) matmul
        z = (x - means[c]) @ comp.precision_chol[c].T
        out[:, c] = -0.5 * np.einsum("nd,nd->n", z, z)
    return out - 0.5 * n_features * LOG_2PI - comp.half_log_det


def floor_covariances(covars: np.ndarray, diagonal: bool, min_covar: float) -> np.ndarray:
    """Raise every variance (diagonal) or eigenvalue (full, (..., D, D)) below ``min_covar``
    to it; entries already above are unchanged. Clipping eigenvalues of the scatter matrix is
    the maximum-likelihood covariance under that constraint, so EM stays monotone.

    >>> floor_covariances(np.array([[1e-9, 2.0]]), True, 1e-3).tolist()
    [[0.001, 2.0]]
    """
    if diagonal:
        return np.maximum(covars, min_covar)
    out = covars.copy()
    flat = out.reshape(-1, covars.shape[-1], covars.shape[-1])
    for i, matrix in enumerate(flat):
        values, vectors = np.linalg.eigh(matrix)
        if values.min() < min_covar:
            flat[i] = (vectors * np.maximum(values, min_covar)) @ vectors.T
        else:
            flat[i] = 0.5 * (matrix + matrix.T)
    return out


def repair_covariances(covars: np.ndarray, diagonal: bool, min_covar: float) -> np.ndarray:
    """hmmlearn's fallback for a degenerate covariance after a MAP step: a matrix (..., D, D)
    without a Cholesky factor gets ``min_covar`` added to its diagonal, a variance ≤ 0 becomes
    ``min_covar``; healthy entries are unchanged (unlike :func:`floor_covariances`).

    >>> repair_covariances(np.zeros((1, 2, 2)), False, 1e-3).tolist()
    [[[0.001, 0.0], [0.0, 0.001]]]
    """
    if diagonal:
        return np.where(covars > 0, covars, min_covar)
    out = covars.copy()
    flat = out.reshape(-1, covars.shape[-1], covars.shape[-1])
    for i, matrix in enumerate(flat):
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            flat[i] = matrix + min_covar * np.eye(matrix.shape[0])
    return out
