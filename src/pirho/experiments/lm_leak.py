"""lm-leak: d2l's bidirectional LSTM language model "cheats", measured.

d2l (section "Bidirectional RNNs") trains a bi-LSTM character LM on the first 10,000 tokens of
The Time Machine: training perplexity ≈ 1.1, yet its generated text degenerates. At training
time the backward direction has already read x_{t+1}, the character to predict; at generation
time there is no future. This experiment trains d2l's uni- and bi-LSTM with d2l's configuration
and reports, for each, the training perplexity, two held-out perplexities (teacher-forced: the
whole window is read, as in training; causal: each character is predicted from its prefix only,
as generation does) and a greedy sample. For the unidirectional model the two held-out numbers
agree; for the bidirectional one the teacher-forced number is far below and the causal one far
above — that gap is the leak.

JSON: ``uni`` and ``bi``, each ``{train_ppl, heldout_teacher_forced_ppl, heldout_causal_ppl,
sample, ...}`` — the held-out numbers at the end of training on the whole held-out text — plus
``best_curve_*``: the epoch of the lowest causal perplexity on the learning curve (evaluated
every ``eval_every`` epochs on the first 1,750 held-out characters) and the two perplexities
there (d2l's 500 epochs overfit 10,000 characters), ``history``, ``seconds``; and ``config``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pirho.cli._training import add_device_arguments
from pirho.experiments.common import ExperimentResult, resolve_config
from pirho.nn.birnn import CELLS

NAME = "lm-leak"
DESCRIPTION = (
    "d2l's bi-LSTM LM on The Time Machine: training/teacher-forced vs causal perplexity "
    "and samples, beside a uni-LSTM"
)

#: d2l's configuration (full run): batch 32, 35 steps, 256 hidden, 2 LSTM layers, lr 1, clip 1,
#: 500 epochs, first 10,000 tokens, sequential minibatches.
FULL = {
    "batch_size": 32,
    "num_steps": 35,
    "hidden_size": 256,
    "num_layers": 2,
    "cell": "lstm",
    "lr": 1.0,
    "clip": 1.0,
    "epochs": 500,
    "max_tokens": 10_000,
    "heldout_tokens": 5_000,
    "eval_every": 25,
    "random_iter": False,
    "prefix": "time traveller",
    "n_chars": 50,
    "text": None,
    "threads": None,
    "device": "auto",
    "precision": "auto",
}
#: A few minutes on 2 cores; same ordering of the numbers.
QUICK = {
    **FULL,
    "hidden_size": 128,
    "num_layers": 1,
    "epochs": 40,
    "lr": 2.0,
    "heldout_tokens": 2_000,
    "eval_every": 5,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options overriding the (full or quick) configuration."""
    parser.add_argument("--epochs", type=int, help="training epochs (full: 500)")
    parser.add_argument("--hidden-size", type=int, help="hidden units per direction (256)")
    parser.add_argument("--num-layers", type=int, help="stacked layers (2)")
    parser.add_argument("--cell", choices=CELLS, help="recurrent cell (lstm)")
    parser.add_argument("--lr", type=float, help="SGD learning rate (1)")
    parser.add_argument("--batch-size", type=int, help="minibatch size (32)")
    parser.add_argument("--num-steps", type=int, help="steps per window (35)")
    parser.add_argument("--max-tokens", type=int, help="training tokens (10000)")
    parser.add_argument("--heldout-tokens", type=int, help="held-out tokens (5000)")
    parser.add_argument("--text", metavar="FILE", help="any UTF-8 text (default: Time Machine)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    add_device_arguments(parser)


def _config(quick: bool, overrides: dict) -> dict:
    return resolve_config("lm-leak", FULL, QUICK, quick, overrides)


def train_and_measure(cfg: dict, data, bidirectional: bool, seed: int, progress: bool) -> dict:
    """Train one RNNLM (uni or bi) and measure it: the ``uni``/``bi`` block of the JSON."""
    import torch

    from pirho.experiments.lm_common import fit_language_model
    from pirho.nn.lm_eval import perplexities
    from pirho.nn.models import RNNLM

    torch.manual_seed(seed)
    model = RNNLM(
        len(data.vocab),
        hidden_size=cfg["hidden_size"],
        num_layers=cfg["num_layers"],
        cell=cfg["cell"],
        bidirectional=bidirectional,
        vocab=data.vocab,
        text_mode=data.text_mode,
    )
    started = time.perf_counter()
    result = fit_language_model(
        model,
        data,
        batch_size=cfg["batch_size"],
        num_steps=cfg["num_steps"],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        clip=cfg["clip"],
        random_iter=cfg["random_iter"],
        seed=seed,
        eval_every=cfg["eval_every"],
        progress=progress,
        desc="bi-" + cfg["cell"] if bidirectional else "uni-" + cfg["cell"],
        device=cfg["device"],
        precision=cfg["precision"],
    )
    train_seconds = time.perf_counter() - started
    heldout = perplexities(model, data.heldout, cfg["num_steps"])
    sample = model.cpu().generate(cfg["prefix"], cfg["n_chars"])
    # d2l's 500 epochs overfit 10,000 characters: also keep the best point of the held-out curve
    best = min(result.history, key=lambda h: h["heldout_causal_ppl"])
    return {
        "train_ppl": result.history[-1]["train_ppl"],
        "heldout_teacher_forced_ppl": heldout["teacher_forced_ppl"],
        "heldout_causal_ppl": heldout["causal_ppl"],
        "sample": sample,
        "heldout_tokens_scored": heldout["n_tokens"],
        "best_curve_epoch": best["epoch"],
        "best_curve_causal_ppl": best["heldout_causal_ppl"],
        "best_curve_teacher_forced_ppl": best["heldout_teacher_forced_ppl"],
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
        "history": result.history,
    }


def run(
    *, quick: bool = False, seed: int = 0, out=None, progress: bool = True, **overrides
) -> ExperimentResult:
    """Train d2l's uni- and bi-LSTM language models and measure the leak.

    ``quick``: the small configuration (:data:`QUICK`); keyword ``overrides`` change any key of
    :data:`FULL` (``epochs``, ``hidden_size``, ``max_tokens``, ...). ``out``: folder for the
    plots. Returns metrics ``{"uni": {...}, "bi": {...}, "config": {...}}``.

    >>> r = run(quick=True, epochs=1, max_tokens=2_000, progress=False)  # doctest: +SKIP
    >>> sorted(r.metrics["bi"])[:3]  # doctest: +SKIP
    ['heldout_causal_ppl', 'heldout_teacher_forced_ppl', 'heldout_tokens_scored']
    """
    from pirho.experiments.lm_common import load_lm_text, set_threads

    cfg = _config(quick, overrides)
    set_threads(cfg["threads"])
    started = time.perf_counter()
    data = load_lm_text(cfg["text"], cfg["max_tokens"], cfg["heldout_tokens"])
    metrics: dict = {"config": {**cfg, "quick": quick, "seed": seed, "source": data.source}}
    for name, bidirectional in (("uni", False), ("bi", True)):
        metrics[name] = train_and_measure(cfg, data, bidirectional, seed, progress)
    metrics["seconds"] = time.perf_counter() - started

    figures = []
    if out is not None:
        from pirho.plots.lm import plot_leak_bars, plot_perplexity_curves

        out = Path(out)
        figures.append(plot_perplexity_curves(metrics, out / "lm_leak_curves.png"))
        figures.append(plot_leak_bars(metrics, out / "lm_leak_bars.png"))
    return ExperimentResult(NAME, metrics, figures, summary(metrics))


def summary(metrics: dict) -> str:
    """A short table of the four perplexities per model, and the samples."""
    rows = [
        f"{'model':<6} {'train ppl':>10} {'held-out teacher-forced':>24} {'held-out causal':>16}"
    ]
    for name in ("uni", "bi"):
        m = metrics[name]
        rows.append(
            f"{name:<6} {m['train_ppl']:>10.3f} {m['heldout_teacher_forced_ppl']:>24.3f} "
            f"{m['heldout_causal_ppl']:>16.3f}"
        )
    for name in ("uni", "bi"):
        m = metrics[name]
        if "best_curve_epoch" in m:
            rows.append(
                f"{name}: lowest causal perplexity on the learning curve "
                f"{m['best_curve_causal_ppl']:.3f} at epoch {m['best_curve_epoch']} "
                f"(teacher-forced there {m['best_curve_teacher_forced_ppl']:.3f})"
            )
    for name in ("uni", "bi"):
        rows.append(f"{name} sample: {metrics[name]['sample']!r}")
    rows.append(f"total time: {metrics['seconds']:.0f} s")
    return "\n".join(rows)
