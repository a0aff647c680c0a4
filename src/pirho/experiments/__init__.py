"""The claims pirho measures, one module per claim; ``pirho demo`` runs them in registry order.

Every experiment module follows one protocol (the demo and ``pirho experiment`` rely on it):

- ``NAME``: its CLI name (``pirho experiment NAME``);
- ``DESCRIPTION``: one line for ``--help``;
- ``TITLE``: the report's heading; ``EXPLANATION``: the report's paragraph;
- ``FULL`` and ``QUICK``: configuration dicts (``--quick`` picks ``QUICK``; an experiment that
  trains on text has a ``text`` entry, which ``pirho demo --no-text`` uses to skip it);
- ``OPTIONS``: its options beyond the common ``--quick --seed --json --out --no-progress``,
  declared as data — a tuple of :class:`pirho.experiments.options.Option` (flag, checking type
  from :mod:`pirho._checks`, default, help, ...; :func:`~pirho.experiments.options.config_options`
  for those overriding ``FULL``/``QUICK``), from which ``pirho experiment NAME`` builds its
  parser. No experiment imports :mod:`pirho.cli`;
- ``run(*, quick=False, seed=0, out=None, progress=True, **overrides) -> ExperimentResult``:
  checks every argument before any work starts;
- ``summary(metrics) -> str``: the table printed by the CLI;
- ``headline(metrics) -> str``: one line for the demo's table;
- ``requirements() -> str | None``: None when it can run, else one line saying why not.

Adding an experiment: its module plus one line in :data:`EXPERIMENTS`. Modules are imported only
when asked for, so listing them stays cheap (``pirho --help`` imports no torch).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pirho.experiments.common import ExperimentResult, write_json

#: CLI name -> module, in the order ``pirho demo`` runs them.
EXPERIMENTS: dict[str, str] = {
    "casino": "pirho.experiments.casino",
    "brute-vs-dp": "pirho.experiments.brute_vs_dp",
    "hmm-vs-rnn": "pirho.experiments.hmm_vs_rnn",
    "polysemy": "pirho.experiments.polysemy",
    "lm-leak": "pirho.experiments.lm_leak",
    "cloze": "pirho.experiments.cloze",
    "tagging": "pirho.experiments.tagging",
}


def load_experiment(name: str) -> ModuleType:
    """The module implementing experiment ``name`` (a key of ``EXPERIMENTS``).

    >>> load_experiment("polysemy").NAME
    'polysemy'
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])


__all__ = ["EXPERIMENTS", "ExperimentResult", "load_experiment", "write_json"]
