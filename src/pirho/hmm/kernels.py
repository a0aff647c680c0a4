"""Compiled dynamic-programming kernels for hidden Markov models.

Every kernel is emission-agnostic: it takes the log start vector ``log_start`` (K,), the log
transition matrix ``log_trans`` (K, K) (row = from-state) and a log emission-likelihood matrix
``log_lik`` (T, K) with ``log_lik[t, k] = log P(x_t | h_t = k)``. Categorical emissions fill
``log_lik`` with one gather; any other emission type fills it another way.

Batches are one concatenated ``log_lik`` of shape (N, K), N = Σ T_b, plus ``offsets`` (B + 1,)
with sequence b occupying rows ``offsets[b]:offsets[b + 1]``. A batch is processed in one
compiled pass (no Python loop over sequences); per-row outputs come back concatenated the same
way. Without ``offsets`` the whole array is one sequence.

Arithmetic, chosen per kernel by measurement (see ``docs/hmm_api.md``):

- forward / backward / likelihood / filter / posterior / fixed-lag / expected counts: *scaled*
  recursions in probability space — one matrix-vector product per step, no ``exp`` or ``log``
  inside the loop. The running message is divided by its sum only when that sum leaves
  [1e-100, 1e100] ("lazy" rescaling, the log of each divisor accumulated), so nothing
  underflows at T = 10⁷ and the critical path holds no division. Measured on the two-state
  casino likelihood (T = 10⁶, shared 2-core machine): per-step normalisation with generic
  K-loops ~100 ns/step, unrolled scalars ~30 ns, unrolled + lazy ~13 ns; so two-state models
  run an unrolled scalar loop and larger K the generic matrix-vector loop. The two-state
  posterior without (near-)zero entries advances two steps per link of the recursion
  (:func:`_posterior_2_paired`); a batch with K ≥ ``LOCKSTEP_MIN_STATES`` advances groups of
  sequences together with one BLAS matrix product per step (:func:`_posterior_lockstep`).
  A log-space ``log_lik`` is first shifted by its row maximum and exponentiated
  (:func:`_scale_log_lik`), so a step's likelihoods never underflow as a whole; a state whose
  likelihood is below ~1e-308 of the best state's at the same step is treated as impossible.
- Viterbi: log space (max-plus), which needs no rescaling and keeps structural zeros exact.

Structural zeros are exact: log 0 = −inf in, probability 0 inside, no NaN out. A sequence that
is impossible under the model has log-likelihood −inf; kernels that must divide by P(x) report
it through a per-sequence flag and the Python wrappers raise ``ValueError``.

Seed notation: π_t(h) = P(x_1..x_t, h_t = h) is the forward message (``forward`` returns
log π_t), ρ_t(h) = P(x_{t+1}..x_T | h_t = h) the backward message (``backward`` returns log ρ_t,
last row 0), P(X) = Σ_h π_T(h), and the smoothing posterior is π_t ρ_t / P(X).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "forward",
    "backward",
    "log_likelihood",
    "filter_probs",
    "posterior",
    "fixed_lag_posterior",
    "viterbi",
    "expected_counts",
    "sample_path",
]

# Lazy rescaling (fixed-lag kernels): a running message is divided by its sum only when that
# sum leaves [_RESCALE, 1/_RESCALE], so the per-step critical path has no log. A state
# whose probability falls below ~1e-208 of the others' (1e-100 · machine range) is flushed to 0.
_RESCALE = 1e-100
_UNSCALE = 1e100
# The hottest loops (forward, likelihood, posterior) rescale by exact powers of two instead, so
# the rescaled value never depends on a division (which the compiler may hoist into the
# dependency chain) and no rounding is added: multiply by 2^332 ≈ 1e100 when the sum drops
# below 2^-332, and subtract 332·log 2 from the accumulated log.
_TINY = 2.0**-332
_HUGE = 2.0**332
_LOG_HUGE = 332 * math.log(2.0)

# _DEAD_STATES: in a backward pass that feeds a posterior, ρ_t(k) is set to 0 wherever the
# filter P(h_t = k | x_1..x_t) is 0. Such a state cannot influence any earlier posterior
# (α_t(k) = 0 means no live state at t−1 reaches it and emits x_t), but its ρ_t may decay far
# more slowly than the live states' and, after normalisation, push them to underflow.


# ----------------------------------------------------------------------------------------------
# Compiled building blocks, all on emission likelihoods in probability space: step t of the
# concatenated batch has likelihoods lik[rows[t]] (see the note above _forward_impl).
# The log-space public wrappers scale each row by its maximum first (see _scale_log_lik).
# Small helpers are inlined so that no array reference counting happens per step.
# ----------------------------------------------------------------------------------------------


@njit(cache=True, inline="always", error_model="numpy")
def _predict(prev, trans, out):
    """out[j] = Σ_i prev[i] trans[i, j]  (row-vector times matrix, contiguous inner loop)."""
    n_states = out.shape[0]
    for j in range(n_states):
        out[j] = 0.0
    for i in range(n_states):
        p = prev[i]
        if p != 0.0:
            for j in range(n_states):
                out[j] += p * trans[i, j]


@njit(cache=True, inline="always", error_model="numpy")
def _pull_back(weights, trans_t, out):
    """out[i] = Σ_j trans[i, j] weights[j], with trans_t = trans.T (contiguous inner loop)."""
    n_states = weights.shape[0]
    for i in range(n_states):
        out[i] = 0.0
    for j in range(n_states):
        w = weights[j]
        if w != 0.0:
            for i in range(n_states):
                out[i] += w * trans_t[j, i]


@njit(cache=True, error_model="numpy")
def _forward_pass_2(start, trans, lik, rows, lo, hi, filt):
    """Two-state filter for one sequence in scalars; returns True if it has probability 0."""
    t00, t01, t10, t11 = trans[0, 0], trans[0, 1], trans[1, 0], trans[1, 1]
    a0 = start[0] * lik[rows[lo], 0]
    a1 = start[1] * lik[rows[lo], 1]
    for t in range(lo, hi):
        if t > lo:
            p0 = a0 * t00 + a1 * t10
            p1 = a0 * t01 + a1 * t11
            a0 = p0 * lik[rows[t], 0]
            a1 = p1 * lik[rows[t], 1]
        total = a0 + a1
        if total == 0.0:
            for s in range(t, hi):
                filt[s, 0] = 0.0
                filt[s, 1] = 0.0
            return True
        inv = 1.0 / total
        filt[t, 0] = a0 * inv
        filt[t, 1] = a1 * inv
        while total < _TINY:  # exact power-of-two rescaling, off the critical path
            a0 *= _HUGE
            a1 *= _HUGE
            total *= _HUGE
    return False


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc", "nsz", "arcp"})
def _forward_pass(start, trans, lik, rows, offsets, filt, log_prefix, want_log):
    """Forward pass over a batch.

    Writes filt[t] = π_t / Σ_h π_t(h) (the filter) and, if ``want_log``,
    log_prefix[t] = log P(x_1..x_t) = log Σ_h π_t(h). Returns a bool flag per sequence: True
    where the sequence has probability 0 (its rows from the first impossible step on are 0 and
    its log_prefix −inf).
    """
    n_states = start.shape[0]
    n_seq = offsets.shape[0] - 1
    emis = np.empty(n_states)
    alpha = np.empty(n_states)  # π_t divided by exp(log_acc)
    pred = np.empty(n_states)
    impossible = np.zeros(n_seq, dtype=np.bool_)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        log_acc = 0.0
        if n_states == 2 and not want_log:
            impossible[b] = _forward_pass_2(start, trans, lik, rows, lo, hi, filt)
            continue
        for k in range(n_states):
            alpha[k] = start[k]
        for t in range(lo, hi):
            for k in range(n_states):
                emis[k] = lik[rows[t], k]
            if t == lo:
                for k in range(n_states):
                    pred[k] = alpha[k]
            elif n_states == 2:
                pred[0] = alpha[0] * trans[0, 0] + alpha[1] * trans[1, 0]
                pred[1] = alpha[0] * trans[0, 1] + alpha[1] * trans[1, 1]
            else:
                _predict(alpha, trans, pred)
            total = 0.0
            for k in range(n_states):
                v = pred[k] * emis[k]
                alpha[k] = v
                total += v
            if total == 0.0:
                impossible[b] = True
                for s in range(t, hi):
                    if want_log:
                        log_prefix[s] = -np.inf
                    for k in range(n_states):
                        filt[s, k] = 0.0
                break
            inv = 1.0 / total
            for k in range(n_states):
                filt[t, k] = alpha[k] * inv
            if want_log:
                log_prefix[t] = log_acc + math.log(total)
            while total < _TINY:
                log_acc -= _LOG_HUGE
                total *= _HUGE
                for k in range(n_states):
                    alpha[k] *= _HUGE
    return impossible


@njit(cache=True, error_model="numpy")
def _backward_pass(trans_t, lik, rows, offsets, beta, log_scale):
    """Backward pass over a batch, normalising every step (this pass is not speed-critical).

    Writes beta[t] = ρ_t / Σ_h ρ_t(h) and log_scale[t] = log Σ_h ρ_t(h), so that
    log ρ_t = log beta[t] + log_scale[t]. Rows where ρ_t is identically 0 are 0 / −inf.
    """
    n_states = trans_t.shape[0]
    weights = np.empty(n_states)
    pulled = np.empty(n_states)
    for b in range(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        for k in range(n_states):
            beta[hi - 1, k] = 1.0 / n_states
        log_scale[hi - 1] = math.log(n_states)
        for t in range(hi - 2, lo - 1, -1):
            if log_scale[t + 1] == -np.inf:
                for k in range(n_states):
                    beta[t, k] = 0.0
                log_scale[t] = -np.inf
                continue
            for j in range(n_states):
                weights[j] = lik[rows[t + 1], j] * beta[t + 1, j]
            _pull_back(weights, trans_t, pulled)
            total = 0.0
            for k in range(n_states):
                total += pulled[k]
            if total == 0.0:
                for k in range(n_states):
                    beta[t, k] = 0.0
                log_scale[t] = -np.inf
                continue
            inv = 1.0 / total
            for k in range(n_states):
                beta[t, k] = pulled[k] * inv
            log_scale[t] = log_scale[t + 1] + math.log(total)


@njit(cache=True, error_model="numpy")
def _log_likelihood(start, trans, lik, rows, offsets):
    """log P(x) per sequence; −inf for an impossible one. Keeps only O(K) state."""
    n_states = start.shape[0]
    n_seq = offsets.shape[0] - 1
    emis = np.empty(n_states)
    alpha = np.empty(n_states)
    pred = np.empty(n_states)
    out = np.empty(n_seq)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        log_acc = 0.0
        total = 0.0
        if n_states == 2:
            # Two states (the casino): scalars in registers, the common benchmark case.
            a0 = start[0] * lik[rows[lo], 0]
            a1 = start[1] * lik[rows[lo], 1]
            t00, t01, t10, t11 = trans[0, 0], trans[0, 1], trans[1, 0], trans[1, 1]
            total = a0 + a1
            for t in range(lo + 1, hi):
                if total == 0.0:
                    break
                while total < _TINY:
                    log_acc -= _LOG_HUGE
                    total *= _HUGE
                    a0 *= _HUGE
                    a1 *= _HUGE
                p0 = a0 * t00 + a1 * t10
                p1 = a0 * t01 + a1 * t11
                a0 = p0 * lik[rows[t], 0]
                a1 = p1 * lik[rows[t], 1]
                total = a0 + a1
        else:
            for k in range(n_states):
                alpha[k] = start[k]
            for t in range(lo, hi):
                for k in range(n_states):
                    emis[k] = lik[rows[t], k]
                if t == lo:
                    for k in range(n_states):
                        pred[k] = alpha[k]
                else:
                    _predict(alpha, trans, pred)
                total = 0.0
                for k in range(n_states):
                    v = pred[k] * emis[k]
                    alpha[k] = v
                    total += v
                if total == 0.0:
                    break
                while total < _TINY:
                    log_acc -= _LOG_HUGE
                    total *= _HUGE
                    for k in range(n_states):
                        alpha[k] *= _HUGE
        out[b] = -np.inf if total == 0.0 else log_acc + math.log(total)
    return out


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc", "nsz", "arcp"})
def _posterior(start, trans, trans_t, lik, rows, offsets, post):
    """Smoothing posterior π_t ρ_t / P(X) into ``post`` (N, K); returns the impossible flags.

    The forward pass stores the filter in ``post``; the backward pass keeps ρ_t as one
    lazily rescaled vector and multiplies it in place.
    """
    n_states = start.shape[0]
    unused = np.empty(0)
    impossible = _forward_pass(start, trans, lik, rows, offsets, post, unused, False)
    beta = np.empty(n_states)
    weights = np.empty(n_states)
    for b in range(offsets.shape[0] - 1):
        if impossible[b]:
            continue
        lo = offsets[b]
        hi = offsets[b + 1]
        if n_states == 2:
            # Two states: ρ_t kept in scalars (the casino benchmark case).
            b0 = 1.0
            b1 = 1.0
            t00, t01, t10, t11 = trans[0, 0], trans[0, 1], trans[1, 0], trans[1, 1]
            for t in range(hi - 2, lo - 1, -1):
                w0 = lik[rows[t + 1], 0] * b0
                w1 = lik[rows[t + 1], 1] * b1
                b0 = t00 * w0 + t01 * w1 if post[t, 0] != 0.0 else 0.0
                b1 = t10 * w0 + t11 * w1 if post[t, 1] != 0.0 else 0.0
                total = b0 + b1
                if total < _TINY:
                    b0 *= _HUGE
                    b1 *= _HUGE
                elif total > _HUGE:
                    b0 *= _TINY
                    b1 *= _TINY
                v0 = post[t, 0] * b0
                v1 = post[t, 1] * b1
                inv = 1.0 / (v0 + v1)
                post[t, 0] = v0 * inv
                post[t, 1] = v1 * inv
            continue
        for k in range(n_states):
            beta[k] = 1.0
        for t in range(hi - 2, lo - 1, -1):
            for j in range(n_states):
                weights[j] = lik[rows[t + 1], j] * beta[j]
            _pull_back(weights, trans_t, beta)
            total = 0.0
            for k in range(n_states):
                if post[t, k] == 0.0:
                    beta[k] = 0.0  # see _DEAD_STATES
                total += beta[k]
            # total > 0 because the sequence is possible.
            if total < _TINY or total > _HUGE:
                scale = _HUGE if total < _TINY else _TINY
                for k in range(n_states):
                    beta[k] *= scale
            norm = 0.0
            for k in range(n_states):
                v = post[t, k] * beta[k]
                post[t, k] = v
                norm += v
            inv = 1.0 / norm
            for k in range(n_states):
                post[t, k] *= inv
    return impossible


# Two-state posterior, two time steps per link of the dependency chain (_posterior_2_paired).
# Allowed when every transition and likelihood entry is at least _PAIR_MIN: then no state is
# ever ruled out (no _DEAD_STATES bookkeeping) and the product of two steps' matrices, at least
# _PAIR_MIN⁴ = 2^-256 per entry, times a message of at least _TINY stays far from underflow.
_PAIR_MIN = 2.0**-64


@njit(cache=True, error_model="numpy")
def _all_at_least(values, floor):
    """True when every entry of the 2-D array ``values`` is ≥ ``floor`` (and none is NaN)."""
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if not values[i, j] >= floor:
                return False
    return True


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc", "nsz", "arcp"})
def _posterior_2_paired(start, trans, lik, rows, lo, hi, post):
    """Two-state smoothing posterior of rows lo..hi-1, two steps per link of the chain.

    Requires all of ``trans`` and ``lik`` ≥ ``_PAIR_MIN`` (the caller checks). With
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
    while total < _TINY:
        a0 *= _HUGE
        a1 *= _HUGE
        total *= _HUGE
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
        while total < _TINY:
            a0 *= _HUGE
            a1 *= _HUGE
            total *= _HUGE
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
        while total < _TINY:
            r0 *= _HUGE
            r1 *= _HUGE
            total *= _HUGE
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
def _posterior_2_batch(start, trans, lik, rows, offsets, post):
    """:func:`_posterior_2_paired` over every sequence of a batch (see its requirements)."""
    for b in range(offsets.shape[0] - 1):
        _posterior_2_paired(start, trans, lik, rows, offsets[b], offsets[b + 1], post)


