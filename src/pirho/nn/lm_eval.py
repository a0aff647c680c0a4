"""Held-out perplexity of a language model, two ways: teacher-forced and causal.

Both cut the held-out corpus into windows of ``num_steps`` inputs (the last, incomplete window
dropped), window i covering inputs x_{i·n} … x_{i·n+n−1} and targets one step later; every
window starts from a fresh state. They differ only in what the model may read when it scores
target x_{t+1}:

- **teacher-forced**: the whole window, in one pass — how d2l trains and reports perplexity.
  A bidirectional model's backward direction has then already read x_{t+1}.
- **causal**: the window's prefix up to x_t only — the model is re-run on every prefix length
  and its last output is used, exactly what generation does.

perplexity = exp(mean negative log-likelihood over the targets). For a unidirectional model
the two are equal (up to float rounding); the gap in a bidirectional one is the leak.

A model only needs ``lm_logits(tokens (B, T)) -> (B, T, V)``, logits[:, t] scoring x_{t+1}
(:class:`pirho.nn.RNNLM`, :class:`pirho.nn.BiLM` — its forward LM — and
:class:`pirho.nn.ClozeModel`). The causal pass is batched over windows: one model call per
prefix length (``num_steps`` calls in all), never a Python loop over characters.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pirho._checks import check_int, check_positive_int


def heldout_windows(corpus: Sequence[int] | Tensor, num_steps: int) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows of a corpus: (inputs, targets), each (W, num_steps) int64, with
    targets = inputs shifted one step; W = (len(corpus) − 1) // num_steps.

    >>> inputs, targets = heldout_windows(list(range(8)), 3)
    >>> inputs.tolist(), targets.tolist()
    ([[0, 1, 2], [3, 4, 5]], [[1, 2, 3], [4, 5, 6]])
    """
    check_positive_int("num_steps", num_steps)
    corpus = torch.as_tensor(corpus, dtype=torch.long).reshape(-1)
    n_windows = (len(corpus) - 1) // num_steps
    if n_windows < 1:
        raise ValueError(
            f"held-out corpus has {len(corpus)} tokens; need at least num_steps + 1 = "
            f"{num_steps + 1}"
        )
    used = n_windows * num_steps
    return corpus[:used].reshape(n_windows, num_steps), corpus[1 : used + 1].reshape(
        n_windows, num_steps
    )


def _nll_sum(logits: Tensor, targets: Tensor) -> float:
    return float(
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
    )


# exp(x) overflows a float64 above this; a mean loss beyond it has no finite perplexity
MAX_LOG_PERPLEXITY = math.log(float.fromhex("0x1.fffffffffffffp+1023"))


def perplexity(mean_loss: float) -> float:
    """exp(mean token loss in nats); inf (not an OverflowError) when it exceeds a float.

    >>> round(perplexity(math.log(28.0)), 9), perplexity(1e4)
    (28.0, inf)
    """
    if math.isnan(mean_loss):
        return mean_loss
    return math.exp(mean_loss) if mean_loss <= MAX_LOG_PERPLEXITY else math.inf


