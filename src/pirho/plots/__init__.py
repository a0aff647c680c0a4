"""Plotting helpers shared by every figure pirho draws (matplotlib, headless)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


def new_figure(width: float = 8.0, height: float = 4.0):
    """A new (figure, axes) pair of the given size in inches."""
    return plt.subplots(figsize=(width, height))


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` (PNG unless the suffix says otherwise), make the
    parent folder, close the figure and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
