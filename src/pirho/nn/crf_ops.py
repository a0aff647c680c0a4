"""Linear-chain CRF math as pure functions over tensors (the recursions behind `LinearChainCRF`).

Shapes: emissions ``E`` (T, B, K) time-first, ``start`` (K,), ``end`` (K,), ``trans`` (K, K)
with row = from-tag, ``lengths`` (B,) int64 in 1…T. Potentials may hold −inf (forbidden
transitions, structural zeros); no function here returns NaN for them. Steps at or after a
sequence's length are computed on whatever the padding holds and never read.

Seed notation: the forward message π_t(k) = Σ over paths ending in k at t of exp(score), the
backward message ρ_t(k) = Σ over continuations from k at t (ρ at the last step = exp(end)).

Two forms of the forward–backward recursion:

- **scaled** (fast): π_t = P_t · exp(c_t) with P_t (B, K) normalised to max 1. One step is a
  (B, K) @ (K, K) matmul with W = exp(trans − max trans) and a product with exp(E_t − max E_t)
  — no exp over (B, K, K). Exact up to rounding while no intermediate product underflows;
  :func:`scaled_forward` and :func:`scaled_backward` check a sufficient bound on that and say
  which sequences passed.
- **log space** (exact everywhere): logsumexp over (B, K, K) per step, used for the sequences
  the scaled form cannot vouch for.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from numba import njit
from torch import Tensor

from pirho._numba import announce_compilation
from pirho.hmm._compiled import recursions

__all__ = [
    "ScaledMessages",
    "compiled_viterbi",
    "count_paths",
    "entropy",
    "exact_pairwise_marginals",
    "exact_marginals",
    "exact_transition_counts",
    "log_backward",
    "log_forward",
    "nbest_viterbi",
    "path_score",
    "sample_paths",
    "scaled_backward",
    "scaled_forward",
    "scaled_marginals",
    "scaled_transition_counts",
    "valid_steps",
    "viterbi",
]

# Up to this many tags Viterbi stores back pointers (cost per operation dominates); above,
# it recomputes them in the backtrack (cost of memory dominates).
_POINTER_TAGS = 32
# Slack (in nats) kept above the smallest normal float by the underflow bound.
_MARGIN = 4.0
_COMPILE_MESSAGE = "pirho: compiling the Viterbi decoder once (~3 s)…"


class ScaledMessages(NamedTuple):
    """Normalised messages of the scaled recursion.

    - ``messages`` (T, B, K): π_t (or ρ_t) divided by its maximum over k (entries in [0, 1]).
    - ``log_scale`` (T, B): log of that maximum, so log π_t = log(messages_t) + log_scale_t
      (forward only; zeros for the backward messages, whose scale no result needs).
    - ``exact`` (B,) bool: False where some product in the recursion may have underflowed; those
      sequences must be recomputed in log space.
    """

    messages: Tensor
    log_scale: Tensor
    exact: Tensor


def valid_steps(lengths: Tensor, n_steps: int) -> Tensor:
    """(T, B) bool: step t of sequence b is real (t < lengths[b]).

    >>> valid_steps(torch.tensor([2, 1]), 3).T.tolist()
    [[True, True, False], [True, False, False]]
    """
    return torch.arange(n_steps, device=lengths.device)[:, None] < lengths[None, :]


def _log_tiny(dtype: torch.dtype) -> float:
    return math.log(torch.finfo(dtype).tiny)


def _finite_max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Max over `dim` with −inf (all-forbidden) replaced by 0, so `x - max` never makes NaN."""
    m = x.amax() if dim is None else x.amax(dim=dim, keepdim=keepdim)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m))


def _min_log_ratio(x: Tensor, x_max: Tensor) -> Tensor:
    """min over the last dim of (x − x_max) among finite x (0 when none): how far below the
    step's maximum the smallest nonzero factor exp(x − x_max) lies."""
    gap = torch.where(torch.isfinite(x), x - x_max, torch.zeros_like(x))
    return gap.amin(dim=-1)


def _min_log_nonzero(p: Tensor) -> Tensor:
    """log of the smallest nonzero entry over the last dim (0 when all are zero)."""
    return torch.where(p > 0, p, torch.ones_like(p)).amin(dim=-1).log()