def _model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters live: evaluation batches go there too (CPU or CUDA)."""
    return next(model.parameters(), torch.empty(0)).device


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Model in eval mode and no autograd inside; its mode restored afterwards (even on error).

    >>> layer = nn.Dropout(0.5)
    >>> with evaluating(layer):
    ...     layer.training
    False
    >>> layer.training
    True
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def teacher_forced_nll(
    model: nn.Module, corpus: Sequence[int] | Tensor, num_steps: int = 35, batch_size: int = 256
) -> tuple[float, int]:
    """(total negative log-likelihood in nats, number of targets) with each window read whole.

    >>> from pirho.nn import RNNLM
    >>> nll, n = teacher_forced_nll(RNNLM(5, hidden_size=4, num_layers=1), [1, 2, 3] * 10, 5)
    >>> n
    25
    """
    inputs, targets = heldout_windows(corpus, num_steps)
    inputs, targets = inputs.to(_model_device(model)), targets.to(_model_device(model))
    total = 0.0
    with evaluating(model):
        for start in range(0, len(inputs), batch_size):
            logits = model.lm_logits(inputs[start : start + batch_size])
            total += _nll_sum(logits, targets[start : start + batch_size])
    return total, targets.numel()


def causal_nll(
    model: nn.Module, corpus: Sequence[int] | Tensor, num_steps: int = 35, batch_size: int = 256
) -> tuple[float, int]:
    """(total negative log-likelihood in nats, number of targets), each target x_{t+1} scored
    from its window's prefix up to x_t only (the model re-run on that prefix, fresh state).

    Batched: for each prefix length j = 1..num_steps, one call on all windows' prefixes of
    length j — num_steps calls per batch of windows, O(num_steps²) work per window.

    >>> from pirho.nn import RNNLM
    >>> nll, n = causal_nll(RNNLM(5, hidden_size=4, num_layers=1), [1, 2, 3] * 10, 5)
    >>> n
    25
    """
    inputs, targets = heldout_windows(corpus, num_steps)
    inputs, targets = inputs.to(_model_device(model)), targets.to(_model_device(model))
    total = 0.0
    with evaluating(model):
        for start in range(0, len(inputs), batch_size):
            window_in = inputs[start : start + batch_size]
            window_out = targets[start : start + batch_size]
            for length in range(1, num_steps + 1):
                last = model.lm_logits(window_in[:, :length])[:, -1]
                total += _nll_sum(last, window_out[:, length - 1])
    return total, targets.numel()


def perplexities(
    model: nn.Module, corpus: Sequence[int] | Tensor, num_steps: int = 35, causal: bool = True
) -> dict:
    """Held-out perplexities: ``{"teacher_forced_ppl", "causal_ppl", "n_tokens"}``
    (``causal_ppl`` left out when ``causal=False``; it costs ~num_steps/2 times more).

    >>> from pirho.nn import RNNLM
    >>> p = perplexities(RNNLM(5, hidden_size=4, num_layers=1), [1, 2, 3] * 10, 5)
    >>> abs(p["teacher_forced_ppl"] - p["causal_ppl"]) < 1e-4
    True
    """
    nll, n_tokens = teacher_forced_nll(model, corpus, num_steps)
    result = {"teacher_forced_ppl": perplexity(nll / n_tokens), "n_tokens": n_tokens}
    if causal:
        nll_causal, _ = causal_nll(model, corpus, num_steps)
        result["causal_ppl"] = perplexity(nll_causal / n_tokens)
    return result


def cloze_accuracy(
    model: nn.Module, corpus: Sequence[int] | Tensor, window: int = 71, batch_size: int = 128
) -> dict:
    """Accuracy of predicting one masked character of held-out text from its left context,
    its right context, and both (a :class:`pirho.nn.ClozeModel`).

    The corpus is cut into non-overlapping windows of ``window`` characters, each read from a
    fresh state; every inner character x_t (t = 1..window−2) is masked in turn and predicted by
    ``model.cloze_logits`` — left: the forward LM from x_1..x_{t−1}; right: the backward LM from
    x_{t+1}..x_T; both: the cloze head. None of the three reads x_t, so one pass over the
    unmasked window gives exactly the predictions with x_t masked, for every t at once.
    ``<unk>`` is never predicted. Returns ``{"left_acc", "right_acc", "both_acc",
    "n_masked"}``.

    >>> from pirho.nn import ClozeModel
    >>> m = ClozeModel(5, embedding_dim=4, hidden_size=8, num_layers=1)
    >>> cloze_accuracy(m, [1, 2, 3, 4] * 10, window=10)["n_masked"]
    32
    """
    check_int("window", window, minimum=3)
    corpus = torch.as_tensor(corpus, dtype=torch.long).reshape(-1)
    n_windows = len(corpus) // window
    if n_windows < 1:
        raise ValueError(f"held-out corpus has {len(corpus)} tokens, fewer than window={window}")
    windows = corpus[: n_windows * window].reshape(n_windows, window).to(_model_device(model))
    unk = model.vocab.unk if getattr(model, "vocab", None) is not None else None
    correct = {"left": 0, "right": 0, "both": 0}
    with evaluating(model):
        for start in range(0, n_windows, batch_size):
            tokens = windows[start : start + batch_size]
            targets = tokens[:, 1:-1]
            for name, logits in zip(correct, model.cloze_logits(tokens), strict=True):
                if unk is not None:
                    logits = logits.clone()
                    logits[..., unk] = -math.inf
                correct[name] += int((logits.argmax(-1) == targets).sum())
    n_masked = n_windows * (window - 2)
    return {f"{name}_acc": count / n_masked for name, count in correct.items()} | {
        "n_masked": n_masked
    }


__all__ = [
    "causal_nll",
    "cloze_accuracy",
    "evaluating",
    "heldout_windows",
    "perplexities",
    "perplexity",
    "teacher_forced_nll",
]
