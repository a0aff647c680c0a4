"""The claims pirho measures, one module per claim.

Every experiment module defines

- ``NAME``: its CLI name (``pirho experiment NAME``),
- ``DESCRIPTION``: one line for ``--help``,
- ``add_arguments(parser)``: options beyond the common ``--quick --seed --json --out``,
- ``run(*, quick=False, seed=0, out=None, progress=True, **options) -> ExperimentResult``.

Modules are imported only when their experiment is asked for, so listing them stays cheap.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pirho.experiments.common import ExperimentResult, write_json

EXPERIMENTS: dict[str, str] = {
    "brute-vs-dp": "pirho.experiments.brute_vs_dp",
    "lm-leak": "pirho.experiments.lm_leak",
    "cloze": "pirho.experiments.cloze",
    "hmm-vs-rnn": "pirho.experiments.hmm_vs_rnn",
    "polysemy": "pirho.experiments.polysemy",
    "tagging": "pirho.experiments.tagging",
}


def load_experiment(name: str) -> ModuleType:
    """The module implementing experiment ``name`` (a key of ``EXPERIMENTS``)."""
    if name not in EXPERIMENTS:
        known = ", ".join(sorted(EXPERIMENTS))
        raise ValueError(f"unknown experiment {name!r}; known: {known}")
    return importlib.import_module(EXPERIMENTS[name])


__all__ = ["EXPERIMENTS", "ExperimentResult", "load_experiment", "write_json"]
