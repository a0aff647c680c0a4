"""Compiled samplers: the one categorical sampler behind every HMM's ``sample``, and the
backward sweep that draws whole paths from the posterior.

**Posterior paths (forward filtering, backward sampling).** A path h_1..h_T drawn from
P(h_1..h_T | x) factorises backwards:

    P(h | x) = P(h_T | x) · Π_{t<T} P(h_t | h_{t+1}, x_1..x_t),
    P(h_T = h | x) ∝ π_T(h),      P(h_t = h | h_{t+1}, x) ∝ π_t(h) · trans[h, h_{t+1}],

because given h_{t+1}, the state h_t no longer depends on x_{t+1}..x_T (ρ_t is absorbed by
the choice of h_{t+1}). So one forward pass stores the filter π_t / Σ π_t (scaled messages, as
every kernel: stable at T = 10⁶) and each path costs one backward sweep of O(K) per step. A
transition with probability 0 gets weight 0 and is never drawn. Smoothing marginals
π_t ρ_t / P(X) cannot replace this: drawing h_t from them independently ignores that
neighbouring states are coupled and produces paths the model forbids.

The checked entry point is :func:`pirho.hmm.sampling.posterior_paths`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pirho.hmm._compiled import recursions

__all__ = [
    "cumulative",
    "sample_categorical",
    "sample_states",
    "two_state_conditionals",
    "generator_state",
    "backward_sample",
]


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


@njit(cache=True, error_model="numpy")
def two_state_conditionals(filt, trans, offsets):
    """K = 2: turn the filter into ``filt[t, j] = P(h_t = 0 | h_{t+1} = j, x_1..x_t)`` in place,
    shared by all samples; the last step of each sequence becomes ``P(h_T = 0 | x)`` in both
    columns. (Row t is read only to write row t, so no second (N, 2) array is needed.)

    A sample then costs one comparison per step: h_t = 0 iff u_t < filt[t, h_{t+1}]. A weight
    that is exactly 0 gives a probability of exactly 0 or 1, so structural zeros hold.
    """
    for b in range(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        last = filt[hi - 1, 0] / (filt[hi - 1, 0] + filt[hi - 1, 1])
        filt[hi - 1, 0] = last
        filt[hi - 1, 1] = last
        for t in range(lo, hi - 1):
            f0 = filt[t, 0]
            f1 = filt[t, 1]
            for j in range(2):
                w0 = f0 * trans[0, j]
                w1 = f1 * trans[1, j]
                total = w0 + w1
                if total == 0.0:  # underflow only (h_{t+1} = j is reachable): rescale
                    w0 = f0 * recursions.HUGE * trans[0, j]
                    w1 = f1 * recursions.HUGE * trans[1, j]
                    total = w0 + w1
                filt[t, j] = w0 / total if total > 0.0 else 0.5


# xoshiro256+ (Blackman & Vigna): 256 bits of state, the top 53 bits of each output make a
# uniform double. Drawn inside the kernel, so no (n_samples, N) array of uniforms is stored,
# and ~1 ns a draw instead of numpy's ~5–7 ns through an array on this machine.
@njit(cache=True, inline="always")
def _next_uniform(s0, s1, s2, s3):
    """(u ∈ [0, 1), next state s0..s3) of the xoshiro256+ generator."""
    out = s0 + s3
    shifted = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= shifted
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return float(out >> np.uint64(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


def generator_state(rng: np.random.Generator) -> np.ndarray:
    """Four uint64 words from ``rng``, the starting state of :func:`backward_sample`'s
    generator (never all zero).

    >>> generator_state(np.random.default_rng(0)).dtype.name
    'uint64'
    """
    state = rng.integers(0, 2**64, size=4, dtype=np.uint64)
    if not state.any():
        state[0] = 1
    return state


@njit(cache=True, inline="always", error_model="numpy")
def _draw(weights, total, u):
    """Index k with probability weights[k] / total at uniform u ∈ [0, 1); never a zero weight.

    Returns −1 only when every weight is 0.
    """
    target = u * total
    acc = 0.0
    chosen = -1
    for k in range(weights.shape[0]):
        w = weights[k]
        if w > 0.0:
            chosen = k
            acc += w
            if target < acc:
                return k
    return chosen  # rounding put the target at the total: the last positive weight


@njit(cache=True, error_model="numpy")
def backward_sample(filt, trans_t, two_state, offsets, state, paths):
    """Backward sampling of ``paths.shape[0]`` paths per sequence into ``paths`` (S, N).

    filt (N, K): the filter π_t / Σ π_t, or with ``two_state`` (K = 2) the conditionals of
    :func:`two_state_conditionals` (then trans_t is not read); trans_t (K, K) = trans.T;
    state (4,) uint64: the generator's start (see :func:`generator_state`). Uniforms are
    drawn sequence by sequence, path by path, from step T down to 1. Returns False if a step
    found no state of positive weight (impossible for a sequence of positive probability).
    """
    n_states = filt.shape[1]
    weights = np.empty(n_states)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for b in range(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        for r in range(paths.shape[0]):
            out = paths[r]
            if two_state:
                u, s0, s1, s2, s3 = _next_uniform(s0, s1, s2, s3)
                h = 0 if u < filt[hi - 1, 0] else 1
                out[hi - 1] = h
                for t in range(hi - 2, lo - 1, -1):
                    u, s0, s1, s2, s3 = _next_uniform(s0, s1, s2, s3)
                    h = 0 if u < filt[t, h] else 1
                    out[t] = h
                continue
            total = 0.0
            for k in range(n_states):
                weights[k] = filt[hi - 1, k]
                total += weights[k]
            u, s0, s1, s2, s3 = _next_uniform(s0, s1, s2, s3)
            h = _draw(weights, total, u)
            out[hi - 1] = h
            for t in range(hi - 2, lo - 1, -1):
                # P(h_t = k | h_{t+1} = h, x_1..x_t) ∝ π_t(k) trans[k, h]
                total = 0.0
                for k in range(n_states):
                    w = filt[t, k] * trans_t[h, k]
                    weights[k] = w
                    total += w
                if total == 0.0:  # underflow only (h is reachable): rescale and retry
                    for k in range(n_states):
                        w = filt[t, k] * recursions.HUGE * trans_t[h, k]
                        weights[k] = w
                        total += w
                u, s0, s1, s2, s3 = _next_uniform(s0, s1, s2, s3)
                h = _draw(weights, total, u)
                if h < 0:
                    return False
                out[t] = h
    return True
