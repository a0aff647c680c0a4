"""Tagging real text: counts and exact inference against learned bidirectional taggers.

On a part-of-speech tagged corpus (HKCanCor by default: Cantonese conversations, 94 tags, or a
CoNLL-U / ``word/TAG`` file), split by document (:func:`pirho.data.corpora.split_by_document`;
``split_by="utterance"``: at random by utterance, an easier setting), five taggers are scored
on the test split — overall, on words seen in training (known) and on the others (unknown):

- ``mft``: each known word's most frequent training tag; unknown words get the tag most frequent
  among training singletons (words seen once: the best guide to what unseen words are);
- ``hmm``: a supervised HMM — start, transition and emission counts with add-k smoothing, every
  word seen fewer than ``hmm_min_count`` times folded into one ``<unk>`` symbol (so ``<unk>``
  learns what rare words look like) — decoded exactly through :class:`~pirho.hmm.CategoricalHMM`
  with the filter P(y_t | x_1..x_t), the smoother P(y_t | x_1..x_T) and Viterbi;
- ``uni``, ``bi``, ``bicrf``: :class:`~pirho.nn.taggers.Tagger` (word embedding ⊕ character
  BiLSTM) with a unidirectional LSTM (a learned filter), a BiLSTM (a learned smoother) and a
  BiLSTM with a :class:`~pirho.nn.LinearChainCRF` on top (learned features, exact inference);
  Adam, the epoch with the best dev accuracy kept. Word dropout (``word_dropout="document"``)
  replaces each training word by ``<unk>`` with probability 1 / (1 + the number of training
  documents it occurs in), so ``<unk>`` is trained on words like the unknown words of a new
  conversation (:func:`word_dropout_rates`).

Contextual string embeddings (``bi+cse``, ``bicrf+cse``): the BiLSTM and the BiLSTM-CRF with
each word's vector from a forward and a backward character LM
(:class:`~pirho.nn.ContextualStringEmbeddings`) as one more input. ``embeddings=PATH`` reuses a
pretrained model (``pirho embed train``); otherwise one is pretrained first (:mod:`pirho.lm.cse`;
on HKCanCor: CTCPC without the dev/test utterances plus the training words; on a file corpus:
its training words only), its size from the ``cse_*`` entries of the configuration.

Lookahead: the HMM's fixed-lag smoother P(y_t | x_1..x_{t+L}) and the bidirectional taggers
given only x_1..x_{t+L} (their input cut after t+L) show how much of the future each uses.

Metrics (JSON): ``n_train_tokens``, ``n_test_tokens``, ``unknown_rate``, ``n_tags``,
``mft.{acc, known_acc, unk_acc, amb_acc}``,
``hmm.{filter,smooth,viterbi}_{acc,known_acc,unk_acc,amb_acc}``,
``uni|bi|bicrf|bi+cse|bicrf+cse.{acc, known_acc, unk_acc, amb_acc, best_epoch}`` (with
``seeds`` > 1: the mean over seeds, ``acc_std``, ``unk_acc_std``, ``amb_acc_std`` and the
per-seed ``acc_seeds``, ``unk_acc_seeds``, ``amb_acc_seeds``),
``lookahead`` (``lags``, an accuracy list per model and ``whole``: each model's accuracy on whole
sentences; with ``seeds`` > 1 the taggers behind it are the first seed's), ``sizes``,
``split_by``, ``config``, ``ambiguous_rate`` and ``cse`` (the embeddings' source and
held-out bits per character). ``amb_acc``: accuracy on the test tokens whose word was seen in
training with two or more tags (:func:`ambiguous_words`) — the real-text "bank".
"""

from __future__ import annotations

import argparse
import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pirho._checks import (
    check_choice,
    check_positive_int,
    check_seed,
    nonnegative_float,
    positive_int,
)
from pirho.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pirho.data.corpora import (
    SPLIT_PERIOD,
    TAGSETS,
    CorpusSplit,
    EncodedSentence,
    TaggedSentence,
    TaggingVocab,
    corpora_available,
    document_frequencies,
    load_corpus,
    split_by_document,
    split_by_utterance,
)
from pirho.experiments.common import (
    ExperimentResult,
    resolve_config,
    set_threads,
)
from pirho.experiments.options import Option, config_options
from pirho.hmm import CategoricalHMM
from pirho.nn.embeddings import ContextualStringEmbeddings
from pirho.nn.taggers import Tagger, pad_batch
from pirho.train import TrainConfig, loss_limit, seed_everything, train

NAME = "tagging"
DESCRIPTION = (
    "POS tagging of real text (HKCanCor, or a CoNLL-U file): most-frequent tag, supervised HMM "
    "(filter/smoother/Viterbi), uni-LSTM, BiLSTM, BiLSTM-CRF."
)
TITLE = "Tagging Cantonese: exact HMM inference against learned bidirectional taggers"
EXPLANATION = (
    "A supervised HMM decoded exactly (filter, smoother, Viterbi) against LSTM taggers with "
    "word and character features: unidirectional (a learned filter), bidirectional (a learned "
    "smoother) and bidirectional with a CRF layer (learned features, exact inference). Scored "
    "on held-out conversations, overall and on words never seen in training."
)
NEURAL = ("uni", "bi", "bicrf")
#: The taggers that also read contextual string embeddings.
CSE_MODELS = ("bi+cse", "bicrf+cse")
MODELS = ("mft", "hmm", *NEURAL, *CSE_MODELS)
CHECKPOINT_KIND = "pos-tagger"
#: ``word_dropout`` settings besides a probability: ``"document"`` replaces word w by ``<unk>``
#: with probability 1 / (1 + the number of training documents w occurs in).
WORD_DROPOUTS = ("document",)
HMM_DECODERS = ("filter", "smooth", "viterbi")
#: How the corpus is cut into train/dev/test: by document (the default) or by utterance.
SPLIT_BY = ("document", "utterance")

