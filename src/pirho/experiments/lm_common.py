"""Shared plumbing for the language-model experiments and ``pirho lm`` / ``pirho cloze``.

One place for: which text a model trains and is evaluated on (:func:`load_lm_text`), and how a
language model is trained on it with :func:`pirho.train.train` (:func:`fit_language_model`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from pirho.data import SeqDataLoader, Vocab, load_text_corpus, load_time_machine
from pirho.nn.lm_eval import perplexities
from pirho.nn.models import loss_for
from pirho.train import TrainConfig, TrainResult, train

HELDOUT_TOKENS = 5_000


@dataclass
class LMText:
    """A character corpus split for language modelling.

    train:    the first ``max_tokens`` tokens (d2l: 10,000 of The Time Machine).
    heldout:  the last ``heldout_tokens`` tokens of the whole text (never in ``train``).
    vocab:    built on the whole text (d2l's 28 for The Time Machine).
    text_mode: how queries are normalised to match (``"d2l"``, ``"raw"``, ``"raw-lower"``).
    source:   a description for reports.
    """

    train: list[int]
    heldout: list[int]
    vocab: Vocab
    text_mode: str
    source: str


def load_lm_text(
    text: str | None = None,
    max_tokens: int | None = 10_000,
    heldout_tokens: int = HELDOUT_TOKENS,
    lowercase: bool = False,
) -> LMText:
    """Training and held-out text.

    ``text=None``: The Time Machine with d2l's tokenisation; otherwise any UTF-8 file at
    character level (``lowercase`` optional). Held out: the last ``heldout_tokens`` tokens of
    the whole text, at most a tenth of it; trained on: the first ``max_tokens`` tokens of what
    remains (None: all of it).

    >>> data = load_lm_text(max_tokens=10_000)  # doctest: +SKIP
    >>> len(data.train), len(data.heldout), len(data.vocab)  # doctest: +SKIP
    (10000, 5000, 28)
    """
    if isinstance(heldout_tokens, bool) or not isinstance(heldout_tokens, int):
        raise ValueError(f"heldout_tokens must be a positive int, got {heldout_tokens!r}")
    if heldout_tokens < 1:
        raise ValueError(f"heldout_tokens must be a positive int, got {heldout_tokens!r}")
    if text is None:
        corpus, vocab = load_time_machine(max_tokens=None)
        text_mode, source = "d2l", "The Time Machine (d2l tokenisation)"
    else:
        corpus, vocab = load_text_corpus(text, max_tokens=None, lowercase=lowercase)
        text_mode, source = ("raw-lower" if lowercase else "raw"), str(text)
    n_heldout = min(heldout_tokens, len(corpus) // 10)
    if n_heldout < 2:
        raise ValueError(f"{source}: {len(corpus)} characters is too short to hold text out")
    rest, heldout = corpus[:-n_heldout], corpus[-n_heldout:]
    train_part = rest if max_tokens is None else rest[:max_tokens]
    return LMText(train_part, heldout, vocab, text_mode, source)


def fit_language_model(
    model: nn.Module,
    data: LMText,
    *,
    batch_size: int = 32,
    num_steps: int = 35,
    epochs: int = 500,
    lr: float = 1.0,
    optimizer: str = "sgd",
    clip: float | None = 1.0,
    random_iter: bool = False,
    seed: int = 0,
    eval_every: int = 25,
    curve_tokens: int | None = 1_750,
    causal_curve: bool = True,
    checkpoint: str | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: bool = True,
    desc: str = "train",
    evaluate=None,
    device: str = "auto",
    precision: str = "auto",
) -> TrainResult:
    """Train a pirho language model (``RNNLM``, ``BiLM``, ``ClozeModel``) on ``data.train``.

    d2l's defaults: batches of 32 × 35 steps, sequential partitioning (the unidirectional
    model carries its state across batches), SGD with lr 1 and gradient clipping at 1. Every
    ``eval_every`` epochs the history gets ``heldout_teacher_forced_ppl`` (and
    ``heldout_causal_ppl`` with ``causal_curve``) on the first ``curve_tokens`` held-out tokens
    (None: all) — or whatever ``evaluate(model, heldout_tokens) -> dict`` returns when given.
    The model's ``meta`` goes into every checkpoint. ``device`` / ``precision``: see
    :class:`pirho.train.TrainConfig`.
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
    )
    meta = dict(model.meta)
    meta["train"] = {
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
    return train(model, loader.epoch, loss_for(model), config, evaluate=perplexity_curve, meta=meta)


def epoch_train_ppl(result: TrainResult) -> float:
    """The last recorded epoch's training perplexity (d2l's number)."""
    return float(result.history[-1]["train_ppl"]) if result.history else math.nan


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` when given (the machine may be shared)."""
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int, got {threads!r}")
        torch.set_num_threads(threads)
