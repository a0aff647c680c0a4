"""Compiled recursions, part 1: the step helpers, the forward and backward passes, Viterbi.

Every function here reads step t's emission likelihoods as ``lik[rows[t]]`` (see
:mod:`pirho.hmm.engine` for that convention) and trusts its inputs. Batches are concatenated
with ``offsets`` (B + 1,).

Three step helpers, inlined into every recursion (``inline="always"``, so no array reference
counting happens per step), hold the whole per-step arithmetic:

- :func:`forward_step` — predict (α ← α · trans) and weigh by the likelihoods;
- :func:`pull_back_step` — ρ_t = trans · (lik_{t+1} ⊙ ρ_{t+1}), with dead states masked;
- :func:`rescale` — the one rescaling policy.

**Rescaling.** Messages are kept in probability space and multiplied by exact powers of two
(2^±332 ≈ 1e±100) only when their sum leaves [2^-332, 2^332]; the log of each factor is
accumulated where a log-probability is wanted. A power of two adds no rounding, and the
per-step critical path has no division or log. Measured on the two-state casino likelihood
(T = 10⁶, shared 2-core machine): per-step normalisation with generic K-loops ~100 ns/step,
unrolled scalars ~30 ns, unrolled + lazy rescaling ~13 ns; so the two-state forward passes
below are unrolled scalar copies of the same step (the benchmark case), larger K take the
helpers.

**Dead states.** In a backward pass that feeds a posterior, ρ_t(k) is set to 0 wherever the
filter P(h_t = k | x_1..x_t) is 0. Such a state cannot influence any earlier posterior
(α_t(k) = 0 means no live state at t−1 reaches it and emits x_t), but its ρ_t may decay far
more slowly than the live states' and, after normalisation, push them to underflow.

**Editing these helpers.** numba's on-disk cache (``cache=True``) checks only the file of the
function it compiled, so kernels in other modules that inline the helpers here (those of
:mod:`pirho.hmm._compiled.smoothing`) would keep their old machine code after this file
changes; the folder is one cache unit (:func:`pirho._numba.cache_unit`), so every kernel in it
is recompiled instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "TINY",
    "HUGE",
    "LOG_HUGE",
    "add_rows",
    "predict",
    "pull_back",
    "forward_step",
    "pull_back_step",
    "rescale",
    "forward_filter",
    "backward_messages",
    "log_likelihood",
    "max_plus_row",
    "max_plus_score_row",
    "max_plus",
    "best_predecessor",
    "viterbi",
]

TINY = 2.0**-332
HUGE = 2.0**332
LOG_HUGE = 332 * math.log(2.0)
FAST = {"contract", "reassoc", "nsz", "arcp"}  # fastmath flags of the hottest loops


@njit(cache=True, inline="always", error_model="numpy")
def add_rows(coefficients, matrix, out):
    """out[j] = Σ_i coefficients[i] matrix[i, j] (row-vector times matrix; ``out`` is
    overwritten).

    Four rows of ``matrix`` go into each pass over ``out``, so ``out`` is loaded and stored a
    quarter as often as with one row per pass (K = 64: 1.7× faster on this AVX2 machine); a
    group of four zero coefficients (ruled-out states) is skipped.
    """
    n_rows = coefficients.shape[0]
    n_cols = out.shape[0]
    for j in range(n_cols):
        out[j] = 0.0
    i = 0
    while i + 3 < n_rows:
        c0 = coefficients[i]
        c1 = coefficients[i + 1]
        c2 = coefficients[i + 2]
        c3 = coefficients[i + 3]
        if c0 != 0.0 or c1 != 0.0 or c2 != 0.0 or c3 != 0.0:
            for j in range(n_cols):
                out[j] += (c0 * matrix[i, j] + c1 * matrix[i + 1, j]) + (
                    c2 * matrix[i + 2, j] + c3 * matrix[i + 3, j]
                )
        i += 4
    while i < n_rows:
        c = coefficients[i]
        if c != 0.0:
            for j in range(n_cols):
                out[j] += c * matrix[i, j]
        i += 1


@njit(cache=True, inline="always", error_model="numpy")
def predict(prev, trans, out):
    """out[j] = Σ_i prev[i] trans[i, j]: the forward message's prediction α_t · trans."""
    add_rows(prev, trans, out)


@njit(cache=True, inline="always", error_model="numpy")
def pull_back(weights, trans_t, out):
    """out[i] = Σ_j trans[i, j] weights[j], with trans_t = trans.T (so the same row sum)."""
    add_rows(weights, trans_t, out)