FULL = dict(
    epochs=12,
    batch_size=32,
    lr=2e-3,
    word_dim=64,
    char_dim=32,
    char_hidden=32,
    hidden_size=128,
    dropout=0.3,
    word_dropout="document",
    smoothing=0.1,
    hmm_min_count=2,
    max_lag=4,
    max_train_sentences=None,
    threads=2,
    # the contextual string embeddings pretrained when no --embeddings file is given
    cse_hidden_size=512,
    cse_epochs=3,
    cse_max_chars=0,  # 0: all of the text
)
QUICK = dict(
    FULL,
    epochs=3,
    hidden_size=64,
    max_lag=2,
    cse_hidden_size=128,
    cse_epochs=1,
    cse_max_chars=1_200_000,
)


def requirements() -> str | None:
    """None when HKCanCor can be read (``pirho[corpora]`` installed), else one line."""
    return corpora_available()


#: Trains on real text: ``pirho demo --no-text`` skips it, like lm-leak and cloze.
USES_TEXT = True


def word_dropout_option(text: str) -> float | str:
    """``--word-dropout``: ``document`` or a probability in [0, 1).

    >>> word_dropout_option("0.1"), word_dropout_option("document")
    (0.1, 'document')
    """
    if text in WORD_DROPOUTS:
        return text
    problem = argparse.ArgumentTypeError(
        f"expected a probability in [0, 1) or one of {', '.join(WORD_DROPOUTS)}, got {text!r}"
    )
    try:
        value = nonnegative_float(text)
    except argparse.ArgumentTypeError:
        raise problem from None
    if value >= 1.0:
        raise problem
    return value


#: Options overriding the (full or quick) configuration, checked while parsing.
OPTIONS = (
    *config_options(
        FULL,
        QUICK,
        {
            "epochs": "training epochs per tagger",
            "hidden_size": "LSTM units per direction",
            "max_train_sentences": "training sentences, None = all",
            "threads": "torch threads",
        },
    ),
    Option(
        "--corpus",
        default="hkcancor",
        metavar="hkcancor|FILE",
        help="hkcancor (default), a .conllu file (UPOS tags) or a word/TAG file",
    ),
    Option(
        "--tagset", choices=TAGSETS, default="hkcancor", help="HKCanCor's 94 tags or 15 UD tags"
    ),
    Option("--seeds", type=positive_int, default=1, help="train the taggers with N seeds (1)"),
    Option(
        "--split-by",
        choices=SPLIT_BY,
        default="document",
        help="hold out whole documents (default) or random utterances (easier: a held-out "
        "conversation's names and topic are partly seen in training)",
    ),
    Option(
        "--embeddings",
        metavar="PATH",
        help="contextual string embeddings from 'pirho embed train' for the bi+cse and "
        "bicrf+cse rows (default: pretrain them first)",
    ),
    Option(
        "--word-dropout",
        type=word_dropout_option,
        metavar="P|document",
        help="replace training words by <unk> with probability P, or 'document': "
        "1/(1 + training documents the word occurs in) (document)",
    ),
)


# ---------------------------------------------------------------------------------------------
# Counting taggers: pure functions over encoded sentences


def tag_counts(
    word_ids: Sequence[np.ndarray], tag_ids: Sequence[np.ndarray], n_words: int, n_tags: int
) -> np.ndarray:
    """C (V, K): C[w, k] = how often word w carries tag k.

    >>> tag_counts([np.array([0, 1, 1])], [np.array([1, 0, 1])], 2, 2).tolist()
    [[0, 1], [1, 1]]
    """
    counts = np.zeros((n_words, n_tags), dtype=np.int64)
    np.add.at(counts, (np.concatenate(word_ids), np.concatenate(tag_ids)), 1)
    return counts


