"""The numbers a language-model training run reports: :func:`epoch_train_ppl`, and all of them
as one JSON-able dict (:func:`lm_train_metrics`).

``pirho lm train --json PATH`` writes :func:`lm_train_metrics`; so can any script that trains
with :func:`pirho.train.train` and scores the held-out text with
:func:`pirho.nn.lm_eval.perplexities`.
"""

from __future__ import annotations

import math

from pirho.train import TrainResult

__all__ = ["LM_TRAIN_METRIC_KEYS", "epoch_train_ppl", "lm_train_metrics"]

LM_TRAIN_METRIC_KEYS = (
    "tokens_per_s",
    "seconds",
    "steps",
    "train_ppl",
    "heldout_teacher_forced_ppl",
    "heldout_causal_ppl",
    "precision",
    "device",
)


def epoch_train_ppl(result: TrainResult) -> float:
    """The last recorded epoch's training perplexity (d2l's number); nan when none was.

    >>> epoch_train_ppl(TrainResult(history=[{"train_ppl": 9.5}], steps=1, seconds=0.0))
    9.5
    """
    return float(result.history[-1]["train_ppl"]) if result.history else math.nan


def lm_train_metrics(result: TrainResult, heldout: dict, tokens_per_step: int) -> dict:
    """``{tokens_per_s, seconds, steps, train_ppl, heldout_teacher_forced_ppl,
    heldout_causal_ppl, precision, device}`` for a finished run.

    result: what :func:`pirho.train.train` returned. heldout: ``perplexities(...)``'s dict
    (``teacher_forced_ppl``, ``causal_ppl``). tokens_per_step: tokens in one optimiser step
    (batch size × steps per window). ``seconds`` is the run's training wall time, evaluations
    included; ``tokens_per_s`` = steps × tokens_per_step / seconds; ``train_ppl`` is the last
    recorded epoch's (NaN if none was recorded).

    >>> run = TrainResult(history=[{"train_ppl": 5.0}], steps=10, seconds=2.0)
    >>> m = lm_train_metrics(run, {"teacher_forced_ppl": 6.0, "causal_ppl": 7.0}, 100)
    >>> m["tokens_per_s"], m["train_ppl"], m["device"], m["precision"]
    (500.0, 5.0, 'cpu', 'fp32')
    """
    if isinstance(tokens_per_step, bool) or not isinstance(tokens_per_step, int):
        raise TypeError(f"tokens_per_step must be an int, got {tokens_per_step!r}")
    if tokens_per_step < 1:
        raise ValueError(f"tokens_per_step must be >= 1, got {tokens_per_step!r}")
    seconds = float(result.seconds)
    tokens = result.steps * tokens_per_step
    return {
        "tokens_per_s": tokens / seconds if seconds > 0 else math.nan,
        "seconds": seconds,
        "steps": int(result.steps),
        "train_ppl": epoch_train_ppl(result),
        "heldout_teacher_forced_ppl": float(heldout["teacher_forced_ppl"]),
        "heldout_causal_ppl": float(heldout["causal_ppl"]),
        "precision": result.precision,
        "device": result.device,
    }
