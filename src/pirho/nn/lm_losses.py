"""Training losses of pirho's language models, in :func:`pirho.train.train`'s form
``loss_fn(model, batch, state) -> (mean loss, n_tokens, new state)``.

Each calls ``model(...)`` itself, so a DistributedDataParallel wrapper sees the forward pass.
A batch is :class:`pirho.data.SeqDataLoader`'s (X, Y), each (B, T) int64, Y = X shifted by one.

>>> from pirho.nn import RNNLM
>>> X = torch.tensor([[1, 2, 3]]); Y = torch.tensor([[2, 3, 1]])
>>> loss, n_tokens, state = rnnlm_loss(RNNLM(4, hidden_size=4, num_layers=1), (X, Y), None)
>>> n_tokens, loss.dim()
(3, 0)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["LOSSES", "bilm_loss", "cloze_loss", "loss_for", "rnnlm_loss"]


def rnnlm_loss(model: nn.Module, batch, state):
    """Mean cross-entropy of x_{t+1} over batch (X, Y), each (B, T); carries state for the
    unidirectional model. Returns (loss, n_tokens, state)."""
    inputs, targets = batch
    logits, state = model(inputs, state)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return loss, targets.numel(), state


def _window(batch) -> Tensor:
    """(X, Y) with Y = X shifted by one → the (B, T+1) window they cover."""
    inputs, targets = batch
    return torch.cat([inputs, targets[:, -1:]], dim=1)


def _lm_pair_loss(forward_logits: Tensor, backward_logits: Tensor, tokens: Tensor) -> Tensor:
    vocab_size = forward_logits.shape[-1]
    forward_loss = F.cross_entropy(
        forward_logits[:, :-1].reshape(-1, vocab_size), tokens[:, 1:].reshape(-1)
    )
    backward_loss = F.cross_entropy(
        backward_logits[:, 1:].reshape(-1, vocab_size), tokens[:, :-1].reshape(-1)
    )
    return forward_loss, backward_loss


def bilm_loss(model: nn.Module, batch, state):
    """Mean of the forward LM's (x_{t+1}) and backward LM's (x_{t-1}) cross-entropies over the
    window covered by batch (X, Y). Returns (loss, n_tokens, None)."""
    tokens = _window(batch)
    forward_logits, backward_logits = model(tokens)
    forward_loss, backward_loss = _lm_pair_loss(forward_logits, backward_logits, tokens)
    return 0.5 * (forward_loss + backward_loss), tokens.shape[0] * (tokens.shape[1] - 1), None


def cloze_loss(model: nn.Module, batch, state):
    """Mean of the forward LM, backward LM and cloze-head cross-entropies over the window
    covered by batch (X, Y). Returns (loss, n_tokens, None)."""
    tokens = _window(batch)
    forward_logits, backward_logits, both = model(tokens)
    forward_loss, backward_loss = _lm_pair_loss(forward_logits, backward_logits, tokens)
    head_loss = F.cross_entropy(both.reshape(-1, both.shape[-1]), tokens[:, 1:-1].reshape(-1))
    return (
        (forward_loss + backward_loss + head_loss) / 3,
        tokens.shape[0] * (tokens.shape[1] - 1),
        None,
    )


LOSSES = {"rnnlm": rnnlm_loss, "bilm": bilm_loss, "cloze": cloze_loss}


def loss_for(model: nn.Module):
    """The training loss function (for :func:`pirho.train.train`) of a pirho language model."""
    inner = getattr(model, "module", model)
    kind = getattr(inner, "kind", None)
    if kind not in LOSSES:
        raise TypeError(f"no language-model loss for {type(inner).__name__}")
    return LOSSES[kind]
