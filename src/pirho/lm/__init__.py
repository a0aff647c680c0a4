"""The language-model recipes: which text a model sees, how it is built, trained and scored,
and the pretraining of the contextual string embeddings' character LMs — used by ``pirho lm``,
``pirho cloze``, ``pirho embed train`` and the lm-leak, cloze and tagging experiments.

- :mod:`pirho.lm.defaults`: :data:`RNNLM_DEFAULTS` (d2l's chapter 9 set-up),
  :data:`CLOZE_DEFAULTS`, :data:`HELDOUT_TOKENS` — free of torch (the command line reads them
  while building its parser).
- :mod:`pirho.lm.training`: :class:`LMText` and :func:`load_lm_text` (the training and
  held-out split of a text), :func:`heldout_in_vocab`, :func:`build_language_model`,
  :func:`fit_language_model` (:func:`pirho.train.train` with the held-out perplexity curve),
  :func:`train_settings`, :func:`resume_mismatches` and :func:`check_resume`,
  :func:`epoch_train_ppl`.
- :mod:`pirho.lm.metrics`: :func:`lm_train_metrics`, what ``pirho lm train --json`` writes.
- :mod:`pirho.lm.cse`: pretraining the contextual string embeddings (two character LMs over
  one long character stream); import it as a module (``from pirho.lm import cse``).

Importing :mod:`pirho.lm` does not import torch: the names of the torch modules are imported
on first use (``pirho.lm.fit_language_model``), like :mod:`pirho.data`'s batching names. That
also lets :mod:`pirho.nn.models` read :mod:`pirho.lm.defaults` without an import cycle.

>>> import pirho.lm
>>> pirho.lm.RNNLM_DEFAULTS["hidden_size"], pirho.lm.HELDOUT_TOKENS
(256, 5000)
"""

from importlib import import_module

from pirho.lm.defaults import CLOZE_DEFAULTS, HELDOUT_TOKENS, RNNLM_DEFAULTS

# public name → the submodule that defines it, imported when the name is first asked for
_LAZY = {
    "LMText": "training",
    "build_language_model": "training",
    "check_resume": "training",
    "epoch_train_ppl": "training",
    "fit_language_model": "training",
    "heldout_in_vocab": "training",
    "load_lm_text": "training",
    "resume_mismatches": "training",
    "train_settings": "training",
    "LM_TRAIN_METRIC_KEYS": "metrics",
    "lm_train_metrics": "metrics",
}

__all__ = ["CLOZE_DEFAULTS", "HELDOUT_TOKENS", "RNNLM_DEFAULTS", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"pirho.lm.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pirho.lm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
