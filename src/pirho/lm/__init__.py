"""The language-model recipes: which text a model sees, how it is built, trained and scored,
and the pretraining of the contextual string embeddings' character LMs — used by ``pirho lm``,
``pirho cloze``, ``pirho embed train`` and the lm-leak, cloze and tagging experiments.

- :mod:`pirho.lm.defaults`: :data:`RNNLM_DEFAULTS` (d2l's chapter 9 set-up),
  :data:`CLOZE_DEFAULTS`, :data:`HELDOUT_TOKENS` — free of torch (the command line reads them
  while building its parser).
- :mod:`pirho.lm.text`: :class:`LMText` and :func:`load_lm_text` (the training and held-out
  split of a text), :func:`heldout_in_vocab` — free of torch too.
- :mod:`pirho.lm.build`: :func:`build_language_model`, a fresh RNNLM / BiLM / ClozeModel.
- :mod:`pirho.lm.training`: :func:`fit_language_model` (:func:`pirho.train.train` with the
  held-out perplexity curve) and :func:`train_settings` (what its checkpoints record).
- :mod:`pirho.lm.resume`: :func:`resume_mismatches` and :func:`check_resume`, whether a run
  may continue a checkpoint.
- :mod:`pirho.lm.metrics`: :func:`epoch_train_ppl` and :func:`lm_train_metrics`, what
  ``pirho lm train --json`` writes.
- :mod:`pirho.lm.cse`: pretraining the contextual string embeddings (two character LMs over
  one long character stream); import it as a module (``from pirho.lm import cse``).

Importing :mod:`pirho.lm` does not import torch: the names from the modules that need it are
imported on first use (``pirho.lm.fit_language_model``), like :mod:`pirho.data`'s batching
names. That also lets :mod:`pirho.nn.models` read :mod:`pirho.lm.defaults` without an import
cycle.

>>> import pirho.lm
>>> pirho.lm.RNNLM_DEFAULTS["hidden_size"], pirho.lm.HELDOUT_TOKENS
(256, 5000)
"""

from importlib import import_module

from pirho.lm.defaults import CLOZE_DEFAULTS, HELDOUT_TOKENS, RNNLM_DEFAULTS
from pirho.lm.text import LMText, heldout_in_vocab, load_lm_text

# public name → the submodule that defines it, imported when the name is first asked for
_LAZY = {
    "build_language_model": "build",
    "fit_language_model": "training",
    "train_settings": "training",
    "check_resume": "resume",
    "resume_mismatches": "resume",
    "LM_TRAIN_METRIC_KEYS": "metrics",
    "epoch_train_ppl": "metrics",
    "lm_train_metrics": "metrics",
}

__all__ = [
    "CLOZE_DEFAULTS",
    "HELDOUT_TOKENS",
    "RNNLM_DEFAULTS",
    "LMText",
    "heldout_in_vocab",
    "load_lm_text",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"pirho.lm.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pirho.lm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
