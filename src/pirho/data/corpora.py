"""Part-of-speech tagged corpora: HKCanCor, CoNLL-U treebanks and ``word/TAG`` files.

A :class:`TaggedCorpus` keeps its sentences grouped by document (a conversation file of
HKCanCor, a ``# newdoc`` block of a CoNLL-U file), because the train/dev/test split is made by
document: utterances of one conversation share speakers, topics and names, and a split that
scattered them would let the test set leak into training.

- :func:`hkcancor`: the Hong Kong Cantonese Corpus (Luke & Wong 2015, CC BY 4.0) as shipped
  inside the ``pycantonese`` wheel (read offline): 58 conversation files, 16,160 utterances,
  125,394 tokens with one of 94 HKCanCor tags, or of 15 Universal Dependencies tags
  (``tagset="ud"``, pycantonese's own mapping). Punctuation (untagged in the corpus) is left out.
- :func:`ctcpc`: the Cantonese side of the Cantonese–Traditional Chinese Parallel Corpus (CC0
  1.0), also inside the ``pycantonese`` wheel: 121,137 untagged sentences as lists of words, raw
  text for character language models. It contains HKCanCor utterances (punctuated):
  :func:`ctcpc_overlap` measures that against held-out text and :func:`drop_overlapping` removes
  them before pretraining.
- :func:`read_conllu`: any CoNLL-U file (Universal Dependencies), through the ``conllu`` library.
- :func:`read_word_tag`: one sentence per line, tokens ``word/TAG`` separated by whitespace.
- :func:`split_by_document`: the deterministic ~80/10/10 split; :func:`split_by_utterance`: a
  random one that ignores documents (easier); :func:`document_frequencies`: in how many
  training documents each word occurs.
- :class:`TaggingVocab`: words (with ``<unk>``), characters (with ``<unk>``) and tags.

``pycantonese`` and ``conllu`` are the optional extra ``pirho[corpora]``; without them the
loaders raise :class:`MissingExtraError` saying how to install it.
"""

from __future__ import annotations

import importlib
import importlib.resources
import io
import json
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pirho._checks import check_choice
from pirho._files import read_text
from pirho.data.text import UNK, Vocab

TAGSETS = ("hkcancor", "ud")
SPLITS = ("train", "dev", "test")
# One document in ten goes to dev and one to test, interleaved over the documents sorted by name.
SPLIT_PERIOD = 10
DEV_SLOT = 8
TEST_SLOT = 9
# A corpus with fewer documents than SPLIT_PERIOD is cut into this many contiguous blocks.
N_PSEUDO_DOCUMENTS = 20
EXTRA_HINT = "pip install 'pirho[corpora]'"

__all__ = [
    "SPLITS",
    "TAGSETS",
    "CorpusSplit",
    "MissingExtraError",
    "TaggedCorpus",
    "TaggedSentence",
    "TaggingVocab",
    "corpora_available",
    "ctcpc",
    "ctcpc_overlap",
    "drop_overlapping",
    "document_frequencies",
    "hkcancor",
    "load_corpus",
    "read_conllu",
    "read_word_tag",
    "split_by_document",
    "split_by_utterance",
]


class MissingExtraError(ImportError, ValueError):
    """An optional dependency of ``pirho[corpora]`` is not installed.

    A ValueError too, so that the command line reports it as ``pirho: error: …``.
    """


class TaggedSentence(NamedTuple):
    """One sentence (an utterance): ``words`` and their ``tags``, two tuples of equal length."""

    words: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class TaggedCorpus:
    """Tagged sentences grouped by document.

    name: where the corpus came from (``"hkcancor"``, a file name).
    tagset: the tag set's name (``"hkcancor"``, ``"ud"``, a CoNLL-U column, ``"file"``).
    documents: ``(document name, sentences)`` pairs in corpus order.

    >>> c = TaggedCorpus("toy", "file", (("d1", (TaggedSentence(("a", "b"), ("X", "Y")),)),))
    >>> c.n_sentences, c.n_tokens, c.tags
    (1, 2, ['X', 'Y'])
    """

    name: str
    tagset: str
    documents: tuple[tuple[str, tuple[TaggedSentence, ...]], ...]

    @property
    def sentences(self) -> list[TaggedSentence]:
        """Every sentence, in corpus order."""
        return [sentence for _, sentences in self.documents for sentence in sentences]

    @property
    def n_sentences(self) -> int:
        return sum(len(sentences) for _, sentences in self.documents)

    @property
    def n_tokens(self) -> int:
        return sum(len(s.words) for _, sentences in self.documents for s in sentences)

    @property
    def tags(self) -> list[str]:
        """The distinct tags, sorted."""
        return sorted({tag for s in self.sentences for tag in s.tags})


