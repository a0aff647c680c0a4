"""Viterbi for CPU tensors as one compiled loop (numba), the CPU path of `LinearChainCRF.decode`.

On a CPU the torch form of Viterbi (:func:`pirho.nn.crf_ops.viterbi`) pays a few tensor
operations per step, each with its own dispatch overhead, over a (B, K, K) temporary. Decoding
needs no gradient, so here the whole recursion runs as a compiled loop over plain arrays: per
sequence and step, the max-plus product δ_t(j) = max_i δ_{t−1}(i) + trans[i, j] is taken row by
row of ``trans`` (i outer, j inner, contiguous, so the max runs as SIMD instructions), then
E_t(j) is added. Only δ is kept; the backtrack recomputes one argmax over i for the chosen tag
per step, on the very same sums, so path and score agree with each other exactly.

Same conventions as :func:`pirho.nn.crf_ops.viterbi`: emissions (T, B, K) time-first, ``trans``
row = from-tag, −inf for forbidden moves, ties to the lowest tag, a sequence with no possible
path gets tags −1 and score −inf. Float32 and float64 are compiled separately (``cache=True``:
once per machine).
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit
from torch import Tensor

from pirho._numba import announce_compilation

__all__ = ["COMPILE_MESSAGE", "viterbi", "viterbi_arrays"]

COMPILE_MESSAGE = "pirho: compiling the CRF decoder once (~3 s)…"


@njit(cache=True)
def _max_plus(prev, trans, accumulator, scratch):
    """accumulator[j] = max_i prev[i] + trans[i, j]; ``scratch`` is overwritten.

    Two buffers take turns as input and output so that every store is unconditional (the
    compiler turns ``max`` into a SIMD max only then). Returns the buffer holding the result.
    """
    n_tags = prev.shape[0]
    first = prev[0]
    for j in range(n_tags):
        accumulator[j] = first + trans[0, j]
    source, target = accumulator, scratch
    for i in range(1, n_tags):
        d = prev[i]
        for j in range(n_tags):
            value = d + trans[i, j]
            kept = source[j]
            target[j] = value if value > kept else kept
        source, target = target, source
    return source


@njit(cache=True)
def viterbi_arrays(start, end, trans, emissions, lengths, tags, scores):
    """Fill ``tags`` (T, B) int64 and ``scores`` (B,) with each sequence's best path.

    start, end (K,), trans (K, K), emissions (T, B, K): one float dtype, C-contiguous; lengths
    (B,) int64 in 1…T. Tags past a sequence's length (and of a sequence with no possible path)
    are −1.

    >>> tags, scores = np.empty((2, 1), np.int64), np.empty(1)
    >>> viterbi_arrays(np.zeros(2), np.zeros(2), np.zeros((2, 2)),
    ...                np.array([[[0.0, 1.0]], [[2.0, 0.0]]]), np.array([2]), tags, scores)
    >>> tags[:, 0].tolist(), scores.tolist()
    ([1, 0], [3.0])
    """
    n_steps, batch, n_tags = emissions.shape
    delta = np.empty((n_steps, n_tags), dtype=emissions.dtype)
    accumulator = np.empty(n_tags, dtype=emissions.dtype)
    scratch = np.empty(n_tags, dtype=emissions.dtype)
    for b in range(batch):
        length = lengths[b]
        for j in range(n_tags):
            delta[0, j] = start[j] + emissions[0, b, j]
        for t in range(1, length):
            best_into = _max_plus(delta[t - 1], trans, accumulator, scratch)
            for j in range(n_tags):
                delta[t, j] = best_into[j] + emissions[t, b, j]
        best, last = -np.inf, 0
        for j in range(n_tags):
            value = delta[length - 1, j] + end[j]
            if value > best:
                best, last = value, j
        scores[b] = best
        for t in range(length, n_steps):
            tags[t, b] = -1
        if not best > -np.inf:  # no possible path (or a NaN score)
            for t in range(length):
                tags[t, b] = -1
            continue
        tags[length - 1, b] = last
        for t in range(length - 2, -1, -1):
            to = tags[t + 1, b]
            best_prev, arg = delta[t, 0] + trans[0, to], 0
            for i in range(1, n_tags):
                value = delta[t, i] + trans[i, to]
                if value > best_prev:
                    best_prev, arg = value, i
            tags[t, b] = arg


def viterbi(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor
) -> tuple[Tensor, Tensor]:
    """Best path per sequence of CPU tensors: ``(tags (T, B) int64 padded with −1, score (B,))``,
    as :func:`pirho.nn.crf_ops.viterbi` computes it.

    >>> viterbi(torch.zeros(2), torch.zeros(2), torch.zeros(2, 2),
    ...         torch.tensor([[[0.0, 1.0]], [[2.0, 0.0]]]), torch.tensor([2]))
    (tensor([[1],
            [0]]), tensor([3.]))
    """
    arrays = [np.ascontiguousarray(x.detach().numpy()) for x in (start, end, trans, emissions)]
    n_steps, batch, _ = emissions.shape
    tags = np.empty((n_steps, batch), dtype=np.int64)
    scores = np.empty(batch, dtype=arrays[0].dtype)
    announce_compilation(viterbi_arrays, message=COMPILE_MESSAGE)
    viterbi_arrays(*arrays, np.ascontiguousarray(lengths.numpy(), dtype=np.int64), tags, scores)
    return torch.from_numpy(tags), torch.from_numpy(scores)
