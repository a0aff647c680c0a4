"""Inverse-CDF sampling: the one categorical sampler behind every HMM's ``sample``."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["cumulative", "sample_categorical", "sample_states"]


def cumulative(probs) -> np.ndarray:
    """Cumulative sums along the last axis, normalised so the last entry is exactly 1.

    A uniform draw in [0, 1) then never falls past the end, and a trailing zero-probability
    entry is never chosen.

    >>> cumulative([0.25, 0.75, 0.0]).tolist()
    [0.25, 1.0, 1.0]
    """
    cum = np.cumsum(np.asarray(probs, dtype=np.float64), axis=-1)
    return np.ascontiguousarray(cum / cum[..., -1:])


@njit(cache=True, inline="always")
def _inverse_cdf(cum, u):
    """The first index i with cum[i] > u: a draw from the distribution whose CDF is ``cum``."""
    return np.searchsorted(cum, u, side="right")


@njit(cache=True)
def sample_categorical(cum_rows, rows, u):
    """Draw (N,) indices, draw t from the distribution of ``cum_rows[rows[t]]`` at uniform u[t].

    >>> sample_categorical(cumulative([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 0]),
    ...                    np.array([0.5, 0.5])).tolist()
    [1, 0]
    """
    out = np.empty(rows.shape[0], dtype=np.int64)
    for t in range(rows.shape[0]):
        out[t] = _inverse_cdf(cum_rows[rows[t]], u[t])
    return out


@njit(cache=True)
def _state_chain(cum_start, cum_trans, u):
    states = np.empty(u.shape[0], dtype=np.int64)
    state = _inverse_cdf(cum_start, u[0])
    for t in range(u.shape[0]):
        if t > 0:
            state = _inverse_cdf(cum_trans[state], u[t])
        states[t] = state
    return states


def sample_states(start, trans, n_steps: int, rng: np.random.Generator) -> np.ndarray:
    """A (n_steps,) int64 state path of the Markov chain (start, trans), drawn with ``rng``.

    >>> sample_states(np.array([1.0, 0.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), 4,
    ...               np.random.default_rng(0)).tolist()
    [0, 1, 0, 1]
    """
    return _state_chain(cumulative(start), cumulative(trans), rng.random(n_steps))