# The lockstep posterior works on groups of sequences whose posterior rows take about this
# many bytes, so that the backward pass finds the filter the forward pass wrote still in cache
# (1000 × 100 at K = 64: 71 ms in one group, 45–50 ms in groups of 16–64 sequences).
LOCKSTEP_GROUP_BYTES = 1_500_000
LOCKSTEP_MIN_GROUP = 16


@njit(cache=True, error_model="numpy")
def _posterior_lockstep(start, trans, lik, rows, offsets, order, post):
    """Smoothing posterior of a batch with sequences advanced together, for larger K.

    ``order`` lists the sequences by decreasing length. They are taken in consecutive groups
    of about ``LOCKSTEP_GROUP_BYTES`` of output (at least ``LOCKSTEP_MIN_GROUP`` sequences),
    each group solved by :func:`_posterior_lockstep_group`. Returns the impossible flags.
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
        _posterior_lockstep_group(
            start, trans, trans_t, lik, rows, offsets, order[lo:hi], post, impossible,
            messages[: hi - lo], products[: hi - lo],
        )  # fmt: skip
        lo = hi
    return impossible


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc", "nsz", "arcp"})
def _posterior_lockstep_group(
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
                # see _DEAD_STATES; written as a select so the loop vectorises
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
def _fixed_lag(start, trans, trans_t, lik, rows, offsets, lag, post):
    """P(h_t | x_1..x_{t+lag}) into ``post``: the filter times a lag-step backward message.

    Cost O(N · lag · K²): each step runs its own backward pass over its look-ahead window.
    """
    n_states = start.shape[0]
    unused = np.empty(0)
    impossible = _forward_pass(start, trans, lik, rows, offsets, post, unused, False)
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
            for k in range(n_states):
                beta[k] = 1.0
            for s in range(end - 1, t - 1, -1):
                for j in range(n_states):
                    weights[j] = lik[rows[s + 1], j] * beta[j]
                _pull_back(weights, trans_t, beta)
                total = 0.0
                for k in range(n_states):
                    if post[s, k] == 0.0:
                        beta[k] = 0.0  # see _DEAD_STATES
                    total += beta[k]
                if total < _RESCALE or total > _UNSCALE:
                    inv = 1.0 / total
                    for k in range(n_states):
                        beta[k] *= inv
            norm = 0.0
            for k in range(n_states):
                v = post[t, k] * beta[k]
                post[t, k] = v
                norm += v
            inv = 1.0 / norm
            for k in range(n_states):
                post[t, k] *= inv
    return impossible


@njit(cache=True, error_model="numpy")
def _fixed_lag_blocks(start, trans, lik, rows, offsets, lag, post):
    """P(h_t | x_1..x_{t+lag}) into ``post`` in O(N · K³), independent of ``lag``.

    Time is cut into blocks of ``lag`` steps. For t in a block with last step m (the pivot),
    the lag-window backward message factors through h_m:

        P(x_{t+1..e} | h_t) = F_t · g_e,  F_t[h, h'] = P(x_{t+1..m}, h_m = h' | h_t = h),
                                          g_e[h'] = P(x_{m+1..e} | h_m = h'),  e = t + lag.

    g_e for every e in the next block comes from one forward-growing matrix product and F_t
    from one backward-growing product, each a K×K by K×K step. Both are rescaled lazily and
    their rows for states the filter rules out are zeroed (see _DEAD_STATES).
    """
    n_states = start.shape[0]
    unused = np.empty(0)
    impossible = _forward_pass(start, trans, lik, rows, offsets, post, unused, False)
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
                if total < _RESCALE or total > _UNSCALE:
                    inv = 1.0 / total
                    for i in range(n_states):
                        for j in range(n_states):
                            prod_g[i, j] *= inv
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
                    if total < _RESCALE or total > _UNSCALE:
                        inv = 1.0 / total
                        for i in range(n_states):
                            for j in range(n_states):
                                prod_f[i, j] *= inv
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
def _viterbi(log_start, log_trans, log_lik, rows, offsets, path, back):
    """Max-product in log space; writes the best path into ``path`` (N,).

    Returns (best log joint per sequence, impossible flags). Ties go to the lowest state index.
    ``back`` (max T, K) is scratch space for back-pointers (int8 when K ≤ 127).
    """
    n_states = log_start.shape[0]
    n_seq = offsets.shape[0] - 1
    delta = np.empty(n_states)
    new = np.empty(n_states)
    best_log = np.empty(n_seq)
    impossible = np.zeros(n_seq, dtype=np.bool_)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        for k in range(n_states):
            delta[k] = log_start[k] + log_lik[rows[lo], k]
        if n_states == 2:
            d0, d1 = delta[0], delta[1]
            l00, l01, l10, l11 = log_trans[0, 0], log_trans[0, 1], log_trans[1, 0], log_trans[1, 1]
            for t in range(lo + 1, hi):
                u = d0 + l00
                v = d1 + l10
                back[t - lo, 0] = 1 if v > u else 0
                n0 = v if v > u else u
                u = d0 + l01
                v = d1 + l11
                back[t - lo, 1] = 1 if v > u else 0
                n1 = v if v > u else u
                d0 = n0 + log_lik[rows[t], 0]
                d1 = n1 + log_lik[rows[t], 1]
            delta[0], delta[1] = d0, d1
        else:
            for t in range(lo + 1, hi):
                row = t - lo
                for j in range(n_states):
                    new[j] = delta[0] + log_trans[0, j]
                    back[row, j] = 0
                for i in range(1, n_states):
                    d = delta[i]
                    for j in range(n_states):
                        v = d + log_trans[i, j]
                        if v > new[j]:
                            new[j] = v
                            back[row, j] = i
                for j in range(n_states):
                    delta[j] = new[j] + log_lik[rows[t], j]
        state = 0
        best = delta[0]
        for k in range(1, n_states):
            if delta[k] > best:
                best = delta[k]
                state = k
        best_log[b] = best
        if best == -np.inf:
            impossible[b] = True
            for t in range(lo, hi):
                path[t] = -1
            continue
        path[hi - 1] = state
        for t in range(hi - 1, lo, -1):
            state = back[t - lo, state]
            path[t - 1] = state
    return best_log, impossible


@njit(cache=True, error_model="numpy")
def _expected_counts_2(
    trans, emit_t, symbols, lo, hi, alpha, start_counts, trans_counts, emit_counts
):
    """Two-state backward accumulation of :func:`_expected_counts` for one sequence, in scalars."""
    t00, t01, t10, t11 = trans[0, 0], trans[0, 1], trans[1, 0], trans[1, 1]
    c00 = c01 = c10 = c11 = 0.0
    b0 = 1.0
    b1 = 1.0
    x = symbols[hi - 1]
    emit_counts[0, x] += alpha[hi - 1, 0]
    emit_counts[1, x] += alpha[hi - 1, 1]
    g0 = alpha[hi - 1, 0]
    g1 = alpha[hi - 1, 1]
    for t in range(hi - 2, lo - 1, -1):
        w0 = emit_t[symbols[t + 1], 0] * b0
        w1 = emit_t[symbols[t + 1], 1] * b1
        a0 = alpha[t, 0]
        a1 = alpha[t, 1]
        p0 = t00 * w0 + t01 * w1 if a0 != 0.0 else 0.0  # unnormalised beta_t
        p1 = t10 * w0 + t11 * w1 if a1 != 0.0 else 0.0
        inv = 1.0 / (a0 * p0 + a1 * p1)
        a0 *= inv
        a1 *= inv
        c00 += a0 * t00 * w0
        c01 += a0 * t01 * w1
        c10 += a1 * t10 * w0
        c11 += a1 * t11 * w1
        g0 = a0 * p0
        g1 = a1 * p1
        x = symbols[t]
        emit_counts[0, x] += g0
        emit_counts[1, x] += g1
        inv = 1.0 / (p0 + p1)
        b0 = p0 * inv
        b1 = p1 * inv
    start_counts[0] += g0
    start_counts[1] += g1
    trans_counts[0, 0] += c00
    trans_counts[0, 1] += c01
    trans_counts[1, 0] += c10
    trans_counts[1, 1] += c11


@njit(cache=True, error_model="numpy")
def _expected_counts(start, trans, trans_t, emit_t, symbols, offsets):
    """E-step sufficient statistics for categorical emissions, O(K) extra memory per step.

    emit_t is emit.T (M, K). Returns (start_counts (K,), trans_counts (K, K),
    emit_counts (K, M), log-likelihood per sequence (B,)); an impossible sequence contributes
    no counts and has log-likelihood −inf.
    """
    n_states = start.shape[0]
    n_symbols = emit_t.shape[0]
    n_total = symbols.shape[0]
    n_seq = offsets.shape[0] - 1
    lik, rows = emit_t, symbols  # lik[rows[t]] = P(x_t | h_t)
    alpha = np.empty((n_total, n_states))
    log_prefix = np.empty(n_total)
    impossible = _forward_pass(start, trans, lik, rows, offsets, alpha, log_prefix, True)
    start_counts = np.zeros(n_states)
    trans_counts = np.zeros((n_states, n_states))
    emit_counts = np.zeros((n_states, n_symbols))
    log_lik = np.empty(n_seq)
    beta = np.empty(n_states)
    weights = np.empty(n_states)
    pulled = np.empty(n_states)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        if impossible[b]:
            log_lik[b] = -np.inf
            continue
        log_lik[b] = log_prefix[hi - 1]
        if n_states == 2:
            _expected_counts_2(trans, emit_t, symbols, lo, hi, alpha, start_counts, trans_counts,
                               emit_counts)  # fmt: skip
            continue
        for k in range(n_states):
            beta[k] = 1.0
        # Last step: gamma = filter.
        x = symbols[hi - 1]
        for k in range(n_states):
            emit_counts[k, x] += alpha[hi - 1, k]
        if hi - 1 == lo:
            for k in range(n_states):
                start_counts[k] += alpha[lo, k]
        for t in range(hi - 2, lo - 1, -1):
            for j in range(n_states):
                weights[j] = lik[rows[t + 1], j] * beta[j]
            _pull_back(weights, trans_t, pulled)  # unnormalised beta_t
            for k in range(n_states):
                if alpha[t, k] == 0.0:
                    pulled[k] = 0.0  # see _DEAD_STATES
            norm = 0.0
            for i in range(n_states):
                norm += alpha[t, i] * pulled[i]
            inv = 1.0 / norm
            # xi_t(i, j) = alpha_t(i) trans(i, j) lik_{t+1}(j) beta_{t+1}(j) / norm
            for i in range(n_states):
                a = alpha[t, i] * inv
                if a != 0.0:
                    for j in range(n_states):
                        trans_counts[i, j] += a * trans[i, j] * weights[j]
            x = symbols[t]
            for k in range(n_states):
                gamma = alpha[t, k] * pulled[k] * inv
                emit_counts[k, x] += gamma
                if t == lo:
                    start_counts[k] += gamma
            total = 0.0
            for k in range(n_states):
                total += pulled[k]
            inv = 1.0 / total
            for k in range(n_states):
                beta[k] = pulled[k] * inv
    return start_counts, trans_counts, emit_counts, log_lik


@njit(cache=True, error_model="numpy")
def _sample(cum_start, cum_trans, cum_emit, u_state, u_symbol, states, symbols):
    """Inverse-CDF sampling of a state path and its symbols from pre-drawn uniforms."""
    n_steps = states.shape[0]
    state = np.searchsorted(cum_start, u_state[0], side="right")
    for t in range(n_steps):
        if t > 0:
            state = np.searchsorted(cum_trans[state], u_state[t], side="right")
        states[t] = state
        symbols[t] = np.searchsorted(cum_emit[state], u_symbol[t], side="right")


# ----------------------------------------------------------------------------------------------
# Public wrappers: check shapes once, then call the compiled kernel.
# ----------------------------------------------------------------------------------------------


def _as_offsets(offsets, n_rows: int) -> np.ndarray:
    if offsets is None:
        if n_rows == 0:
            raise ValueError("log_lik has no rows: the sequence is empty")
        return np.array([0, n_rows], dtype=np.int64)
    offsets = np.asarray(offsets)
    if offsets.ndim != 1 or offsets.shape[0] < 2:
        raise ValueError(f"offsets must be 1-D with at least 2 entries, got shape {offsets.shape}")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise TypeError(f"offsets must be integers, got dtype {offsets.dtype}")
    offsets = offsets.astype(np.int64)
    if offsets[0] != 0 or offsets[-1] != n_rows:
        raise ValueError(
            f"offsets must start at 0 and end at len(log_lik) = {n_rows}, "
            f"got {offsets[0]} … {offsets[-1]}"
        )
    lengths = np.diff(offsets)
    if (lengths <= 0).any():
        b = int(np.flatnonzero(lengths <= 0)[0])
        raise ValueError(f"sequence {b} is empty (offsets[{b}] = offsets[{b + 1}] = {offsets[b]})")
    return offsets


def _check_log_params(log_start, log_trans, log_lik):
    log_start = np.ascontiguousarray(log_start, dtype=np.float64)
    log_trans = np.ascontiguousarray(log_trans, dtype=np.float64)
    log_lik = np.ascontiguousarray(log_lik, dtype=np.float64)
    if log_start.ndim != 1:
        raise ValueError(f"log_start must be 1-D (K,), got shape {log_start.shape}")
    n_states = log_start.shape[0]
    if log_trans.shape != (n_states, n_states):
        raise ValueError(
            f"log_trans must have shape ({n_states}, {n_states}), got {log_trans.shape}"
        )
    if log_lik.ndim != 2 or log_lik.shape[1] != n_states:
        raise ValueError(f"log_lik must have shape (T, {n_states}), got {log_lik.shape}")
    for name, arr in (("log_start", log_start), ("log_trans", log_trans), ("log_lik", log_lik)):
        if np.isnan(arr).any() or (arr == np.inf).any():
            raise ValueError(f"{name} contains NaN or +inf")
    return log_start, log_trans, log_lik


def _raise_impossible(impossible: np.ndarray, batched: bool) -> None:
    if impossible.any():
        b = int(np.flatnonzero(impossible)[0])
        which = f"sequence {b}" if batched else "the sequence"
        raise ValueError(f"{which} has probability 0 under the model (log-likelihood -inf)")


def _scale_log_lik(log_lik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split log_lik (N, K) into lik = exp(log_lik - shift) ≤ 1 and the row maxima shift (N,).

    Every kernel result but the log-probabilities is invariant to a per-row factor; those get
    the shifts added back. An all −inf row (impossible step) gets shift 0 and lik 0.
    """
    shift = log_lik.max(axis=1)
    shift[np.isneginf(shift)] = 0.0
    return np.exp(log_lik - shift[:, None]), shift


