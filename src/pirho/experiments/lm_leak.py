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
every ``eval_every`` epochs on the first ``curve_tokens`` held-out characters) and the two
perplexities there (d2l's 500 epochs overfit 10,000 characters), ``history``, ``seconds``;
and ``config``.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from pirho._checks import check_seed, existing_file
from pirho.experiments.common import (
    ExperimentResult,
    metric,
    resolve_config,
    set_threads,
    time_machine_requirement,
)
from pirho.experiments.options import DEVICE_OPTIONS, Option, config_options
from pirho.lm import fit_language_model, load_lm_text
from pirho.lm.defaults import RNNLM_DEFAULTS
from pirho.nn.birnn import CELLS
from pirho.nn.lm_eval import perplexities
from pirho.nn.models import RNNLM
from pirho.plots.lm import plot_leak_bars, plot_perplexity_curves

NAME = "lm-leak"
DESCRIPTION = (
    "d2l's bi-LSTM LM on The Time Machine: training/teacher-forced vs causal perplexity "
    "and samples, beside a uni-LSTM"
)
TITLE = "The bidirectional language model that cheats"
EXPLANATION = (
    "d2l's bidirectional LSTM language model on The Time Machine reaches a training "
    "perplexity near 1 because its backward direction has already read the character it "
    "is asked to predict. Teacher-forced (the whole window visible, as in training) and "
    "causal (prefix only, as in generation) held-out perplexities expose the leak; the "
    "unidirectional model has no such gap. The bars (and the stars on the curves) are the "
    "final numbers on the whole held-out text; to stay cheap, the learning curves are "
    "evaluated on its first characters only (curve_tokens), so their values and their lowest "
    "point differ slightly from the final numbers."
)

#: d2l's configuration (full run): batch 32, 35 steps, 256 hidden, 2 LSTM layers, lr 1, clip 1,
#: 500 epochs, first 10,000 tokens, sequential minibatches.
FULL = {
    "batch_size": RNNLM_DEFAULTS["batch_size"],
    "num_steps": RNNLM_DEFAULTS["num_steps"],
    "hidden_size": RNNLM_DEFAULTS["hidden_size"],
    "num_layers": RNNLM_DEFAULTS["num_layers"],
    "cell": RNNLM_DEFAULTS["cell"],
    "lr": RNNLM_DEFAULTS["lr"],
    "clip": RNNLM_DEFAULTS["clip"],
    "epochs": RNNLM_DEFAULTS["epochs"],
    "max_tokens": RNNLM_DEFAULTS["max_tokens"],
    "heldout_tokens": RNNLM_DEFAULTS["heldout_tokens"],
    "eval_every": RNNLM_DEFAULTS["eval_every"],
    "curve_tokens": 1_750,
    "random_iter": RNNLM_DEFAULTS["random_iter"],
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


#: Options overriding the (full or quick) configuration, checked while parsing.
OPTIONS = (
    *config_options(
        FULL,
        QUICK,
        {
            "epochs": "training epochs",
            "hidden_size": "hidden units per direction",
            "num_layers": "stacked layers",
            "lr": "SGD learning rate",
            "batch_size": "minibatch size",
            "num_steps": "steps per window",
            "max_tokens": "training tokens",
            "heldout_tokens": "held-out tokens",
            "threads": "torch threads, None = torch's choice",
        },
    ),
    Option("--cell", choices=CELLS, help="recurrent cell (lstm)"),
    Option(
        "--text", type=existing_file, metavar="FILE", help="any UTF-8 text (default: Time Machine)"
    ),
    *DEVICE_OPTIONS,
)


#: Configuration keys that must be positive numbers (checked before any work starts).
POSITIVE = (
    "batch_size",
    "num_steps",
    "hidden_size",
    "num_layers",
    "lr",
    "clip",
    "epochs",
    "max_tokens",
    "heldout_tokens",
    "eval_every",
    "curve_tokens",
    "n_chars",
)


def requirements() -> str | None:
    """None when The Time Machine can be found, else why lm-leak cannot run."""
    return time_machine_requirement()


def train_and_measure(cfg: dict, data, bidirectional: bool, seed: int, progress: bool) -> dict:
    """Train one RNNLM (uni or bi) and measure it: the ``uni``/``bi`` block of the JSON."""
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
        curve_tokens=cfg["curve_tokens"],
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
    seed = check_seed("seed", seed)
    cfg = resolve_config(NAME, FULL, QUICK, quick, overrides, positive=POSITIVE)
    set_threads(cfg["threads"])
    started = time.perf_counter()
    data = load_lm_text(cfg["text"], cfg["max_tokens"], cfg["heldout_tokens"])
    metrics: dict = {"config": {**cfg, "quick": quick, "seed": seed, "source": data.source}}
    for name, bidirectional in (("uni", False), ("bi", True)):
        metrics[name] = train_and_measure(cfg, data, bidirectional, seed, progress)
    metrics["seconds"] = time.perf_counter() - started

    figures = []
    if out is not None:
        out = Path(out)
        figures.append(plot_perplexity_curves(metrics, out / "lm_leak_curves.png"))
        figures.append(plot_leak_bars(metrics, out / "lm_leak_bars.png"))
    return ExperimentResult(NAME, metrics, figures, summary(metrics))


def headline(metrics: dict) -> str:
    """One line for the demo table: the bi-LSTM's three perplexities and the uni's causal one.

    >>> headline({"bi": {"train_ppl": 1.1, "heldout_teacher_forced_ppl": 1.2,
    ...                  "heldout_causal_ppl": 13.8}, "uni": {"heldout_causal_ppl": 10.3}})
    'bi-LSTM: train ppl 1.100, held-out teacher-forced 1.200, causal 13.800; uni causal 10.300'
    """
    return (
        f"bi-LSTM: train ppl {metric(metrics, 'bi.train_ppl')}, held-out teacher-forced "
        f"{metric(metrics, 'bi.heldout_teacher_forced_ppl')}, causal "
        f"{metric(metrics, 'bi.heldout_causal_ppl')}; uni causal "
        f"{metric(metrics, 'uni.heldout_causal_ppl')}"
    )


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
                f"{name}: lowest causal perplexity on the learning curve (first "
                f"{metrics['config']['curve_tokens']:,} held-out characters) "
                f"{m['best_curve_causal_ppl']:.3f} at epoch "
                f"{m['best_curve_epoch']} (teacher-forced there "
                f"{m['best_curve_teacher_forced_ppl']:.3f})"
            )
    for name in ("uni", "bi"):
        rows.append(f"{name} sample: {metrics[name]['sample']!r}")
    rows.append(f"total time: {metrics['seconds']:.0f} s")
    return "\n".join(rows)
