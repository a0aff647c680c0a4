"""Figures of the language-model experiments (lm-leak, cloze)."""

from __future__ import annotations

import os
from pathlib import Path

from pirho.plots import new_figure, save_figure, tr

_STYLES = {
    "train_ppl": ("-", "train"),
    "heldout_teacher_forced_ppl": ("--", "held-out, teacher-forced"),
    "heldout_causal_ppl": (":", "held-out, causal"),
}
_COLORS = {"uni": "tab:blue", "bi": "tab:red"}


def plot_perplexity_curves(metrics: dict, path: str | os.PathLike) -> Path:
    """Perplexity per epoch of the ``uni`` and ``bi`` models of lm-leak's metrics: training
    (solid), held-out teacher-forced (dashed) and held-out causal (dotted), evaluated on the
    first held-out characters; stars mark the final numbers on the whole held-out text (the
    bars' numbers), so the curves' lowest point and the final numbers can differ. Log scale."""
    fig, ax = new_figure(8.0, 4.5)
    for name in ("uni", "bi"):
        history = metrics[name]["history"]
        epochs = [h["epoch"] for h in history]
        for key, (style, label) in _STYLES.items():
            values = [h.get(key) for h in history]
            if any(v is None for v in values):
                continue
            marker = "o" if key == "heldout_causal_ppl" else None  # visible under an equal line
            ax.plot(
                epochs,
                values,
                style,
                color=_COLORS[name],
                marker=marker,
                markersize=3,
                label=f"{name}: {tr(label)}",
            )
        final = metrics[name]
        ax.plot(
            [epochs[-1]] * 2,
            [final["heldout_teacher_forced_ppl"], final["heldout_causal_ppl"]],
            "*",
            color=_COLORS[name],
            markersize=10,
            label=f"{name}: {tr('final, whole held-out text')}",
        )
    ax.set_yscale("log")
    ax.set_xlabel(tr("epoch"))
    ax.set_ylabel(tr("perplexity (log scale)"))
    curve_tokens = metrics.get("config", {}).get("curve_tokens")
    if curve_tokens:
        title = tr(
            "Character LMs (curves: first {n} held-out characters; stars: final, all of them)"
        ).format(n=f"{curve_tokens:,}")
    else:
        title = tr("Character LMs (curves: the held-out characters; stars: final, all of them)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    return save_figure(fig, path)


def plot_leak_bars(metrics: dict, path: str | os.PathLike) -> Path:
    """Bars of the final training, held-out teacher-forced and held-out causal perplexities of
    the ``uni`` and ``bi`` models (log scale, values written on the bars)."""
    fig, ax = new_figure(7.0, 4.0)
    keys = list(_STYLES)
    width = 0.38
    for offset, name in ((-width / 2, "uni"), (width / 2, "bi")):
        values = [metrics[name][k] for k in keys]
        xs = [i + offset for i in range(len(keys))]
        bars = ax.bar(xs, values, width, color=_COLORS[name], label=name)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{value:.2f}",
                (bar.get_x() + bar.get_width() / 2, value),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(range(len(keys)), [tr(_STYLES[k][1]) for k in keys])
    ax.set_yscale("log")
    # head-room above the tallest bar, so the legend (upper left) covers no bar and no label
    tallest = max(metrics[name][k] for name in ("uni", "bi") for k in keys)
    ax.set_ylim(top=tallest * 8)
    ax.set_ylabel(tr("perplexity (log scale)"))
    ax.set_title(tr("Teacher-forced vs causal perplexity: the bidirectional model's leak"))
    ax.legend(loc="upper left", ncol=2)
    return save_figure(fig, path)


def plot_cloze_accuracy(metrics: dict, path: str | os.PathLike) -> Path:
    """Bars of the cloze accuracies: left context only, right only, both."""
    fig, ax = new_figure(5.5, 4.0)
    labels = [tr("left only"), tr("right only"), tr("both")]
    values = [metrics["left_acc"], metrics["right_acc"], metrics["both_acc"]]
    bars = ax.bar(labels, values, color=["tab:blue", "tab:orange", "tab:green"])
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(
            f"{100 * value:.1f}%",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom",
        )
    ax.set_ylim(0, 1)
    ax.set_ylabel(tr("accuracy"))
    ax.set_title(
        tr("One masked character in held-out text (n = {n})").format(n=metrics["n_masked"])
    )
    return save_figure(fig, path)


def plot_cloze_curves(history: list[dict], path: str | os.PathLike) -> Path:
    """Training perplexity and held-out cloze accuracies per evaluated epoch."""
    fig, ax = new_figure(7.0, 4.0)
    epochs = [h["epoch"] for h in history]
    for key, label in (
        ("left_acc", "left only"),
        ("right_acc", "right only"),
        ("both_acc", "both"),
    ):
        if all(key in h for h in history):
            ax.plot(epochs, [h[key] for h in history], marker="o", label=tr(label))
    ax.set_xlabel(tr("epoch"))
    ax.set_ylabel(tr("held-out accuracy"))
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(tr("Cloze accuracy while training"))
    return save_figure(fig, path)