def scaled_forward(start: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor) -> tuple:
    """Forward messages π_t in scaled form, plus what the backward pass reuses.

    Returns ``(ScaledMessages, emission_factors (T, B, K), transition_factors (K, K))`` where
    emission_factors = exp(E_t − max_k E_t) and transition_factors W = exp(trans − max trans).

    >>> E = torch.zeros(3, 1, 2)
    >>> fwd, _, _ = scaled_forward(torch.zeros(2), torch.zeros(2, 2), E, torch.tensor([3]))
    >>> (fwd.messages[-1].log() + fwd.log_scale[-1, :, None]).exp().tolist()  # 2^3 / 2 paths
    [[4.0, 4.0]]
    """
    n_steps, batch, n_tags = emissions.shape
    dtype = emissions.dtype
    tiny = torch.finfo(dtype).tiny
    emit_max = _finite_max(emissions, dim=-1, keepdim=True)  # (T, B, 1)
    emit_factors = torch.exp(emissions - emit_max)
    trans_max = _finite_max(trans)
    trans_factors = torch.exp(trans - trans_max)

    first = start + emissions[0]
    first_max = _finite_max(first, dim=-1, keepdim=True)
    messages = emissions.new_empty(n_steps, batch, n_tags)
    scales = emissions.new_empty(n_steps, batch, 1)
    torch.exp(first - first_max, out=messages[0])
    scales[0] = 1.0
    for t in range(1, n_steps):
        q = torch.mm(messages[t - 1], trans_factors).mul_(emit_factors[t])
        torch.amax(q, dim=-1, keepdim=True, out=scales[t])
        scales[t].clamp_min_(tiny)
        torch.div(q, scales[t], out=messages[t])
    step_log = scales.squeeze(-1).log() + emit_max.squeeze(-1) + trans_max
    step_log[0] = first_max.squeeze(-1)
    log_scale = step_log.cumsum(0)

    # Sufficient bound for "no product underflowed": every nonzero factor of every step,
    # multiplied together and divided by K, stays a normal float.
    floor = _log_tiny(dtype) + math.log(n_tags) + _MARGIN
    w_min = _min_log_ratio(trans.reshape(-1), trans_max)
    ok = torch.empty(n_steps, batch, dtype=torch.bool, device=emissions.device)
    ok[0] = _min_log_ratio(first, first_max) >= floor
    if n_steps > 1:
        ok[1:] = (
            _min_log_nonzero(messages[:-1]) + w_min + _min_log_ratio(emissions[1:], emit_max[1:])
            >= floor
        )
    exact = (ok | ~valid_steps(lengths, n_steps)).all(dim=0)
    return ScaledMessages(messages, log_scale, exact), emit_factors, trans_factors


def scaled_backward(
    end: Tensor,
    emit_factors: Tensor,
    trans_factors: Tensor,
    lengths: Tensor,
    trans: Tensor,
    emissions: Tensor,
) -> ScaledMessages:
    """Backward messages ρ_t in scaled form (normalised to max 1; ρ at t = length − 1 ∝
    exp(end)), from the factors :func:`scaled_forward` returns.

    >>> E = torch.zeros(2, 1, 2)
    >>> fwd, ef, tf = scaled_forward(torch.zeros(2), torch.zeros(2, 2), E, torch.tensor([2]))
    >>> scaled_backward(torch.zeros(2), ef, tf, torch.tensor([2]), torch.zeros(2, 2), E
    ...                 ).messages.tolist()
    [[[1.0, 1.0]], [[1.0, 1.0]]]
    """
    n_steps, batch, n_tags = emit_factors.shape
    dtype = emit_factors.dtype
    tiny = torch.finfo(dtype).tiny
    end_max = _finite_max(end)
    last = torch.exp(end - end_max).expand(batch, n_tags)
    is_last = (torch.arange(n_steps, device=lengths.device)[:, None] == lengths - 1)[..., None]
    messages = emit_factors.new_empty(n_steps, batch, n_tags)
    messages[-1] = last
    trans_factors_t = trans_factors.T
    for t in range(n_steps - 2, -1, -1):
        u = torch.mm(messages[t + 1] * emit_factors[t + 1], trans_factors_t)
        scale = u.amax(dim=-1, keepdim=True).clamp_min_(tiny)
        torch.where(is_last[t], last, u.div_(scale), out=messages[t])

    floor = _log_tiny(dtype) + math.log(n_tags) + _MARGIN
    ok = torch.empty(n_steps, batch, dtype=torch.bool, device=emit_factors.device)
    ok[-1] = _min_log_ratio(end, end_max) >= floor
    if n_steps > 1:
        emit_max = _finite_max(emissions[1:], dim=-1, keepdim=True)
        ok[:-1] = (
            _min_log_nonzero(messages[1:])
            + _min_log_ratio(trans.reshape(-1), _finite_max(trans))
            + _min_log_ratio(emissions[1:], emit_max)
            >= floor
        )
    # Step t's product feeds ρ_t for t < length − 1 only.
    used = valid_steps(lengths - 1, n_steps)
    exact = (ok | ~used).all(dim=0) & ok[-1]
    return ScaledMessages(messages, torch.zeros_like(messages[..., 0]), exact)


