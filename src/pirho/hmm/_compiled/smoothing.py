"""Compiled recursions, part 2: smoothing posteriors, fixed-lag posteriors, expected counts.

Built from the step helpers of :mod:`pirho.hmm._compiled.recursions` (one forward step, one
pull-back with its dead-state mask, one rescale policy) and the same ``lik[rows[t]]`` convention
(:mod:`pirho.hmm.engine`). The paired two-state and lockstep posteriors are faster
arrangements of the same recursion for the cases the benchmark measures; tests check that
each equals the plain loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pirho.hmm._compiled.recursions import (
    FAST,
    HUGE,
    TINY,
    forward_filter,
    pull_back_step,
    rescale,
)

__all__ = [
    "PAIR_MIN",
    "LOCKSTEP_MIN_STATES",
    "LOCKSTEP_GROUP_BYTES",
    "LOCKSTEP_MIN_GROUP",
    "all_at_least",
    "choose_posterior_method",
    "posterior",
    "posterior_two_state_paired",
    "posterior_lockstep",
    "fixed_lag_window",
    "fixed_lag_blocks",
    "expected_counts",
]

# From this many states on, a batch's posterior advances all sequences together with one
# matrix-matrix product per step (posterior_lockstep); below, one compiled loop per sequence.
LOCKSTEP_MIN_STATES = 16


def choose_posterior_method(trans: np.ndarray, lik: np.ndarray, n_seq: int) -> str:
    """ "paired" (two states, no entry below PAIR_MIN), "lockstep" (a batch, K ≥
    LOCKSTEP_MIN_STATES) or "loop"."""
    n_states = trans.shape[0]
    if n_states == 2 and all_at_least(trans, PAIR_MIN) and all_at_least(lik, PAIR_MIN):
        return "paired"
    if n_seq > 1 and n_states >= LOCKSTEP_MIN_STATES:
        return "lockstep"
    return "loop"


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _fold_in_backward(post, t, beta):
    """post[t] ← post[t] ⊙ β normalised to sum 1 (filter times ρ_t = smoothing posterior)."""
    norm = 0.0
    for k in range(beta.shape[0]):
        v = post[t, k] * beta[k]
        post[t, k] = v
        norm += v
    inv = 1.0 / norm
    for k in range(beta.shape[0]):
        post[t, k] *= inv


@njit(cache=True, error_model="numpy", fastmath=FAST)
def posterior(start, trans, trans_t, lik, rows, offsets, post):
    """Smoothing posterior π_t ρ_t / P(X) into ``post`` (N, K); returns the impossible flags.

    The forward pass stores the filter in ``post``; the backward pass keeps ρ_t as one
    lazily rescaled vector and folds it in place, so the extra memory is O(K).
    """
    n_states = start.shape[0]
    impossible = forward_filter(start, trans, lik, rows, offsets, post, np.empty(0), False)
    beta = np.empty(n_states)
    weights = np.empty(n_states)
    for b in range(offsets.shape[0] - 1):
        if impossible[b]:
            continue
        beta[:] = 1.0
        for t in range(offsets[b + 1] - 2, offsets[b] - 1, -1):
            total = pull_back_step(beta, trans_t, lik, rows[t + 1], weights, beta, post, t)
            rescale(beta, total)  # total > 0: the sequence is possible
            _fold_in_backward(post, t, beta)
    return impossible


# Two-state posterior, two time steps per link of the dependency chain (see
# _posterior_two_state_pair_loop).
# Allowed when every transition and likelihood entry is at least PAIR_MIN: then no state is
# ever ruled out (no dead-state bookkeeping) and the product of two steps' matrices, at least
# PAIR_MIN⁴ = 2^-256 per entry, times a message of at least TINY stays far from underflow.
PAIR_MIN = 2.0**-64


@njit(cache=True, error_model="numpy")
def all_at_least(values, floor):
    """True when every entry of the 2-D array ``values`` is ≥ ``floor`` (and none is NaN)."""
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if not values[i, j] >= floor:
                return False
    return True


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _posterior_two_state_pair_loop(start, trans, lik, rows, lo, hi, post):
    """Two-state smoothing posterior of rows lo..hi-1, two steps per link of the chain.

    Requires all of ``trans`` and ``lik`` ≥ ``PAIR_MIN`` (the caller checks). With
    B_t[i, j] = trans[i, j] lik_t[j], the scaled forward message is advanced two steps at a
    time, α_{t+1} = α_{t-1} (B_t B_{t+1}), where B_t B_{t+1} depends only on the data and so is
    off the dependency chain; α_t = α_{t-1} B_t is computed beside it for the filter. The
    backward pass does the same with ρ_{t-1} = B_t B_{t+1} ρ_{t+1}. The recursion's latency per
    step halves. The forward pass stores the scaled α_t unnormalised (no division; every
    entry stays above 2^-460, so α_t ρ_t cannot underflow) and the backward pass multiplies by
    ρ_t and normalises, once per step.
    """
    t00, t01, t10, t11 = trans[0, 0], trans[0, 1], trans[1, 0], trans[1, 1]
    a0 = start[0] * lik[rows[lo], 0]
    a1 = start[1] * lik[rows[lo], 1]
    post[lo, 0] = a0
    post[lo, 1] = a1
    total = a0 + a1
    while total < TINY:
        a0 *= HUGE
        a1 *= HUGE
        total *= HUGE
    t = lo + 1
    while t + 1 < hi:
        u0 = lik[rows[t], 0]
        u1 = lik[rows[t], 1]
        v0 = lik[rows[t + 1], 0]
        v1 = lik[rows[t + 1], 1]
        b00 = t00 * u0
        b01 = t01 * u1
        b10 = t10 * u0
        b11 = t11 * u1
        c00 = (b00 * t00 + b01 * t10) * v0
        c01 = (b00 * t01 + b01 * t11) * v1
        c10 = (b10 * t00 + b11 * t10) * v0
        c11 = (b10 * t01 + b11 * t11) * v1
        n0 = a0 * b00 + a1 * b10  # α_t, beside the chain
        n1 = a0 * b01 + a1 * b11
        a0, a1 = a0 * c00 + a1 * c10, a0 * c01 + a1 * c11  # α_{t+1}, the chain
        post[t, 0] = n0
        post[t, 1] = n1
        post[t + 1, 0] = a0
        post[t + 1, 1] = a1
        total = a0 + a1
        while total < TINY:
            a0 *= HUGE
            a1 *= HUGE
            total *= HUGE
        t += 2
    if t < hi:  # an odd step left over
        u0 = lik[rows[t], 0]
        u1 = lik[rows[t], 1]
        post[t, 0] = (a0 * t00 + a1 * t10) * u0
        post[t, 1] = (a0 * t01 + a1 * t11) * u1
    # Backward: ρ_{hi-1} = 1, so the last row only needs normalising.
    inv = 1.0 / (post[hi - 1, 0] + post[hi - 1, 1])
    post[hi - 1, 0] *= inv
    post[hi - 1, 1] *= inv
    r0 = 1.0
    r1 = 1.0
    t = hi - 2
    while t - 1 >= lo:
        u0 = lik[rows[t + 1], 0]
        u1 = lik[rows[t + 1], 1]
        v0 = lik[rows[t], 0]
        v1 = lik[rows[t], 1]
        # ρ_t = B_{t+1} ρ_{t+1};  ρ_{t-1} = (B_t B_{t+1}) ρ_{t+1} = D ρ_{t+1}
        e00 = t00 * v0
        e01 = t01 * v1
        e10 = t10 * v0
        e11 = t11 * v1
        d00 = (e00 * t00 + e01 * t10) * u0
        d01 = (e00 * t01 + e01 * t11) * u1
        d10 = (e10 * t00 + e11 * t10) * u0
        d11 = (e10 * t01 + e11 * t11) * u1
        w0 = u0 * r0
        w1 = u1 * r1
        n0 = t00 * w0 + t01 * w1
        n1 = t10 * w0 + t11 * w1
        r0, r1 = d00 * r0 + d01 * r1, d10 * r0 + d11 * r1
        p0 = post[t, 0] * n0
        p1 = post[t, 1] * n1
        inv = 1.0 / (p0 + p1)
        post[t, 0] = p0 * inv
        post[t, 1] = p1 * inv
        p0 = post[t - 1, 0] * r0
        p1 = post[t - 1, 1] * r1
        inv = 1.0 / (p0 + p1)
        post[t - 1, 0] = p0 * inv
        post[t - 1, 1] = p1 * inv
        total = r0 + r1
        while total < TINY:
            r0 *= HUGE
            r1 *= HUGE
            total *= HUGE
        t -= 2
    if t == lo:  # an odd step left over
        w0 = lik[rows[t + 1], 0] * r0
        w1 = lik[rows[t + 1], 1] * r1
        n0 = t00 * w0 + t01 * w1
        n1 = t10 * w0 + t11 * w1
        p0 = post[t, 0] * n0
        p1 = post[t, 1] * n1
        inv = 1.0 / (p0 + p1)
        post[t, 0] = p0 * inv
        post[t, 1] = p1 * inv


@njit(cache=True, error_model="numpy")
def posterior_two_state_paired(start, trans, lik, rows, offsets, post):
    """:func:`_posterior_two_state_pair_loop` over every sequence of a batch (see its
    requirements)."""
    for b in range(offsets.shape[0] - 1):
        _posterior_two_state_pair_loop(start, trans, lik, rows, offsets[b], offsets[b + 1], post)


# The lockstep posterior works on groups of sequences whose posterior rows take about this
# many bytes, so that the backward pass finds the filter the forward pass wrote still in cache
# (1000 × 100 at K = 64: 71 ms in one group, 45–50 ms in groups of 16–64 sequences).
LOCKSTEP_GROUP_BYTES = 1_500_000
LOCKSTEP_MIN_GROUP = 16


@njit(cache=True, error_model="numpy")
def posterior_lockstep(start, trans, lik, rows, offsets, order, post):
    """Smoothing posterior of a batch with sequences advanced together, for larger K.

    ``order`` lists the sequences by decreasing length. They are taken in consecutive groups
    of about ``LOCKSTEP_GROUP_BYTES`` of output (at least ``LOCKSTEP_MIN_GROUP`` sequences),
    each group solved by :func:`_lockstep_group`. Returns the impossible flags.
    """
    n_states = start.shape[0]
    n_seq = order.shape[0]
    impossible = np.zeros(offsets.shape[0] - 1, dtype=np.bool_)
    trans_t = np.ascontiguousarray(trans.T)
    messages = np.empty((n_seq, n_states))
    products = np.empty((n_seq, n_states))
    lo = 0
    while lo < n_seq:
        longest = offsets[order[lo] + 1] - offsets[order[lo]]
        size = max(LOCKSTEP_MIN_GROUP, LOCKSTEP_GROUP_BYTES // (8 * n_states * longest))
        hi = min(n_seq, lo + size)
        _lockstep_group(
            start, trans, trans_t, lik, rows, offsets, order[lo:hi], post, impossible,
            messages[: hi - lo], products[: hi - lo],
        )  # fmt: skip
        lo = hi
    return impossible


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _lockstep_group(
    start, trans, trans_t, lik, rows, offsets, order, post, impossible, messages, products
):
    """Smoothing posterior of the sequences in ``order`` (by decreasing length), advanced
    together; sets ``impossible`` for those with probability 0.

    The ones still running at step t are a prefix of ``order``, so each step is one
    (B_t, K) × (K, K) BLAS matrix product into a preallocated buffer (``messages`` and
    ``products``, each at least (B, K); no allocation per step), which for K ≳ 16 beats B
    separate vector-matrix products by several times. The forward pass stores the filter in
    ``post``; the backward pass multiplies it by ρ_t in place. Messages are normalised every
    step per sequence.
    """
    n_states = start.shape[0]
    n_seq = order.shape[0]
    lengths = np.empty(n_seq, dtype=np.int64)
    first = np.empty(n_seq, dtype=np.int64)
    for i in range(n_seq):
        first[i] = offsets[order[i]]
        lengths[i] = offsets[order[i] + 1] - first[i]
    active = n_seq
    for t in range(lengths[0]):
        while lengths[active - 1] <= t:
            active -= 1
        if t == 0:
            for i in range(active):
                for k in range(n_states):
                    products[i, k] = start[k]
        else:
            np.dot(messages[:active], trans, products[:active])
        for i in range(active):
            row = first[i] + t
            symbol = rows[row]
            total = 0.0
            for k in range(n_states):
                v = products[i, k] * lik[symbol, k]
                products[i, k] = v
                total += v
            if total == 0.0:
                impossible[order[i]] = True
                total = 1.0
            inv = 1.0 / total
            for k in range(n_states):
                v = products[i, k] * inv
                post[row, k] = v
                messages[i, k] = v
    # Backward: at step t the sequences with a step t + 1 are a prefix; newcomers start at
    # ρ = 1. ``products`` holds lik_{t+1} ⊙ ρ_{t+1} (ρ normalised), so ρ_t = products · trans.T;
    # the pass that folds ρ_t into the posterior also forms the next step's products.
    active = 0
    for t in range(lengths[0] - 2, -1, -1):
        while active < n_seq and lengths[active] > t + 1:
            symbol = rows[first[active] + t + 1]
            for k in range(n_states):
                products[active, k] = lik[symbol, k]
            active += 1
        np.dot(products[:active], trans_t, messages[:active])
        for i in range(active):
            if impossible[order[i]]:
                continue
            row = first[i] + t
            total = 0.0
            norm = 0.0
            for k in range(n_states):
                # dead state, see recursions; written as a select so the loop vectorises
                m = messages[i, k] if post[row, k] != 0.0 else 0.0
                messages[i, k] = m
                total += m
                norm += post[row, k] * m
            inv = 1.0 / total
            inv_norm = 1.0 / norm
            symbol = rows[row]
            for k in range(n_states):
                m = messages[i, k]
                post[row, k] *= m * inv_norm
                products[i, k] = m * inv * lik[symbol, k]


@njit(cache=True, error_model="numpy")
def fixed_lag_blocks(start, trans, lik, rows, offsets, lag, post):
    """P(h_t | x_1..x_{t+lag}) into ``post`` in O(N · K³), independent of ``lag``.

    Time is cut into blocks of ``lag`` steps. For t in a block with last step m (the pivot),
    the lag-window backward message factors through h_m:

        P(x_{t+1..e} | h_t) = F_t · g_e,  F_t[h, h'] = P(x_{t+1..m}, h_m = h' | h_t = h),
                                          g_e[h'] = P(x_{m+1..e} | h_m = h'),  e = t + lag.

    g_e for every e in the next block comes from one forward-growing matrix product and F_t
    from one backward-growing product, each a K×K by K×K step. Both are rescaled lazily and
    their rows for states the filter rules out are zeroed (dead state, see recursions).
    """
    n_states = start.shape[0]
    unused = np.empty(0)
    impossible = forward_filter(start, trans, lik, rows, offsets, post, unused, False)
    prod_f = np.empty((n_states, n_states))
    next_f = np.empty((n_states, n_states))
    prod_g = np.empty((n_states, n_states))
    next_g = np.empty((n_states, n_states))
    g_vectors = np.empty((lag + 1, n_states))
    beta = np.empty(n_states)
    for b in range(offsets.shape[0] - 1):
        if impossible[b]:
            continue
        lo = offsets[b]
        hi = offsets[b + 1]
        for block_start in range(lo, hi, lag):
            pivot = min(block_start + lag, hi) - 1
            last_end = min(pivot + lag, hi - 1)
            # g_e = G_e · 1 with G_pivot = I and G_e = G_{e-1} · trans · diag(lik_e).
            for i in range(n_states):
                for j in range(n_states):
                    prod_g[i, j] = 1.0 if (i == j and post[pivot, i] != 0.0) else 0.0
                g_vectors[0, i] = prod_g[i, i]
            for e in range(pivot + 1, last_end + 1):
                for i in range(n_states):
                    for j in range(n_states):
                        next_g[i, j] = 0.0
                    for k in range(n_states):
                        w = prod_g[i, k]
                        if w != 0.0:
                            for j in range(n_states):
                                next_g[i, j] += w * trans[k, j]
                total = 0.0
                for i in range(n_states):
                    row = 0.0
                    for j in range(n_states):
                        v = next_g[i, j] * lik[rows[e], j]
                        next_g[i, j] = v
                        row += v
                    g_vectors[e - pivot, i] = row
                    total += row
                prod_g, next_g = next_g, prod_g
                rescale(prod_g.reshape(n_states * n_states), total)
            # F_pivot = I; F_t = trans · diag(lik_{t+1}) · F_{t+1}; then β = F_t · g_{t+lag}.
            for i in range(n_states):
                for j in range(n_states):
                    prod_f[i, j] = 1.0 if (i == j and post[pivot, i] != 0.0) else 0.0
            for t in range(pivot, block_start - 1, -1):
                if t < pivot:
                    total = 0.0
                    for i in range(n_states):
                        for j in range(n_states):
                            next_f[i, j] = 0.0
                        if post[t, i] != 0.0:  # dead rows stay 0
                            for k in range(n_states):
                                w = trans[i, k] * lik[rows[t + 1], k]
                                if w != 0.0:
                                    for j in range(n_states):
                                        next_f[i, j] += w * prod_f[k, j]
                            for j in range(n_states):
                                total += next_f[i, j]
                    prod_f, next_f = next_f, prod_f
                    rescale(prod_f.reshape(n_states * n_states), total)
                end = min(t + lag, hi - 1)
                norm = 0.0
                for i in range(n_states):
                    acc = 0.0
                    for j in range(n_states):
                        acc += prod_f[i, j] * g_vectors[end - pivot, j]
                    beta[i] = post[t, i] * acc
                    norm += beta[i]
                inv = 1.0 / norm
                for i in range(n_states):
                    post[t, i] = beta[i] * inv
    return impossible


@njit(cache=True, error_model="numpy")
def fixed_lag_window(start, trans, trans_t, lik, rows, offsets, lag, post):
    """P(h_t | x_1..x_{t+lag}) into ``post``: the filter times a lag-step backward message.

    Cost O(N · lag · K²): each step runs its own backward pass over its look-ahead window.
    Returns the impossible flags.
    """
    n_states = start.shape[0]
    impossible = forward_filter(start, trans, lik, rows, offsets, post, np.empty(0), False)
    beta = np.empty(n_states)
    weights = np.empty(n_states)
    for b in range(offsets.shape[0] - 1):
        if impossible[b]:
            continue
        lo = offsets[b]
        hi = offsets[b + 1]
        for t in range(lo, hi):
            end = min(t + lag, hi - 1)
            if end == t:
                continue  # the filter already conditions on x_1..x_t
            beta[:] = 1.0
            for s in range(end - 1, t - 1, -1):
                total = pull_back_step(beta, trans_t, lik, rows[s + 1], weights, beta, post, s)
                rescale(beta, total)
            _fold_in_backward(post, t, beta)
    return impossible


@njit(cache=True, error_model="numpy")
def expected_counts(start, trans, trans_t, lik, rows, offsets):
    """E-step statistics of a batch, O(K²) extra memory beyond the (N, K) posterior.

    Returns (posterior (N, K), trans_counts (K, K), start_counts (K,), log-likelihood per
    sequence (B,)). The posterior is built as in :func:`posterior`; the transition counts add
    ξ_t(i, j) = filt_t(i) trans(i, j) lik_{t+1}(j) ρ_{t+1}(j) / Σ_i filt_t(i) ρ_t(i) on the
    way. An impossible sequence has zero posterior rows, adds no counts and gets −inf.
    """
    n_states = start.shape[0]
    n_seq = offsets.shape[0] - 1
    post = np.empty((rows.shape[0], n_states))
    log_prefix = np.empty(rows.shape[0])
    impossible = forward_filter(start, trans, lik, rows, offsets, post, log_prefix, True)
    trans_counts = np.zeros((n_states, n_states))
    start_counts = np.zeros(n_states)
    log_lik = np.empty(n_seq)
    beta = np.empty(n_states)
    weights = np.empty(n_states)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        if impossible[b]:
            log_lik[b] = -np.inf
            post[lo:hi] = 0.0
            continue
        log_lik[b] = log_prefix[hi - 1]
        beta[:] = 1.0
        for t in range(hi - 2, lo - 1, -1):
            # weights = lik_{t+1} ⊙ ρ_{t+1} from the old β, then β becomes ρ_t.
            total = pull_back_step(beta, trans_t, lik, rows[t + 1], weights, beta, post, t)
            norm = 0.0
            for i in range(n_states):
                norm += post[t, i] * beta[i]
            inv = 1.0 / norm
            for i in range(n_states):
                a = post[t, i] * inv
                if a != 0.0:
                    for j in range(n_states):
                        trans_counts[i, j] += a * trans[i, j] * weights[j]
            for k in range(n_states):
                post[t, k] *= beta[k] * inv
            rescale(beta, total)
        for k in range(n_states):
            start_counts[k] += post[lo, k]
    return post, trans_counts, start_counts, log_lik