def _prefix_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarted at each sequence start."""
    total = np.cumsum(values)
    before = total[offsets[:-1]] - values[offsets[:-1]]
    return total - np.repeat(before, np.diff(offsets))


# Implementations shared by the log-space wrappers below and CategoricalHMM. Step t of the
# concatenated batch has likelihoods lik[rows[t]] (probability space): the wrappers pass
# lik (N, K) with rows = arange(N); CategoricalHMM passes emit.T (M, K) with rows = the symbols,
# so no (N, K) array is ever gathered. Inputs are trusted here.


def _forward_impl(start, trans, lik, rows, offsets):
    filt = np.empty((rows.shape[0], lik.shape[1]))
    log_prefix = np.empty(rows.shape[0])
    _forward_pass(start, trans, lik, rows, offsets, filt, log_prefix, True)
    # log π_t(k) = log P(x_1..x_t) + log P(h_t = k | x_1..x_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_alpha = np.log(filt) + log_prefix[:, None]
    log_alpha[filt == 0.0] = -np.inf
    return log_alpha


def _backward_impl(trans, lik, rows, offsets):
    beta = np.empty((rows.shape[0], lik.shape[1]))
    log_scale = np.empty(rows.shape[0])
    _backward_pass(np.ascontiguousarray(trans.T), lik, rows, offsets, beta, log_scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_beta = np.log(beta) + log_scale[:, None]
    log_beta[beta == 0.0] = -np.inf
    log_beta[offsets[1:] - 1] = 0.0
    return log_beta


def _filter_impl(start, trans, lik, rows, offsets, batched):
    filt = np.empty((rows.shape[0], lik.shape[1]))
    unused = np.empty(0)
    impossible = _forward_pass(start, trans, lik, rows, offsets, filt, unused, False)
    _raise_impossible(impossible, batched)
    return filt


# From this many states on, a batch's posterior advances all sequences together with one
# matrix-matrix product per step (_posterior_lockstep); below, one compiled loop per sequence.
# Two-state models without (near-)zero entries take the paired loop (_posterior_2_paired).
LOCKSTEP_MIN_STATES = 16


def _posterior_impl(start, trans, lik, rows, offsets, batched, method="auto"):
    post = np.empty((rows.shape[0], lik.shape[1]))
    n_seq = offsets.shape[0] - 1
    n_states = lik.shape[1]
    if method == "auto":
        if n_states == 2 and _all_at_least(trans, _PAIR_MIN) and _all_at_least(lik, _PAIR_MIN):
            method = "paired"
        elif n_seq > 1 and n_states >= LOCKSTEP_MIN_STATES:
            method = "lockstep"
        else:
            method = "loop"
    if method == "paired":  # no state is ever ruled out: every sequence is possible
        _posterior_2_batch(start, trans, lik, rows, offsets, post)
        return post
    if method == "lockstep":
        order = np.argsort(-np.diff(offsets), kind="stable")
        impossible = _posterior_lockstep(start, trans, lik, rows, offsets, order, post)
    else:
        trans_t = np.ascontiguousarray(trans.T)
        impossible = _posterior(start, trans, trans_t, lik, rows, offsets, post)
    _raise_impossible(impossible, batched)
    return post


def _fixed_lag_impl(start, trans, lik, rows, offsets, lag, batched, method="auto"):
    if lag >= int(np.diff(offsets).max()) - 1:
        return _posterior_impl(start, trans, lik, rows, offsets, batched)
    post = np.empty((rows.shape[0], lik.shape[1]))
    n_states = lik.shape[1]
    if method == "auto":
        method = "window" if lag <= 2 * n_states else "blocks"
    if method == "window":  # O(N · lag · K²)
        impossible = _fixed_lag(
            start, trans, np.ascontiguousarray(trans.T), lik, rows, offsets, lag, post
        )
    else:  # O(N · K³)
        impossible = _fixed_lag_blocks(start, trans, lik, rows, offsets, lag, post)
    _raise_impossible(impossible, batched)
    return post


def _viterbi_impl(log_start, log_trans, log_lik, rows, offsets, batched):
    path = np.empty(rows.shape[0], dtype=np.int64)
    n_states = log_lik.shape[1]
    back = np.empty(
        (int(np.diff(offsets).max()), n_states), dtype=np.int8 if n_states <= 127 else np.int32
    )
    best, impossible = _viterbi(log_start, log_trans, log_lik, rows, offsets, path, back)
    _raise_impossible(impossible, batched)
    return path, best


def forward(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Forward messages in log space: log π_t.

    log_start (K,), log_trans (K, K), log_lik (T, K) = log P(x_t | h_t = k); with ``offsets``
    (B + 1,), log_lik is a concatenated batch (N, K). Returns log_alpha (T, K) (or (N, K)) with
    ``log_alpha[t, k] = log P(x_1..x_t, h_t = k)``; −inf where that probability is 0.

    >>> import numpy as np
    >>> la = forward(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...              np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(np.exp(la), 4)
    array([[0.25  , 0.05  ],
           [0.1175, 0.0585]])
    """
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    offsets = _as_offsets(offsets, log_lik.shape[0])
    lik, shift = _scale_log_lik(log_lik)
    rows = np.arange(lik.shape[0])
    log_alpha = _forward_impl(np.exp(log_start), np.exp(log_trans), lik, rows, offsets)
    return log_alpha + _prefix_sums(shift, offsets)[:, None]


