"""Compiled recursions of the explicit-duration (semi-Markov) HMM.

Notation (one sequence of T steps, 0-based t; K states; durations d = 1..D):

- ``dur[k, d-1]`` = p_k(d), ``surv[k, d-1]`` = S_k(d) = Σ_{d' ≥ d} p_k(d') (the last segment
  is right-censored: it has lasted *at least* its observed length when the data stop);
- ``trans[k, j]`` = P(next segment is j | this one was k), zero diagonal;
- π_t(k, ends) = P(x_1..x_t, a segment of k ends at t) and π*_t(k) = P(x_1..x_{t-1}, a segment
  of k begins at t) are the forward messages; ρ_t(k, ends) = P(x_{t+1}..x_T | a segment of k
  ended at t) and ρ*_t(k) = P(x_t..x_T | a segment of k begins at t) the backward ones.

π_t(k, ends) = Σ_d π*_{t-d+1}(k) p_k(d) Π_{u=t-d+1..t} P(x_u | k) (S_k(d) instead of p_k(d)
at the last step), π*_{t+1}(j) = Σ_k π_t(k, ends) trans[k, j]; the backward pass mirrors it.
The inner sum over d carries the segment's emission product along incrementally (one
multiplication per d), so a segment score costs O(1) and a pass O(T·K·D + T·K²).

**Scaling.** Everything stays in probability space. Step t's emissions are divided by their
maximum m_t (so no exp underflows) and the forward quantities by c_t, the sum over k of
P(h_t = k, x_t | x_1..x_{t-1}) / m_t — the filtering normaliser, positive whenever x_1..x_t
is possible (an end-of-segment sum would not be: with deterministic durations no segment
ends at most steps). ``scaled[k, t]`` = P(x_t | k) / (m_t c_t) is then the per-step factor of
every segment product in both passes, log P(x) = Σ_t log(m_t c_t), and the products of the
forward and backward quantities are posterior probabilities directly.

Arrays are (K, N) internally (state-major) so that the inner loop over d reads contiguous
memory; batches are concatenated with ``offsets`` (B + 1,). Inputs are trusted.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "forward",
    "backward",
    "occupancy",
    "viterbi",
    "sample_posterior",
    "sample_prior",
]


@njit(cache=True)
def forward(start, trans, dur, surv, log_emission, offsets):
    """Scaled forward pass over a concatenated batch.

    start (K,), trans (K, K), dur (K, D), surv (K, D), log_emission (K, N), offsets (B + 1,).
    Returns (log_likelihood (B,), begin (K, N) = π*_t / Z_{t-1}, end (K, N) = π_t(·, ends) /
    Z_t, scaled (K, N)), Z_t = Π_{u ≤ t} m_u c_u. A sequence that is impossible gets −inf and
    its remaining rows are left at 0.
    """
    n_states, n_rows = log_emission.shape
    max_d = dur.shape[1]
    n_seq = offsets.shape[0] - 1
    begin = np.zeros((n_states, n_rows))
    end = np.zeros((n_states, n_rows))
    scaled = np.zeros((n_states, n_rows))
    log_lik = np.zeros(n_seq)
    e_hat = np.empty(n_states)
    ending = np.empty(n_states)
    alive = np.empty(n_states)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        total = 0.0
        for t in range(lo, hi):
            if t == lo:
                for k in range(n_states):
                    begin[k, t] = start[k]
            else:
                for j in range(n_states):
                    acc = 0.0
                    for k in range(n_states):
                        acc += end[k, t - 1] * trans[k, j]
                    begin[j, t] = acc
            top = -np.inf
            for k in range(n_states):
                top = max(top, log_emission[k, t])
            if top == -np.inf:
                total = -np.inf
                break
            for k in range(n_states):
                e_hat[k] = math.exp(log_emission[k, t] - top)
            norm = 0.0
            n_d = min(max_d, t - lo + 1)
            for k in range(n_states):
                prod = e_hat[k]
                acc_end = 0.0
                acc_alive = 0.0
                s = t
                for d in range(n_d):
                    if d > 0:
                        s -= 1
                        prod *= scaled[k, s]
                        if prod == 0.0:
                            break
                    weight = begin[k, s] * prod
                    acc_end += weight * dur[k, d]
                    acc_alive += weight * surv[k, d]
                ending[k] = acc_end
                alive[k] = acc_alive
                norm += acc_alive
            if not norm > 0.0:
                total = -np.inf
                break
            last = t == hi - 1
            for k in range(n_states):
                scaled[k, t] = e_hat[k] / norm
                end[k, t] = (alive[k] if last else ending[k]) / norm
            total += math.log(norm) + top
        log_lik[b] = total
    return log_lik, begin, end, scaled


@njit(cache=True)
def backward(trans, dur, surv, begin, end, scaled, offsets, with_counts):
    """Scaled backward pass; with ``with_counts``, the expected duration counts too.

    Returns (begin_back (K, N) = ρ*_t · Z_{t-1} / P(x), end_back (K, N) = ρ_t(·, ends) · Z_t /
    P(x), duration_counts (K, D), censored_counts (K, D)): begin·begin_back is P(a segment of
    k begins at t | x), end·end_back P(one ends at t | x). ``duration_counts[k, d-1]`` is the
    expected number of complete segments of k lasting d; ``censored_counts[k, d-1]`` the
    probability that the last segment is k and has been observed for d steps.

    A state whose forward quantity is 0 gets backward 0 ("dead states", as in
    :mod:`pirho.hmm._compiled.recursions`): it cannot contribute to a posterior, and its
    backward value alone may grow without bound.
    """
    n_states, n_rows = scaled.shape
    max_d = dur.shape[1]
    n_seq = offsets.shape[0] - 1
    begin_back = np.zeros((n_states, n_rows))
    end_back = np.zeros((n_states, n_rows))
    duration_counts = np.zeros((n_states, max_d))
    censored_counts = np.zeros((n_states, max_d))
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        for s in range(hi - 1, lo - 1, -1):
            for k in range(n_states):
                if end[k, s] == 0.0:
                    end_back[k, s] = 0.0
                elif s == hi - 1:
                    end_back[k, s] = 1.0
                else:
                    acc = 0.0
                    for j in range(n_states):
                        acc += trans[k, j] * begin_back[j, s + 1]
                    end_back[k, s] = acc
            n_d = min(max_d, hi - s)
            for j in range(n_states):
                if begin[j, s] == 0.0:
                    begin_back[j, s] = 0.0
                    continue
                prod = 1.0
                acc = 0.0
                for d in range(n_d):
                    e = s + d
                    prod *= scaled[j, e]
                    if prod == 0.0:
                        break
                    if e == hi - 1:
                        term = surv[j, d] * prod
                        if with_counts:
                            censored_counts[j, d] += begin[j, s] * term
                    else:
                        term = dur[j, d] * prod * end_back[j, e]
                        if with_counts:
                            duration_counts[j, d] += begin[j, s] * term
                    acc += term
                begin_back[j, s] = acc
    return begin_back, end_back, duration_counts, censored_counts


@njit(cache=True)
def occupancy(begin_marginal, end_marginal, offsets):
    """State marginals P(h_t = k | x), (K, N), from the segment-boundary marginals (K, N):
    a state is occupied at t when a segment of it began at or before t and none ended before
    t, so occupancy_t = occupancy_{t-1} + begins_t − ends_{t-1}. Round-off can leave values a
    few ulps outside [0, 1]; they are clipped."""
    n_states, n_rows = begin_marginal.shape
    out = np.empty((n_states, n_rows))
    for b in range(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        for k in range(n_states):
            running = 0.0
            for t in range(lo, hi):
                running += begin_marginal[k, t]
                if t > lo:
                    running -= end_marginal[k, t - 1]
                out[k, t] = min(max(running, 0.0), 1.0)
    return out


@njit(cache=True)
def viterbi(log_start, log_trans, log_dur, log_surv, log_emission, offsets):
    """Most probable segmentation of every sequence, in log space (max-plus).

    log_emission (K, N). Returns (path (N,) int64, best (B,) = log P(x, best segmentation));
    best is −inf (and that sequence's path −1) when x is impossible. Ties go to the lowest
    state index and the shortest duration.
    """
    n_states, n_rows = log_emission.shape
    max_d = log_dur.shape[1]
    n_seq = offsets.shape[0] - 1
    begin = np.full((n_states, n_rows), -np.inf)
    end = np.full((n_states, n_rows), -np.inf)
    came_from = np.zeros((n_states, n_rows), dtype=np.int64)
    length = np.zeros((n_states, n_rows), dtype=np.int64)
    path = np.full(n_rows, -1, dtype=np.int64)
    best = np.full(n_seq, -np.inf)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        for t in range(lo, hi):
            for j in range(n_states):
                if t == lo:
                    begin[j, t] = log_start[j]
                else:
                    top = -np.inf
                    arg = 0
                    for k in range(n_states):
                        score = end[k, t - 1] + log_trans[k, j]
                        if score > top:
                            top = score
                            arg = k
                    begin[j, t] = top
                    came_from[j, t] = arg
            table = log_surv if t == hi - 1 else log_dur
            n_d = min(max_d, t - lo + 1)
            for k in range(n_states):
                emitted = 0.0
                top = -np.inf
                arg = 1
                s = t
                for d in range(n_d):
                    if d > 0:
                        s -= 1
                    emitted += log_emission[k, s]
                    score = begin[k, s] + table[k, d] + emitted
                    if score > top:
                        top = score
                        arg = d + 1
                end[k, t] = top
                length[k, t] = arg
        top = -np.inf
        state = 0
        for k in range(n_states):
            if end[k, hi - 1] > top:
                top = end[k, hi - 1]
                state = k
        best[b] = top
        if top == -np.inf:
            continue
        t = hi - 1
        while t >= lo:
            d = length[state, t]
            first = t - d + 1
            for u in range(first, t + 1):
                path[u] = state
            if first > lo:
                state = came_from[state, first]
            t = first - 1
    return path, best


@njit(cache=True, inline="always")
def _draw(weights, n, u):
    """Index i < n drawn with probability ∝ weights[i] (inverse CDF at uniform u)."""
    total = 0.0
    for i in range(n):
        total += weights[i]
    target = u * total
    acc = 0.0
    for i in range(n):
        acc += weights[i]
        if acc > target and weights[i] > 0.0:
            return i
    for i in range(n - 1, -1, -1):  # u·total rounded up to the sum: the last live index
        if weights[i] > 0.0:
            return i
    return n - 1


@njit(cache=True)
def sample_posterior(trans, dur, surv, begin, end, scaled, offsets, uniforms):
    """One exact draw of the state path of every sequence from P(h_1..h_T | x)
    (forward filtering, backward sampling over segments).

    begin, end, scaled: :func:`forward`'s outputs (K, N). uniforms (2N,) in [0, 1). Going
    back from the last step: the last segment's state ∝ π_T(k, ends); given a segment of k
    that ends at e, its duration d ∝ π*_{e-d+1}(k) p_k(d) Π scaled (S_k(d) for the last
    segment); given a segment of k that begins at s > 0, the previous state k' ∝
    π_{s-1}(k', ends) trans[k', k]. Returns the path (N,) int64.
    """
    n_states, n_rows = scaled.shape
    max_d = dur.shape[1]
    path = np.empty(n_rows, dtype=np.int64)
    weights = np.empty(max(max_d, n_states))
    draw = 0
    for b in range(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        for k in range(n_states):
            weights[k] = end[k, hi - 1]
        state = _draw(weights, n_states, uniforms[draw])
        draw += 1
        t = hi - 1
        while t >= lo:
            table = surv if t == hi - 1 else dur
            n_d = min(max_d, t - lo + 1)
            prod = 1.0
            s = t + 1
            for d in range(n_d):
                s -= 1
                prod *= scaled[state, s]
                weights[d] = begin[state, s] * table[state, d] * prod
            d = _draw(weights, n_d, uniforms[draw]) + 1
            draw += 1
            first = t - d + 1
            for u in range(first, t + 1):
                path[u] = state
            if first > lo:
                for k in range(n_states):
                    weights[k] = end[k, first - 1] * trans[k, state]
                state = _draw(weights, n_states, uniforms[draw])
                draw += 1
            t = first - 1
    return path


@njit(cache=True)
def sample_prior(cum_start, cum_trans, cum_dur, n_steps, uniforms):
    """A state path of ``n_steps`` from the semi-Markov chain: a state from ``cum_start``, a
    duration from its ``cum_dur`` row, the next state from ``cum_trans``, …, the last segment
    cut at n_steps. Cumulative rows (K,), (K, K), (K, D); uniforms (2 n_steps,)."""
    path = np.empty(n_steps, dtype=np.int64)
    state = np.searchsorted(cum_start, uniforms[0], side="right")
    draw = 1
    t = 0
    while t < n_steps:
        d = np.searchsorted(cum_dur[state], uniforms[draw], side="right") + 1
        draw += 1
        for u in range(t, min(t + d, n_steps)):
            path[u] = state
        t += d
        if t < n_steps:
            state = np.searchsorted(cum_trans[state], uniforms[draw], side="right")
            draw += 1
    return path
