"""Figures for the exact engine: casino decoding and brute force against dynamic programming."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pirho.plots import new_figure, plt, save_figure, tr


def plot_casino_posterior(
    states: Sequence[int] | np.ndarray,
    posterior_loaded: Sequence[float] | np.ndarray,
    path: str | os.PathLike,
    *,
    filter_loaded: Sequence[float] | np.ndarray | None = None,
    first_step: int = 1,
    title: str | None = None,
) -> Path:
    """Plot P(loaded | rolls) over time, shading the stretches where the loaded die was used.

    states:           (T,) true hidden states, 1 = loaded (shaded).
    posterior_loaded: (T,) smoothing posterior P(h_t = loaded | x_1..x_T).
    filter_loaded:    optional (T,) filtering posterior P(h_t = loaded | x_1..x_t), drawn thinner.
    first_step:       the roll number of the first entry (x axis starts there).
    Returns the path written.

    >>> import numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "casino.png")
    >>> plot_casino_posterior([0, 1, 1, 0], np.array([0.1, 0.8, 0.7, 0.2]), out).name
    'casino.png'
    """
    states = np.asarray(states)
    posterior_loaded = np.asarray(posterior_loaded, dtype=float)
    if states.ndim != 1 or states.shape != posterior_loaded.shape:
        raise ValueError(
            f"states {states.shape} and posterior_loaded {posterior_loaded.shape} "
            "must be 1-D arrays of the same length"
        )
    steps = np.arange(first_step, first_step + len(states))
    fig, ax = new_figure(10.0, 3.6)
    ax.fill_between(
        steps,
        0,
        1,
        where=states == 1,
        step="mid",
        color="tab:red",
        alpha=0.18,
        linewidth=0,
        transform=ax.get_xaxis_transform(),
        label=tr("loaded die (truth)"),
    )
    if filter_loaded is not None:
        ax.plot(
            steps,
            np.asarray(filter_loaded, dtype=float),
            color="tab:gray",
            linewidth=0.9,
            label=tr("filter P(loaded | rolls 1..t)"),
        )
    ax.plot(
        steps, posterior_loaded, color="tab:blue", linewidth=1.4, label=tr("P(loaded | all rolls)")
    )
    ax.axhline(0.5, color="black", linewidth=0.5, linestyle=":")
    ax.set_xlim(steps[0] - 0.5, steps[-1] + 0.5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(tr("roll"))
    ax.set_ylabel(tr("P(loaded)"))
    ax.set_title(tr(title or "Dishonest casino: posterior probability of the loaded die"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    return save_figure(fig, path)


def plot_brute_vs_dp(rows: Sequence[dict], path: str | os.PathLike, *, k: int = 2) -> Path:
    """Log-scale plot of the work (K^T paths against T·K² operations) and of the measured times.

    rows: the ``rows`` of the brute-vs-dp experiment — dicts with ``T``, ``n_paths``,
          ``dp_ops``, ``brute_seconds``, ``dp_seconds`` and ``extrapolated`` (brute-force
          time estimated, not measured).
    Left panel: counts; right panel: seconds (extrapolated brute-force times dashed).
    Returns the path written.

    >>> import tempfile, os
    >>> rows = [dict(T=t, n_paths=2**t, dp_ops=4 * t, brute_seconds=1e-6 * t * 2**t,
    ...              dp_seconds=1e-5, extrapolated=t > 3) for t in (1, 2, 3, 10)]
    >>> plot_brute_vs_dp(rows, os.path.join(tempfile.mkdtemp(), "b.png")).suffix
    '.png'
    """
    if not rows:
        raise ValueError("rows is empty: nothing to plot")
    steps = np.array([row["T"] for row in rows], dtype=float)
    n_paths = np.array([float(row["n_paths"]) for row in rows])
    dp_ops = np.array([float(row["dp_ops"]) for row in rows])
    measured = np.array([not row["extrapolated"] for row in rows])
    brute_seconds = np.array(
        [np.nan if row["brute_seconds"] is None else row["brute_seconds"] for row in rows],
        dtype=float,
    )
    dp_seconds = np.array(
        [np.nan if row["dp_seconds"] is None else row["dp_seconds"] for row in rows], dtype=float
    )

    fig, (ax_count, ax_time) = plt.subplots(1, 2, figsize=(11.0, 4.2))

    ax_count.semilogy(
        steps, n_paths, "o-", color="tab:red", label=tr("brute force: ${k}^T$ paths").format(k=k)
    )
    ax_count.semilogy(
        steps,
        dp_ops,
        "s-",
        color="tab:blue",
        label=tr(r"DP: $T \cdot {k}^2$ operations").format(k=k),
    )
    ax_count.set_xlabel(tr("sequence length T"))
    ax_count.set_ylabel(tr("count"))
    ax_count.set_title(tr("Work: paths enumerated vs DP operations"))
    ax_count.legend(fontsize=8)
    ax_count.grid(True, which="major", alpha=0.3)

    ax_time.semilogy(
        steps[measured], brute_seconds[measured], "o-", color="tab:red", label=tr("brute force")
    )
    if (~measured).any():
        # Join the last measured point to the extrapolation so the dashed line continues it.
        last = np.flatnonzero(measured)[-1:] if measured.any() else np.array([], dtype=int)
        tail = np.concatenate([last, np.flatnonzero(~measured)])
        ax_time.semilogy(
            steps[tail],
            brute_seconds[tail],
            "o--",
            color="tab:red",
            mfc="white",
            label=tr("brute force (extrapolated)"),
        )
    ax_time.semilogy(steps, dp_seconds, "s-", color="tab:blue", label=tr("DP (measured)"))
    for seconds, label in ((1.0, "1 s"), (3.156e7, "1 year"), (4.35e17, "age of universe")):
        if np.nanmax(brute_seconds) >= seconds:
            ax_time.axhline(seconds, color="black", linewidth=0.5, linestyle=":")
            ax_time.annotate(tr(label), (steps[0], seconds), fontsize=7, va="bottom")
    ax_time.set_xlabel(tr("sequence length T"))
    ax_time.set_ylabel(tr("CPU seconds"))
    ax_time.set_title(tr("Time for P(X), posterior and best path"))
    ax_time.legend(fontsize=8)
    ax_time.grid(True, which="major", alpha=0.3)
    return save_figure(fig, path)
