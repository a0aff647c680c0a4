"""The counting taggers: the most frequent tag of each word, and a supervised HMM decoded
exactly.

- most frequent tag (``mft``): each known word's most frequent training tag; unknown words get
  the tag most frequent among training singletons (words seen once: the best guide to what
  unseen words are) — :func:`fit_mft`;
- supervised HMM (``hmm``): start, transition and emission counts with add-k smoothing, fitted
  by :func:`pirho.hmm.fit_supervised` (``pseudocount=k``); every word seen fewer than
  ``min_count`` times is folded into one ``<unk>`` symbol, so ``<unk>`` learns what rare words
  look like — :func:`fit_hmm`; decoded by :func:`hmm_decode` with the filter
  P(y_t | x_1..x_t), the posterior P(y_t | x_1..x_T) (or the fixed-lag x_1..x_{t+L}) or
  Viterbi (the decoder names of ``docs/conventions.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pirho._checks import check_choice, check_float, check_positive_int
from pirho.data.corpora import CorpusSplit, TaggedSentence, TaggingVocab
from pirho.hmm import CategoricalHMM, fit_supervised

__all__ = [
    "HMM_DECODERS",
    "fit_hmm",
    "fit_mft",
    "hmm_decode",
    "hmm_symbols",
    "most_frequent_tags",
    "singleton_tag_counts",
    "tag_counts",
]

#: The HMM's decoders: argmax of the filter, argmax of the (smoothing) posterior, Viterbi.
HMM_DECODERS = ("filter", "posterior", "viterbi")


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
    """(K,) tag counts of the training words seen exactly once: the unknown-word prior.

    >>> s = [TaggedSentence(("a", "b", "a"), ("N", "V", "N")), TaggedSentence(("c",), ("V",))]
    >>> singleton_tag_counts(s, TaggingVocab.build(s, tags=["A", "N", "V"])).tolist()
    [0, 0, 2]
    """
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


def _tag_ids(vocab: TaggingVocab, sentences: Sequence[TaggedSentence]) -> list[np.ndarray]:
    index = vocab.tag_index
    return [np.array([index[t] for t in s.tags], dtype=np.int64) for s in sentences]


def fit_mft(split: CorpusSplit, vocab: TaggingVocab) -> np.ndarray:
    """The most-frequent-tag table (V,) over ``vocab.words``; ``<unk>`` gets the singletons'
    most frequent tag.

    >>> s = [TaggedSentence(("a", "b", "a"), ("N", "V", "N")), TaggedSentence(("a",), ("V",))]
    >>> vocab = TaggingVocab.build(s, tags=["N", "V"])
    >>> table = fit_mft(CorpusSplit(s, [], [], {}), vocab)
    >>> {w: vocab.tags[table[vocab.words[w]]] for w in ("a", "b", "unseen")}
    {'a': 'N', 'b': 'V', 'unseen': 'V'}
    """
    counts = tag_counts(
        [np.asarray(vocab.words[list(s.words)]) for s in split.train],
        _tag_ids(vocab, split.train),
        len(vocab.words),
        len(vocab.tags),
    )
    counts[0] = 0  # no training word maps to <unk> (index 0) unless min_freq > 1
    return most_frequent_tags(counts, singleton_tag_counts(split.train, vocab))


def hmm_symbols(hmm_vocab: TaggingVocab, words: Sequence[str]) -> np.ndarray:
    """Words → the HMM's symbols (T,) int64 (rare and unseen words → ``<unk>`` = 0).

    >>> s = [TaggedSentence(("a", "b", "a"), ("N", "V", "N"))]
    >>> hmm_symbols(TaggingVocab.build(s, min_freq=2), ["a", "b", "zzz"]).tolist()
    [1, 0, 0]
    """
    return np.asarray(hmm_vocab.words[list(words)], dtype=np.int64).reshape(-1)


def fit_hmm(
    split: CorpusSplit, vocab: TaggingVocab, smoothing: float = 0.1, min_count: int = 2
) -> tuple[CategoricalHMM, TaggingVocab]:
    """The supervised HMM (states = ``vocab.tags``) over the words seen ``min_count`` times or
    more (the rest: ``<unk>``), and the vocabulary of its symbols.

    Start (K,), transitions (K, K) and emissions (K, M) are add-``smoothing`` relative
    frequencies, P = (count + k) / (row total + k · row size), fitted by
    :func:`pirho.hmm.fit_supervised` with ``pseudocount=smoothing``.

    >>> s = [TaggedSentence(("a", "b", "a"), ("N", "V", "N"))] * 3
    >>> hmm, hmm_vocab = fit_hmm(CorpusSplit(s, [], [], {}), TaggingVocab.build(s), 1.0, 1)
    >>> hmm_vocab.words.idx_to_token, (hmm.emit * [[9], [6]]).round(6).tolist()
    (['<unk>', 'a', 'b'], [[1.0, 7.0, 1.0], [1.0, 1.0, 4.0]])
    """
    smoothing = check_float("smoothing", smoothing, minimum=0.0)
    min_count = check_positive_int("min_count", min_count)
    hmm_vocab = TaggingVocab.build(split.train, tags=vocab.tags, min_freq=min_count)
    result = fit_supervised(
        [hmm_symbols(hmm_vocab, s.words) for s in split.train],
        _tag_ids(vocab, split.train),
        "categorical",
        n_states=len(vocab.tags),
        n_symbols=len(hmm_vocab.words),
        pseudocount=smoothing,
        seed=0,
    )
    return result.model, hmm_vocab


def hmm_decode(
    hmm: CategoricalHMM,
    symbols: list[np.ndarray],
    decoder: str = "viterbi",
    lag: int | None = None,
) -> list[np.ndarray]:
    """Tags (T_i,) int64 per sentence by ``decoder``: ``"filter"`` (argmax P(y_t | x_1..x_t)),
    ``"posterior"`` (argmax P(y_t | x_1..x_T), or of P(y_t | x_1..x_{t+lag}) with ``lag``) or
    ``"viterbi"`` (the most probable path).

    >>> from pirho.hmm import casino
    >>> rolls = [np.array([5, 5, 5, 5, 5, 5, 0, 1, 2, 3, 4, 0])]  # six sixes, then fair-looking
    >>> for decoder in HMM_DECODERS:  # 1 = the loaded die
    ...     print(f"{decoder:>9}", *hmm_decode(casino(), rolls, decoder)[0])
       filter 1 1 1 1 1 1 1 1 0 0 0 0
    posterior 1 1 1 1 1 1 0 0 0 0 0 0
      viterbi 1 1 1 1 1 1 0 0 0 0 0 0
    """
    check_choice("decoder", decoder, HMM_DECODERS)
    if decoder == "viterbi":
        return [path for path, _ in hmm.viterbi(symbols)]
    posteriors = hmm.filter(symbols) if decoder == "filter" else hmm.posterior(symbols, lag=lag)
    return [p.argmax(1) for p in posteriors]
