"""What every experiment returns, and how it is written out."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pirho._atomic import atomic_open
from pirho._checks import MAX_THREADS, check_float, check_int, check_positive_int


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


def resolve_config(
    name: str,
    full: dict,
    quick: dict,
    use_quick: bool,
    overrides: dict,
    *,
    positive: tuple[str, ...] = (),
) -> dict:
    """The configuration an experiment runs with: ``quick`` or ``full``, updated by ``overrides``.

    ``None`` values in ``overrides`` are ignored (an option the user did not give); a key that
    is in neither configuration is a TypeError naming it and the known keys. The keys in
    ``positive`` must then hold positive numbers (an int stays an int, a float a finite float):
    checked here, before any work starts.

    >>> resolve_config("demo", {"epochs": 10, "lr": 1.0}, {"epochs": 2, "lr": 1.0}, True,
    ...                {"lr": 0.5, "epochs": None}, positive=("epochs", "lr"))
    {'epochs': 2, 'lr': 0.5}
    >>> resolve_config("demo", {"epochs": 10}, {"epochs": 2}, True, {"epochs": 0},
    ...                positive=("epochs",))
    Traceback (most recent call last):
    ...
    ValueError: epochs must be >= 1, got 0
    """
    defaults = quick if use_quick else full
    config = dict(defaults)
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise TypeError(f"unknown {name} option(s) {unknown}; known: {sorted(config)}")
    config.update({k: v for k, v in overrides.items() if v is not None})
    for key in positive:
        if isinstance(defaults[key], float):  # the default's type says what kind of number
            config[key] = check_float(key, config[key], minimum=0.0, strict_minimum=True)
        else:
            config[key] = check_positive_int(key, config[key])
    return config


def set_threads(threads: int | None) -> None:
    """The one way an experiment sets torch's thread count: ``threads`` (None: leave torch's).

    Every experiment has a ``threads`` entry in its configuration and calls this once in ``run``.

    >>> set_threads(None)
    >>> set_threads(0)
    Traceback (most recent call last):
    ...
    ValueError: threads must be >= 1, got 0
    """
    if threads is None:
        return
    # far more threads than CPUs only slows torch down, and ~100,000 crash it (segfault)
    threads = check_int("threads", threads, minimum=1, maximum=MAX_THREADS)
    import torch  # only experiments that train call this with a number; keep hmm ones torch-free

    torch.set_num_threads(threads)


def time_machine_requirement() -> str | None:
    """None when The Time Machine can be found, else one line saying why a text experiment skips.

    >>> time_machine_requirement() is None or "PIRHO_DATA_DIR" in time_machine_requirement()
    True
    """
    from pirho.data import resolve_time_machine

    try:
        resolve_time_machine()
    except (FileNotFoundError, ValueError, OSError) as exc:
        reason = re.sub(r"\s+", " ", str(exc)).strip()
        if "PIRHO_DATA_DIR" not in reason:  # the loader's message normally says how already
            reason += " Set PIRHO_DATA_DIR to a folder holding timemachine.txt."
        return reason
    return None


def metric(metrics: dict, dotted: str, digits: int = 3) -> str:
    """``metrics["a"]["b"]`` for ``"a.b"``, formatted with ``digits`` decimals ("?" if absent).

    For the one-line headlines of the demo table.

    >>> metric({"bi": {"acc": 0.81234}}, "bi.acc"), metric({}, "uni.acc")
    ('0.812', '?')
    """
    value: Any = metrics
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return "?"
        value = value[part]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return "?"
