"""Contextual string embeddings (Akbik, Blythe & Vollgraf 2018): a word in its context.

Two character language models read the same text: a forward LM left to right and a backward
LM right to left (an LSTM each, :class:`~pirho.nn.models.RNNLM` with a character embedding and
one layer). A sentence of words w_1..w_n is written as the character string

    ``"\\n" + w_1 + " " + w_2 + " " + ... + w_n + "\\n"``

(``" "``: the boundary symbol between words, ``"\\n"``: between sentences, as in the training
stream), and word i is represented by

    [H→ after w_i's last character ; H← after (reading right to left) w_i's first character]

— the forward state has read the sentence up to the end of the word (left context + word), the
backward state has read it from the end back to the word's start (right context + word). A
change to the left context therefore reaches only the forward half, a change to the right
context only the backward half. Both LMs are honest language models: neither reads the
character it predicts (unlike the bidirectional d2l model of the lm-leak experiment).

Training (truncated back-propagation through long character streams, the state carried across
windows) lives in :mod:`pirho.lm.cse`; this module holds the model, ``embed`` and ``save``/``load``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pirho._checks import check_positive_int
from pirho.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from pirho.data import Vocab
from pirho.data.text import UNK
from pirho.nn.models import RNNLM, _check_tokens

__all__ = ["BOUNDARY", "SENTENCE_MARK", "ContextualStringEmbeddings", "sentence_text"]

#: Between two words of a sentence.
BOUNDARY = " "
#: Between two sentences (and at both ends of an embedded sentence).
SENTENCE_MARK = "\n"


def sentence_text(words: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """The character string of a sentence and each word's first and last character position.

    >>> sentence_text(["佢", "去咗"])
    ('\\n佢 去咗\\n', [1, 3], [1, 4])
    """
    firsts, lasts = [], []
    position = 1
    for word in words:
        if not isinstance(word, str) or not word or any(c.isspace() for c in word):
            raise ValueError(f"each word must be a non-empty string without whitespace: {word!r}")
        firsts.append(position)
        lasts.append(position + len(word) - 1)
        position += len(word) + 1
    return SENTENCE_MARK + BOUNDARY.join(words) + SENTENCE_MARK, firsts, lasts


class ContextualStringEmbeddings(nn.Module):
    """A forward and a backward character LM whose states represent words in context.

    vocab: the characters (a :class:`~pirho.data.Vocab`, or its ``to_dict()``); it must hold the
    boundary symbols ``" "`` and ``"\\n"``. hidden_size: H, the LSTM size of each direction;
    embedding_dim: the character embedding size. ``fine_tune=False`` (the default) freezes the
    parameters and :meth:`embed` runs without gradients; ``fine_tune=True`` lets gradients in.

    ``forward(forward_tokens, backward_tokens, state)`` is the training step's pass: tokens
    (B, T) of the stream and of the reversed stream, each LM's state carried from the previous
    window (or None) → (forward logits (B, T, V), backward logits (B, T, V), new state).

    >>> from pirho.data import Vocab
    >>> cse = ContextualStringEmbeddings(Vocab(list("佢去咗 \\n")), hidden_size=8, embedding_dim=4)
    >>> tuple(cse.embed([["佢", "去咗"], ["去"]]).shape)
    (2, 2, 16)
    """

    kind = "cse"

    def __init__(
        self,
        vocab: Vocab | dict,
        hidden_size: int = 256,
        embedding_dim: int = 64,
        *,
        fine_tune: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(vocab, dict):
            vocab = Vocab.from_dict(vocab)
        if not isinstance(vocab, Vocab):
            raise TypeError(f"vocab must be a pirho.data.Vocab or its to_dict(), got {vocab!r:.80}")
        for symbol in (BOUNDARY, SENTENCE_MARK):
            if symbol not in vocab:
                raise ValueError(f"vocab must hold the boundary symbol {symbol!r}")
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("embedding_dim", embedding_dim)
        self.vocab = vocab
        self.hidden_size = hidden_size
        self.config = {"hidden_size": hidden_size, "embedding_dim": embedding_dim}
        options = dict(num_layers=1, cell="lstm", embedding_dim=embedding_dim, text_mode="raw")
        self.forward_lm = RNNLM(len(vocab), hidden_size, vocab=vocab, **options)
        self.backward_lm = RNNLM(len(vocab), hidden_size, vocab=vocab, **options)
        self.fine_tune = bool(fine_tune)
        self.requires_grad_(self.fine_tune)

    @property
    def output_size(self) -> int:
        """2H: the size of one word's vector."""
        return 2 * self.hidden_size

    @property
    def meta(self) -> dict:
        """JSON-able: ``{"kind", "config", "vocab"}`` — what :meth:`from_meta` rebuilds from."""
        return {"kind": self.kind, "config": dict(self.config), "vocab": self.vocab.to_dict()}

    @classmethod
    def from_meta(cls, meta: dict, fine_tune: bool = False) -> ContextualStringEmbeddings:
        """A freshly initialised model with the architecture and vocabulary of ``meta``."""
        if not isinstance(meta, dict) or meta.get("kind") != cls.kind:
            raise ValueError(f"not a contextual-string-embeddings meta: {meta!r:.120}")
        return cls(meta["vocab"], **meta["config"], fine_tune=fine_tune)

    def forward(
        self, forward_tokens: Tensor, backward_tokens: Tensor, state=None
    ) -> tuple[Tensor, Tensor, tuple]:
        """Both LMs over one window: logits (B, T, V) each, logits[:, t] scoring the next
        character of its own reading direction; the new (forward, backward) LSTM states."""
        forward_state, backward_state = state if state is not None else (None, None)
        forward_logits, forward_state = self.forward_lm(forward_tokens, forward_state)
        backward_logits, backward_state = self.backward_lm(backward_tokens, backward_state)
        return forward_logits, backward_logits, (forward_state, backward_state)

    @staticmethod
    def _states(lm: RNNLM, tokens: Tensor) -> Tensor:
        """The LSTM's outputs (B, T, H) for tokens (B, T) from a zero state."""
        tokens = _check_tokens(tokens, lm.vocab_size)
        out, _ = lm.rnn(lm.embedding(tokens.t()))
        return out.transpose(0, 1)

    def encode(self, text: str) -> list[int]:
        """Character indices of ``text`` (characters outside the vocabulary → ``<unk>``)."""
        return self.vocab[list(text)]

    def embed(self, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> Tensor:
        """Contextual vectors (B, T_words, 2H), float32, of ``sentences`` (B lists of words).

        ``[:, i, :H]``: the forward LM's state after word i's last character; ``[:, i, H:]``:
        the backward LM's state after reading, right to left, down to word i's first
        character. Positions beyond a sentence's length are 0. Characters outside the
        vocabulary read as ``<unk>``. Sentences are processed ``batch_size`` at a time,
        padded at the end (which no state at a real position reads).

        >>> from pirho.data import Vocab
        >>> cse = ContextualStringEmbeddings(Vocab(list("ab \\n")), hidden_size=3, embedding_dim=2)
        >>> vectors = cse.embed([["ab", "b"]])
        >>> tuple(vectors.shape), bool((vectors[0, 1] != 0).all())
        ((1, 2, 6), True)
        """
        if isinstance(sentences, str) or not isinstance(sentences, Sequence):
            raise TypeError("sentences must be a list of sentences, each a list of word strings")
        for i, words in enumerate(sentences):
            if isinstance(words, str) or not isinstance(words, Sequence) or not words:
                raise ValueError(f"sentence {i} must be a non-empty list of words, got {words!r}")
        check_positive_int("batch_size", batch_size)
        n_words = max((len(s) for s in sentences), default=0)
        chunks = []
        with torch.enable_grad() if self.fine_tune else torch.no_grad():
            for lo in range(0, len(sentences), batch_size):
                vectors = self._embed_batch(sentences[lo : lo + batch_size]).float()
                chunks.append(F.pad(vectors, (0, 0, 0, n_words - vectors.shape[1])))
        if not chunks:
            return torch.zeros(0, 0, self.output_size)
        return torch.cat(chunks)

    def _embed_batch(self, sentences: Sequence[Sequence[str]]) -> Tensor:
        texts, firsts, lasts = zip(*(sentence_text(list(w)) for w in sentences), strict=True)
        length = max(len(t) for t in texts)
        pad = self.vocab[SENTENCE_MARK]
        forward_ids = torch.full((len(texts), length), pad, dtype=torch.long)
        backward_ids = torch.full((len(texts), length), pad, dtype=torch.long)
        for b, text in enumerate(texts):
            ids = torch.tensor(self.encode(text), dtype=torch.long)
            forward_ids[b, : len(text)] = ids
            backward_ids[b, : len(text)] = ids.flip(0)
        forward_states = self._states(self.forward_lm, forward_ids)
        backward_states = self._states(self.backward_lm, backward_ids)
        n_words = max(len(s) for s in sentences)
        rows, forward_at, backward_at = [], [], []
        for b, text in enumerate(texts):
            rows.extend([b] * len(firsts[b]))
            forward_at.extend(lasts[b])
            # the reversed string's position of the word's first character
            backward_at.extend(len(text) - 1 - p for p in firsts[b])
        rows_t = torch.tensor(rows)
        vectors = torch.cat(
            [forward_states[rows_t, forward_at], backward_states[rows_t, backward_at]], dim=-1
        )
        out = torch.zeros(len(texts), n_words, self.output_size, dtype=vectors.dtype)
        word_index = torch.tensor([i for b in range(len(texts)) for i in range(len(firsts[b]))])
        out[rows_t, word_index] = vectors
        return out

    @torch.no_grad()
    def predict_next(self, text: str, direction: str = "forward", k: int = 5) -> list[tuple]:
        """The ``k`` likeliest characters after ``text`` (``direction="forward"``: ``text`` is
        the start of a sentence) or before it (``"backward"``: ``text`` is the end of a
        sentence), with probabilities, ``<unk>`` left out.

        >>> from pirho.data import Vocab
        >>> cse = ContextualStringEmbeddings(Vocab(list("ab \\n")), hidden_size=3, embedding_dim=2)
        >>> len(cse.predict_next("ab", "backward", k=2))
        2
        """
        if direction not in ("forward", "backward"):
            raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
        if not text:
            raise ValueError("text must not be empty")
        lm = self.forward_lm if direction == "forward" else self.backward_lm
        reading = SENTENCE_MARK + (text if direction == "forward" else text[::-1])
        ids = torch.tensor([self.encode(reading)], dtype=torch.long)
        was_training = lm.training
        lm.eval()
        logits = lm(ids)[0][0, -1].float()
        lm.train(was_training)
        logits[self.vocab[UNK]] = -float("inf")
        probs = F.softmax(logits, dim=-1)
        top = torch.topk(probs, min(k, len(self.vocab) - 1))
        return [(self.vocab.to_tokens(int(i)), float(p)) for p, i in zip(*top, strict=True)]

    def save(self, path: str | os.PathLike, **meta) -> Path:
        """Write a checkpoint that :meth:`load` reads (``meta`` is stored beside the model)."""
        return save_checkpoint(
            path, {"model_state": self.state_dict(), "meta": {**meta, **self.meta}}
        )

    @classmethod
    def load(cls, path: str | os.PathLike, fine_tune: bool = False) -> ContextualStringEmbeddings:
        """The model in a checkpoint written by :meth:`save` or ``pirho embed train``; its
        training meta (corpus, held-out bits per character …) is kept as ``checkpoint_meta``."""
        payload = load_checkpoint(path)
        meta = payload.get("meta") or {}
        if meta.get("kind") != cls.kind:
            raise CheckpointError(
                f"checkpoint {path} holds a {meta.get('kind')!r} model, not contextual string "
                f"embeddings ({cls.kind!r})"
            )
        model = cls.from_meta(meta, fine_tune=fine_tune)
        model.load_state_dict(payload["model_state"])
        model.eval()
        model.checkpoint_meta = meta
        return model