def corpora_available() -> str | None:
    """None when ``pycantonese`` and ``conllu`` import, else one line saying what is missing.

    >>> corpora_available() is None or "pirho[corpora]" in corpora_available()
    True
    """
    missing = [name for name in ("pycantonese", "conllu") if not _importable(name)]
    if not missing:
        return None
    return f"needs {' and '.join(missing)}: {EXTRA_HINT}"


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _import_extra(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingExtraError(
            f"reading this corpus needs the {name!r} package: {EXTRA_HINT}"
        ) from exc


# ---------------------------------------------------------------------------------------------
# Readers


def hkcancor(tagset: str = "hkcancor") -> TaggedCorpus:
    """The Hong Kong Cantonese Corpus, one document per conversation file (58 files).

    ``tagset="hkcancor"``: the corpus's own 94 tags; ``"ud"``: 15 Universal Dependencies tags
    through ``pycantonese.pos_tagging.hkcancor_to_ud``. Untagged tokens (punctuation) are
    dropped, and utterances left empty with them. Needs ``pirho[corpora]``.

    >>> corpus = hkcancor()  # doctest: +SKIP
    >>> corpus.n_sentences, corpus.n_tokens, len(corpus.tags)  # doctest: +SKIP
    (16160, 125394, 94)
    """
    check_choice("tagset", tagset, TAGSETS)
    pycantonese = _import_extra("pycantonese")
    chat = pycantonese.hkcancor()
    if tagset == "ud":
        to_ud = pycantonese.pos_tagging.hkcancor_to_ud

        def convert(tag: str) -> str:
            return to_ud(tag)
    else:

        def convert(tag: str) -> str:
            return tag

    documents = []
    by_file = chat.tokens(by_utterance=True, by_file=True)
    for path, utterances in zip(chat.file_paths, by_file, strict=True):
        sentences = []
        for utterance in utterances:
            tagged = [(token.word, convert(token.pos)) for token in utterance if token.pos]
            if tagged:
                words, tags = zip(*tagged, strict=True)
                sentences.append(TaggedSentence(tuple(words), tuple(tags)))
        documents.append((Path(path).stem, tuple(sentences)))
    return TaggedCorpus("hkcancor", tagset, tuple(documents))


def ctcpc(segment: bool = False) -> list[list[str]]:
    """The Cantonese sentences of the Cantonese–Traditional Chinese Parallel Corpus (CTCPC).

    Read offline from the ``pycantonese`` wheel (``pycantonese/data/ctcpc/sents.json``, CC0 1.0;
    collected from raptorkwok/cantonese-traditional-chinese-parallel-corpus on Hugging Face), in
    the file's order, which is sorted by the sentences' text — shuffle before holding text out.
    Written in traditional characters. Control characters are dropped and sentences left empty
    with them (one) are left out: 121,137 sentences, 1,850,735 characters besides whitespace.

    Each sentence is a list of words. ``segment=False``: the file's own whitespace, which
    segments only about 11 % of the sentences (the rest come as one "word" each);
    ``segment=True``: those unsegmented sentences go through ``pycantonese.segment`` (about
    100 s for the corpus). Needs ``pirho[corpora]`` (pycantonese ≥ 5).

    >>> sentences = ctcpc()  # doctest: +SKIP
    >>> len(sentences), sum(len(w) for s in sentences for w in s)  # doctest: +SKIP
    (121137, 1850735)
    """
    pycantonese = _import_extra("pycantonese")
    source = importlib.resources.files("pycantonese") / "data" / "ctcpc" / "sents.json"
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MissingExtraError(
            f"this pycantonese has no CTCPC data ({source}); it ships from pycantonese 5.0: "
            "pip install 'pycantonese>=5'"
        ) from exc
    sentences = []
    for line in raw:
        words = "".join(c for c in line if unicodedata.category(c) != "Cc").split()
        if segment and len(words) == 1:
            words = list(pycantonese.segment(words[0]))
        if words:
            sentences.append(words)
    return sentences


def read_conllu(path: str | os.PathLike, column: str = "upos") -> TaggedCorpus:
    """A CoNLL-U file as a :class:`TaggedCorpus`, tags from ``column`` (``"upos"``, ``"xpos"``…).

    Documents follow ``# newdoc id = …`` comments (one document named after the file when there
    are none). Multiword-token lines (``1-2``) and empty nodes (``1.1``) are skipped: the tagged
    units are the syntactic words. A word without a value in ``column`` (``_``) is an error
    naming the file and sentence. Needs the ``conllu`` package (``pirho[corpora]``).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy.conllu"
    >>> _ = p.write_text("1\\t我\\t我\\tPRON\\t_\\t_\\t0\\troot\\t_\\t_\\n\\n", encoding="utf-8")
    >>> read_conllu(p).sentences  # doctest: +SKIP
    [TaggedSentence(words=('我',), tags=('PRON',))]
    """
    conllu = _import_extra("conllu")
    path = Path(path)
    if not isinstance(column, str) or not column:
        raise ValueError(f"column must be a CoNLL-U field name such as 'upos', got {column!r}")
    documents: list[tuple[str, list[TaggedSentence]]] = []
    text = read_text(path, "corpus file")  # errors name the file: missing, folder, not UTF-8
    for index, token_list in enumerate(conllu.parse_incr(io.StringIO(text))):
        doc_id = token_list.metadata.get("newdoc id")
        if doc_id is not None or not documents:
            documents.append((doc_id or path.stem, []))
        words, tags = [], []
        for token in token_list:
            if not isinstance(token["id"], int):
                continue
            tag = token.get(column)
            if tag in (None, "_"):
                sent_id = token_list.metadata.get("sent_id", index + 1)
                raise ValueError(
                    f"{path}: sentence {sent_id}, word {token['form']!r} has no {column!r}"
                )
            words.append(token["form"])
            tags.append(tag)
        if words:
            documents[-1][1].append(TaggedSentence(tuple(words), tuple(tags)))
    return _corpus_from(path, column, documents)


def read_word_tag(path: str | os.PathLike, separator: str = "/") -> TaggedCorpus:
    """A plain ``word/TAG`` file: one sentence per line, whitespace between tokens.

    The tag is what follows the *last* ``separator`` of a token (so ``1/2/NUM`` is the word
    ``1/2``). Blank lines are skipped. One document, named after the file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy.txt"
    >>> _ = p.write_text("佢/r 去/v\\n1/2/m\\n", encoding="utf-8")
    >>> [s.tags for s in read_word_tag(p).sentences]
    [('r', 'v'), ('m',)]
    """
    path = Path(path)
    sentences = []
    for line_number, line in enumerate(read_text(path, "corpus file").splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        pairs = [token.rpartition(separator) for token in tokens]
        bad = [t for t, (word, sep, tag) in zip(tokens, pairs, strict=True) if not (word and tag)]
        if bad:
            raise ValueError(
                f"{path}: line {line_number}: token {bad[0]!r} is not word{separator}TAG"
            )
        words = tuple(word for word, _, _ in pairs)
        tags = tuple(tag for _, _, tag in pairs)
        sentences.append(TaggedSentence(words, tags))
    return _corpus_from(path, "file", [(path.stem, sentences)])


def _corpus_from(path: Path, tagset: str, documents: list) -> TaggedCorpus:
    documents = [(name, tuple(sentences)) for name, sentences in documents if sentences]
    if not documents:
        raise ValueError(f"corpus file {path} holds no tagged sentence")
    return TaggedCorpus(path.name, tagset, tuple(documents))


def load_corpus(corpus: str | os.PathLike, tagset: str = "hkcancor") -> TaggedCorpus:
    """``"hkcancor"`` (with ``tagset``), a ``.conllu`` file (UPOS) or a ``word/TAG`` file.

    >>> load_corpus("hkcancor", tagset="ud").tags[:3]  # doctest: +SKIP
    ['ADJ', 'ADP', 'ADV']
    """
    if str(corpus) == "hkcancor":
        return hkcancor(tagset)
    path = Path(corpus)
    if path.suffix.lower() == ".conllu":
        return read_conllu(path)
    return read_word_tag(path)


# ---------------------------------------------------------------------------------------------
# Split


class CorpusSplit(NamedTuple):
    """Sentences of the train/dev/test split, and the documents behind each part.

    ``train_document_of`` (one int per training sentence): the index in ``documents["train"]``
    of the document each training sentence comes from (empty when unknown).
    """

    train: list[TaggedSentence]
    dev: list[TaggedSentence]
    test: list[TaggedSentence]
    documents: dict[str, list[str]]
    train_document_of: tuple[int, ...] = ()

    def sizes(self) -> dict[str, dict[str, int]]:
        """Documents, sentences and tokens per part."""
        return {
            part: {
                "documents": len(self.documents[part]),
                "sentences": len(getattr(self, part)),
                "tokens": sum(len(s.words) for s in getattr(self, part)),
            }
            for part in SPLITS
        }


def split_by_document(corpus: TaggedCorpus) -> CorpusSplit:
    """The deterministic ~80/10/10 split by document (no seed: the same split every run).

    Documents sorted by name; of every ten consecutive ones, the ninth goes to dev and the
    tenth to test, the others to train. A corpus with fewer than ten documents is first cut
    into 20 contiguous blocks of sentences (named ``"<document>#<block>"``) that take the
    documents' place.

    >>> s = TaggedSentence(("a",), ("X",))
    >>> docs = tuple((f"d{i:02d}", (s,)) for i in range(20))
    >>> split = split_by_document(TaggedCorpus("toy", "file", docs))
    >>> split.documents["dev"], split.documents["test"], len(split.train)
    (['d08', 'd18'], ['d09', 'd19'], 16)
    """
    documents = sorted(corpus.documents, key=lambda item: item[0])
    if len(documents) < SPLIT_PERIOD:
        documents = _blocks(corpus)
    parts: dict[str, list] = {part: [] for part in SPLITS}
    names: dict[str, list[str]] = {part: [] for part in SPLITS}
    train_document_of: list[int] = []
    for position, (name, sentences) in enumerate(documents):
        slot = position % SPLIT_PERIOD
        part = "dev" if slot == DEV_SLOT else "test" if slot == TEST_SLOT else "train"
        if part == "train":
            train_document_of.extend([len(names["train"])] * len(sentences))
        parts[part].extend(sentences)
        names[part].append(name)
    return CorpusSplit(parts["train"], parts["dev"], parts["test"], names, tuple(train_document_of))


def split_by_utterance(corpus: TaggedCorpus, seed: int = 0) -> CorpusSplit:
    """A random ~80/10/10 split of the sentences themselves, ignoring documents.

    The setting of many published tagging figures, and an easier one than
    :func:`split_by_document`: sentences of one conversation (its names, its topic) land on both
    sides, so fewer test words are unknown and those that are look more like training words.
    Deterministic for a ``seed``. ``documents[part]`` lists the documents with a sentence in
    ``part``; ``train_document_of`` still gives each training sentence's document.

    >>> docs = tuple((f"d{i}", (TaggedSentence((f"w{i}",), ("X",)),) * 10) for i in range(3))
    >>> split = split_by_utterance(TaggedCorpus("toy", "file", docs))
    >>> [len(part) for part in split[:3]], split.documents["train"]
    ([24, 3, 3], ['d0', 'd1', 'd2'])
    """
    labelled = [(name, s) for name, sentences in corpus.documents for s in sentences]
    order = np.random.default_rng(seed).permutation(len(labelled))
    n_held_out = len(labelled) // SPLIT_PERIOD
    picks = {
        "test": order[:n_held_out],
        "dev": order[n_held_out : 2 * n_held_out],
        "train": np.sort(order[2 * n_held_out :]),
    }
    parts = {part: [labelled[i][1] for i in picks[part]] for part in SPLITS}
    position = {name: i for i, (name, _) in enumerate(corpus.documents)}
    names = {
        part: sorted({labelled[i][0] for i in picks[part]}, key=position.__getitem__)
        for part in SPLITS
    }
    train_index = {name: i for i, name in enumerate(names["train"])}
    train_document_of = tuple(train_index[labelled[i][0]] for i in picks["train"])
    return CorpusSplit(parts["train"], parts["dev"], parts["test"], names, train_document_of)


def document_frequencies(split: CorpusSplit) -> Counter:
    """How many training documents each training word occurs in (word → count).

    A word confined to one conversation is a topic word, like the words a new conversation
    brings: the taggers' word dropout replaces it by ``<unk>`` most often.

    >>> s1, s2 = TaggedSentence(("a", "b"), ("X", "Y")), TaggedSentence(("a",), ("X",))
    >>> split = CorpusSplit([s1, s2, s2], [], [], {"train": ["d1", "d2"]}, (0, 0, 1))
    >>> sorted(document_frequencies(split).items())
    [('a', 2), ('b', 1)]
    """
    if len(split.train_document_of) != len(split.train):
        raise ValueError(
            f"the split records the document of {len(split.train_document_of)} of its "
            f"{len(split.train)} training sentences; build it with split_by_document or "
            "split_by_utterance"
        )
    words_of: dict[int, set[str]] = {}
    for document, sentence in zip(split.train_document_of, split.train, strict=True):
        words_of.setdefault(document, set()).update(sentence.words)
    return Counter(word for words in words_of.values() for word in words)


def _blocks(corpus: TaggedCorpus) -> list[tuple[str, tuple[TaggedSentence, ...]]]:
    labelled = [(name, s) for name, sentences in corpus.documents for s in sentences]
    n_blocks = min(N_PSEUDO_DOCUMENTS, len(labelled))
    bounds = np.linspace(0, len(labelled), n_blocks + 1).round().astype(int)
    blocks = []
    for block, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        first_document = labelled[lo][0]
        blocks.append((f"{first_document}#{block:02d}", tuple(s for _, s in labelled[lo:hi])))
    return blocks


# ---------------------------------------------------------------------------------------------
# Vocabularies and encoding


class EncodedSentence(NamedTuple):
    """A sentence as indices: ``words`` (T,), ``chars`` (T, L) padded with 0 beyond each word's
    ``char_lengths`` (T,), ``tags`` (T,); all int64 arrays. ``context`` (T, D) float32: each
    word's contextual vector (:class:`pirho.nn.ContextualStringEmbeddings`), or None."""

    words: np.ndarray
    chars: np.ndarray
    char_lengths: np.ndarray
    tags: np.ndarray
    context: np.ndarray | None = None


@dataclass(frozen=True)
class TaggingVocab:
    """Index maps for tagging: words and characters (each with ``<unk>`` at 0) and tags.

    words: training words seen at least ``min_freq`` times. chars: every character of a
    training word. tags: the tag set (all tags of the corpus: the annotation's inventory,
    known in advance, not learned).

    >>> train = [TaggedSentence(("佢", "去", "去"), ("r", "v", "v"))]
    >>> vocab = TaggingVocab.build(train, tags=["r", "v"])
    >>> vocab.words.idx_to_token, vocab.encode(("去", "行")).words.tolist()
    (['<unk>', '去', '佢'], [1, 0])
    """

    words: Vocab
    chars: Vocab
    tags: tuple[str, ...]

    @classmethod
    def build(cls, train: list[TaggedSentence], tags=None, min_freq: int = 1) -> TaggingVocab:
        """From the training sentences; ``tags`` defaults to the tags seen in them."""
        words = Vocab([s.words for s in train], min_freq=min_freq)
        chars = Vocab([ch for s in train for word in s.words for ch in word])
        tag_list = sorted({t for s in train for t in s.tags}) if tags is None else list(tags)
        return cls(words, chars, tuple(tag_list))

    @property
    def tag_index(self) -> dict[str, int]:
        return {tag: i for i, tag in enumerate(self.tags)}

    def is_known(self, word: str) -> bool:
        """Whether ``word`` has its own index (else it is ``<unk>``)."""
        return word in self.words and word != UNK

    def encode(self, words, tags=None) -> EncodedSentence:
        """Index arrays for one sentence; ``tags`` None gives tags of −1. An unknown tag is a
        ValueError naming it."""
        word_ids = np.asarray(self.words[list(words)], dtype=np.int64).reshape(-1)
        lengths = np.array([max(len(w), 1) for w in words], dtype=np.int64)
        chars = np.zeros((len(words), int(lengths.max(initial=1))), dtype=np.int64)
        for i, word in enumerate(words):
            ids = self.chars[list(word)]
            chars[i, : len(ids)] = ids
        if tags is None:
            tag_ids = np.full(len(words), -1, dtype=np.int64)
        else:
            index = self.tag_index
            unknown = [t for t in tags if t not in index]
            if unknown:
                raise ValueError(f"tag {unknown[0]!r} is not in the tag set {list(self.tags)}")
            tag_ids = np.array([index[t] for t in tags], dtype=np.int64)
        return EncodedSentence(word_ids, chars, lengths, tag_ids)

    def to_dict(self) -> dict:
        """JSON-able (for checkpoints); :meth:`from_dict` rebuilds it."""
        return {"words": self.words.to_dict(), "chars": self.chars.to_dict(), "tags": self.tags}

    @classmethod
    def from_dict(cls, d: dict) -> TaggingVocab:
        return cls(Vocab.from_dict(d["words"]), Vocab.from_dict(d["chars"]), tuple(d["tags"]))


def word_counts(sentences: list[TaggedSentence]) -> Counter:
    """How often each word occurs in ``sentences``."""
    return Counter(word for s in sentences for word in s.words)


# ---------------------------------------------------------------------------------------------
# CTCPC: raw Cantonese text (untagged), for character language models.
#: Sentences in ``pycantonese/data/ctcpc/sents.json`` (one holds only a control character);
#: :func:`ctcpc` reads them.
CTCPC_RAW_SENTENCES = 121_138


class Overlap(NamedTuple):
    """How much of a held-out text a raw corpus contains.

    n_sentences: held-out sentences checked. exact: how many of them (at least ``min_chars``
    characters, whitespace ignored) occur verbatim as a corpus sentence. ngram: how many share
    at least one character ``n``-gram with the corpus. n_ngrams: distinct held-out n-grams;
    shared_ngrams: how many of those occur in the corpus. examples: a few shared n-grams.
    """

    n_sentences: int
    exact: int
    ngram: int
    n_ngrams: int
    shared_ngrams: int
    examples: tuple[str, ...]


def _plain(sentence) -> str:
    words = sentence.words if isinstance(sentence, TaggedSentence) else sentence
    return "".join("".join(words).split())


def _ngrams(text: str, n: int) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def ctcpc_overlap(
    heldout: list[list[str]] | list[TaggedSentence],
    corpus: list[list[str]],
    n: int = 8,
    min_chars: int = 8,
) -> Overlap:
    """Exact-sentence and character ``n``-gram overlap of ``heldout`` with ``corpus``.

    Sentences are compared with whitespace removed (CTCPC is mostly unsegmented). ``exact``
    counts only held-out sentences of ``min_chars`` characters or more: a one-word utterance
    such as 係 occurs everywhere and says nothing about leakage.

    >>> ctcpc_overlap([["我哋", "今日", "去", "行山"]], [["我哋今日去行山"]], n=4, min_chars=4)
    Overlap(n_sentences=1, exact=1, ngram=1, n_ngrams=4, shared_ngrams=4, examples=('今日去行',...))
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    corpus_text = {_plain(words) for words in corpus}
    corpus_ngrams: set[str] = set()
    for text in corpus_text:
        corpus_ngrams |= _ngrams(text, n)
    exact = ngram = 0
    heldout_ngrams: set[str] = set()
    for sentence in heldout:
        text = _plain(sentence)
        grams = _ngrams(text, n)
        heldout_ngrams |= grams
        exact += len(text) >= min_chars and text in corpus_text
        ngram += bool(grams & corpus_ngrams)
    shared = sorted(heldout_ngrams & corpus_ngrams)
    return Overlap(len(heldout), exact, ngram, len(heldout_ngrams), len(shared), tuple(shared[:5]))


def drop_overlapping(
    corpus: list[list[str]], heldout: list[list[str]] | list[TaggedSentence], n: int = 8
) -> list[list[str]]:
    """``corpus`` without every sentence that shares a character ``n``-gram with ``heldout``.

    CTCPC contains HKCanCor utterances (with punctuation added), so a language model
    pretrained on it for HKCanCor tagging must not see the dev and test conversations:
    ``drop_overlapping(ctcpc(), split.dev + split.test)``. Afterwards
    ``ctcpc_overlap(heldout, kept, n)`` finds nothing (a shorter ``n`` drops more).

    >>> drop_overlapping([["今日去行山"], ["食飯"]], [["我", "今日", "去", "行山"]], n=4)
    [['食飯']]
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    heldout_ngrams: set[str] = set()
    for sentence in heldout:
        heldout_ngrams |= _ngrams(_plain(sentence), n)
    kept = []
    for words in corpus:
        if not (_ngrams(_plain(words), n) & heldout_ngrams):
            kept.append(words)
    return kept
