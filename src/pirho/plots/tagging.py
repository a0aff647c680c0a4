"""Figures of the tagging experiment: accuracy per tagger, and accuracy against lookahead."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pirho.plots import plt, save_figure, tr

# (label, metrics key, key prefix) per tagger, in the order of the table.
TAGGERS = (
    ("MFT", "mft", ""),
    ("HMM filter", "hmm", "filter_"),
    ("HMM smoother", "hmm", "smooth_"),
    ("HMM Viterbi", "hmm", "viterbi_"),
    ("uni-LSTM", "uni", ""),
    ("BiLSTM", "bi", ""),
    ("BiLSTM-CRF", "bicrf", ""),
    ("BiLSTM + CSE", "bi+cse", ""),
    ("BiLSTM-CRF + CSE", "bicrf+cse", ""),
)
#: the bar colours of the word classes
_CLASSES = (
    ("known", "known words", "tab:blue"),
    ("unk", "unknown words", "tab:orange"),
    ("amb", "ambiguous words", "tab:green"),
)
_LOOKAHEAD = (("HMM fixed-lag smoother", "hmm"), ("BiLSTM", "bi"), ("BiLSTM-CRF", "bicrf"))


def plot_accuracy_by_model(metrics: dict, path: str | os.PathLike) -> Path:
    """Grouped bars: accuracy on known, on unknown and (where every shown row has it) on
    ambiguous words per tagger, with the overall accuracy in the label; the taggers present in
    ``metrics`` (the ``+cse`` rows when the run had embeddings); error bars when ``metrics`` hold
    several seeds (``*_std``).

    >>> import tempfile
    >>> one = {"acc": 0.9, "known_acc": 0.92, "unk_acc": 0.5}
    >>> hmm = {f"{d}_{k}": v for d in ("filter", "smooth", "viterbi") for k, v in one.items()}
    >>> m = {"mft": one, "hmm": hmm, "uni": one, "bi": one, "bicrf": one}
    >>> plot_accuracy_by_model(m, os.path.join(tempfile.mkdtemp(), "acc.png")).name
    'acc.png'
    """
    taggers = [(label, key, prefix) for label, key, prefix in TAGGERS if key in metrics]
    classes = [
        (kind, label, color)
        for kind, label, color in _CLASSES
        if all(f"{prefix}{kind}_acc" in metrics[key] for _, key, prefix in taggers)
    ]
    fig, ax = plt.subplots(figsize=(1.3 * len(taggers) + 1, 4.2))
    positions = np.arange(len(taggers))
    width = 0.8 / len(classes)
    for i, (kind, label, color) in enumerate(classes):
        heights, errors = [], []
        for _, key, prefix in taggers:
            scores = metrics[key]
            heights.append(100 * scores[f"{prefix}{kind}_acc"])
            errors.append(100 * scores.get(f"{prefix}{kind}_acc_std", 0.0))
        offset = (i - (len(classes) - 1) / 2) * width
        bars = ax.bar(positions + offset, heights, width, yerr=errors, label=tr(label), color=color)
        ax.bar_label(bars, fmt="%.1f", fontsize=6 if len(classes) > 2 else 7, padding=2)
    names = [
        f"{tr(label)}\n{100 * metrics[key][prefix + 'acc']:.1f} %" for label, key, prefix in taggers
    ]
    ax.set_xticks(positions, names, fontsize=8)
    ax.set_ylabel(tr("accuracy (%)"))
    ax.set_ylim(0, 115)  # room above the bars for the legend
    ax.legend(loc="upper center", ncol=len(classes), fontsize=8)
    ax.set_title(tr("test accuracy per tagger (overall under each name)"))
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def plot_tagging_lookahead(metrics: dict, path: str | os.PathLike) -> Path:
    """Accuracy against the lookahead L: each model given x_1..x_{t+L} only; the uni-LSTM
    (which never reads the future) and the full-sentence scores as horizontal lines.

    >>> import tempfile
    >>> m = {"lookahead": {"lags": [0, 1], "hmm": [0.9, 0.91], "uni": [0.91, 0.91],
    ...                    "bi": [0.9, 0.92], "bicrf": [0.9, 0.93]},
    ...      "hmm": {"smooth_acc": 0.91}, "bi": {"acc": 0.93}, "bicrf": {"acc": 0.94}}
    >>> plot_tagging_lookahead(m, os.path.join(tempfile.mkdtemp(), "lag.png")).name
    'lag.png'
    """
    lookahead = metrics["lookahead"]
    lags = np.asarray(lookahead["lags"])
    fig, ax = plt.subplots(figsize=(7, 4))
    # whole-sentence scores of the same taggers as the curves (the first seed's, when several)
    full = lookahead.get("whole") or {
        "hmm": metrics["hmm"]["smooth_acc"],
        "bi": metrics["bi"]["acc"],
        "bicrf": metrics["bicrf"]["acc"],
    }
    for (label, key), color in zip(_LOOKAHEAD, ("tab:blue", "tab:green", "tab:red"), strict=True):
        ax.plot(
            lags,
            100 * np.asarray(lookahead[key]),
            "o-",
            color=color,
            label=tr("{name}, lag L").format(name=tr(label)),
        )
        ax.axhline(
            100 * full[key],
            color=color,
            linestyle=":",
            linewidth=1.0,
            label=tr("{name}, whole sentence").format(name=tr(label)),
        )
    ax.axhline(
        100 * lookahead["uni"][0],
        color="tab:gray",
        linestyle="--",
        label=tr("uni-LSTM (reads no future)"),
    )
    ax.set_xlabel(tr("lookahead L (words after t the tagger may read)"))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(tr("test accuracy (%)"))
    ax.margins(y=0.2)
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(tr("how much of the future each tagger uses"))
    return save_figure(fig, path)