def scaled_marginals(forward: Tensor, backward: Tensor, valid: Tensor) -> Tensor:
    """P(y_t = k | x) (T, B, K) from normalised messages: π_t ρ_t normalised over k; 0 at
    padding and for impossible sequences.

    >>> m = scaled_marginals(torch.ones(1, 1, 2), torch.tensor([[[1.0, 3.0]]]),
    ...                      torch.ones(1, 1, dtype=torch.bool))
    >>> m.tolist()
    [[[0.25, 0.75]]]
    """
    joint = forward * backward
    total = joint.sum(dim=-1, keepdim=True)
    keep = valid[..., None] & (total > 0)
    return torch.where(keep, joint / torch.where(total > 0, total, torch.ones_like(total)), 0.0)


def scaled_transition_counts(
    forward: Tensor,
    backward: Tensor,
    emit_factors: Tensor,
    trans_factors: Tensor,
    valid: Tensor,
    weights: Tensor,
) -> Tensor:
    """Σ_b weights_b Σ_t P(y_{t−1} = i, y_t = j | x_b) (K, K): the gradient of Σ_b w_b log Z_b
    with respect to the transition scores.

    >>> P = torch.ones(2, 1, 2); valid = torch.ones(2, 1, dtype=torch.bool)
    >>> scaled_transition_counts(P, P, P, torch.ones(2, 2), valid, torch.ones(1)).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    n_tags = forward.shape[-1]
    if forward.shape[0] < 2:
        return forward.new_zeros(n_tags, n_tags)
    after = emit_factors[1:] * backward[1:]  # (T-1, B, K): exp(E_t) ρ_t, scaled
    before = forward[:-1]
    total = (before * torch.matmul(after, trans_factors.T)).sum(dim=-1)  # (T-1, B)
    keep = valid[1:] & (total > 0)
    coef = torch.where(keep, weights / torch.where(keep, total, torch.ones_like(total)), 0.0)
    weighted = (before * coef[..., None]).reshape(-1, n_tags)
    return trans_factors * (weighted.T @ after.reshape(-1, n_tags))


def _logsumexp(x: Tensor, dim: int) -> Tensor:
    """logsumexp that returns −inf (not NaN) when every term is −inf, with a NaN-free gradient
    there too (autograd through ``log(0)`` would give 0 · inf)."""
    m = _finite_max(x, dim=dim, keepdim=True)
    total = torch.exp(x - m).sum(dim=dim)
    positive = total > 0
    log_total = torch.where(positive, total, torch.ones_like(total)).log()
    return torch.where(positive, log_total, -math.inf) + m.squeeze(dim)


def log_forward(start: Tensor, trans: Tensor, emissions: Tensor, shifted: bool = False) -> Tensor:
    """log π_t (T, B, K) by logsumexp over (B, K, K) per step (exact with −inf anywhere;
    differentiable by autograd, with no NaN gradient where π_t(k) = 0).

    ``shifted=True``: each step's messages are shifted to max 0 over k before the next step
    reads them, so the result is log π_t up to a constant per step, computed from O(1)
    numbers — all that :func:`entropy` needs (float32 keeps the digits of π_t's ratios where
    log π_t itself is ~10⁴).

    >>> log_forward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2)).exp().tolist()
    [[[1.0, 1.0]], [[2.0, 2.0]]]
    >>> log_forward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2), shifted=True).tolist()
    [[[0.0, 0.0]], [[0.0, 0.0]]]
    """

    def shift(log_alpha: Tensor) -> Tensor:
        return log_alpha - _finite_max(log_alpha, dim=-1, keepdim=True) if shifted else log_alpha

    log_alphas = [shift(start + emissions[0])]
    for t in range(1, emissions.shape[0]):
        step = _logsumexp(log_alphas[-1][:, :, None] + trans, dim=1) + emissions[t]
        log_alphas.append(shift(step))
    return torch.stack(log_alphas)


def log_backward(end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor) -> Tensor:
    """log ρ_t (T, B, K): log ρ at t = length − 1 is `end`; exact with −inf anywhere
    (differentiable by autograd, as :func:`log_forward`).

    >>> log_backward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2),
    ...              torch.tensor([2])).exp().tolist()
    [[[2.0, 2.0]], [[1.0, 1.0]]]
    """
    n_steps, batch, n_tags = emissions.shape
    last = end.expand(batch, n_tags)
    log_beta = [last]
    for t in range(n_steps - 2, -1, -1):
        step = _logsumexp(trans + (emissions[t + 1] + log_beta[-1])[:, None, :], dim=2)
        log_beta.append(torch.where((lengths - 1 == t)[:, None], last, step))
    return torch.stack(log_beta[::-1])


def exact_marginals(log_alpha: Tensor, log_beta: Tensor, log_z: Tensor, valid: Tensor) -> Tensor:
    """P(y_t = k | x) (T, B, K) = exp(log π_t + log ρ_t − log Z); 0 at padding and for
    impossible sequences (log Z = −inf).

    >>> exact_marginals(torch.zeros(1, 1, 2), torch.zeros(1, 1, 2), torch.tensor([math.log(2)]),
    ...                 torch.ones(1, 1, dtype=torch.bool)).tolist()
    [[[0.5, 0.5]]]
    """
    keep = valid & torch.isfinite(log_z)[None, :]
    safe_z = torch.where(torch.isfinite(log_z), log_z, torch.zeros_like(log_z))
    return torch.where(keep[..., None], torch.exp(log_alpha + log_beta - safe_z[:, None]), 0.0)


def exact_transition_counts(
    log_alpha: Tensor,
    log_beta: Tensor,
    log_z: Tensor,
    trans: Tensor,
    emissions: Tensor,
    valid: Tensor,
    weights: Tensor,
) -> Tensor:
    """Σ_b weights_b Σ_t P(y_{t−1} = i, y_t = j | x_b) (K, K) in log space (exact).

    >>> la = log_forward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2))
    >>> lb = log_backward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2),
    ...                   torch.tensor([2]))
    >>> exact_transition_counts(la, lb, torch.tensor([math.log(4)]), torch.zeros(2, 2),
    ...     torch.zeros(2, 1, 2), torch.ones(2, 1, dtype=torch.bool), torch.ones(1)).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    n_tags = trans.shape[0]
    counts = trans.new_zeros(n_tags, n_tags)
    keep_b = torch.isfinite(log_z)
    safe_z = torch.where(keep_b, log_z, torch.zeros_like(log_z))
    for t in range(1, emissions.shape[0]):
        log_pair = (
            log_alpha[t - 1][:, :, None]
            + trans
            + (emissions[t] + log_beta[t])[:, None, :]
            - safe_z[:, None, None]
        )
        coef = torch.where(valid[t] & keep_b, weights, torch.zeros_like(weights))
        counts = counts + (torch.exp(log_pair) * coef[:, None, None]).sum(dim=0)
    return counts