@njit(cache=True, inline="always", error_model="numpy")
def forward_step(alpha, trans, lik, row, pred, first):
    """α ← (α · trans) ⊙ lik[row] in place (α ⊙ lik[row] when ``first``); returns Σ α."""
    n_states = alpha.shape[0]
    if first:
        for k in range(n_states):
            pred[k] = alpha[k]
    else:
        predict(alpha, trans, pred)
    total = 0.0
    for k in range(n_states):
        v = pred[k] * lik[row, k]
        alpha[k] = v
        total += v
    return total


@njit(cache=True, inline="always", error_model="numpy")
def pull_back_step(beta, trans_t, lik, row, weights, out, alive, t):
    """out ← trans · (lik[row] ⊙ β): ρ_t from ρ_{t+1} = β, unnormalised; returns Σ out.

    ``weights`` receives lik[row] ⊙ β (the transition-count numerators need it). Where
    ``alive[t, k] == 0`` (the filter rules state k out; see *Dead states* above) out[k] is 0;
    an ``alive`` with no rows disables the mask. ``out`` may be ``beta`` itself.
    """
    n_states = beta.shape[0]
    for j in range(n_states):
        weights[j] = lik[row, j] * beta[j]
    pull_back(weights, trans_t, out)
    masked = alive.shape[0] > 0
    total = 0.0
    for k in range(n_states):
        if masked and alive[t, k] == 0.0:
            out[k] = 0.0
        total += out[k]
    return total


@njit(cache=True, inline="always", error_model="numpy")
def rescale(values, total):
    """Multiply ``values`` (sum ``total`` > 0) by 2^±332 until the sum is in [TINY, HUGE].

    Returns the log of the factor applied (0 almost always).
    """
    log_gain = 0.0
    while total < TINY:
        total *= HUGE
        log_gain += LOG_HUGE
        for k in range(values.shape[0]):
            values[k] *= HUGE
    while total > HUGE:
        total *= TINY
        log_gain -= LOG_HUGE
        for k in range(values.shape[0]):
            values[k] *= TINY
    return log_gain


@njit(cache=True, error_model="numpy")
def _forward_filter_two_states(start, trans, lik, rows, lo, hi, filt):
    """Two-state filter of one sequence in scalars; returns True if it has probability 0."""
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
            filt[t:hi] = 0.0
            return True
        inv = 1.0 / total
        filt[t, 0] = a0 * inv
        filt[t, 1] = a1 * inv
        while total < TINY:  # the rescale policy, on scalars
            a0 *= HUGE
            a1 *= HUGE
            total *= HUGE
    return False


@njit(cache=True, error_model="numpy", fastmath=FAST)
def forward_filter(start, trans, lik, rows, offsets, filt, log_prefix, want_log):
    """Forward pass over a batch: the filter, and optionally the running log-likelihood.

    Writes filt[t] = π_t / Σ_h π_t(h) and, if ``want_log``, log_prefix[t] = log P(x_1..x_t).
    Returns a bool flag per sequence, True where it has probability 0 (its rows from the first
    impossible step on are 0 and its log_prefix −inf).
    """
    n_states = start.shape[0]
    n_seq = offsets.shape[0] - 1
    alpha = np.empty(n_states)  # π_t divided by exp(log_acc)
    pred = np.empty(n_states)
    impossible = np.zeros(n_seq, dtype=np.bool_)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        if n_states == 2 and not want_log:
            impossible[b] = _forward_filter_two_states(start, trans, lik, rows, lo, hi, filt)
            continue
        alpha[:] = start
        log_acc = 0.0
        for t in range(lo, hi):
            total = forward_step(alpha, trans, lik, rows[t], pred, t == lo)
            if total == 0.0:
                impossible[b] = True
                filt[t:hi] = 0.0
                if want_log:
                    log_prefix[t:hi] = -np.inf
                break
            inv = 1.0 / total
            for k in range(n_states):
                filt[t, k] = alpha[k] * inv
            if want_log:
                log_prefix[t] = log_acc + math.log(total)
            log_acc -= rescale(alpha, total)
    return impossible