def hmm_counts(
    symbols: Sequence[np.ndarray], tags: Sequence[np.ndarray], n_states: int, n_symbols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Supervised HMM counts: first tags (K,), tag bigrams (K, K) (row = from-tag), tag–symbol
    pairs (K, M).

    >>> start, trans, emit = hmm_counts([np.array([0, 1])], [np.array([1, 0])], 2, 2)
    >>> start.tolist(), trans.tolist(), emit.tolist()
    ([0, 1], [[0, 0], [1, 0]], [[0, 1], [1, 0]])
    """
    start = np.bincount([t[0] for t in tags], minlength=n_states).astype(np.int64)
    trans = np.zeros((n_states, n_states), dtype=np.int64)
    np.add.at(
        trans, (np.concatenate([t[:-1] for t in tags]), np.concatenate([t[1:] for t in tags])), 1
    )
    emit = tag_counts(tags, symbols, n_states, n_symbols)
    return start, trans, emit


def supervised_hmm(
    symbols: Sequence[np.ndarray],
    tags: Sequence[np.ndarray],
    n_states: int,
    n_symbols: int,
    smoothing: float = 0.1,
) -> CategoricalHMM:
    """The HMM of add-k smoothed relative frequencies: P = (count + k) / (row total + k·size).

    >>> m = supervised_hmm([np.array([0, 1])], [np.array([1, 0])], 2, 2, smoothing=1.0)
    >>> [(3 * p).round(6).tolist() for p in (m.start, m.trans[1], m.emit[0])]
    [[1.0, 2.0], [2.0, 1.0], [1.0, 2.0]]
    """
    start, trans, emit = (c + smoothing for c in hmm_counts(symbols, tags, n_states, n_symbols))
    return CategoricalHMM(
        start / start.sum(),
        trans / trans.sum(axis=1, keepdims=True),
        emit / emit.sum(axis=1, keepdims=True),
    )


def most_frequent_tags(counts: np.ndarray, unknown_counts: np.ndarray) -> np.ndarray:
    """Each word's most frequent tag (V,); words never seen (a zero row) get the argmax of
    ``unknown_counts`` (K,). Ties go to the lower tag index.

    >>> most_frequent_tags(np.array([[0, 0], [3, 1], [0, 2]]), np.array([1, 5])).tolist()
    [1, 0, 1]
    """
    tags = counts.argmax(axis=1)
    tags[counts.sum(axis=1) == 0] = int(np.argmax(unknown_counts))
    return tags


def singleton_tag_counts(train: Sequence[TaggedSentence], vocab: TaggingVocab) -> np.ndarray:
    """(K,) tag counts of the training words seen exactly once: the unknown-word prior."""
    seen: dict[str, int] = {}
    for s in train:
        for word in s.words:
            seen[word] = seen.get(word, 0) + 1
    index = vocab.tag_index
    counts = np.zeros(len(vocab.tags), dtype=np.int64)
    for s in train:
        for word, tag in zip(s.words, s.tags, strict=True):
            if seen[word] == 1:
                counts[index[tag]] += 1
    return counts


def fit_mft(split: CorpusSplit, vocab: TaggingVocab) -> np.ndarray:
    """The most-frequent-tag table (V,) over ``vocab.words``; ``<unk>`` gets the singletons'
    most frequent tag."""
    counts = tag_counts(
        [np.asarray(vocab.words[list(s.words)]) for s in split.train],
        [np.array([vocab.tag_index[t] for t in s.tags]) for s in split.train],
        len(vocab.words),
        len(vocab.tags),
    )
    counts[0] = 0  # no training word maps to <unk> (index 0) unless min_freq > 1
    return most_frequent_tags(counts, singleton_tag_counts(split.train, vocab))


def hmm_symbols(hmm_vocab: TaggingVocab, words: Sequence[str]) -> np.ndarray:
    """Words → the HMM's symbols (T,) int64 (rare and unseen words → ``<unk>`` = 0)."""
    return np.asarray(hmm_vocab.words[list(words)], dtype=np.int64).reshape(-1)


def fit_hmm(
    split: CorpusSplit, vocab: TaggingVocab, smoothing: float = 0.1, min_count: int = 2
) -> tuple[CategoricalHMM, TaggingVocab]:
    """The supervised HMM over words seen ``min_count`` times or more (the rest: ``<unk>``),
    states = ``vocab.tags``; and the vocabulary of its symbols."""
    hmm_vocab = TaggingVocab.build(split.train, tags=vocab.tags, min_freq=min_count)
    hmm = supervised_hmm(
        [hmm_symbols(hmm_vocab, s.words) for s in split.train],
        [np.array([vocab.tag_index[t] for t in s.tags]) for s in split.train],
        len(vocab.tags),
        len(hmm_vocab.words),
        smoothing,
    )
    return hmm, hmm_vocab


def hmm_decode(
    hmm: CategoricalHMM, symbols: list[np.ndarray], decoder: str = "viterbi", lag: int | None = None
) -> list[np.ndarray]:
    """Tags per sentence by ``decoder``: ``"filter"`` (argmax P(y_t | x_1..x_t)), ``"smooth"``
    (argmax P(y_t | x_1..x_T), or x_1..x_{t+lag}) or ``"viterbi"`` (the best path)."""
    check_choice("decoder", decoder, HMM_DECODERS)
    if decoder == "viterbi":
        return [path for path, _ in hmm.viterbi(symbols)]
    posteriors = hmm.filter(symbols) if decoder == "filter" else hmm.posterior(symbols, lag=lag)
    return [p.argmax(1) for p in posteriors]


# ---------------------------------------------------------------------------------------------
# Scoring


def accuracies(
    predicted: Sequence[np.ndarray],
    gold: Sequence[np.ndarray],
    known: np.ndarray,
    prefix: str = "",
    ambiguous: np.ndarray | None = None,
) -> dict[str, float]:
    """``acc``, ``known_acc``, ``unk_acc`` of tag sequences (``known``: a flat bool mask), and
    ``amb_acc`` when ``ambiguous`` (a flat bool mask, see :func:`ambiguous_words`) is given.

    >>> accuracies([np.array([1, 2])], [np.array([1, 0])], np.array([True, False]))
    {'acc': 0.5, 'known_acc': 1.0, 'unk_acc': 0.0}
    >>> accuracies([np.array([1, 2])], [np.array([1, 0])], np.array([True, False]),
    ...            ambiguous=np.array([True, False]))["amb_acc"]
    1.0
    """
    correct = np.concatenate(predicted) == np.concatenate(gold)

    def mean(mask: np.ndarray) -> float:
        return float(correct[mask].mean()) if mask.any() else float("nan")

    scores = {
        f"{prefix}acc": float(correct.mean()),
        f"{prefix}known_acc": mean(known),
        f"{prefix}unk_acc": mean(~known),
    }
    if ambiguous is not None:
        scores[f"{prefix}amb_acc"] = mean(np.asarray(ambiguous, dtype=bool))
    return scores


def ambiguous_words(train: Sequence[TaggedSentence]) -> set[str]:
    """The words seen in ``train`` with two or more different tags.

    >>> s = [TaggedSentence(("係", "佢"), ("v", "r")), TaggedSentence(("係",), ("y",))]
    >>> sorted(ambiguous_words(s))
    ['係']
    """
    tags_of: dict[str, set[str]] = {}
    for sentence in train:
        for word, tag in zip(sentence.words, sentence.tags, strict=True):
            tags_of.setdefault(word, set()).add(tag)
    return {word for word, tags in tags_of.items() if len(tags) >= 2}


def with_contexts(
    encoded: Sequence[EncodedSentence], words: Sequence[Sequence[str]], tagger: Tagger
) -> list[EncodedSentence]:
    """``encoded`` with each sentence's contextual vectors from ``tagger``'s embeddings (the
    sentences unchanged when it has none)."""
    if tagger.embeddings is None:
        return list(encoded)
    contexts = tagger.contexts(words)
    return [s._replace(context=c) for s, c in zip(encoded, contexts, strict=True)]


# ---------------------------------------------------------------------------------------------
# Neural taggers: training and prediction


def _length_sorted_batches(
    encoded: Sequence[EncodedSentence], batch_size: int, order: np.ndarray
) -> list[list[int]]:
    """Batches of indices of similar lengths: ``order`` cut into pools of 20 batches, each pool
    sorted by length and cut into batches (less padding, still shuffled)."""
    pool = 20 * batch_size
    batches = []
    for lo in range(0, len(order), pool):
        chunk = sorted(order[lo : lo + pool], key=lambda i: len(encoded[i].words))
        batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
    return batches


def predict_tags(
    tagger: Tagger, encoded: Sequence[EncodedSentence], batch_size: int = 256
) -> list[np.ndarray]:
    """The tagger's tags (argmax or Viterbi) for each sentence, as int64 arrays."""
    order = np.argsort([len(s.words) for s in encoded], kind="stable")
    predicted: list[np.ndarray | None] = [None] * len(encoded)
    for lo in range(0, len(order), batch_size):
        index = order[lo : lo + batch_size]
        tags = tagger.predict(pad_batch([encoded[i] for i in index])).numpy()
        for row, i in enumerate(index):
            predicted[i] = tags[row, : len(encoded[i].words)]
    return predicted


def lookahead_tags(
    tagger: Tagger, encoded: Sequence[EncodedSentence], lag: int, batch_size: int = 256
) -> list[np.ndarray]:
    """Tags predicted at each t from x_1..x_{t+lag} only (the sentence cut after t+lag)."""
    prefixes, owners = [], []
    for i, s in enumerate(encoded):
        for t in range(len(s.words)):
            end = min(t + lag + 1, len(s.words))
            prefixes.append(EncodedSentence(*(None if a is None else a[:end] for a in s)))
            owners.append((i, t))
    predicted_prefixes = predict_tags(tagger, prefixes, batch_size)
    tags = [np.empty(len(s.words), dtype=np.int64) for s in encoded]
    for (i, t), prefix_tags in zip(owners, predicted_prefixes, strict=True):
        tags[i][t] = prefix_tags[t]
    return tags


def train_tagger(
    train_data: Sequence[EncodedSentence],
    dev_data: Sequence[EncodedSentence],
    vocab: TaggingVocab,
    *,
    model: str,
    config: dict,
    seed: int = 0,
    progress: bool = True,
    dropout_rates: np.ndarray | None = None,
    embeddings=None,
) -> tuple[Tagger, list[dict]]:
    """Train a :class:`Tagger` (``model``: ``"uni"``, ``"bi"``, ``"bicrf"``, ``"bi+cse"`` or
    ``"bicrf+cse"``) with Adam and return it with the parameters of the epoch of best dev
    accuracy, and the history.

    ``config["word_dropout"]``: a probability, or ``"document"``, which needs
    ``dropout_rates`` (V,) from :func:`word_dropout_rates`. The ``+cse`` models need
    ``embeddings`` (a :class:`~pirho.nn.ContextualStringEmbeddings`) and sentences whose
    ``context`` holds its vectors (:func:`with_contexts`)."""
    check_choice("model", model, NEURAL + CSE_MODELS)
    if model in CSE_MODELS and embeddings is None:
        raise ValueError(f"model {model!r} needs embeddings (ContextualStringEmbeddings)")
    uniform_dropout = config["word_dropout"]
    if isinstance(uniform_dropout, str):
        check_choice("word_dropout", uniform_dropout, WORD_DROPOUTS)
        if dropout_rates is None:
            raise ValueError(
                f"word_dropout={uniform_dropout!r} needs dropout_rates "
                "(see word_dropout_rates(split, vocab))"
            )
        uniform_dropout = 0.0
    seed_everything(seed)
    tagger = Tagger(
        len(vocab.words),
        len(vocab.chars),
        len(vocab.tags),
        word_dim=config["word_dim"],
        char_dim=config["char_dim"],
        char_hidden=config["char_hidden"],
        hidden_size=config["hidden_size"],
        bidirectional=model != "uni",
        output="crf" if model.startswith("bicrf") else "softmax",
        dropout=config["dropout"],
        word_dropout=uniform_dropout,
        word_dropout_rates=dropout_rates,
        embeddings=embeddings if model in CSE_MODELS else None,
    )
    batch_size = config["batch_size"]

    def batches(epoch: int):
        order = np.random.default_rng([seed, epoch]).permutation(len(train_data))
        for index in _length_sorted_batches(train_data, batch_size, order):
            yield pad_batch([train_data[i] for i in index])

    def loss_fn(net: Tagger, batch, state):
        return net.loss(batch), int(batch.lengths.sum()), None

    dev_gold = [s.tags for s in dev_data]
    best = {"acc": -1.0, "state": None}

    def evaluate(net: Tagger) -> dict:
        correct = np.concatenate(predict_tags(net, dev_data)) == np.concatenate(dev_gold)
        dev_acc = float(correct.mean())
        if dev_acc > best["acc"]:
            best["acc"], best["state"] = dev_acc, copy.deepcopy(net.state_dict())
        return {"dev_acc": dev_acc}

    train_config = TrainConfig(
        epochs=config["epochs"],
        lr=config["lr"],
        optimizer="adam",
        clip=5.0,
        seed=seed,
        progress=progress,
        desc=model,
        max_loss=loss_limit(max(len(vocab.tags), 2)),
    )
    result = train(tagger, batches, loss_fn, train_config, evaluate=evaluate)
    tagger.load_state_dict(best["state"])
    tagger.eval()
    return tagger, result.history


def kept_epoch(history: list[dict]) -> int:
    """The epoch whose parameters :func:`train_tagger` kept: the first with the best dev
    accuracy.

    >>> kept_epoch([{"epoch": 1, "dev_acc": 0.8}, {"epoch": 2, "dev_acc": 0.9},
    ...             {"epoch": 3, "dev_acc": 0.9}])
    2
    """
    return max(history, key=lambda h: h["dev_acc"])["epoch"]


# ---------------------------------------------------------------------------------------------
# Trained taggers of any kind, saved and loaded (``pirho tag``)


@dataclass
class TrainedTagger:
    """A fitted tagger of kind ``model`` (one of :data:`MODELS`) with its vocabulary.

    ``table`` (V,) for ``"mft"``, ``hmm`` for ``"hmm"`` (``vocab.words``: its symbols, rare
    words folded into ``<unk>``), ``tagger`` for the neural kinds; ``info``: what the
    checkpoint says about the training data (``corpus``, ``tagset``) and, for taggers from
    :func:`fit_tagger`, how they were trained (``training``: the configuration, the seed
    and the epoch kept; a tagger trained with ``word_dropout="document"`` says so here, as
    its per-word rates are not part of the network).
    """

    model: str
    vocab: TaggingVocab
    table: np.ndarray | None = None
    hmm: CategoricalHMM | None = None
    tagger: Tagger | None = None
    info: dict = field(default_factory=dict)

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Tags (as strings) for each sentence of words; the HMM decodes with Viterbi.

        >>> from pirho.data.corpora import TaggedCorpus, TaggedSentence
        >>> s = TaggedSentence(("佢", "去"), ("r", "v"))
        >>> split = split_by_document(TaggedCorpus("toy", "file", (("d", (s,) * 20),)))
        >>> vocab = TaggingVocab.build(split.train)
        >>> fit_tagger("mft", split, vocab, QUICK).tag([["去", "佢"]])
        [['v', 'r']]
        """
        sentences = [list(words) for words in sentences]
        if self.model == "mft":
            ids = [np.asarray(self.vocab.words[words], dtype=np.int64) for words in sentences]
            predicted = [self.table[x] for x in ids]
        elif self.model == "hmm":
            symbols = [hmm_symbols(self.vocab, words) for words in sentences]
            predicted = hmm_decode(self.hmm, symbols, "viterbi")
        else:
            encoded = [self.vocab.encode(w) for w in sentences]
            predicted = predict_tags(self.tagger, with_contexts(encoded, sentences, self.tagger))
        return [[self.vocab.tags[int(k)] for k in tags] for tags in predicted]

    def accuracy(self, sentences: Sequence[TaggedSentence]) -> float:
        """Fraction of the tokens of ``sentences`` whose tag :meth:`tag` gets right."""
        predicted = self.tag([s.words for s in sentences])
        gold = [tag for s in sentences for tag in s.tags]
        return float(
            np.mean(
                [p == g for p, g in zip([t for tags in predicted for t in tags], gold, strict=True)]
            )
        )

    def save(self, path: str | os.PathLike, **meta) -> Path:
        """Write a checkpoint (:func:`pirho.train.save_checkpoint`); ``meta`` is stored too."""
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


def fit_tagger(
    model: str,
    split: CorpusSplit,
    vocab: TaggingVocab,
    config: dict,
    *,
    seed: int = 0,
    progress: bool = True,
    embeddings=None,
) -> TrainedTagger:
    """Fit a tagger of kind ``model`` on ``split.train`` (neural ones: best dev epoch; the
    ``+cse`` ones read ``embeddings``, a :class:`~pirho.nn.ContextualStringEmbeddings`)."""
    check_choice("model", model, MODELS)
    if model in CSE_MODELS and embeddings is None:
        raise ValueError(f"model {model!r} needs embeddings (pirho embed train, then --embeddings)")
    if model == "mft":
        return TrainedTagger(model, vocab, table=fit_mft(split, vocab))
    if model == "hmm":
        hmm, hmm_vocab = fit_hmm(split, vocab, config["smoothing"], config["hmm_min_count"])
        training = {k: config[k] for k in ("smoothing", "hmm_min_count")}
        return TrainedTagger(model, hmm_vocab, hmm=hmm, info={"training": training})
    train_data = [vocab.encode(s.words, s.tags) for s in split.train]
    dev_data = [vocab.encode(s.words, s.tags) for s in split.dev]
    if model in CSE_MODELS:
        train_data = _contexts_of(train_data, split.train, embeddings)
        dev_data = _contexts_of(dev_data, split.dev, embeddings)
    tagger, history = train_tagger(
        train_data,
        dev_data,
        vocab,
        model=model,
        config=config,
        seed=seed,
        progress=progress,
        dropout_rates=word_dropout_rates(split, vocab, config["word_dropout"]),
        embeddings=embeddings,
    )
    training = {
        **{k: v for k, v in config.items() if isinstance(v, (bool, int, float, str))},
        "seed": seed,
        "best_epoch": kept_epoch(history),
    }
    return TrainedTagger(model, vocab, tagger=tagger, info={"training": training})


def _contexts_of(
    encoded: list[EncodedSentence], sentences: Sequence[TaggedSentence], embeddings
) -> list[EncodedSentence]:
    """``encoded`` with the contextual vectors of ``sentences`` under ``embeddings``."""
    vectors = embeddings.embed([list(s.words) for s in sentences]).numpy()
    return [e._replace(context=vectors[i, : len(e.words)].copy()) for i, e in enumerate(encoded)]


def pretrained_embeddings(
    corpus: str | os.PathLike, split: CorpusSplit, config: dict, *, seed: int, progress: bool
):
    """Contextual string embeddings for the ``+cse`` rows, pretrained here
    (:func:`pirho.lm.cse.train_embeddings`; :data:`pirho.lm.cse.QUICK` sizes with the ``cse_*``
    entries of ``config``): on HKCanCor, CTCPC without the dev/test utterances plus the
    training words; on any other corpus, its training sentences' words. Returns the model and
    the pretraining report."""
    from pirho.lm import cse

    cse.retain_freed_memory()
    sentences = (
        cse.pretraining_sentences("ctcpc")
        if str(corpus) == "hkcancor"
        else [list(s.words) for s in split.train]
    )
    base = cse.QUICK if config["cse_hidden_size"] <= cse.QUICK["hidden_size"] else cse.FULL
    cse_config = dict(
        base,
        hidden_size=config["cse_hidden_size"],
        epochs=config["cse_epochs"],
        max_chars=config["cse_max_chars"] or None,
    )
    return cse.train_embeddings(
        sentences, cse_config, seed=seed, progress=progress, source=str(corpus)
    )


def word_dropout_rates(
    split: CorpusSplit, vocab: TaggingVocab, word_dropout: float | str = "document"
) -> np.ndarray | None:
    """Per-word ``<unk>`` replacement probabilities (V,) for ``word_dropout="document"``:
    1 / (1 + d(w)), d(w) = the number of training documents word w occurs in (0 for
    ``<unk>``); None for a plain probability (the tagger applies it uniformly).

    On a split by document the unknown words of a test conversation are mostly its topic
    words (names, jargon), and the training words that look like them are the ones confined
    to a single training conversation: those are replaced half the time, words spread over
    many conversations rarely.

    >>> from pirho.data.corpora import TaggedSentence
    >>> s1, s2 = TaggedSentence(("a", "b"), ("X", "Y")), TaggedSentence(("a",), ("X",))
    >>> split = CorpusSplit([s1, s2], [], [], {"train": ["d1", "d2"]}, (0, 1))
    >>> vocab = TaggingVocab.build(split.train)
    >>> vocab.words.idx_to_token, word_dropout_rates(split, vocab).round(3).tolist()
    (['<unk>', 'a', 'b'], [0.0, 0.333, 0.5])
    """
    if not isinstance(word_dropout, str):
        return None
    check_choice("word_dropout", word_dropout, WORD_DROPOUTS)
    rates = np.zeros(len(vocab.words))
    for word, count in document_frequencies(split).items():
        if vocab.is_known(word):
            rates[vocab.words[word]] = 1.0 / (1.0 + count)
    return rates


# ---------------------------------------------------------------------------------------------
# The experiment


def check_split(split: CorpusSplit, corpus: str | os.PathLike) -> None:
    """ValueError when a part of ``split`` (train, dev, test) holds no sentence: the corpus
    is too small to split, so a tagger could be neither trained nor measured.

    >>> from pirho.data.corpora import TaggedCorpus, TaggedSentence
    >>> one = TaggedCorpus("one", "file", (("d", (TaggedSentence(("a",), ("X",)),)),))
    >>> check_split(split_by_document(one), "one.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: corpus one.txt is too small to split: 1 sentence in all gives ...
    """
    sizes = {part: len(getattr(split, part)) for part in ("train", "dev", "test")}
    if all(sizes.values()):
        return
    total = sum(sizes.values())
    shown = ", ".join(f"{part} {n}" for part, n in sizes.items())
    raise ValueError(
        f"corpus {corpus} is too small to split: {total} sentence{'s' * (total != 1)} in all "
        f"gives {shown} (about 80/10/10); give at least {SPLIT_PERIOD} sentences"
    )


def prepare(
    corpus: str | os.PathLike,
    tagset: str,
    max_train_sentences: int | None = None,
    split_by: str = "document",
) -> tuple[CorpusSplit, TaggingVocab]:
    """The split (``split_by``: :func:`~pirho.data.corpora.split_by_document` or
    :func:`~pirho.data.corpora.split_by_utterance` with seed 0; the training part optionally cut
    to its first ``max_train_sentences``) and the vocabulary built on its training part (the
    tag set: every tag of the corpus)."""
    check_choice("split_by", split_by, SPLIT_BY)
    if str(corpus) != "hkcancor" and tagset != "hkcancor":
        raise ValueError(
            f"--tagset {tagset} applies to --corpus hkcancor; {corpus} keeps its own tags"
        )
    tagged = load_corpus(corpus, tagset)
    split = split_by_document(tagged) if split_by == "document" else split_by_utterance(tagged)
    check_split(split, corpus)
    if max_train_sentences is not None:
        n_train = check_positive_int("max_train_sentences", max_train_sentences)
        split = split._replace(
            train=split.train[:n_train], train_document_of=split.train_document_of[:n_train]
        )
    return split, TaggingVocab.build(split.train, tags=tagged.tags)


def run(
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    corpus: str | os.PathLike = "hkcancor",
    tagset: str = "hkcancor",
    seeds: int = 1,
    split_by: str = "document",
    embeddings=None,
    **overrides,
) -> ExperimentResult:
    """Run the experiment; ``overrides`` replace entries of :data:`QUICK`/:data:`FULL`.

    ``embeddings``: a path written by ``pirho embed train`` (or a
    :class:`~pirho.nn.ContextualStringEmbeddings`) for the ``+cse`` rows; None pretrains one
    (:func:`pretrained_embeddings`).

    Returns an :class:`ExperimentResult` with the metrics listed in the module docstring.
    """
    check_seed("seed", seed)
    check_positive_int("seeds", seeds)
    check_choice("tagset", tagset, TAGSETS)
    config = resolve_config(NAME, FULL, QUICK, quick, overrides)
    check_positive_int("epochs", config["epochs"])
    set_threads(config["threads"])

    split, vocab = prepare(corpus, tagset, config["max_train_sentences"], split_by)
    train_data = [vocab.encode(s.words, s.tags) for s in split.train]
    dev_data = [vocab.encode(s.words, s.tags) for s in split.dev]
    test_data = [vocab.encode(s.words, s.tags) for s in split.test]
    dropout_rates = word_dropout_rates(split, vocab, config["word_dropout"])
    gold = [s.tags for s in test_data]
    known = np.array([vocab.is_known(w) for s in split.test for w in s.words])
    ambiguous_types = ambiguous_words(split.train)
    ambiguous = np.array([w in ambiguous_types for s in split.test for w in s.words])
    sizes = split.sizes()
    lags = list(range(config["max_lag"] + 1))

    mft_table = fit_mft(split, vocab)
    mft = accuracies([mft_table[s.words] for s in test_data], gold, known, ambiguous=ambiguous)

    hmm, hmm_vocab = fit_hmm(split, vocab, config["smoothing"], config["hmm_min_count"])
    hmm_test = [hmm_symbols(hmm_vocab, s.words) for s in split.test]
    hmm_metrics: dict[str, float] = {}
    for decoder in HMM_DECODERS:
        predicted = hmm_decode(hmm, hmm_test, decoder)
        hmm_metrics.update(
            accuracies(predicted, gold, known, prefix=f"{decoder}_", ambiguous=ambiguous)
        )
    lookahead = {
        "lags": lags,
        "hmm": [
            accuracies(hmm_decode(hmm, hmm_test, "smooth", lag), gold, known)["acc"] for lag in lags
        ],
    }

    cse_report: dict = {}
    if embeddings is None:
        embeddings, report = pretrained_embeddings(
            corpus, split, config, seed=seed, progress=progress
        )
        cse_report = {k: v for k, v in report.items() if k not in ("history", "config")}
    elif not isinstance(embeddings, ContextualStringEmbeddings):
        path = embeddings
        embeddings = ContextualStringEmbeddings.load(path)
        cse_report = {"source": str(path), **embeddings.checkpoint_meta.get("training", {})}
    cse_data = {
        part: _contexts_of(data, getattr(split, part), embeddings)
        for part, data in (("train", train_data), ("dev", dev_data), ("test", test_data))
    }

    neural: dict[str, list[dict]] = {model: [] for model in NEURAL + CSE_MODELS}
    for run_seed in range(seed, seed + seeds):
        for model in NEURAL + CSE_MODELS:
            uses_cse = model in CSE_MODELS
            tagger, history = train_tagger(
                cse_data["train"] if uses_cse else train_data,
                cse_data["dev"] if uses_cse else dev_data,
                vocab,
                model=model,
                config=config,
                seed=run_seed,
                progress=progress,
                dropout_rates=dropout_rates,
                embeddings=embeddings if uses_cse else None,
            )
            model_test = cse_data["test"] if uses_cse else test_data
            scores = accuracies(predict_tags(tagger, model_test), gold, known, ambiguous=ambiguous)
            scores["best_epoch"] = kept_epoch(history)
            if run_seed == seed and not uses_cse:  # cse vectors have read the whole sentence
                lookahead[model] = (
                    [
                        accuracies(lookahead_tags(tagger, test_data, lag), gold, known)["acc"]
                        for lag in lags
                    ]
                    if model != "uni"
                    else [scores["acc"]] * len(lags)
                )
            neural[model].append(scores)
    # the lookahead curves are the first seed's taggers: so are their whole-sentence scores
    lookahead["whole"] = {
        "hmm": hmm_metrics["smooth_acc"],
        **{model: neural[model][0]["acc"] for model in NEURAL},
    }

    metrics = {
        "n_train_tokens": sizes["train"]["tokens"],
        "n_test_tokens": sizes["test"]["tokens"],
        "unknown_rate": float(1.0 - known.mean()),
        "ambiguous_rate": float(ambiguous.mean()),
        "n_tags": len(vocab.tags),
        "mft": mft,
        "hmm": hmm_metrics,
        **{model: _over_seeds(runs) for model, runs in neural.items()},
        "lookahead": lookahead,
        "sizes": sizes,
        "corpus": str(corpus),
        "tagset": tagset,
        "split_by": split_by,
        "cse": cse_report,
        "config": {"seed": seed, "seeds": seeds, "quick": quick, **config},
    }

    figures: list[Path] = []
    if out is not None:
        from pirho.plots.tagging import plot_accuracy_by_model, plot_tagging_lookahead

        out = Path(out)
        figures.append(plot_accuracy_by_model(metrics, out / "tagging_accuracy.png"))
        figures.append(plot_tagging_lookahead(metrics, out / "tagging_lookahead.png"))
    return ExperimentResult(NAME, metrics, figures, summary=summary(metrics))


def _over_seeds(runs: list[dict]) -> dict:
    """One model's scores: the single run's, or the mean over seeds with spread and per-seed."""
    if len(runs) == 1:
        return runs[0]
    merged: dict = {}
    for key in ("acc", "known_acc", "unk_acc", "amb_acc"):
        values = np.array([r[key] for r in runs])
        merged[key] = float(values.mean())
        merged[f"{key}_std"] = float(values.std(ddof=1))
        merged[f"{key}_seeds"] = values.tolist()
    merged["best_epoch"] = [r["best_epoch"] for r in runs]
    return merged


def _rows(metrics: dict) -> list[tuple[str, dict, str]]:
    rows = [("most frequent tag", metrics["mft"], "")]
    for decoder, label in zip(
        HMM_DECODERS, ("HMM filter", "HMM smoother", "HMM Viterbi"), strict=True
    ):
        rows.append((label, metrics["hmm"], f"{decoder}_"))
    labels = ("uni-LSTM", "BiLSTM", "BiLSTM-CRF", "BiLSTM + CSE", "BiLSTM-CRF + CSE")
    for model, label in zip(NEURAL + CSE_MODELS, labels, strict=True):
        if model in metrics:
            rows.append((label, metrics[model], ""))
    return rows


def summary(metrics: dict) -> str:
    """A short table: accuracy overall, on known, unknown and ambiguous words, per tagger."""
    lines = [
        f"tagging {metrics['corpus']} ({metrics['n_tags']} tags, split by "
        f"{metrics.get('split_by', 'document')}): "
        f"{metrics['n_train_tokens']:,} training tokens, {metrics['n_test_tokens']:,} test tokens, "
        f"{metrics['unknown_rate']:.1%} unknown"
        + (
            f", {metrics['ambiguous_rate']:.1%} ambiguous (seen with 2+ tags)"
            if "ambiguous_rate" in metrics
            else ""
        ),
        f"{'tagger':<20}{'accuracy':>10}{'known':>10}{'unknown':>10}{'ambiguous':>10}",
    ]
    for label, scores, prefix in _rows(metrics):
        spread = scores.get(f"{prefix}acc_std")
        text = f"{label:<20}{scores[prefix + 'acc']:10.4f}{scores[prefix + 'known_acc']:10.4f}"
        text += f"{scores[prefix + 'unk_acc']:10.4f}"
        text += f"{scores.get(prefix + 'amb_acc', float('nan')):10.4f}"
        if spread is not None:
            text += f"  (± {spread:.4f} over {len(scores['acc_seeds'])} seeds)"
        lines.append(text)
    return "\n".join(lines)


def headline(metrics: dict) -> str:
    """One line for the demo's table."""
    hmm = metrics["hmm"]
    return (
        f"acc: MFT {metrics['mft']['acc']:.3f}, HMM filter {hmm['filter_acc']:.3f} / smoother "
        f"{hmm['smooth_acc']:.3f} / Viterbi {hmm['viterbi_acc']:.3f}, "
        f"uni {metrics['uni']['acc']:.3f}, "
        f"bi {metrics['bi']['acc']:.3f}, BiLSTM-CRF {metrics['bicrf']['acc']:.3f} "
        f"(unknown words {metrics['bicrf']['unk_acc']:.3f})"
        + (
            f", + contextual string embeddings {metrics['bicrf+cse']['acc']:.3f} "
            f"(unknown {metrics['bicrf+cse']['unk_acc']:.3f}, "
            f"ambiguous {metrics['bicrf+cse']['amb_acc']:.3f} vs {metrics['bicrf']['amb_acc']:.3f})"
            if "bicrf+cse" in metrics
            else ""
        )
    )
