"""Compiled per-step densities: one pass over the observations, no (N, C, D) temporaries."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["diagonal_gaussian_log_density"]


@njit(cache=True)
def _diagonal_kernel(x, means, inv_var, log_norm, out):
    n_steps, n_features = x.shape
    n_comp = means.shape[0]
    for n in range(n_steps):
        for c in range(n_comp):
            acc = 0.0
            for d in range(n_features):
                value = x[n, d]
                if value == value:  # NaN (missing) features drop out of the density
                    diff = value - means[c, d]
                    acc += diff * diff * inv_var[c, d] + log_norm[c, d]
            out[n, c] = -0.5 * acc


def diagonal_gaussian_log_density(
    observations: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> np.ndarray:
    """log N(x_t; μ_c, diag σ²_c) for every step and component, (N, C), from (N, D)
    observations, (C, D) means and (C, D) variances. NaN entries are marginalised out (an
    all-NaN row gives 0).

    >>> diagonal_gaussian_log_density(np.array([[0.0], [np.nan]]), np.zeros((1, 1)),
    ...                               np.ones((1, 1))).round(4).tolist()
    [[-0.9189], [-0.0]]
    """
    out = np.empty((observations.shape[0], means.shape[0]))
    _diagonal_kernel(
        np.ascontiguousarray(observations, dtype=np.float64),
        np.ascontiguousarray(means, dtype=np.float64),
        np.ascontiguousarray(1.0 / variances),
        np.ascontiguousarray(np.log(variances) + np.log(2.0 * np.pi)),
        out,
    )
    return out
