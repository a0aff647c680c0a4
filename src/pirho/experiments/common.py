"""What every experiment returns, and how it is written out."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pirho._atomic import atomic_open


def to_jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays, paths and tuples into plain JSON values.

    Non-finite floats become strings ("inf", "-inf", "nan") so the file stays valid JSON.
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_json(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON, atomically (temp file in the same folder + rename)."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(to_jsonable(data), handle, indent=2)
        handle.write("\n")
    return Path(path)


@dataclass
class ExperimentResult:
    """The outcome of one experiment.

    name:    the experiment's CLI name, e.g. ``"brute-vs-dp"``.
    metrics: nested dict of JSON values; the keys named in the experiment's issue
             (``bayes.filter_acc`` means ``metrics["bayes"]["filter_acc"]``).
    figures: paths of the PNGs written (empty when no ``out`` folder was given).
    summary: a short human-readable table printed by the CLI.
    """

    name: str
    metrics: dict
    figures: list[Path] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict:
        return to_jsonable(self.metrics)

    def write_json(self, path: str | os.PathLike) -> Path:
        return write_json(self.metrics, path)


def resolve_config(name: str, full: dict, quick: dict, use_quick: bool, overrides: dict) -> dict:
    """The configuration an experiment runs with: ``quick`` or ``full``, updated by ``overrides``.

    ``None`` values in ``overrides`` are ignored (an option the user did not give); a key that
    is in neither configuration is a TypeError naming it and the known keys.

    >>> resolve_config("demo", {"epochs": 10, "lr": 1.0}, {"epochs": 2, "lr": 1.0}, True,
    ...                {"lr": 0.5, "epochs": None})
    {'epochs': 2, 'lr': 0.5}
    """
    config = dict(quick if use_quick else full)
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise TypeError(f"unknown {name} option(s) {unknown}; known: {sorted(config)}")
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config
