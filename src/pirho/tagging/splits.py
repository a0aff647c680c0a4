"""The corpus a tagger is fitted on: the train/dev/test split and the vocabulary of its
training part (:func:`prepare`), refused when a part would be empty (:func:`check_split`).
"""

from __future__ import annotations

import os

from pirho._checks import check_choice, check_positive_int
from pirho.data.corpora import (
    SPLIT_PERIOD,
    CorpusSplit,
    TaggingVocab,
    load_corpus,
    split_by_document,
    split_by_utterance,
)

__all__ = ["SPLIT_BY", "check_split", "prepare"]

#: How the corpus is cut into train/dev/test: by document (the default) or by utterance.
SPLIT_BY = ("document", "utterance")


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
    """The split and the vocabulary built on its training part.

    ``corpus``: ``"hkcancor"`` or a ``.conllu`` / ``word/TAG`` file
    (:func:`~pirho.data.corpora.load_corpus`); ``tagset`` applies to HKCanCor only.
    ``split_by``: :func:`~pirho.data.corpora.split_by_document` or
    :func:`~pirho.data.corpora.split_by_utterance` (seed 0); the training part optionally cut
    to its first ``max_train_sentences``. The vocabulary's tag set is every tag of the corpus.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.txt"
    >>> _ = path.write_text("佢/r 去/v\\n" * 20, encoding="utf-8")
    >>> split, vocab = prepare(path, "hkcancor")
    >>> [len(part) for part in split[:3]], vocab.words.idx_to_token, vocab.tags
    ([16, 2, 2], ['<unk>', '佢', '去'], ('r', 'v'))
    """
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
