"""The neural taggers: :class:`~pirho.nn.taggers.Tagger` trained on a split, and its tags.

- ``uni``, ``bi``, ``bicrf``: word embedding ⊕ character BiLSTM → a unidirectional LSTM (a
  learned filter), a BiLSTM (a learned smoother) or a BiLSTM with a
  :class:`~pirho.nn.LinearChainCRF` on top (learned features, exact inference);
- ``bi+cse``, ``bicrf+cse``: the same with each word's contextual string embedding
  (:class:`~pirho.nn.ContextualStringEmbeddings`) as one more input.

:func:`train_tagger` trains with Adam (optionally with a decaying learning rate) and keeps
the epoch of best dev accuracy. Word dropout
``"document"`` replaces each training word by ``<unk>`` with probability 1 / (1 + the number
of training documents it occurs in), so ``<unk>`` is trained on words like the unknown words
of a new conversation (:func:`word_dropout_rates`). :func:`predict_tags` tags encoded
sentences in length-sorted batches.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Sequence

import numpy as np

from pirho._checks import check_choice
from pirho.data.corpora import (
    CorpusSplit,
    EncodedSentence,
    TaggedSentence,
    TaggingVocab,
    document_frequencies,
)
from pirho.nn.taggers import Tagger, pad_batch
from pirho.train import TrainConfig, loss_limit, seed_everything, train

__all__ = [
    "CSE_MODELS",
    "NEURAL",
    "WORD_DROPOUTS",
    "encode_with_contexts",
    "kept_epoch",
    "predict_tags",
    "train_tagger",
    "with_contexts",
    "word_dropout_rates",
]

NEURAL = ("uni", "bi", "bicrf")
#: The taggers that also read contextual string embeddings.
CSE_MODELS = ("bi+cse", "bicrf+cse")
#: ``word_dropout`` settings besides a probability: ``"document"`` replaces word w by ``<unk>``
#: with probability 1 / (1 + the number of training documents w occurs in).
WORD_DROPOUTS = ("document",)


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


#: embeddings model → {sentences: their vectors}: the frozen embeddings of one corpus part are
#: computed once however many taggers (seeds, ``bi+cse`` and ``bicrf+cse``) read them; the
#: entries go with the model (weak keys), at most :data:`CONTEXT_CACHE_SIZE` parts per model.
_CONTEXT_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
CONTEXT_CACHE_SIZE = 3


def _sentence_vectors(sentences: Sequence[Sequence[str]], embeddings) -> list[np.ndarray]:
    """Each sentence's (a list of words) contextual vectors (T_i, 2H) under ``embeddings``."""
    words = tuple(tuple(sentence) for sentence in sentences)
    frozen = not getattr(embeddings, "fine_tune", False)
    cache = _CONTEXT_CACHE.setdefault(embeddings, {}) if frozen else {}
    if words not in cache:
        vectors = embeddings.embed([list(w) for w in words]).numpy()
        while len(cache) >= CONTEXT_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[words] = [vectors[i, : len(w)].copy() for i, w in enumerate(words)]
    return cache[words]


def encode_with_contexts(
    encoded: Sequence[EncodedSentence], sentences: Sequence[TaggedSentence], embeddings
) -> list[EncodedSentence]:
    """``encoded`` with the contextual vectors (T_i, 2H) of ``sentences`` under
    ``embeddings`` (a :class:`~pirho.nn.ContextualStringEmbeddings`), in one pass; a frozen
    model's vectors of the same sentences are computed once (kept while the model lives)."""
    vectors = _sentence_vectors([s.words for s in sentences], embeddings)
    return [e._replace(context=v) for e, v in zip(encoded, vectors, strict=True)]


def with_contexts(
    encoded: Sequence[EncodedSentence], words: Sequence[Sequence[str]], tagger: Tagger
) -> list[EncodedSentence]:
    """``encoded`` with each sentence's contextual vectors from ``tagger``'s embeddings (the
    sentences unchanged when it has none), computed once per sentence set like
    :func:`encode_with_contexts`'s.

    >>> vocab = TaggingVocab.build([TaggedSentence(("a",), ("X",))])
    >>> tagger = Tagger(len(vocab.words), len(vocab.chars), 1, hidden_size=4)
    >>> with_contexts([vocab.encode(["a"])], [["a"]], tagger)[0].context is None
    True
    """
    if tagger.embeddings is None:
        return list(encoded)
    contexts = _sentence_vectors(words, tagger.embeddings)
    return [s._replace(context=c) for s, c in zip(encoded, contexts, strict=True)]


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
    """The tagger's tags (argmax or Viterbi) for each sentence, as int64 arrays (T_i,).

    >>> vocab = TaggingVocab.build([TaggedSentence(("a", "b"), ("X", "Y"))])
    >>> tagger = Tagger(len(vocab.words), len(vocab.chars), 2, hidden_size=4).eval()
    >>> tags = predict_tags(tagger, [vocab.encode(["a", "b", "a"]), vocab.encode(["b"])])
    >>> [t.shape for t in tags], bool(np.all((tags[0] >= 0) & (tags[0] < 2)))
    ([(3,), (1,)], True)
    """
    order = np.argsort([len(s.words) for s in encoded], kind="stable")
    predicted: list[np.ndarray | None] = [None] * len(encoded)
    for lo in range(0, len(order), batch_size):
        index = order[lo : lo + batch_size]
        tags = tagger.predict(pad_batch([encoded[i] for i in index])).numpy()
        for row, i in enumerate(index):
            predicted[i] = tags[row, : len(encoded[i].words)]
    return predicted


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
    accuracy, and the history (one dict per epoch: ``epoch``, ``dev_acc``, …).

    ``config``: ``epochs``, ``batch_size``, ``lr``, ``word_dim``, ``char_dim``,
    ``char_hidden``, ``hidden_size``, ``dropout`` and ``word_dropout`` — a probability, or
    ``"document"``, which needs ``dropout_rates`` (V,) from :func:`word_dropout_rates`; and
    optionally ``lr_schedule`` (:data:`pirho.train.LR_SCHEDULES`, default ``"constant"``). The
    ``+cse`` models need ``embeddings`` (a :class:`~pirho.nn.ContextualStringEmbeddings`) and
    sentences whose ``context`` holds its vectors (:func:`encode_with_contexts`).

    >>> s = TaggedSentence(("佢", "去"), ("r", "v"))
    >>> vocab = TaggingVocab.build([s])
    >>> config = dict(epochs=2, batch_size=4, lr=0.01, word_dim=4, char_dim=4, char_hidden=4,
    ...               hidden_size=4, dropout=0.0, word_dropout=0.0)
    >>> data = [vocab.encode(s.words, s.tags)] * 8
    >>> tagger, history = train_tagger(data, data, vocab, model="bi", config=config,
    ...                                progress=False)
    >>> [h["epoch"] for h in history], type(tagger).__name__, tagger.training
    ([1, 2], 'Tagger', False)
    """
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
        lr_schedule=config.get("lr_schedule", "constant"),
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