def exact_pairwise_marginals(
    log_alpha: Tensor,
    log_beta: Tensor,
    log_z: Tensor,
    trans: Tensor,
    emissions: Tensor,
    valid: Tensor,
) -> Tensor:
    """P(y_{t−1} = i, y_t = j | x) (T − 1, B, K, K), entry [t − 1, b, i, j]
    = π_{t−1}(i) exp(trans[i, j] + E_t(j)) ρ_t(j) / Z, in log space; 0 where step t is padding
    and for impossible sequences (log Z = −inf). Differentiable by autograd, NaN-free.

    >>> la = log_forward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2))
    >>> lb = log_backward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(2, 1, 2),
    ...                   torch.tensor([2]))
    >>> exact_pairwise_marginals(la, lb, torch.tensor([math.log(4)]), torch.zeros(2, 2),
    ...     torch.zeros(2, 1, 2), torch.ones(2, 1, dtype=torch.bool))[0, 0].tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    possible = torch.isfinite(log_z)
    safe_z = torch.where(possible, log_z, torch.zeros_like(log_z))
    log_pair = (
        log_alpha[:-1, :, :, None]
        + trans
        + (emissions[1:] + log_beta[1:])[:, :, None, :]
        - safe_z[None, :, None, None]
    )
    keep = (valid[1:] & possible[None, :])[..., None, None] & torch.isfinite(log_pair)
    # exp only where the entry is kept, so no exp(−inf) or padding value reaches the gradient
    return torch.where(keep, torch.exp(torch.where(keep, log_pair, 0.0)), 0.0)


def _expected_surprisal(logits: Tensor, inner: Tensor, dim: int) -> Tensor:
    """Σ_i q_i (inner_i − log q_i) over `dim` with q = softmax(logits): the entropy of a choice
    among i plus the expected entropy `inner` of what follows it. Terms with q = 0 (logits −inf)
    and rows with every logit −inf add 0, with a NaN-free gradient.

    log q_i = d_i − log1p(Σ_{j ≠ top} exp(d_j)) with d = logits − max: the likeliest choice's
    log q (close to 0, the term that matters when the choice is nearly certain) keeps its
    digits, where logits − logsumexp(logits) would round it to 0."""
    d = logits - _finite_max(logits, dim=dim, keepdim=True)
    finite = torch.isfinite(d)
    top = torch.zeros_like(finite).scatter_(dim, d.argmax(dim=dim, keepdim=True), True)
    d = torch.where(finite, d, torch.zeros_like(d))
    rest = torch.where(finite & ~top, torch.exp(d), torch.zeros_like(d)).sum(dim, keepdim=True)
    log_q = d - torch.log1p(rest)
    q = torch.where(finite, torch.exp(log_q), torch.zeros_like(log_q))
    return (q * (inner - log_q)).sum(dim)


def entropy(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor
) -> Tensor:
    """Entropy (B,) of p(y | x) in nats, 0 for a sequence with no possible path.

    The posterior over paths is a Markov chain run backwards: y_T ∝ π_T(y) exp(end_y), then
    y_{t−1} | y_t = j ∝ π_{t−1}(i) exp(trans[i, j]) =: q_t(i | j). By the chain rule
    H = H(y_T) + Σ_t E[H(y_{t−1} | y_t)], computed forward as H_t(j) = entropy of y_1..y_{t−1}
    given y_t = j: H_1 = 0, H_t(j) = Σ_i q_t(i | j) (H_{t−1}(i) − log q_t(i | j)).

    Every term is ≥ 0, so nothing cancels: log Z − E[score] subtracts two numbers of size ~T
    (float32 keeps none of the digits of an entropy of 1e-4 at log Z ~ 10⁴), and q needs only
    π up to a constant, so log π is shifted to max 0 each step and log q is formed from O(1)
    numbers. Log space throughout; differentiable by autograd.

    >>> h = entropy(torch.zeros(2), torch.zeros(2), torch.zeros(2, 2), torch.zeros(3, 1, 2),
    ...             torch.tensor([3]))
    >>> round(h.item() / math.log(2), 6)  # 8 equally likely paths: 3 bits
    3.0
    """
    log_alpha = log_forward(start, trans, emissions, shifted=True)  # log π_t − a constant
    inner = torch.zeros_like(log_alpha[0])
    inners = [inner]
    for t in range(1, emissions.shape[0]):
        logits = log_alpha[t - 1][:, :, None] + trans  # (B, i, j)
        inner = _expected_surprisal(logits, inner[:, :, None], dim=1)
        inners.append(inner)
    index = (lengths - 1).view(1, -1, 1).expand(1, emissions.shape[1], emissions.shape[2])
    last_logits = log_alpha.gather(0, index)[0] + end
    return _expected_surprisal(last_logits, torch.stack(inners).gather(0, index)[0], dim=-1)


def _cumulative(logits: Tensor) -> Tensor:
    """Unnormalised cdf (..., K) of softmax(logits) over the last dim."""
    return torch.exp(logits - _finite_max(logits, dim=-1, keepdim=True)).cumsum(dim=-1)


def _inverse_cdf(cdf: Tensor, uniform: Tensor) -> Tensor:
    """One draw per row of the distribution with cumulative sums `cdf` (..., K), from one
    uniform (...) in [0, 1): the first k with cdf_k > U · total (a binary search). An entry
    with probability 0 repeats the previous cdf value and so is never the first. The threshold
    is kept below the total, so a U · total rounded up to the total lands on the last tag with
    probability > 0, not past it."""
    total = cdf[..., -1:]
    threshold = torch.minimum(uniform[..., None] * total, torch.nextafter(total, cdf.new_zeros(())))
    index = torch.searchsorted(cdf.contiguous(), threshold, right=True)[..., 0]
    return index.clamp_(max=cdf.shape[-1] - 1)  # rows with total 0 (never read)


def sample_paths(
    log_alpha: Tensor,
    end: Tensor,
    trans: Tensor,
    lengths: Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
    by_table: bool | None = None,
) -> Tensor:
    """Tag paths (n_samples, T, B) drawn exactly from p(y | x) by backward sampling on the
    forward messages log π (T, B, K) (each step up to a constant: pass them shifted to max 0,
    so that the logits below are O(1) numbers): y_T ∝ π_T(y) exp(end_y), then
    y_{t−1} ∝ π_{t−1}(y) exp(trans[y, y_t]). Padding, and every step of a sequence with no
    possible path, is −1.

    All samples and sequences move one step at a time, one uniform per draw (inverse cdf).
    The distribution of y_{t−1} depends only on (b, y_t), so for many samples
    (``by_table``, default: n_samples > K) its cdf is built once per step for every y_t,
    (B, K + 1, K) with the last row for y_T, and each sample reads its row; for few samples
    each sample's row of K logits is built directly. Both give the same draws.

    >>> log_alpha = log_forward(torch.zeros(2), torch.zeros(2, 2), torch.zeros(3, 1, 2))
    >>> sample_paths(log_alpha, torch.zeros(2), torch.zeros(2, 2), torch.tensor([2]), 4,
    ...              torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 1])
    """
    n_steps, batch, n_tags = log_alpha.shape
    device = log_alpha.device
    if by_table is None:
        by_table = n_samples > n_tags
    index = (lengths - 1).view(1, batch, 1).expand(1, batch, n_tags)
    final = log_alpha.gather(0, index)[0] + end  # (B, K): log π_T(y) + end_y
    possible = torch.isfinite(final).any(dim=-1)
    is_last = torch.arange(n_steps, device=device)[:, None] == lengths - 1  # (T, B)
    into = trans.T  # into[j] = trans[:, j], the scores of moving into tag j
    sequence = torch.arange(batch, device=device)
    tags = torch.full((n_steps, n_samples, batch), -1, dtype=torch.long, device=device)
    current = torch.zeros(n_samples, batch, dtype=torch.long, device=device)
    for t in range(int(lengths.max()) - 1, -1, -1):
        uniform = torch.rand(
            (n_samples, batch), generator=generator, dtype=log_alpha.dtype, device=device
        )
        if by_table:
            table = _cumulative(torch.cat([log_alpha[t][:, None, :] + into, final[:, None]], 1))
            row = torch.where(is_last[t], n_tags, current)  # (n, B): which row of the table
            current = _inverse_cdf(table[sequence, row], uniform)
        else:
            given_next = log_alpha[t] + into[current]  # (n, B, K), y_{t+1} = current
            logits = torch.where(is_last[t][None, :, None], final, given_next)
            current = _inverse_cdf(_cumulative(logits), uniform)
        tags[t] = current
    keep = valid_steps(lengths, n_steps)[:, None, :] & possible[None, None, :]
    return tags.masked_fill_(~keep, -1).transpose(0, 1)


def count_paths(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor, cap: int
) -> Tensor:
    """min(cap, number of tag paths with a finite score) per sequence (B,) int64: the forward
    recursion over counts (a path is possible when its start, transitions, emissions and end
    are all finite), clipped at `cap` each step so the counts stay exact integers.

    >>> count_paths(torch.zeros(3), torch.zeros(3), torch.zeros(3, 3), torch.zeros(4, 1, 3),
    ...             torch.tensor([4]), cap=10**6).tolist()  # 3^4
    [81]
    """
    cap = float(min(cap, 2**52))
    steps = torch.isfinite(emissions).double()
    moves = torch.isfinite(trans).double()
    counts = [torch.isfinite(start).double() * steps[0]]
    for t in range(1, emissions.shape[0]):
        counts.append((counts[-1] @ moves).mul_(steps[t]).clamp_(max=cap))
    index = (lengths - 1).view(1, -1, 1).expand(1, emissions.shape[1], emissions.shape[2])
    last = torch.stack(counts).gather(0, index)[0]
    return (last * torch.isfinite(end).double()).sum(-1).clamp(max=cap).long()


def path_score(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, tags: Tensor, lengths: Tensor
) -> Tensor:
    """Score (B,) of the tag paths `tags` (T, B): start + emissions + transitions + end over the
    real steps; −inf for a path through a forbidden transition. Entries of `tags` at padding
    are ignored.

    >>> path_score(torch.zeros(2), torch.zeros(2), torch.tensor([[0.0, 1.0], [2.0, 3.0]]),
    ...            torch.zeros(2, 1, 2), torch.tensor([[0], [1]]), torch.tensor([2])).tolist()
    [1.0]
    """
    n_steps = emissions.shape[0]
    valid = valid_steps(lengths, n_steps)
    safe = tags.clamp(0, emissions.shape[-1] - 1)
    zero = emissions.new_zeros(())
    emit = emissions.gather(2, safe[..., None]).squeeze(-1)
    total = start[safe[0]] + torch.where(valid, emit, zero).sum(dim=0)
    if n_steps > 1:
        moves = trans[safe[:-1], safe[1:]]
        total = total + torch.where(valid[1:], moves, zero).sum(dim=0)
    last = safe.gather(0, (lengths - 1)[None, :]).squeeze(0)
    return total + end[last]


def viterbi(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor
) -> tuple[Tensor, Tensor]:
    """Best path per sequence: ``(tags (T, B) int64 padded with −1, score (B,))``. Ties go to
    the lowest tag; a sequence with no possible path gets tags −1 and score −inf.

    Max-scores δ_t (B, K) come from a max over (B, K, K) per step. For few tags, where the
    cost is per operation, the max also stores back pointers and the backtrack is one gather
    per step; for many tags, where the cost is memory, only δ is kept and the backtrack
    recomputes one argmax over (B, K) per step for the chosen tag. This is the form for any
    device; :class:`~pirho.nn.LinearChainCRF` decodes CPU tensors with
    :func:`compiled_viterbi` instead, which gives the same paths.

    >>> viterbi(torch.zeros(2), torch.zeros(2), torch.zeros(2, 2),
    ...         torch.tensor([[[0.0, 1.0]], [[2.0, 0.0]]]), torch.tensor([2]))
    (tensor([[1],
            [0]]), tensor([3.]))
    """
    n_steps, batch, n_tags = emissions.shape
    trans_t = trans.T.contiguous()  # (to, from): the max runs over the contiguous last dim
    keep_pointers = n_tags <= _POINTER_TAGS
    valid = valid_steps(lengths, n_steps)
    if keep_pointers:
        # Few tags: (T, B, K, K) scores into each tag fit in memory; one add and one max a step
        # (lists and one stack at the end: per-op overhead is the cost here).
        into = (emissions[:, :, :, None] + trans_t).unbind(0)
        current = start + emissions[0]
        deltas, pointer_list = [current], [torch.zeros_like(current, dtype=torch.long)]
        for t in range(1, n_steps):
            current, back = (current[:, None, :] + into[t]).max(dim=-1)
            deltas.append(current)
            pointer_list.append(back)
        delta = torch.stack(deltas)
        pointers = torch.stack(pointer_list)
    else:
        delta = torch.empty_like(emissions)
        delta[0] = start + emissions[0]
        for t in range(1, n_steps):
            torch.amax(delta[t - 1][:, None, :] + trans_t, dim=-1, out=delta[t])
            delta[t].add_(emissions[t])
    last_delta = delta.gather(0, (lengths - 1).view(1, batch, 1).expand(1, batch, n_tags))[0]
    score, last_tag = (last_delta + end).max(dim=-1)
    if keep_pointers:
        # Past a sequence's end the pointers are the identity, so the backtrack carries its
        # last tag down to step length − 1 with no test per step.
        identity = torch.arange(n_tags, device=emissions.device).expand(batch, n_tags)
        steps = torch.where(valid[..., None], pointers, identity).unbind(0)
        current_tag = last_tag[:, None]
        path = [current_tag]
        for t in range(n_steps - 1, 0, -1):
            current_tag = steps[t].gather(1, current_tag)
            path.append(current_tag)
        tags = torch.cat(path[::-1], dim=1).T.contiguous()
    else:
        tags = torch.empty(n_steps, batch, dtype=torch.long, device=emissions.device)
        tags[-1] = last_tag
        is_last = torch.arange(n_steps, device=lengths.device)[:, None] == lengths - 1
        for t in range(n_steps - 2, -1, -1):
            best_prev = (delta[t] + trans_t[tags[t + 1]]).argmax(dim=-1)
            torch.where(is_last[t], last_tag, best_prev, out=tags[t])
    keep = valid & (score > -math.inf)
    return tags.masked_fill_(~keep, -1), score


def compiled_viterbi(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor
) -> tuple[Tensor, Tensor]:
    """:func:`viterbi` for CPU tensors, run by the HMM's compiled max-plus kernel
    (:func:`pirho.hmm._compiled.recursions.viterbi`): ``(tags (T, B) int64 padded with −1,
    score (B,))``, the same paths and ties (to the lowest tag) as :func:`viterbi`.

    A CRF is an HMM-shaped chain in log space: start → log start, trans → log trans,
    emissions → log-likelihoods, end → the kernel's ``log_end``. The kernel reads step s of
    sequence b as row ``rows[offsets[b] + s]`` of a table, so the time-first emissions
    (T, B, K) are that table as they are, ``(T · B, K)`` with row s · B + b: no copy, and the
    padding is never read. Decoding needs no gradient, so the whole recursion runs as one
    compiled loop rather than a few tensor operations per step; the arithmetic stays in the
    emissions' float type.

    >>> compiled_viterbi(torch.zeros(2), torch.zeros(2), torch.zeros(2, 2),
    ...                  torch.tensor([[[0.0, 1.0]], [[2.0, 0.0]]]), torch.tensor([2]))
    (tensor([[1],
            [0]]), tensor([3.]))
    """
    n_steps, batch, n_tags = emissions.shape
    log_start, log_end, log_trans, scores = (
        np.ascontiguousarray(x.detach().numpy()) for x in (start, end, trans, emissions)
    )
    announce_compilation(_time_first_rows, recursions.viterbi, message=_COMPILE_MESSAGE)
    rows, offsets = _time_first_rows(lengths.numpy(), batch)
    path = np.empty(rows.shape[0], dtype=np.int64)
    # δ rows, not back-pointers: a faster recursion, and CRF batches are short
    back = np.empty((n_steps, n_tags), dtype=scores.dtype)
    best, _ = recursions.viterbi(
        log_start, log_trans, scores.reshape(-1, n_tags), rows, offsets, path, back, log_end
    )  # a sequence with no possible path: path −1, score −inf
    tags = np.full(n_steps * batch, -1, dtype=np.int64)
    tags[rows] = path
    return torch.from_numpy(tags.reshape(n_steps, batch)), torch.from_numpy(best)


@njit(cache=True)
def _time_first_rows(lengths, batch):
    """``(rows (N,), offsets (B + 1,))``: the concatenated layout of the HMM kernels over a
    time-first batch (T, B, K) flattened to (T · B, K), where step s of sequence b is row
    s · B + b (N = Σ lengths; one compiled loop: a few numpy calls cost more at B = 1)."""
    offsets = np.empty(batch + 1, dtype=np.int64)
    offsets[0] = 0
    for b in range(batch):
        offsets[b + 1] = offsets[b] + lengths[b]
    rows = np.empty(offsets[batch], dtype=np.int64)
    for b in range(batch):
        for step in range(lengths[b]):
            rows[offsets[b] + step] = step * batch + b
    return rows, offsets


def nbest_viterbi(
    start: Tensor, end: Tensor, trans: Tensor, emissions: Tensor, lengths: Tensor, k: int
) -> tuple[Tensor, Tensor]:
    """The k best distinct paths, best first: ``(tags (k, T, B), scores (k, B))``. Where a
    sequence has fewer than k possible paths, the missing ranks are tags −1 and score −inf.

    Each tag keeps its k best partial paths (score and back pointer to (previous tag, rank));
    different back pointers are different prefixes, so the k paths are distinct.

    >>> tags, scores = nbest_viterbi(torch.zeros(2), torch.zeros(2), torch.zeros(2, 2),
    ...     torch.tensor([[[0.0, 1.0]]]), torch.tensor([1]), k=3)
    >>> tags[:, 0, 0].tolist(), scores[:, 0].tolist()
    ([1, 0, -1], [1.0, 0.0, -inf])
    """
    n_steps, batch, n_tags = emissions.shape
    neg_inf = -math.inf
    trans_t = trans.T.contiguous()
    delta = emissions.new_full((batch, n_tags, k), neg_inf)
    delta[:, :, 0] = start + emissions[0]
    pointers = torch.zeros(n_steps, batch, n_tags, k, dtype=torch.long, device=emissions.device)
    finals = emissions.new_full((n_steps, batch, n_tags, k), neg_inf)
    finals[0] = delta
    for t in range(1, n_steps):
        # candidates[b, j, i * k + r] = delta[b, i, r] + trans[i, j]
        candidates = (delta[:, None, :, :] + trans_t[None, :, :, None]).reshape(batch, n_tags, -1)
        best, pointers[t] = candidates.topk(k, dim=-1)
        delta = best + emissions[t][:, :, None]
        finals[t] = delta
    last = finals.gather(0, (lengths - 1).view(1, batch, 1, 1).expand(1, batch, n_tags, k))[0]
    scores, flat = (last + end[None, :, None]).reshape(batch, -1).topk(k, dim=-1)  # (B, k)
    last_tag, last_rank = flat // k, flat % k
    tags = torch.empty(n_steps, batch, k, dtype=torch.long, device=emissions.device)
    rank = last_rank
    is_last = (torch.arange(n_steps, device=lengths.device)[:, None] == lengths - 1)[..., None]
    tags[-1] = last_tag
    for t in range(n_steps - 2, -1, -1):
        back = pointers[t + 1].gather(1, tags[t + 1][:, :, None].expand(batch, k, k))
        back = back.gather(2, rank[:, :, None]).squeeze(-1)  # (B, k): prev tag * k + prev rank
        tags[t] = torch.where(is_last[t], last_tag, back // k)
        rank = torch.where(is_last[t], last_rank, back % k)
    keep = valid_steps(lengths, n_steps)[:, :, None] & (scores > neg_inf)[None]
    tags = tags.masked_fill_(~keep, -1)
    return tags.permute(2, 0, 1), scores.T