@njit(cache=True, error_model="numpy")
def backward_messages(trans_t, lik, rows, offsets, beta, log_scale):
    """Backward pass over a batch: ρ_t = beta[t] · exp(log_scale[t]) for every step.

    ρ_T = 1. Rows where ρ_t is identically 0 are 0 with log_scale −inf.
    """
    n_states = trans_t.shape[0]
    weights = np.empty(n_states)
    no_mask = np.empty((0, n_states))
    for b in range(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        beta[hi - 1] = 1.0
        log_scale[hi - 1] = 0.0
        for t in range(hi - 2, lo - 1, -1):
            total = pull_back_step(
                beta[t + 1], trans_t, lik, rows[t + 1], weights, beta[t], no_mask, t
            )
            if total == 0.0:
                beta[lo : t + 1] = 0.0
                log_scale[lo : t + 1] = -np.inf
                break
            log_scale[t] = log_scale[t + 1] - rescale(beta[t], total)


@njit(cache=True, error_model="numpy")
def log_likelihood(start, trans, lik, rows, offsets):
    """log P(x) per sequence (B,); −inf for an impossible one. Keeps only O(K) state."""
    n_states = start.shape[0]
    n_seq = offsets.shape[0] - 1
    alpha = np.empty(n_states)
    pred = np.empty(n_states)
    out = np.empty(n_seq)
    for b in range(n_seq):
        lo = offsets[b]
        hi = offsets[b + 1]
        log_acc = 0.0
        total = 0.0
        if n_states == 2:
            # Two states (the casino): forward_step and rescale unrolled into scalars.
            a0 = start[0] * lik[rows[lo], 0]
            a1 = start[1] * lik[rows[lo], 1]
            t00, t01, t10, t11 = trans[0, 0], trans[0, 1], trans[1, 0], trans[1, 1]
            total = a0 + a1
            for t in range(lo + 1, hi):
                if total == 0.0:
                    break
                while total < TINY:
                    log_acc -= LOG_HUGE
                    total *= HUGE
                    a0 *= HUGE
                    a1 *= HUGE
                p0 = a0 * t00 + a1 * t10
                p1 = a0 * t01 + a1 * t11
                a0 = p0 * lik[rows[t], 0]
                a1 = p1 * lik[rows[t], 1]
                total = a0 + a1
        else:
            alpha[:] = start
            for t in range(lo, hi):
                total = forward_step(alpha, trans, lik, rows[t], pred, t == lo)
                if total == 0.0:
                    break
                log_acc -= rescale(alpha, total)
            if total != 0.0:
                total = alpha.sum()
        out[b] = -np.inf if total == 0.0 else log_acc + math.log(total)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def max_plus_row(d, log_trans_row, i, best_in, arg_in, best_out, arg_out):
    """One predecessor ``i`` (score ``d``) of Viterbi's max-plus step, for every next state j:
    ``best_out[j] = max(best_in[j], d + log_trans_row[j])`` and ``arg_out[j]`` = i where it
    wins (strictly, so ties keep the lower index), else ``arg_in[j]``.

    Reading one buffer and writing another, with the choice made in locals and stored
    unconditionally, is what lets LLVM turn the loop into vector compares and blends: the
    in-place form ``if v > best[j]: best[j] = v`` compiles to masked stores, microcoded on
    AMD cores (Viterbi at K = 64 ran 3.3× slower that way).
    """
    for j in range(best_in.shape[0]):
        value = d + log_trans_row[j]
        best = best_in[j]
        arg = arg_in[j]
        if value > best:
            best = value
            arg = i
        best_out[j] = best
        arg_out[j] = arg


@njit(cache=True, inline="always", error_model="numpy")
def max_plus_score_row(d, log_trans_row, best_in, best_out):
    """:func:`max_plus_row` without the argument: ``best_out[j] = max(best_in[j], d +
    log_trans_row[j])`` (kept where equal)."""
    for j in range(best_in.shape[0]):
        value = d + log_trans_row[j]
        best = best_in[j]
        best_out[j] = value if value > best else best


@njit(cache=True, inline="always", error_model="numpy")
def max_plus(delta, log_trans, best0, arg0, best1, arg1, track):
    """Viterbi's max-plus step into ``best0``: best0[j] = max_i δ(i) + log_trans[i, j] for
    every j and, if ``track``, arg0[j] = the lowest i attaining it. ``best1`` and ``arg1``
    are scratch.

    The rows of log_trans are taken two at a time, ping-ponging between buffers 1 and 0
    (row 0 starts in the buffer that makes the last row land in buffer 0): swapping buffer
    variables in the loop instead stops the vectorisation, 3.9× slower at K = 64, and
    returning the buffer that holds the result from here ran 3.4× slower at K = 5.
    """
    n_states = delta.shape[0]
    d0 = delta[0]
    if n_states % 2 == 1:
        for j in range(n_states):
            best0[j] = d0 + log_trans[0, j]
            arg0[j] = 0.0
        i = 1
    else:  # row 0 into buffer 1, row 1 into buffer 0
        for j in range(n_states):
            best1[j] = d0 + log_trans[0, j]
            arg1[j] = 0.0
        if track:
            max_plus_row(delta[1], log_trans[1], 1.0, best1, arg1, best0, arg0)
        else:
            max_plus_score_row(delta[1], log_trans[1], best1, best0)
        i = 2
    while i + 1 < n_states:
        if track:
            max_plus_row(delta[i], log_trans[i], float(i), best0, arg0, best1, arg1)
            max_plus_row(delta[i + 1], log_trans[i + 1], float(i + 1), best1, arg1, best0, arg0)
        else:
            max_plus_score_row(delta[i], log_trans[i], best0, best1)
            max_plus_score_row(delta[i + 1], log_trans[i + 1], best1, best0)
        i += 2


@njit(cache=True, inline="always", error_model="numpy")
def best_predecessor(delta, log_trans, state):
    """argmax_i δ(i) + log_trans[i, state], the lowest i on ties: the argument
    :func:`max_plus` would have tracked for ``state``, from the very same sums."""
    arg = 0
    best = delta[0] + log_trans[0, state]
    for i in range(1, delta.shape[0]):
        value = delta[i] + log_trans[i, state]
        if value > best:
            best = value
            arg = i
    return arg


@njit(cache=True, error_model="numpy")
def viterbi(log_start, log_trans, log_lik, rows, offsets, path, back, log_end=None):
    """Max-product in log space; writes the best path into ``path`` (N,).

    Log space needs no rescaling and keeps structural zeros exact (log 0 = −inf). Returns
    (best log joint per sequence, impossible flags). Ties go to the lowest state index. The
    arithmetic runs in ``log_lik``'s float type (float32 scores are maximised in float32).

    ``back`` (max T, K) is scratch space for the backtrack, in one of two forms:

    - integers (int8 when K ≤ 127): back-pointers, an eighth of δ's memory on million-step
      sequences (the HMMs);
    - ``log_lik``'s float type: the max-scores δ_t themselves. The recursion then tracks no
      argument, and the backtrack recomputes one argmax per step, for the chosen state only,
      on the same sums (:func:`best_predecessor`): about 1.1× faster at K = 30, 1.5–2× at
      K ≥ 64 (the CRF's decoder, whose batches are short).

    Both give the same paths, ties included. Two states always keep back-pointers (the
    unrolled scalar loop writes 0 or 1, which either type holds).

    ``log_end`` (K,), optional, is added to the last step's scores of every sequence (a
    linear-chain CRF's end scores).
    """
    n_states = log_start.shape[0]
    n_seq = offsets.shape[0] - 1
    dtype = log_lik.dtype
    pointers = n_states == 2 or not back.dtype == dtype  # (numba has no dtype !=)
    delta = np.empty(n_states, dtype=dtype)
    best0 = np.empty(n_states, dtype=dtype)
    best1 = np.empty(n_states, dtype=dtype)
    arg0 = np.zeros(n_states, dtype=dtype)  # predecessor indices as floats: the scores' lanes
    arg1 = np.zeros(n_states, dtype=dtype)
    best_log = np.empty(n_seq, dtype=dtype)
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
            if not pointers:
                for k in range(n_states):
                    back[0, k] = delta[k]
            for t in range(lo + 1, hi):
                max_plus(delta, log_trans, best0, arg0, best1, arg1, pointers)
                row = t - lo
                for j in range(n_states):
                    delta[j] = best0[j] + log_lik[rows[t], j]
                if pointers:
                    for j in range(n_states):
                        back[row, j] = int(arg0[j])
                else:
                    for j in range(n_states):
                        back[row, j] = delta[j]
        if log_end is not None:
            for k in range(n_states):
                delta[k] += log_end[k]
        state = 0
        best = delta[0]
        for k in range(1, n_states):
            if delta[k] > best:
                best = delta[k]
                state = k
        best_log[b] = best
        if best == -np.inf:
            impossible[b] = True
            path[lo:hi] = -1
            continue
        path[hi - 1] = state
        for t in range(hi - 1, lo, -1):
            if pointers:
                state = int(back[t - lo, state])
            else:
                state = best_predecessor(back[t - 1 - lo], log_trans, state)
            path[t - 1] = state
    return best_log, impossible
