"""Figures for the thesis experiments: learned taggers against exact inference, polysemy probes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from pirho.plots import plt, save_figure, tr, tr_name

# One colour per curve kind, so the same method looks the same in every figure.
_STYLES = (
    {"color": "tab:blue", "linestyle": "-", "linewidth": 1.0},
    {"color": "tab:orange", "linestyle": "-", "linewidth": 1.6},
    {"color": "tab:cyan", "linestyle": "--", "linewidth": 1.0},
    {"color": "tab:red", "linestyle": "--", "linewidth": 1.3},
    {"color": "tab:green", "linestyle": ":", "linewidth": 1.3},
)


def plot_tagger_sequence(
    states: Sequence[int] | np.ndarray,
    curves: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    state_names: Sequence[str] | None = None,
) -> Path:
    """One sequence: the true hidden state and each tagger's probabilities.

    states: (T,) true states. curves: name → (T, K) probabilities P(h_t = k | ·) (e.g. exact
    filter, exact smoother, uni and bi taggers). With K = 2 the plot shows P(h_t = 1) and
    shades the steps where the true state is 1; with K > 2 it shows the probability each curve
    gives the true state, under a strip with the true state itself. ``state_names`` (K,) names
    the states in the labels (the casino: ``("fair", "loaded")``, so state 1 reads "loaded").
    Returns the path written.

    >>> import tempfile
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    >>> out = os.path.join(tempfile.mkdtemp(), "seq.png")
    >>> plot_tagger_sequence([0, 1, 1], {"exact": p}, out).name
    'seq.png'
    """
    states = np.asarray(states, dtype=np.int64)
    if states.ndim != 1:
        raise ValueError(f"states must be 1-D, got shape {states.shape}")
    arrays = {name: np.asarray(c, dtype=float) for name, c in curves.items()}
    for name, array in arrays.items():
        if array.ndim != 2 or array.shape[0] != states.size:
            raise ValueError(f"curve {name!r} has shape {array.shape}, expected ({states.size}, K)")
    n_states = next(iter(arrays.values())).shape[1] if arrays else 2
    if state_names is not None and len(state_names) != n_states:
        raise ValueError(f"state_names has {len(state_names)} names, expected {n_states}")
    steps = np.arange(1, states.size + 1)
    if n_states == 2:
        one = "1" if state_names is None else f"{tr(state_names[1])} (1)"
        fig, ax = plt.subplots(figsize=(10, 3.6))
        ax.fill_between(
            steps,
            0,
            1,
            where=states == 1,
            step="mid",
            color="0.85",
            label=tr("true state = {one}").format(one=one),
        )
        for style, (name, array) in zip(_cycle(len(arrays)), arrays.items(), strict=True):
            ax.plot(steps, array[:, 1], label=tr(name), **style)
        ax.set_ylabel(f"P(h_t = {one})")
    else:
        fig, (strip, ax) = plt.subplots(
            2, 1, figsize=(10, 4.4), sharex=True, gridspec_kw={"height_ratios": [1, 3]}
        )
        strip.step(steps, states, where="mid", color="black", linewidth=1.0)
        strip.set_ylabel(tr("true h_t"))
        strip.set_yticks(range(n_states))
        for style, (name, array) in zip(_cycle(len(arrays)), arrays.items(), strict=True):
            ax.plot(steps, array[np.arange(states.size), states], label=tr(name), **style)
        ax.set_ylabel(tr("P(true state)"))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(steps[0], steps[-1])
    ax.set_xlabel("t")
    ax.legend(loc="upper right", fontsize=8, ncol=3, framealpha=0.9)
    if title:
        fig.suptitle(tr(title))
    return save_figure(fig, path)


def plot_lookahead(
    lags: Sequence[int],
    accuracies: Sequence[float],
    path: str | os.PathLike,
    *,
    smooth_acc: float | None = None,
    learned: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Path:
    """Exact accuracy of fixed-lag smoothing P(h_t | x_1..x_{t+L}) against the lookahead L.

    lags (n,), accuracies (n,). ``smooth_acc`` (full smoother) and ``learned`` (name →
    accuracy, e.g. the uni and bi taggers) are drawn as horizontal lines.

    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "lag.png")
    >>> plot_lookahead([0, 1, 2], [0.8, 0.84, 0.85], out, smooth_acc=0.86).name
    'lag.png'
    """
    lags = np.asarray(lags)
    accuracies = np.asarray(accuracies, dtype=float)
    if lags.shape != accuracies.shape:
        raise ValueError(f"lags {lags.shape} and accuracies {accuracies.shape} differ in shape")
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(
        lags, 100 * accuracies, "o-", color="tab:blue", label=tr("exact, lag L (L = 0: filter)")
    )
    if smooth_acc is not None:
        ax.axhline(100 * smooth_acc, color="tab:orange", label=tr("exact smoother (L = ∞)"))
    for style, (name, acc) in zip(
        _cycle(len(learned or {}), offset=2), (learned or {}).items(), strict=True
    ):
        ax.axhline(100 * acc, label=tr(name), **style)
    ax.set_xlabel(tr("lookahead L (symbols after t that the tagger may read)"))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.15)
    ax.set_ylabel(tr("accuracy (%)"))
    # beside the axes: inside, it would sit on a horizontal line (the uni tagger's, near L = 0)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(tr(title))
    return save_figure(fig, path)


def plot_probe_accuracy(
    by_position: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    *,
    methods: Sequence[str] = ("majority", "static", "forward", "backward", "both", "bayes"),
    title: str | None = None,
) -> Path:
    """Grouped bars: probe accuracy per representation, per evidence position.

    by_position: position (e.g. ``"all"``, ``"before"``, ``"after"``) → {``"<method>_acc"``:
    accuracy}; ``methods`` picks and orders the bars within each group.

    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "probe.png")
    >>> plot_probe_accuracy({"all": {"majority_acc": 0.6, "both_acc": 0.9}}, out,
    ...                     methods=("majority", "both")).name
    'probe.png'
    """
    positions = list(by_position)
    width = 0.8 / max(len(methods), 1)
    colors = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, method in enumerate(methods):
        values = [100 * float(by_position[p].get(f"{method}_acc", np.nan)) for p in positions]
        x = np.arange(len(positions)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(x, values, width, label=tr_name("probe", method), color=colors(i))
    ax.set_xticks(np.arange(len(positions)))
    labels = [
        f"{tr_name('evidence', p)}\n(n={int(by_position[p]['n'])})"
        if "n" in by_position[p]
        else tr_name("evidence", p)
        for p in positions
    ]
    ax.set_xticklabels(labels)
    ax.set_xlabel(tr("where the disambiguating evidence is"))
    ax.set_ylabel(tr("sense accuracy at 'bank' (%)"))
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.legend(fontsize=8, ncol=len(methods), loc="upper center", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(tr(title))
    return save_figure(fig, path)


def _cycle(n: int, offset: int = 0) -> list[dict]:
    return [_STYLES[(offset + i) % len(_STYLES)] for i in range(n)]