def backward(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Backward messages in log space: log ρ_t.

    Shapes as in :func:`forward` (``log_start`` is accepted for a uniform signature and only
    its length is used). Returns log_beta (T, K) with
    ``log_beta[t, k] = log P(x_{t+1}..x_T | h_t = k)``; the last row of each sequence is 0.

    >>> import numpy as np
    >>> lb = backward(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...               np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(np.exp(lb), 4)
    array([[0.54, 0.82],
           [1.  , 1.  ]])
    """
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    offsets = _as_offsets(offsets, log_lik.shape[0])
    lik, shift = _scale_log_lik(log_lik)
    rows = np.arange(lik.shape[0])
    log_beta = _backward_impl(np.exp(log_trans), lik, rows, offsets)
    # ρ_t covers steps t+1..T: add the shifts of those steps (total minus prefix through t).
    prefix = _prefix_sums(shift, offsets)
    suffix = np.repeat(prefix[offsets[1:] - 1], np.diff(offsets)) - prefix
    return log_beta + suffix[:, None]


def log_likelihood(log_start, log_trans, log_lik, offsets=None):
    """log P(x) = log Σ_h π_T(h): a float, or (B,) array with ``offsets``; −inf if impossible.

    >>> import numpy as np
    >>> ll = log_likelihood(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                     np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> round(float(np.exp(ll)), 4)
    0.176
    """
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    batched = offsets is not None
    offsets = _as_offsets(offsets, log_lik.shape[0])
    lik, shift = _scale_log_lik(log_lik)
    rows = np.arange(lik.shape[0])
    out = _log_likelihood(np.exp(log_start), np.exp(log_trans), lik, rows, offsets)
    out = out + np.add.reduceat(shift, offsets[:-1])
    return out if batched else float(out[0])


def filter_probs(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Filtering posterior P(h_t = k | x_1..x_t) (π_t normalised), shape (T, K) or (N, K).

    Raises ValueError if a sequence has probability 0.

    >>> import numpy as np
    >>> f = filter_probs(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                  np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(f, 4)
    array([[0.8333, 0.1667],
           [0.6676, 0.3324]])
    """
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    batched = offsets is not None
    offsets = _as_offsets(offsets, log_lik.shape[0])
    lik, _ = _scale_log_lik(log_lik)
    rows = np.arange(lik.shape[0])
    return _filter_impl(np.exp(log_start), np.exp(log_trans), lik, rows, offsets, batched)


def posterior(log_start, log_trans, log_lik, offsets=None) -> np.ndarray:
    """Smoothing posterior P(h_t = k | x_1..x_T) = π_t ρ_t / P(X), shape (T, K) or (N, K).

    One scaled forward pass stores the filter; one backward pass multiplies ρ_t in place, so
    the extra memory is O(K). Raises ValueError if a sequence has probability 0.

    >>> import numpy as np
    >>> p = posterior(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...               np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> np.round(p, 4)
    array([[0.767 , 0.233 ],
           [0.6676, 0.3324]])
    """
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    batched = offsets is not None
    offsets = _as_offsets(offsets, log_lik.shape[0])
    lik, _ = _scale_log_lik(log_lik)
    rows = np.arange(lik.shape[0])
    return _posterior_impl(np.exp(log_start), np.exp(log_trans), lik, rows, offsets, batched)


def fixed_lag_posterior(log_start, log_trans, log_lik, lag: int, offsets=None) -> np.ndarray:
    """Fixed-lag posterior P(h_t = k | x_1..x_{min(t+lag, T)}), shape (T, K) or (N, K).

    ``lag = 0`` is the filter; ``lag ≥ T − 1`` is the smoothing posterior (computed by
    :func:`posterior`). Two algorithms, the cheaper one is picked: for ``lag ≤ 2K`` each step
    runs a backward pass over its own window, O(T · lag · K²); above that the window message
    is factored through block pivots, O(T · K³) whatever the lag, with O(lag · K) memory.
    Raises ValueError if a sequence has probability 0.

    >>> import numpy as np
    >>> p = fixed_lag_posterior(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                         np.log([[0.5, 0.1], [0.5, 0.9], [0.5, 0.1]]), lag=1)
    >>> np.round(p, 4)
    array([[0.767 , 0.233 ],
           [0.8369, 0.1631],
           [0.9093, 0.0907]])
    """
    if isinstance(lag, bool) or not isinstance(lag, int | np.integer) or lag < 0:
        raise ValueError(f"lag must be a non-negative integer, got {lag!r}")
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    batched = offsets is not None
    offsets = _as_offsets(offsets, log_lik.shape[0])
    lik, _ = _scale_log_lik(log_lik)
    rows = np.arange(lik.shape[0])
    return _fixed_lag_impl(
        np.exp(log_start), np.exp(log_trans), lik, rows, offsets, int(lag), batched
    )


def viterbi(log_start, log_trans, log_lik, offsets=None):
    """Most probable state path (max-product in log space).

    Returns ``(path, best_log_prob)``: path (T,) int64 (or (N,) concatenated) and
    log P(x, path), a float (or (B,) array with ``offsets``). Ties go to the lowest state
    index. Raises ValueError if a sequence has probability 0.

    >>> import numpy as np
    >>> path, lp = viterbi(np.log([0.5, 0.5]), np.log([[0.9, 0.1], [0.2, 0.8]]),
    ...                    np.log([[0.5, 0.1], [0.5, 0.9]]))
    >>> path, round(float(np.exp(lp)), 4)
    (array([0, 0]), 0.1125)
    """
    log_start, log_trans, log_lik = _check_log_params(log_start, log_trans, log_lik)
    batched = offsets is not None
    offsets = _as_offsets(offsets, log_lik.shape[0])
    rows = np.arange(log_lik.shape[0])
    path, best = _viterbi_impl(log_start, log_trans, log_lik, rows, offsets, batched)
    return (path, best) if batched else (path, float(best[0]))


def expected_counts(start, trans, emit, symbols, offsets=None):
    """Baum–Welch E-step for categorical emissions (probability-space parameters).

    start (K,), trans (K, K), emit (K, M), symbols (N,) ints in [0, M), optional offsets
    (B + 1,). Returns ``(start_counts (K,), trans_counts (K, K), emit_counts (K, M),
    log_lik (B,))``: expected numbers of starts in, transitions between and emissions from each
    state given the sequences. No O(T·K²) array is allocated. An impossible sequence adds no
    counts and has log-likelihood −inf.

    >>> import numpy as np
    >>> sc, tc, ec, ll = expected_counts(np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...                                  np.array([[0.5, 0.5], [0.1, 0.9]]), np.array([0, 1]))
    >>> round(float(tc.sum()), 6), round(float(ec.sum()), 6)
    (1.0, 2.0)
    """
    start = np.ascontiguousarray(start, dtype=np.float64)
    trans = np.ascontiguousarray(trans, dtype=np.float64)
    emit = np.ascontiguousarray(emit, dtype=np.float64)
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    offsets = _as_offsets(offsets, symbols.shape[0])
    if symbols.size and (symbols.min() < 0 or symbols.max() >= emit.shape[1]):
        raise ValueError(f"symbols must lie in [0, {emit.shape[1]})")
    return _expected_counts(
        start,
        trans,
        np.ascontiguousarray(trans.T),
        np.ascontiguousarray(emit.T),
        symbols,
        offsets,
    )


def _cumulative(probs: np.ndarray) -> np.ndarray:
    # Normalise by the last entry so it is exactly 1: a uniform draw in [0, 1) then never falls
    # past the end, and a trailing zero-probability entry is never chosen.
    cum = np.cumsum(probs, axis=-1)
    return np.ascontiguousarray(cum / cum[..., -1:])


def sample_path(start, trans, emit, n_steps: int, rng: np.random.Generator):
    """Draw (states (T,), symbols (T,)) int64 from a categorical HMM using ``rng``.

    >>> import numpy as np
    >>> s, x = sample_path(np.array([1.0, 0.0]), np.eye(2), np.eye(2), 3,
    ...                    np.random.default_rng(0))
    >>> s.tolist(), x.tolist()
    ([0, 0, 0], [0, 0, 0])
    """
    states = np.empty(n_steps, dtype=np.int64)
    symbols = np.empty(n_steps, dtype=np.int64)
    u_state = rng.random(n_steps)
    u_symbol = rng.random(n_steps)
    _sample(
        _cumulative(np.asarray(start, dtype=np.float64)),
        _cumulative(np.asarray(trans, dtype=np.float64)),
        _cumulative(np.asarray(emit, dtype=np.float64)),
        u_state,
        u_symbol,
        states,
        symbols,
    )
    return states, symbols
