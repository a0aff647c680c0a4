"""The text a language model sees: a character corpus split into training and held-out parts.

- :class:`LMText`: the split, its vocabulary and how queries are normalised to match it.
- :func:`load_lm_text`: The Time Machine (d2l's tokenisation) or any UTF-8 file, held-out tail.
- :func:`heldout_in_vocab`: the held-out text re-encoded with a trained model's vocabulary.

Free of torch, like :mod:`pirho.data`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from pirho._checks import check_int, check_positive_int
from pirho.data import Vocab, load_text_corpus, load_time_machine
from pirho.lm.defaults import HELDOUT_TOKENS

__all__ = ["LMText", "heldout_in_vocab", "load_lm_text"]


@dataclass
class LMText:
    """A character corpus split for language modelling.

    train:    the first ``max_tokens`` tokens (d2l: 10,000 of The Time Machine).
    heldout:  the last ``heldout_tokens`` tokens of the whole text (never in ``train``).
    vocab:    built on the whole text (d2l's 28 for The Time Machine).
    text_mode: how queries are normalised to match (``"d2l"``, ``"raw"``, ``"raw-lower"``).
    source:   a description for reports.

    >>> data = LMText([1, 2, 1], [2, 1], Vocab("ab"), "raw", "demo")
    >>> len(data.train), len(data.heldout), data.vocab.to_tokens(data.heldout)
    (3, 2, ['b', 'a'])
    """

    train: list[int]
    heldout: list[int]
    vocab: Vocab
    text_mode: str
    source: str


def load_lm_text(
    text: str | None = None,
    max_tokens: int | None = 10_000,
    heldout_tokens: int = HELDOUT_TOKENS,
    lowercase: bool = False,
) -> LMText:
    """Training and held-out text.

    ``text=None``: The Time Machine with d2l's tokenisation; otherwise any UTF-8 file at
    character level (``lowercase`` optional). Held out: the last ``heldout_tokens`` tokens of
    the whole text — at most a tenth of it (more is a ValueError saying how many the text
    allows); trained on: the first ``max_tokens`` tokens of what remains (None: all of it).

    >>> data = load_lm_text(max_tokens=10_000)  # doctest: +SKIP
    >>> len(data.train), len(data.heldout), len(data.vocab)  # doctest: +SKIP
    (10000, 5000, 28)
    """
    heldout_tokens = check_int("heldout_tokens", heldout_tokens, minimum=2)
    if max_tokens is not None:
        max_tokens = check_positive_int("max_tokens", max_tokens)
    if text is None:
        corpus, vocab = load_time_machine(max_tokens=None)
        text_mode, source = "d2l", "The Time Machine (d2l tokenisation)"
    else:
        corpus, vocab = load_text_corpus(text, max_tokens=None, lowercase=lowercase)
        text_mode, source = ("raw-lower" if lowercase else "raw"), str(text)
    limit = len(corpus) // 10
    if limit < 2:
        raise ValueError(f"{source}: {len(corpus)} characters is too short to hold text out")
    if heldout_tokens > limit:
        raise ValueError(
            f"heldout_tokens={heldout_tokens} is more than a tenth of {source} "
            f"({len(corpus):,} characters): at most {limit}"
        )
    rest, heldout = corpus[:-heldout_tokens], corpus[-heldout_tokens:]
    train_part = rest if max_tokens is None else rest[:max_tokens]
    return LMText(train_part, heldout, vocab, text_mode, source)


def heldout_in_vocab(data: LMText, vocab: Vocab) -> list[int]:
    """``data.heldout`` encoded with another ``vocab`` (a trained model's); characters that
    vocabulary lacks become ``<unk>``, with one UserWarning listing them.

    >>> data = LMText([1], [1, 2, 1], Vocab("ab"), "raw", "demo")
    >>> heldout_in_vocab(data, data.vocab) == data.heldout
    True
    """
    if data.vocab == vocab:
        return data.heldout
    characters = data.vocab.to_tokens(data.heldout)
    unknown = sorted({c for c in characters if c not in vocab})
    if unknown:
        warnings.warn(
            f"held-out text has characters the model never saw ({''.join(unknown[:20])!r}); "
            "they count as <unk>",
            UserWarning,
            stacklevel=2,
        )
    return vocab[characters]
