"""A fitted tagger of any kind, its tags, and its checkpoint: :func:`fit_tagger` and
:class:`TrainedTagger` (what ``pirho tag train`` writes and ``pirho tag predict`` reads).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pirho._checks import check_choice
from pirho.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pirho.data.corpora import CorpusSplit, TaggedSentence, TaggingVocab
from pirho.hmm import CategoricalHMM
from pirho.nn.taggers import Tagger
from pirho.tagging.baselines import fit_hmm, fit_mft, hmm_decode, hmm_symbols
from pirho.tagging.neural import (
    CSE_MODELS,
    NEURAL,
    encode_with_contexts,
    kept_epoch,
    predict_tags,
    train_tagger,
    with_contexts,
    word_dropout_rates,
)

__all__ = ["CHECKPOINT_KIND", "CONFIG_KEYS", "MODELS", "TrainedTagger", "fit_tagger"]

#: Every kind of tagger: the counting ones, then the neural ones.
MODELS = ("mft", "hmm", *NEURAL, *CSE_MODELS)
CHECKPOINT_KIND = "pos-tagger"
#: The entries of ``config`` that :func:`fit_tagger` reads, per kind of tagger.
CONFIG_KEYS = {
    "mft": (),
    "hmm": ("smoothing", "hmm_min_count"),
    "neural": (
        "epochs",
        "batch_size",
        "lr",
        "word_dim",
        "char_dim",
        "char_hidden",
        "hidden_size",
        "dropout",
        "word_dropout",
    ),
}


@dataclass
class TrainedTagger:
    """A fitted tagger of kind ``model`` (one of :data:`MODELS`) with its vocabulary.

    ``table`` (V,) for ``"mft"``, ``hmm`` for ``"hmm"`` (``vocab.words``: its symbols, rare
    words folded into ``<unk>``), ``tagger`` for the neural kinds; ``info``: what the
    checkpoint says about the training data (``corpus``, ``tagset``) and, for taggers from
    :func:`fit_tagger`, how they were trained (``training``: the configuration, the seed
    and the epoch kept; a tagger trained with ``word_dropout="document"`` says so here, as
    its per-word rates are not part of the network).

    >>> vocab = TaggingVocab.build([TaggedSentence(("佢", "去"), ("r", "v"))])
    >>> fitted = TrainedTagger("mft", vocab, table=np.array([1, 0, 1]))  # <unk>, 佢, 去
    >>> fitted.tag([["佢", "去", "行"]]), fitted.predict([["去"]])[0].tolist()
    ([['r', 'v', 'v']], [1])
    """

    model: str
    vocab: TaggingVocab
    table: np.ndarray | None = None
    hmm: CategoricalHMM | None = None
    tagger: Tagger | None = None
    info: dict = field(default_factory=dict)

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Tag indices into ``vocab.tags``, (T_i,) int64, for each sentence of words; the HMM
        decodes with Viterbi, the neural taggers by argmax or (CRF) Viterbi."""
        sentences = [list(words) for words in sentences]
        if self.model == "mft":
            ids = [np.asarray(self.vocab.words[words], dtype=np.int64) for words in sentences]
            return [self.table[x] for x in ids]
        if self.model == "hmm":
            symbols = [hmm_symbols(self.vocab, words) for words in sentences]
            return hmm_decode(self.hmm, symbols, "viterbi")
        encoded = [self.vocab.encode(words) for words in sentences]
        return predict_tags(self.tagger, with_contexts(encoded, sentences, self.tagger))

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags (as strings) for each sentence of words (:meth:`predict`).

        >>> from pirho.data.corpora import TaggedCorpus, split_by_document
        >>> s = TaggedSentence(("佢", "去"), ("r", "v"))
        >>> split = split_by_document(TaggedCorpus("toy", "file", (("d", (s,) * 20),)))
        >>> vocab = TaggingVocab.build(split.train)
        >>> fit_tagger("mft", split, vocab, {}).tag([["去", "佢"]])
        [['v', 'r']]
        """
        return [[self.vocab.tags[int(k)] for k in tags] for tags in self.predict(sentences)]

    def accuracy(self, sentences: Sequence[TaggedSentence]) -> float:
        """Fraction of the tokens of ``sentences`` whose tag :meth:`tag` gets right.

        >>> vocab = TaggingVocab.build([TaggedSentence(("佢", "去"), ("r", "v"))])
        >>> fitted = TrainedTagger("mft", vocab, table=np.array([1, 0, 1]))
        >>> fitted.accuracy([TaggedSentence(("佢", "去", "佢", "行"), ("r", "v", "v", "v"))])
        0.75
        """
        predicted = self.tag([s.words for s in sentences])
        gold = [tag for s in sentences for tag in s.tags]
        flat = [tag for tags in predicted for tag in tags]
        return float(np.mean([p == g for p, g in zip(flat, gold, strict=True)]))

    def save(self, path: str | os.PathLike, **meta) -> Path:
        """Write a checkpoint atomically (:func:`pirho.checkpoint.save_checkpoint`) and return
        its path; ``meta`` (e.g. ``corpus``, ``tagset``) is stored too.

        >>> import tempfile
        >>> vocab = TaggingVocab.build([TaggedSentence(("佢", "去"), ("r", "v"))])
        >>> path = TrainedTagger("mft", vocab, table=np.array([1, 0, 1])).save(
        ...     Path(tempfile.mkdtemp()) / "t.pt", corpus="toy")
        >>> loaded = TrainedTagger.load(path)
        >>> loaded.table.tolist(), loaded.info
        ([1, 0, 1], {'corpus': 'toy'})
        """
        if self.model == "mft":
            state = {"table": torch.from_numpy(np.asarray(self.table, dtype=np.int64))}
            config = {}
        elif self.model == "hmm":
            state = {k: torch.tensor(getattr(self.hmm, k)) for k in ("start", "trans", "emit")}
            config = {}
        else:
            state, config = self.tagger.state_dict(), self.tagger.config
        payload_meta = {
            **self.info,
            **meta,
            "kind": CHECKPOINT_KIND,
            "model": self.model,
            "config": config,
            "vocab": self.vocab.to_dict(),
        }
        return save_checkpoint(path, {"model_state": state, "meta": payload_meta})

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainedTagger:
        """Read a checkpoint written by :meth:`save` (CheckpointError if it is not one)."""
        payload = load_checkpoint(path, expected_kind=CHECKPOINT_KIND)
        meta, state = payload["meta"], payload["model_state"]
        model = meta.get("model")
        if model not in MODELS:
            raise CheckpointError(f"{path}: unknown tagger model {model!r}")
        vocab = TaggingVocab.from_dict(meta["vocab"])
        info = {k: meta[k] for k in ("corpus", "tagset", "training") if k in meta}
        if model == "mft":
            return cls(model, vocab, table=state["table"].numpy(), info=info)
        if model == "hmm":
            hmm = CategoricalHMM(*(state[k].numpy() for k in ("start", "trans", "emit")))
            return cls(model, vocab, hmm=hmm, info=info)
        tagger = Tagger(**meta["config"])
        tagger.load_state_dict(state)
        tagger.eval()
        return cls(model, vocab, tagger=tagger, info=info)


def _check_config(model: str, config: Mapping) -> None:
    needed = CONFIG_KEYS["neural" if model in NEURAL + CSE_MODELS else model]
    missing = [key for key in needed if key not in config]
    if missing:
        raise ValueError(f"config for model {model!r} lacks {missing} (it needs {list(needed)})")


def fit_tagger(
    model: str,
    split: CorpusSplit,
    vocab: TaggingVocab,
    config: Mapping,
    *,
    seed: int = 0,
    progress: bool = True,
    embeddings=None,
) -> TrainedTagger:
    """Fit a tagger of kind ``model`` (one of :data:`MODELS`) on ``split.train``.

    ``vocab``: built on ``split.train`` (:func:`~pirho.tagging.prepare`); ``config``: the
    entries of :data:`CONFIG_KEYS` for this kind (others are ignored). ``mft``: the
    most-frequent-tag table (:func:`~pirho.tagging.fit_mft`); ``hmm``: the supervised HMM
    (:func:`~pirho.tagging.fit_hmm`, add-``smoothing``, words seen fewer than
    ``hmm_min_count`` times folded into ``<unk>``); the neural kinds: trained by
    :func:`~pirho.tagging.train_tagger` with ``seed``, the epoch of best accuracy on
    ``split.dev`` kept. The ``+cse`` kinds read ``embeddings``, a
    :class:`~pirho.nn.ContextualStringEmbeddings` (the tagger carries it).

    >>> from pirho.data.corpora import TaggedCorpus, split_by_document
    >>> s = TaggedSentence(("佢", "去"), ("r", "v"))
    >>> split = split_by_document(TaggedCorpus("toy", "file", (("d", (s,) * 20),)))
    >>> vocab = TaggingVocab.build(split.train)
    >>> hmm = fit_tagger("hmm", split, vocab, {"smoothing": 0.1, "hmm_min_count": 2})
    >>> hmm.tag([["佢", "去"]]), hmm.info["training"]
    ([['r', 'v']], {'smoothing': 0.1, 'hmm_min_count': 2})
    >>> fit_tagger("bi", split, vocab, {"epochs": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: config for model 'bi' lacks ['batch_size', 'lr', 'word_dim', ...] (it needs ...)
    """
    check_choice("model", model, MODELS)
    if model in CSE_MODELS and embeddings is None:
        raise ValueError(f"model {model!r} needs embeddings (pirho embed train, then --embeddings)")
    _check_config(model, config)
    if model == "mft":
        return TrainedTagger(model, vocab, table=fit_mft(split, vocab))
    if model == "hmm":
        hmm, hmm_vocab = fit_hmm(split, vocab, config["smoothing"], config["hmm_min_count"])
        training = {k: config[k] for k in ("smoothing", "hmm_min_count")}
        return TrainedTagger(model, hmm_vocab, hmm=hmm, info={"training": training})
    train_data = [vocab.encode(s.words, s.tags) for s in split.train]
    dev_data = [vocab.encode(s.words, s.tags) for s in split.dev]
    if model in CSE_MODELS:
        train_data = encode_with_contexts(train_data, split.train, embeddings)
        dev_data = encode_with_contexts(dev_data, split.dev, embeddings)
    tagger, history = train_tagger(
        train_data,
        dev_data,
        vocab,
        model=model,
        config=config,
        seed=seed,
        progress=progress,
        dropout_rates=word_dropout_rates(split, vocab, config["word_dropout"]),
        embeddings=embeddings if model in CSE_MODELS else None,
    )
    training = {
        **{k: v for k, v in config.items() if isinstance(v, (bool, int, float, str))},
        "seed": seed,
        "best_epoch": kept_epoch(history),
    }
    return TrainedTagger(model, vocab, tagger=tagger, info={"training": training})
