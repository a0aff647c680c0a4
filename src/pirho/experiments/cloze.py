"""cloze: filling a blank is where the future belongs — both contexts beat either.

A :class:`pirho.nn.ClozeModel` (an ELMo-style BiLM with separate forward and backward stacks
and a head on [H→_{t−1} ; H←_{t+1}]) is trained on The Time Machine. On held-out text every
inner character of each window is masked in turn and predicted from the left context only (the
forward LM), the right context only (the backward LM) and both (the head). None of the three
reads the masked character, so nothing leaks; the gain of "both" over either side is what the
future is worth when it is really there.

JSON: ``left_acc``, ``right_acc``, ``both_acc``, ``n_masked`` (+ ``chance_acc``, the
majority-character baseline, ``examples`` of ``fill`` on sample queries, ``history``, ``config``).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from pirho.cli._training import add_device_arguments
from pirho.experiments.common import ExperimentResult, resolve_config

NAME = "cloze"
DESCRIPTION = (
    "masked characters in held-out Time Machine text: left-only vs right-only vs both "
    "contexts of a leak-free BiLM"
)

#: Full run: the whole book except its last 5,000 characters (held out).
FULL = {
    "batch_size": 32,
    "num_steps": 35,
    "embedding_dim": 64,
    "hidden_size": 256,
    "num_layers": 2,
    "cell": "lstm",
    "optimizer": "adam",
    "lr": 0.003,
    "clip": 1.0,
    "epochs": 12,
    "max_tokens": None,
    "heldout_tokens": 5_000,
    "window": 71,
    "eval_every": 2,
    "text": None,
    "threads": None,
    "device": "auto",
    "precision": "auto",
    "checkpoint": None,
    "queries": ("the time tr___ller", "i ___ hungry", "he put his hand on the le_er"),
}
#: A few minutes on 2 cores.
QUICK = {
    **FULL,
    "embedding_dim": 32,
    "hidden_size": 128,
    "num_layers": 1,
    "lr": 0.01,
    "epochs": 10,
    "max_tokens": 30_000,
    "heldout_tokens": 3_000,
    "eval_every": 2,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options overriding the (full or quick) configuration."""
    parser.add_argument("--epochs", type=int, help="training epochs")
    parser.add_argument("--hidden-size", type=int, help="hidden units per direction")
    parser.add_argument("--embedding-dim", type=int, help="tied embedding size")
    parser.add_argument("--num-layers", type=int, help="layers per direction")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--max-tokens", type=int, help="training tokens (default: all)")
    parser.add_argument("--heldout-tokens", type=int, help="held-out tokens (5000)")
    parser.add_argument("--text", metavar="FILE", help="any UTF-8 text (default: Time Machine)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    add_device_arguments(parser)
    parser.add_argument("--checkpoint", help="also save the trained model here (for cloze fill)")


def _config(quick: bool, overrides: dict) -> dict:
    return resolve_config("cloze", FULL, QUICK, quick, overrides)


def run(
    *, quick: bool = False, seed: int = 0, out=None, progress: bool = True, **overrides
) -> ExperimentResult:
    """Train a ClozeModel and measure left / right / both accuracies on held-out text.

    ``quick``: :data:`QUICK`; keyword ``overrides`` change any key of :data:`FULL`.
    ``out``: folder for the plots.

    >>> r = run(quick=True, epochs=1, max_tokens=3_000, progress=False)  # doctest: +SKIP
    >>> sorted(k for k in r.metrics if k.endswith("acc"))  # doctest: +SKIP
    ['both_acc', 'chance_acc', 'left_acc', 'right_acc']
    """
    import torch

    from pirho.experiments.lm_common import fit_language_model, load_lm_text, set_threads
    from pirho.nn.lm_eval import cloze_accuracy
    from pirho.nn.models import ClozeModel

    cfg = _config(quick, overrides)
    set_threads(cfg["threads"])
    started = time.perf_counter()
    data = load_lm_text(cfg["text"], cfg["max_tokens"], cfg["heldout_tokens"])
    torch.manual_seed(seed)
    model = ClozeModel(
        len(data.vocab),
        embedding_dim=cfg["embedding_dim"],
        hidden_size=cfg["hidden_size"],
        num_layers=cfg["num_layers"],
        cell=cfg["cell"],
        vocab=data.vocab,
        text_mode=data.text_mode,
    )
    result = fit_language_model(
        model,
        data,
        batch_size=cfg["batch_size"],
        num_steps=cfg["num_steps"],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        optimizer=cfg["optimizer"],
        clip=cfg["clip"],
        random_iter=True,
        seed=seed,
        eval_every=cfg["eval_every"],
        progress=progress,
        desc="cloze",
        checkpoint=cfg["checkpoint"],
        evaluate=lambda net, heldout: cloze_accuracy(net, heldout[:2_000], cfg["window"]),
        device=cfg["device"],
        precision=cfg["precision"],
    )
    train_seconds = time.perf_counter() - started
    scores = cloze_accuracy(model, data.heldout, cfg["window"])
    # chance: always guess the held-out text's most frequent character
    counts = Counter(data.heldout)
    chance = counts.most_common(1)[0][1] / len(data.heldout)
    examples = {}
    for query in cfg["queries"]:
        examples[query] = [[text, prob] for text, prob in model.cpu().fill(query, top_k=3)]
    metrics = {
        **scores,
        "chance_acc": chance,
        "examples": examples,
        "train_ppl": result.history[-1]["train_ppl"],
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
        "history": result.history,
        "config": {**cfg, "quick": quick, "seed": seed, "source": data.source},
    }
    figures = []
    if out is not None:
        from pirho.plots.lm import plot_cloze_accuracy, plot_cloze_curves

        out = Path(out)
        figures.append(plot_cloze_accuracy(metrics, out / "cloze_accuracy.png"))
        figures.append(plot_cloze_curves(result.history, out / "cloze_curves.png"))
    return ExperimentResult(NAME, metrics, figures, summary(metrics))


def summary(metrics: dict) -> str:
    """Accuracies and the sample fills, for people."""
    rows = [
        f"masked characters: {metrics['n_masked']}",
        f"left only : {100 * metrics['left_acc']:5.1f}%",
        f"right only: {100 * metrics['right_acc']:5.1f}%",
        f"both      : {100 * metrics['both_acc']:5.1f}%",
        f"chance (most frequent character): {100 * metrics['chance_acc']:.1f}%",
    ]
    for query, fills in metrics["examples"].items():
        shown = ", ".join(f"{text!r} {prob:.2f}" for text, prob in fills)
        rows.append(f"{query!r} -> {shown}")
    rows.append(f"total time: {metrics['seconds']:.0f} s")
    return "\n".join(rows)
