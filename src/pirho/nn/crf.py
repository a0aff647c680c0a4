"""`LinearChainCRF`: exact forward–backward and Viterbi over tag sequences, as a torch layer.

A linear-chain CRF scores a tag path y_1..y_T of a sequence with emission scores E (T, K) as
start[y_1] + Σ_t E_t[y_t] + Σ_t trans[y_{t−1}, y_t] + end[y_T], and p(y | x) = exp(score) / Z.
Parameters are named as pytorch-crf's ``CRF`` (so its ``state_dict`` loads with ``strict=True``).
An HMM is the CRF whose potentials are log-probabilities (:meth:`LinearChainCRF.from_hmm`).

The math lives in :mod:`pirho.nn.crf_ops` (which decodes CPU tensors with the HMM's compiled
Viterbi kernel, :func:`pirho.hmm._compiled.recursions.viterbi`); this module validates input
and holds parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from pirho._checks import check_choice, check_positive_int, is_int
from pirho.nn import crf_ops

__all__ = ["LinearChainCRF", "bio_constraints", "hmm_emissions"]

REDUCTIONS = ("none", "sum", "mean", "token_mean")
# decode(k > 1) and sample(n) refuse a k or n whose tables would need more memory than this.
MEMORY_LIMIT = 8 * 2**30


class _LogPartition(torch.autograd.Function):
    """log Z (B,) with a hand-written backward: d log Z / d E_t = marginals, d / d trans =
    expected transition counts — one backward recursion instead of autograd through T steps."""

    @staticmethod
    def forward(ctx, emissions, start, end, trans, lengths):  # noqa: D102
        fwd, emit_factors, trans_factors = crf_ops.scaled_forward(start, trans, emissions, lengths)
        batch = emissions.shape[1]
        index = (lengths - 1).view(1, batch, 1).expand(1, batch, emissions.shape[-1])
        last = fwd.messages.gather(0, index)[0]
        end_max = crf_ops._finite_max(end)
        log_z = (last * torch.exp(end - end_max)).sum(-1).log() + end_max
        log_z = log_z + fwd.log_scale.gather(0, (lengths - 1)[None])[0]
        redo = ~fwd.exact
        if bool(redo.any()):
            rows = redo.nonzero().squeeze(-1)
            log_z[rows] = _exact_log_z(start, end, trans, emissions[:, rows], lengths[rows])
        ctx.save_for_backward(
            emissions, start, end, trans, lengths, fwd.messages, emit_factors, trans_factors, redo
        )
        return log_z

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_log_z):  # noqa: D102
        emissions, start, end, trans, lengths, messages, emit_factors, trans_factors, redo = (
            ctx.saved_tensors
        )
        bwd = crf_ops.scaled_backward(end, emit_factors, trans_factors, lengths, trans, emissions)
        redo = redo | ~bwd.exact
        valid = crf_ops.valid_steps(lengths, emissions.shape[0])
        weights = torch.where(redo, torch.zeros_like(grad_log_z), grad_log_z)
        marginals = crf_ops.scaled_marginals(messages, bwd.messages, valid)
        counts = crf_ops.scaled_transition_counts(
            messages, bwd.messages, emit_factors, trans_factors, valid, weights
        )
        if bool(redo.any()):
            rows = redo.nonzero().squeeze(-1)
            marginals[:, rows] = 0.0
            sub_e = emissions[:, rows]
            log_alpha, log_beta, log_z = _exact_messages(start, end, trans, sub_e, lengths[rows])
            sub_valid = valid[:, rows]
            marginals[:, rows] = crf_ops.exact_marginals(log_alpha, log_beta, log_z, sub_valid)
            counts = counts + crf_ops.exact_transition_counts(
                log_alpha, log_beta, log_z, trans, sub_e, sub_valid, grad_log_z[rows]
            )
        grad_emissions = marginals * grad_log_z[None, :, None]
        grad_start = grad_emissions[0].sum(0)
        batch = emissions.shape[1]
        index = (lengths - 1).view(1, batch, 1).expand(1, batch, emissions.shape[-1])
        grad_end = grad_emissions.gather(0, index)[0].sum(0)
        return grad_emissions, grad_start, grad_end, counts, None


def _log_z_from_alpha(log_alpha: Tensor, end: Tensor, lengths: Tensor) -> Tensor:
    batch = log_alpha.shape[1]
    index = (lengths - 1).view(1, batch, 1).expand(1, batch, log_alpha.shape[-1])
    return crf_ops._logsumexp(log_alpha.gather(0, index)[0] + end, dim=-1)


def _exact_log_z(start, end, trans, emissions, lengths) -> Tensor:
    return _log_z_from_alpha(crf_ops.log_forward(start, trans, emissions), end, lengths)


def _exact_messages(start, end, trans, emissions, lengths) -> tuple[Tensor, Tensor, Tensor]:
    """Log-space (log π, log ρ, log Z) for the sequences the scaled recursion cannot vouch for."""
    log_alpha = crf_ops.log_forward(start, trans, emissions)
    log_beta = crf_ops.log_backward(end, trans, emissions, lengths)
    return log_alpha, log_beta, _log_z_from_alpha(log_alpha, end, lengths)


def _bool_matrix(name: str, value: Any, shape: tuple[int, ...]) -> Tensor:
    """A boolean tensor of `shape` from a tensor / array / nested list of bools."""
    if value is None:
        return torch.ones(shape, dtype=torch.bool)
    tensor = torch.as_tensor(np.asarray(value.cpu() if isinstance(value, Tensor) else value))
    if tensor.dtype != torch.bool:
        raise TypeError(f"{name} must hold booleans, got dtype {tensor.dtype}")
    if tuple(tensor.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")
    return tensor.clone()


def _check_some_path(allowed: Tensor, allowed_start: Tensor, allowed_end: Tensor) -> None:
    """ValueError unless some tag path of some length goes from an allowed first tag, through
    allowed transitions, to an allowed last tag (else every log Z would be −inf)."""
    if not bool(allowed_start.any()):
        raise ValueError("allowed_start is all False: no tag may start a path")
    if not bool(allowed_end.any()):
        raise ValueError("allowed_end is all False: no tag may end a path")
    reached = allowed_start.clone()
    while not bool((reached & allowed_end).any()):
        grown = reached | allowed[reached].any(dim=0)
        if torch.equal(grown, reached):
            first, last = (m.nonzero().flatten().tolist() for m in (allowed_start, allowed_end))
            raise ValueError(
                "allowed, allowed_start and allowed_end leave no complete tag path: the tags "
                f"reachable from the allowed first tags {first} are "
                f"{reached.nonzero().flatten().tolist()}, and none is an allowed last tag {last}"
            )
        reached = grown


def _check_memory(name: str, value: int, what: str, shape: torch.Size, needed: int) -> None:
    """ValueError before any work when a result of `value` paths would need > MEMORY_LIMIT."""
    if needed > MEMORY_LIMIT:
        raise ValueError(
            f"{name} = {value} {what} of (T, B, K) = {tuple(shape)} would need about "
            f"{needed / 2**30:.3g} GiB (the limit is {MEMORY_LIMIT / 2**30:g} GiB): ask for "
            "fewer paths, or pass fewer or shorter sequences at a time"
        )


class LinearChainCRF(nn.Module):
    """Linear-chain conditional random field over K tags with exact inference.

    Parameters (pytorch-crf's names): ``start_transitions`` (K,), ``end_transitions`` (K,),
    ``transitions`` (K, K) with ``transitions[i, j]`` the score of tag i followed by tag j.

    Every method takes ``emissions`` (T, B, K) — (B, T, K) with ``batch_first`` — float32 or
    float64 on any device, and either ``lengths`` (B,) integers in 1…T or a prefix ``mask``
    (T, B) ((B, T) with ``batch_first``) of bools as pytorch-crf takes; neither = all T steps.
    Outputs are time-first (T, B, …) unless ``batch_first``.

    ``allowed`` (K, K), ``allowed_start`` (K,), ``allowed_end`` (K,) are boolean masks:
    a False transition, first tag or last tag is impossible in every method (log Z, likelihood,
    marginals, decoding). They are non-persistent buffers, so ``state_dict`` holds only the
    three parameters. :func:`bio_constraints` builds them for BIO / BIOES tag sets.

    Methods: :meth:`log_partition` log Z (B,); :meth:`log_likelihood` (= ``forward``)
    log p(tags | x), or of a partial annotation (tag −1 = unlabelled); :meth:`marginals`
    P(y_t = k | x); :meth:`pairwise_marginals` P(y_{t−1} = i, y_t = j | x); :meth:`entropy`
    H(y | x) (B,); :meth:`decode` the best (or k best) paths; :meth:`sample` paths drawn
    from p(y | x). Gradients of log Z come from one backward recursion
    (d log Z / d E_t = marginals).

    Emissions must be finite or −inf (a tag impossible at that step) at real steps: NaN or
    +inf there is a ``ValueError`` naming the position; values at padded steps are ignored.
    ``allowed`` masks that leave no complete path are a ``ValueError`` at construction.

    >>> crf = LinearChainCRF(3)
    >>> emissions = torch.randn(5, 2, 3)               # (T, B, K)
    >>> tags = torch.tensor([[0, 1], [1, 1], [2, 0], [2, 2], [0, 0]])
    >>> crf(emissions, tags, lengths=torch.tensor([5, 3])).shape
    torch.Size([])
    >>> crf.decode(emissions, lengths=torch.tensor([5, 3]))[0].shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        num_tags: int,
        batch_first: bool = False,
        allowed: Any = None,
        allowed_start: Any = None,
        allowed_end: Any = None,
    ) -> None:
        super().__init__()
        num_tags = check_positive_int("num_tags", num_tags)
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first must be a bool, got {batch_first!r}")
        self.num_tags = num_tags
        self.batch_first = batch_first
        self.start_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        k = num_tags
        self.register_buffer("allowed", _bool_matrix("allowed", allowed, (k, k)), False)
        self.register_buffer(
            "allowed_start", _bool_matrix("allowed_start", allowed_start, (k,)), False
        )
        self.register_buffer("allowed_end", _bool_matrix("allowed_end", allowed_end, (k,)), False)
        _check_some_path(self.allowed, self.allowed_start, self.allowed_end)

    def extra_repr(self) -> str:
        forbidden = int((~self.allowed).sum())
        return f"num_tags={self.num_tags}, batch_first={self.batch_first}, forbidden={forbidden}"

    # -- construction from an HMM --------------------------------------------------------------
    @classmethod
    def from_hmm(cls, model: Any, batch_first: bool = False) -> LinearChainCRF:
        """The CRF equal to a :class:`pirho.hmm.CategoricalHMM` (float64 parameters).

        start = log start, transitions = log trans, end = 0; zero probabilities become
        forbidden (their parameter entries hold 0 and are masked). With
        ``emissions = hmm_emissions(model, x)``: log Z = ``model.log_likelihood(x)``,
        marginals = ``model.posterior(x)``, decode = ``model.viterbi(x)``.

        >>> from pirho.hmm import casino
        >>> hmm = casino()
        >>> crf = LinearChainCRF.from_hmm(hmm)
        >>> x = [0, 5, 5, 1]
        >>> em = hmm_emissions(hmm, x)[:, None, :]          # (T, 1, K)
        >>> round(crf.log_partition(em).item(), 6) == round(hmm.log_likelihood(x), 6)
        True
        """
        start = np.asarray(model.start, dtype=np.float64)
        trans = np.asarray(model.trans, dtype=np.float64)
        crf = cls(
            int(start.shape[0]), batch_first=batch_first, allowed=trans > 0, allowed_start=start > 0
        )
        with np.errstate(divide="ignore"):
            log_start = np.where(start > 0, np.log(start), 0.0)
            log_trans = np.where(trans > 0, np.log(trans), 0.0)
        crf.double()
        with torch.no_grad():
            crf.start_transitions.copy_(torch.from_numpy(log_start))
            crf.transitions.copy_(torch.from_numpy(log_trans))
            crf.end_transitions.zero_()
        return crf

    # -- validation ----------------------------------------------------------------------------
    def _potentials(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        """(start, end, trans) in `dtype` with −inf where forbidden."""
        neg_inf = torch.tensor(-torch.inf, dtype=dtype, device=self.transitions.device)
        start = torch.where(self.allowed_start, self.start_transitions.to(dtype), neg_inf)
        end = torch.where(self.allowed_end, self.end_transitions.to(dtype), neg_inf)
        trans = torch.where(self.allowed, self.transitions.to(dtype), neg_inf)
        # As for emissions: −inf forbids, NaN and +inf (e.g. after a diverged step) are errors.
        total = (start.detach().sum() + end.detach().sum()) + trans.detach().sum()
        if bool(torch.isnan(total) | (total == torch.inf)):
            for name, value in (
                ("start_transitions", start),
                ("end_transitions", end),
                ("transitions", trans),
            ):
                bad = torch.isnan(value) | (value == torch.inf)
                if bool(bad.any()):
                    index = tuple(int(i) for i in bad.nonzero()[0])
                    raise ValueError(
                        f"{name} must be finite or −inf at allowed entries, got "
                        f"{float(value[index])} at {name}{list(index)}"
                    )
        return start, end, trans

    def _prepare(
        self, emissions: Any, lengths: Any, mask: Any
    ) -> tuple[Tensor, Tensor, torch.dtype]:
        """Check the inputs; return time-first emissions (T, B, K) and lengths (B,) int64."""
        if not isinstance(emissions, Tensor):
            raise TypeError(f"emissions must be a torch.Tensor, got {type(emissions).__name__}")
        if emissions.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"emissions must be float32 or float64, got {emissions.dtype}")
        if emissions.dim() != 3:
            raise ValueError(
                f"emissions must have 3 dimensions ({'B, T' if self.batch_first else 'T, B'}, K), "
                f"got shape {tuple(emissions.shape)}"
            )
        if emissions.shape[-1] != self.num_tags:
            raise ValueError(
                f"emissions must have num_tags = {self.num_tags} scores in the last dimension, "
                f"got shape {tuple(emissions.shape)}"
            )
        if self.batch_first:
            emissions = emissions.transpose(0, 1)
        n_steps, batch = emissions.shape[:2]
        if n_steps == 0 or batch == 0:
            raise ValueError(
                f"emissions must have T ≥ 1 steps and B ≥ 1 sequences, got {n_steps} and {batch}"
            )
        emissions = emissions.contiguous()
        if lengths is not None and mask is not None:
            raise ValueError("give lengths or mask, not both")
        if mask is not None:
            lengths = self._lengths_from_mask(mask, n_steps, batch)
        elif lengths is None:
            lengths = torch.full((batch,), n_steps, dtype=torch.long)
        else:
            lengths = self._check_lengths(lengths, n_steps, batch)
        lengths = lengths.to(emissions.device)
        return self._check_finite(emissions, lengths), lengths, emissions.dtype

    def _check_finite(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """ValueError for NaN or +inf emissions at a real step; −inf is a legitimate score
        (that tag is impossible there). Padding is never read: non-finite values there become 0
        so that no NaN reaches a product with 0."""
        # One reduction decides the common case: a sum with no NaN and no +inf term is finite
        # or −inf; NaN, +inf (or an overflow, checked below) make it NaN or +inf.
        total = emissions.detach().sum()
        if not bool(torch.isnan(total) | (total == torch.inf)):
            return emissions
        bad = torch.isnan(emissions) | (emissions == torch.inf)
        real = bad & crf_ops.valid_steps(lengths, emissions.shape[0])[..., None]
        if bool(real.any()):
            t, b, k = (int(i) for i in real.nonzero()[0])
            where = f"[{b}, {t}, {k}]" if self.batch_first else f"[{t}, {b}, {k}]"
            raise ValueError(
                f"emissions must be finite or −inf (an impossible tag) at real steps, got "
                f"{float(emissions[t, b, k])} at emissions{where} (step {t} of sequence {b}, "
                f"tag {k})"
            )
        return emissions.masked_fill(bad, 0.0) if bool(bad.any()) else emissions

    def _check_lengths(self, lengths: Any, n_steps: int, batch: int) -> Tensor:
        if isinstance(lengths, Tensor):
            if lengths.dtype.is_floating_point or lengths.dtype in (torch.bool, torch.complex64):
                raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
            tensor = lengths.long()
        else:
            values = list(lengths) if isinstance(lengths, Sequence | np.ndarray) else None
            if values is None or not all(is_int(v) for v in values):
                raise TypeError(f"lengths must be a sequence of integers, got {lengths!r}")
            tensor = torch.tensor([int(v) for v in values], dtype=torch.long)
        if tuple(tensor.shape) != (batch,):
            raise ValueError(
                f"lengths must have shape (B,) = ({batch},), got {tuple(tensor.shape)}"
            )
        bad = (tensor < 1) | (tensor > n_steps)
        if bool(bad.any()):
            b = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"lengths must lie in 1…T = 1…{n_steps}, got lengths[{b}] = {int(tensor[b])}"
            )
        return tensor

    def _lengths_from_mask(self, mask: Any, n_steps: int, batch: int) -> Tensor:
        if not isinstance(mask, Tensor):
            raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
        if mask.dtype not in (torch.bool, torch.uint8):
            raise TypeError(f"mask must be bool or uint8, got dtype {mask.dtype}")
        expected = (batch, n_steps) if self.batch_first else (n_steps, batch)
        if tuple(mask.shape) != expected:
            raise ValueError(f"mask must have shape {expected}, got {tuple(mask.shape)}")
        mask = mask.bool()
        if self.batch_first:
            mask = mask.T
        lengths = mask.sum(0)
        prefix = crf_ops.valid_steps(lengths, n_steps)
        if not bool((prefix == mask).all()) or not bool(mask[0].all()):
            raise ValueError(
                "mask must be a prefix mask (True for the first lengths[b] steps of each "
                "sequence, then False) with the first step on for every sequence"
            )
        return lengths.long()

    def _output(self, x: Tensor) -> Tensor:
        """Time-first (T, B, …) → the user's layout."""
        return x.transpose(0, 1) if self.batch_first else x

    # -- inference -----------------------------------------------------------------------------
    def log_partition(self, emissions: Tensor, lengths: Any = None, mask: Any = None) -> Tensor:
        """log Z (B,): log of the sum over all tag paths of exp(score). Differentiable.

        >>> crf = LinearChainCRF(2)
        >>> crf.log_partition(torch.zeros(3, 4, 2)).shape
        torch.Size([4])
        """
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        start, end, trans = self._potentials(dtype)
        return _LogPartition.apply(emissions, start, end, trans, lengths)

    def log_likelihood(
        self,
        emissions: Tensor,
        tags: Tensor,
        lengths: Any = None,
        mask: Any = None,
        reduction: str = "sum",
    ) -> Tensor:
        """log p(tags | x) = score(tags) − log Z, reduced like pytorch-crf: ``none`` (B,),
        ``sum``, ``mean`` (over sequences) or ``token_mean`` (sum / number of real tokens).

        ``tags`` (T, B) int64 ((B, T) with ``batch_first``), values in [0, K) at real steps, or
        −1 for an unlabelled step; entries at padded steps are ignored. A path through a
        forbidden transition has −inf.

        **Partial annotation.** With −1 at some real steps the result is the log-probability of
        the set of paths that agree with every labelled step, log Σ_{y consistent} p(y | x)
        = log Z_consistent − log Z, where Z_consistent is Z over the lattice with every other
        tag removed at the labelled steps. Every step labelled: the ordinary log-likelihood;
        every step −1: 0. A sequence with no possible path at all (log Z = −inf, from −inf
        emissions) is a ``ValueError``.

        >>> crf = LinearChainCRF(2)
        >>> crf.log_likelihood(torch.zeros(3, 1, 2), torch.zeros(3, 1, dtype=torch.long)).item() < 0
        True
        >>> crf.log_likelihood(torch.zeros(3, 1, 2), torch.full((3, 1), -1)).item()
        0.0
        """
        check_choice("reduction", reduction, REDUCTIONS)
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        tags = self._check_tags(tags, emissions.shape[:2], lengths)
        start, end, trans = self._potentials(dtype)
        log_z = _LogPartition.apply(emissions, start, end, trans, lengths)
        impossible = log_z == -torch.inf
        if bool(impossible.any()):
            b = int(impossible.nonzero()[0, 0])
            raise ValueError(
                f"emissions: sequence {b} has no possible tag path (log Z = −inf: every path "
                "meets a −inf emission or a forbidden transition), so its likelihood is undefined"
            )
        llh = crf_ops.path_score(start, end, trans, emissions, tags, lengths)
        unlabelled = (tags == -1) & crf_ops.valid_steps(lengths, emissions.shape[0])
        partial = unlabelled.any(dim=0)
        if bool(partial.any()):
            # Remove every other tag at the labelled steps; unlabelled steps keep all K.
            other = torch.arange(self.num_tags, device=tags.device) != tags[..., None]
            consistent = emissions.masked_fill(other & ~unlabelled[..., None], -torch.inf)
            log_z_consistent = _LogPartition.apply(consistent, start, end, trans, lengths)
            llh = torch.where(partial, log_z_consistent, llh)
        llh = llh - log_z
        if reduction == "none":
            return llh
        if reduction == "sum":
            return llh.sum()
        if reduction == "mean":
            return llh.mean()
        return llh.sum() / lengths.sum().to(dtype)

    forward = log_likelihood

    def _check_tags(self, tags: Any, shape: torch.Size, lengths: Tensor) -> Tensor:
        if not isinstance(tags, Tensor):
            raise TypeError(f"tags must be a torch.Tensor, got {type(tags).__name__}")
        if tags.dtype.is_floating_point or tags.dtype == torch.bool:
            raise TypeError(f"tags must hold integers, got dtype {tags.dtype}")
        if self.batch_first:
            tags = tags.transpose(0, 1)
        if tags.shape != shape:
            layout = "(B, T)" if self.batch_first else "(T, B)"
            expected = tuple(shape)[::-1] if self.batch_first else tuple(shape)
            got = tuple(tags.shape)[::-1] if self.batch_first else tuple(tags.shape)
            raise ValueError(f"tags must have shape {layout} = {expected}, got {got}")
        tags = tags.long().to(lengths.device)
        valid = crf_ops.valid_steps(lengths, shape[0])
        bad = valid & ((tags < -1) | (tags >= self.num_tags))
        if bool(bad.any()):
            t, b = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"tags must lie in [0, {self.num_tags}) (or be −1, unlabelled) at real steps, "
                f"got {int(tags[t, b])} at step {t} of sequence {b}"
            )
        return tags

    @torch.no_grad()
    def marginals(self, emissions: Tensor, lengths: Any = None, mask: Any = None) -> Tensor:
        """Posterior marginals P(y_t = k | x) (T, B, K) ((B, T, K) with ``batch_first``): rows
        sum to 1 at real steps; padded steps (and sequences with no possible path) are 0.
        Not differentiable (computed without autograd).

        >>> crf = LinearChainCRF(3)
        >>> m = crf.marginals(torch.randn(4, 2, 3), lengths=[4, 2])
        >>> m.sum(-1).round(decimals=6).tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
        """
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        start, end, trans = self._potentials(dtype)
        fwd, emit_factors, trans_factors = crf_ops.scaled_forward(start, trans, emissions, lengths)
        bwd = crf_ops.scaled_backward(end, emit_factors, trans_factors, lengths, trans, emissions)
        valid = crf_ops.valid_steps(lengths, emissions.shape[0])
        out = crf_ops.scaled_marginals(fwd.messages, bwd.messages, valid)
        redo = ~(fwd.exact & bwd.exact)
        if bool(redo.any()):
            rows = redo.nonzero().squeeze(-1)
            log_alpha, log_beta, log_z = _exact_messages(
                start, end, trans, emissions[:, rows], lengths[rows]
            )
            out[:, rows] = crf_ops.exact_marginals(log_alpha, log_beta, log_z, valid[:, rows])
        return self._output(out)

    @torch.no_grad()
    def decode(
        self, emissions: Tensor, lengths: Any = None, mask: Any = None, k: int = 1
    ) -> tuple[Tensor, Tensor]:
        """Best tag paths by Viterbi (max-product).

        k = 1: ``(tags (T, B) int64 padded with −1, scores (B,))`` — tags (B, T) with
        ``batch_first``. k > 1: the k best *distinct* paths, best first, ``(tags (k, T, B),
        scores (k, B))`` ((k, B, T) with ``batch_first``). A sequence with fewer than k possible
        paths gets tags −1 and score −inf in the missing ranks. k is capped at the largest
        number of possible paths in the batch (K^T, or fewer with ``allowed`` and −inf
        emissions), so ``k=10**6`` on a short sequence returns every path, best first; a k
        whose tables would still need more than ``MEMORY_LIMIT`` bytes (8 GiB) is a
        ``ValueError``. Ties go to the lower tag (k = 1).
        On a CPU, k = 1 runs as one compiled loop, the HMM's Viterbi kernel
        (:func:`pirho.nn.crf_ops.compiled_viterbi`); other devices and k > 1 use the torch
        forms in :mod:`pirho.nn.crf_ops`.

        >>> crf = LinearChainCRF(3)
        >>> tags, scores = crf.decode(torch.randn(4, 2, 3), lengths=[4, 2])
        >>> tags[2:, 1].tolist()
        [-1, -1]
        >>> crf.decode(torch.randn(4, 2, 3), k=5)[0].shape
        torch.Size([5, 4, 2])
        >>> crf.decode(torch.randn(2, 1, 3), k=10**6)[0].shape  # 3^2 = 9 paths in all
        torch.Size([9, 2, 1])
        """
        k = check_positive_int("k", k)
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        start, end, trans = self._potentials(dtype)
        if k == 1:
            on_cpu = emissions.device.type == "cpu"
            viterbi = crf_ops.compiled_viterbi if on_cpu else crf_ops.viterbi
            tags, scores = viterbi(start, end, trans, emissions, lengths)
            return self._output(tags), scores
        # No rank beyond the number of possible paths (K^T or fewer) can hold one.
        n_paths = crf_ops.count_paths(start, end, trans, emissions, lengths, cap=k)
        k = max(1, int(n_paths.max()))
        n_steps, batch, n_tags = emissions.shape
        needed = k * (
            n_steps * batch * n_tags * (8 + emissions.element_size())
            + 3 * batch * n_tags**2 * emissions.element_size()
        )
        _check_memory("k", k, "best paths", emissions.shape, needed)
        tags, scores = crf_ops.nbest_viterbi(start, end, trans, emissions, lengths, k)
        return (tags.transpose(1, 2) if self.batch_first else tags), scores

    def pairwise_marginals(
        self, emissions: Tensor, lengths: Any = None, mask: Any = None
    ) -> Tensor:
        """Pairwise (edge) marginals P(y_{t−1} = i, y_t = j | x): (T − 1, B, K, K) with entry
        [t − 1, b, i, j] for the move from step t − 1 to step t — (B, T − 1, K, K) with
        ``batch_first`` (the two leading dimensions swap, as in :meth:`marginals`).

        = π_{t−1}(i) exp(trans[i, j] + E_t(j)) ρ_t(j) / Z, computed in log space. Summed over
        i it is ``marginals()[t]``, over j ``marginals()[t − 1]``. Zero for moves into padded
        steps, for forbidden moves and for sequences with no possible path. Differentiable
        (autograd through the log-space recursion; float64 passes ``gradcheck``). T = 1 gives
        an empty (0, B, K, K) tensor.

        >>> crf = LinearChainCRF(3)
        >>> pairs = crf.pairwise_marginals(torch.randn(4, 2, 3), lengths=[4, 2])
        >>> pairs.shape
        torch.Size([3, 2, 3, 3])
        >>> pairs.sum((-2, -1)).round(decimals=6).tolist()  # 1 per real move, 0 into padding
        [[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
        """
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        start, end, trans = self._potentials(dtype)
        log_alpha = crf_ops.log_forward(start, trans, emissions)
        log_beta = crf_ops.log_backward(end, trans, emissions, lengths)
        log_z = _log_z_from_alpha(log_alpha, end, lengths)
        valid = crf_ops.valid_steps(lengths, emissions.shape[0])
        pairs = crf_ops.exact_pairwise_marginals(
            log_alpha, log_beta, log_z, trans, emissions, valid
        )
        return self._output(pairs)

    def entropy(self, emissions: Tensor, lengths: Any = None, mask: Any = None) -> Tensor:
        """Entropy H(y | x) = −Σ_y p(y | x) log p(y | x) (B,) in nats, exact and
        differentiable (a regulariser, or an uncertainty score for active learning).

        Computed as the chain rule of the posterior read backwards (y_T, then y_{T−1} given
        y_T, …), whose terms are all ≥ 0, rather than as log Z − E[score], which subtracts two
        numbers of size ~T and loses the digits of a small entropy. 0 for a sequence with no
        possible path. See :func:`pirho.nn.crf_ops.entropy`.

        >>> crf = LinearChainCRF(3)
        >>> with torch.no_grad():
        ...     _ = crf.transitions.zero_(); _ = crf.start_transitions.zero_()
        ...     _ = crf.end_transitions.zero_()
        >>> h = crf.entropy(torch.zeros(4, 2, 3), lengths=[4, 2])   # uniform over 3^T paths
        >>> (h / torch.log(torch.tensor(3.0))).round(decimals=6).tolist()
        [4.0, 2.0]
        """
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        start, end, trans = self._potentials(dtype)
        return crf_ops.entropy(start, end, trans, emissions, lengths)

    @torch.no_grad()
    def sample(
        self,
        emissions: Tensor,
        n: int,
        lengths: Any = None,
        mask: Any = None,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """n tag paths per sequence drawn exactly from p(y | x): (n, T, B) int64 — (n, B, T)
        with ``batch_first``, as :meth:`decode`'s k best — padded with −1 (every step of a
        sequence with no possible path is −1). Forbidden transitions and −inf emissions are
        never sampled.

        Forward filtering, backward sampling: one forward pass for the messages π_t, then
        y_T ∝ π_T(y) exp(end_y) and y_{t−1} ∝ π_{t−1}(y) exp(trans[y, y_t]), all n samples of
        all sequences drawn together, one step at a time. ``seed`` (int) or ``generator`` (a
        ``torch.Generator`` on the emissions' device) fixes the draws; neither = torch's
        global generator. An n whose paths would need more than ``MEMORY_LIMIT`` bytes
        (8 GiB) is a ``ValueError``.

        >>> crf = LinearChainCRF(3)
        >>> paths = crf.sample(torch.randn(4, 2, 3), 5, lengths=[4, 2], seed=0)
        >>> paths.shape
        torch.Size([5, 4, 2])
        >>> paths[:, 2:, 1].unique().tolist()
        [-1]
        """
        n = check_positive_int("n", n)
        if seed is not None and generator is not None:
            raise ValueError("give seed or generator, not both")
        emissions, lengths, dtype = self._prepare(emissions, lengths, mask)
        if seed is not None:
            if not is_int(seed):
                raise TypeError(f"seed must be an integer, got {seed!r}")
            generator = torch.Generator(device=emissions.device).manual_seed(int(seed))
        elif generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        n_steps, batch, n_tags = emissions.shape
        per_sample = batch * (8 * n_steps + 3 * n_tags * emissions.element_size())
        _check_memory("n", n, "sampled paths", emissions.shape, n * per_sample)
        start, end, trans = self._potentials(dtype)
        fwd, _, _ = crf_ops.scaled_forward(start, trans, emissions, lengths)
        log_alpha = fwd.messages.log()  # log π_t − log max_k π_t: the sampler needs no more
        if not bool(fwd.exact.all()):
            rows = (~fwd.exact).nonzero().squeeze(-1)
            exact = crf_ops.log_forward(start, trans, emissions[:, rows])
            log_alpha[:, rows] = exact - crf_ops._finite_max(exact, dim=-1, keepdim=True)
        paths = crf_ops.sample_paths(log_alpha, end, trans, lengths, n, generator)
        return paths.transpose(1, 2) if self.batch_first else paths


def hmm_emissions(model: Any, x: Any) -> Tensor:
    """Emission log-likelihoods (T, K) float64 of symbols `x` under a
    :class:`pirho.hmm.CategoricalHMM`: entry [t, k] = log P(x_t | h_t = k) (−inf for a
    structural zero).

    >>> from pirho.hmm import casino
    >>> hmm_emissions(casino(), [0, 5]).shape
    torch.Size([2, 2])
    """
    emit = np.asarray(model.emit, dtype=np.float64)
    symbols = np.asarray(x)
    if symbols.ndim != 1 or not np.issubdtype(symbols.dtype, np.integer):
        raise TypeError(f"x must be a 1-D sequence of integer symbols, got {x!r}")
    if symbols.size and (symbols.min() < 0 or symbols.max() >= emit.shape[1]):
        raise ValueError(f"x must hold symbols in [0, {emit.shape[1]}), got {symbols.tolist()}")
    with np.errstate(divide="ignore"):
        return torch.from_numpy(np.log(emit[:, symbols]).T.copy())


def bio_constraints(tag_names: Sequence[str], scheme: str = "BIO") -> tuple[Tensor, Tensor, Tensor]:
    """Allowed transitions (K, K), first tags (K,) and last tags (K,) for a BIO or BIOES tag
    set, as boolean tensors for :class:`LinearChainCRF`.

    Tags are ``O`` or ``<prefix>-<type>``. BIO: I-x only after B-x or I-x, never first.
    BIOES: I-x / E-x only after B-x or I-x; B-x and I-x only before I-x / E-x; a sequence starts
    with O, B or S and ends with O, E or S.

    >>> allowed, first, last = bio_constraints(["O", "B-PER", "I-PER"])
    >>> allowed.int().tolist(), first.tolist()
    ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [True, True, False])
    """
    scheme = check_choice("scheme", scheme, ("BIO", "BIOES"))
    prefixes = set(scheme)
    parsed = []
    for name in tag_names:
        if not isinstance(name, str):
            raise TypeError(f"tag_names must be strings, got {name!r}")
        if name == "O":
            parsed.append(("O", ""))
            continue
        prefix, sep, kind = name.partition("-")
        if not sep or prefix not in prefixes - {"O"} or not kind:
            raise ValueError(
                f"tag_names: {name!r} is not 'O' or '<{'|'.join(sorted(prefixes - {'O'}))}>-TYPE' "
                f"for scheme {scheme}"
            )
        parsed.append((prefix, kind))
    n = len(parsed)
    if n == 0:
        raise ValueError("tag_names must not be empty")
    allowed = torch.ones(n, n, dtype=torch.bool)
    inside = {"I", "E"}  # tags that continue a chunk
    for i, (p_from, k_from) in enumerate(parsed):
        for j, (p_to, k_to) in enumerate(parsed):
            opens = p_from in {"B", "I"} and (scheme == "BIOES")  # must be continued
            continues = p_to in (inside if scheme == "BIOES" else {"I"})
            if continues:
                allowed[i, j] = p_from in {"B", "I"} and k_from == k_to
            elif opens:
                allowed[i, j] = False
    first = torch.tensor([p in {"O", "B", "S"} for p, _ in parsed])
    if scheme == "BIO":
        last = torch.ones(n, dtype=torch.bool)
    else:
        last = torch.tensor([p in {"O", "E", "S"} for p, _ in parsed])
    return allowed, first, last
