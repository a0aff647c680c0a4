"""Part-of-speech taggers as a product: fit one on a tagged corpus, tag text, save and load it.

``pirho tag train|predict`` and the tagging experiment (:mod:`pirho.experiments.tagging`) both
fit through :func:`fit_tagger`. Seven kinds (:data:`MODELS`):

- ``mft`` and ``hmm``: the counting taggers — each word's most frequent tag, and a supervised
  HMM (add-k smoothed counts, :func:`pirho.hmm.fit_supervised`) decoded exactly
  (:mod:`pirho.tagging.baselines`);
- ``uni``, ``bi``, ``bicrf``, ``bi+cse``, ``bicrf+cse``: :class:`pirho.nn.Tagger` trained with
  Adam, the epoch of best dev accuracy kept (:mod:`pirho.tagging.neural`).

:func:`prepare` gives the split and vocabulary (:mod:`pirho.tagging.splits`);
:class:`TrainedTagger` tags, scores, saves and loads (:mod:`pirho.tagging.trained`).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "toy.txt").write_text("佢/r 去/v\\n我/r 食/v\\n" * 10, encoding="utf-8")
>>> split, vocab = prepare(folder / "toy.txt", "hkcancor")
>>> path = fit_tagger("mft", split, vocab, {}).save(folder / "tagger.pt")
>>> TrainedTagger.load(path).tag([["我", "去"]])
[['r', 'v']]

Layering: ``experiments → tagging → {nn, hmm, data, train, checkpoint}``; this package imports
neither :mod:`pirho.experiments` nor :mod:`pirho.cli`.
"""

from pirho.tagging.baselines import (
    HMM_DECODERS,
    fit_hmm,
    fit_mft,
    hmm_decode,
    hmm_symbols,
    most_frequent_tags,
    singleton_tag_counts,
    tag_counts,
)
from pirho.tagging.neural import (
    CSE_MODELS,
    NEURAL,
    WORD_DROPOUTS,
    encode_with_contexts,
    kept_epoch,
    predict_tags,
    train_tagger,
    with_contexts,
    word_dropout_rates,
)
from pirho.tagging.splits import SPLIT_BY, check_split, prepare
from pirho.tagging.trained import CHECKPOINT_KIND, CONFIG_KEYS, MODELS, TrainedTagger, fit_tagger

__all__ = [
    "CHECKPOINT_KIND",
    "CONFIG_KEYS",
    "CSE_MODELS",
    "HMM_DECODERS",
    "MODELS",
    "NEURAL",
    "SPLIT_BY",
    "WORD_DROPOUTS",
    "TrainedTagger",
    "check_split",
    "encode_with_contexts",
    "fit_hmm",
    "fit_mft",
    "fit_tagger",
    "hmm_decode",
    "hmm_symbols",
    "kept_epoch",
    "most_frequent_tags",
    "predict_tags",
    "prepare",
    "singleton_tag_counts",
    "tag_counts",
    "train_tagger",
    "with_contexts",
    "word_dropout_rates",
]
