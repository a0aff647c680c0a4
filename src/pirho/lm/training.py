"""Training a language model on its text: :func:`fit_language_model` is
:func:`pirho.train.train` with d2l's defaults, sequential or random windows and the held-out
perplexity curve; :func:`train_settings` is what its checkpoints record of how it was trained.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from pirho.data import SeqDataLoader
from pirho.lm.defaults import RNNLM_DEFAULTS
from pirho.lm.text import LMText
from pirho.nn.lm_eval import perplexities
from pirho.nn.lm_losses import loss_for
from pirho.train import TrainConfig, TrainResult, loss_limit, train

__all__ = ["fit_language_model", "train_settings"]


def train_settings(
    data: LMText,
    *,
    batch_size: int,
    num_steps: int,
    lr: float,
    optimizer: str,
    clip: float | None,
    random_iter: bool,
    seed: int | None = None,
) -> dict:
    """What a checkpoint records of how it was trained (``meta["train"]``); ``seed`` too
    when given (a resumed run must keep it: its random streams come from the checkpoint).

    >>> from pirho.data import Vocab
    >>> data = LMText([1, 2], [2, 1], Vocab("ab"), "raw", "demo")
    >>> train_settings(data, batch_size=4, num_steps=5, lr=1.0, optimizer="sgd", clip=None,
    ...                random_iter=False)["train_tokens"]
    2
    """
    settings = {
        "batch_size": batch_size,
        "num_steps": num_steps,
        "lr": lr,
        "optimizer": optimizer,
        "clip": clip,
        "random_iter": random_iter,
        "source": data.source,
        "train_tokens": len(data.train),
        "heldout_tokens": len(data.heldout),
    }
    if seed is not None:
        settings["seed"] = seed
    return settings


def fit_language_model(
    model: nn.Module,
    data: LMText,
    *,
    batch_size: int = RNNLM_DEFAULTS["batch_size"],
    num_steps: int = RNNLM_DEFAULTS["num_steps"],
    epochs: int = RNNLM_DEFAULTS["epochs"],
    lr: float = RNNLM_DEFAULTS["lr"],
    optimizer: str = RNNLM_DEFAULTS["optimizer"],
    clip: float | None = RNNLM_DEFAULTS["clip"],
    random_iter: bool = RNNLM_DEFAULTS["random_iter"],
    seed: int = 0,
    eval_every: int = RNNLM_DEFAULTS["eval_every"],
    curve_tokens: int | None = 1_750,
    causal_curve: bool = True,
    checkpoint: str | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: bool = True,
    desc: str = "train",
    evaluate: Callable[[nn.Module, list[int]], dict] | None = None,
    device: str = "auto",
    precision: str = "auto",
) -> TrainResult:
    """Train a pirho language model (``RNNLM``, ``BiLM``, ``ClozeModel``) on ``data.train``.

    d2l's defaults: batches of 32 × 35 steps, sequential partitioning (the unidirectional
    model carries its state across batches), SGD with lr 1 and gradient clipping at 1. Every
    ``eval_every`` epochs the history gets ``heldout_teacher_forced_ppl`` (and
    ``heldout_causal_ppl`` with ``causal_curve``) on the first ``curve_tokens`` held-out tokens
    (None: all) — or whatever ``evaluate(model, heldout_tokens) -> dict`` returns when given.
    The model's ``meta`` and :func:`train_settings` go into every checkpoint. ``device`` and
    ``precision``: see :class:`pirho.train.TrainConfig` (``auto``: CUDA if present; bf16 only
    with native hardware support).

    >>> from pirho.data import Vocab
    >>> from pirho.lm import build_language_model
    >>> data = LMText([1, 2, 1, 2] * 10, [1, 2] * 5, Vocab("ab"), "raw", "demo")
    >>> model = build_language_model("rnnlm", data, hidden_size=4, num_layers=1)
    >>> fit_language_model(model, data, batch_size=2, num_steps=4, epochs=2, eval_every=1,
    ...                    progress=False).steps
    8
    """
    loader = SeqDataLoader(
        data.train, batch_size=batch_size, num_steps=num_steps, random_iter=random_iter, seed=seed
    )
    curve_text = data.heldout if curve_tokens is None else data.heldout[:curve_tokens]

    def perplexity_curve(net: nn.Module) -> dict:
        if evaluate is not None:
            return evaluate(net, curve_text)
        ppl = perplexities(net, curve_text, num_steps, causal=causal_curve)
        out = {"heldout_teacher_forced_ppl": ppl["teacher_forced_ppl"]}
        if causal_curve:
            out["heldout_causal_ppl"] = ppl["causal_ppl"]
        return out

    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        clip=clip,
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
        progress=progress,
        eval_every=eval_every,
        desc=desc,
        device=device,
        precision=precision,
        max_loss=loss_limit(max(len(data.vocab), 2)),
    )
    meta = dict(model.meta)
    meta["train"] = train_settings(
        data,
        batch_size=batch_size,
        num_steps=num_steps,
        lr=lr,
        optimizer=optimizer,
        clip=clip,
        random_iter=random_iter,
        seed=seed,
    )
    return train(model, loader.epoch, loss_for(model), config, evaluate=perplexity_curve, meta=meta)
