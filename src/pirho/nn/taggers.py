"""Recurrent taggers: x_1..x_T → a tag score for every step, uni- or bidirectional.

- :func:`recurrent_layer` — the uni/bi switch, written once: a unidirectional torch
  ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (its state at t has read x_1..x_t: a learned filter) or a
  :class:`~pirho.nn.BiRNN` with concat merge (H_t = [H→_t ; H←_t]: a learned smoother).
- :class:`StateTagger` — one-hot symbols → recurrent layer → ``Linear``: the tagger of the
  ``hmm-vs-rnn`` experiment (hidden states of an HMM from its symbols).
- :class:`Tagger` — a part-of-speech tagger for words: word embedding ⊕ a character BiLSTM over
  the word's characters (Cantonese words are built from characters, and most unknown words
  share characters with known ones) [⊕ the word's contextual string embedding] → dropout →
  uni/bi recurrent layer → ``Linear`` scores → softmax per step, or a
  :class:`~pirho.nn.LinearChainCRF` over the whole tag sequence.

Batches are :class:`TagBatch` tuples of padded tensors, batch-first, built by
:func:`pad_batch` from :class:`pirho.data.corpora.EncodedSentence` arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pirho._checks import check_choice, check_float, check_positive_int
from pirho.nn.birnn import CELLS, BiRNN
from pirho.nn.crf import LinearChainCRF
from pirho.nn.embeddings import ContextualStringEmbeddings
from pirho.nn.lm_eval import evaluating

OUTPUTS = ("softmax", "crf")
_TORCH_RNN = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

__all__ = ["OUTPUTS", "StateTagger", "TagBatch", "Tagger", "pad_batch", "recurrent_layer"]


def recurrent_layer(
    input_size: int,
    hidden_size: int,
    *,
    cell: str = "lstm",
    bidirectional: bool = True,
    num_layers: int = 1,
    dropout: float = 0.0,
) -> tuple[nn.Module, int]:
    """A batch-first recurrent layer and its output size per step.

    ``bidirectional``: ``BiRNN(..., merge="concat", batch_first=True)``, output 2·hidden_size;
    otherwise torch's unidirectional layer, output hidden_size. Both map (B, T, I) to
    (B, T, output size) as ``layer(x)[0]``; only the BiRNN takes ``lengths=`` (a causal layer
    needs none: padding at the end cannot reach earlier steps).

    >>> layer, size = recurrent_layer(3, 4, bidirectional=False)
    >>> x = torch.randn(2, 5, 3); y = x.clone(); y[:, 4] += 1.0  # change the last step only
    >>> out_x, out_y = layer(x)[0], layer(y)[0]
    >>> tuple(out_x.shape), size, torch.equal(out_x[:, :4], out_y[:, :4])
    ((2, 5, 4), 4, True)
    >>> bi, bi_size = recurrent_layer(3, 4, bidirectional=True)
    >>> bi_size, torch.equal(bi(x)[0][:, :4], bi(y)[0][:, :4])  # the backward half reads it
    (8, False)
    """
    check_choice("cell", cell, CELLS)
    if bidirectional:
        layer = BiRNN(
            input_size,
            hidden_size,
            num_layers=num_layers,
            cell=cell,
            dropout=dropout,
            batch_first=True,
        )
        return layer, layer.output_size
    torch_class = _TORCH_RNN[cell]
    layer = torch_class(
        input_size, hidden_size, num_layers=num_layers, dropout=dropout, batch_first=True
    )
    return layer, hidden_size


def _run_recurrent(layer: nn.Module, x: Tensor, lengths: Tensor | None) -> Tensor:
    if isinstance(layer, BiRNN):
        return layer(x, lengths=lengths)[0]
    return layer(x)[0]


# ---------------------------------------------------------------------------------------------
# The HMM-state tagger of hmm-vs-rnn


class StateTagger(nn.Module):
    """A recurrent tagger x_1..x_T → P(h_t | ·) for every t.

    One-hot symbols (B, T, M) → :func:`recurrent_layer` → ``Linear`` → logits (B, T, K). With
    ``bidirectional`` the layer is a :class:`~pirho.nn.BiRNN` (concat merge: [H→_t ; H←_t]),
    otherwise torch's unidirectional ``nn.RNN``/``nn.GRU``/``nn.LSTM``, whose state at t has
    read x_1..x_t only.

    >>> tagger = StateTagger(6, 2, hidden_size=8, bidirectional=False)
    >>> p = tagger.predict_proba(np.array([[1, 2, 3, 4]]))
    >>> q = tagger.predict_proba(np.array([[1, 2, 3, 5]]))  # another last symbol
    >>> p.shape, np.array_equal(p[0, :3], q[0, :3]), np.array_equal(p[0, 3], q[0, 3])
    ((1, 4, 2), True, False)
    """

    def __init__(
        self,
        n_symbols: int,
        n_states: int,
        hidden_size: int = 32,
        *,
        cell: str = "gru",
        bidirectional: bool = True,
        num_layers: int = 1,
    ) -> None:
        super().__init__()
        check_choice("cell", cell, CELLS)
        self.n_symbols = n_symbols
        self.bidirectional = bidirectional
        self.rnn, features = recurrent_layer(
            n_symbols, hidden_size, cell=cell, bidirectional=bidirectional, num_layers=num_layers
        )
        self.output = nn.Linear(features, n_states)

    def forward(self, symbols: Tensor) -> Tensor:
        """symbols (B, T) int64 → logits (B, T, K)."""
        inputs = F.one_hot(symbols, self.n_symbols).to(torch.get_default_dtype())
        return self.output(_run_recurrent(self.rnn, inputs, None))

    def predict_proba(self, symbols: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """P(h_t = k | ·) as a float64 array (N, T, K) for (N, T) symbols (eval mode)."""
        chunks = []
        with evaluating(self):
            for lo in range(0, len(symbols), batch_size):
                batch = torch.as_tensor(np.asarray(symbols[lo : lo + batch_size]), dtype=torch.long)
                chunks.append(torch.softmax(self(batch), dim=-1).double().numpy())
        return np.concatenate(chunks)


# ---------------------------------------------------------------------------------------------
# Word taggers


class TagBatch(NamedTuple):
    """A padded batch of B sentences, batch-first.

    words (B, T) int64 (0 = ``<unk>``, also at padding); chars (B, T, L) int64, zero beyond each
    word's char_lengths (B, T) (1 at padding); lengths (B,) int64 sentence lengths; tags (B, T)
    int64, −1 at padding (and everywhere when unknown); context (B, T, D) float32 contextual
    word vectors, 0 at padding, or None.
    """

    words: Tensor
    chars: Tensor
    char_lengths: Tensor
    lengths: Tensor
    tags: Tensor
    context: Tensor | None = None


def pad_batch(sentences: Sequence) -> TagBatch:
    """Stack :class:`~pirho.data.corpora.EncodedSentence` arrays into one :class:`TagBatch`.

    >>> from pirho.data.corpora import EncodedSentence
    >>> a = EncodedSentence(np.array([3, 4]), np.array([[1, 2], [5, 0]]), np.array([2, 1]),
    ...                     np.array([0, 1]))
    >>> b = EncodedSentence(np.array([7]), np.array([[6]]), np.array([1]), np.array([2]))
    >>> batch = pad_batch([a, b])
    >>> batch.words.tolist(), batch.tags.tolist(), batch.lengths.tolist()
    ([[3, 4], [7, 0]], [[0, 1], [2, -1]], [2, 1])
    """
    lengths = [len(s.words) for s in sentences]
    n_steps, n_chars = max(lengths), max(s.chars.shape[1] for s in sentences)
    size = len(sentences)
    words = np.zeros((size, n_steps), dtype=np.int64)
    chars = np.zeros((size, n_steps, n_chars), dtype=np.int64)
    char_lengths = np.ones((size, n_steps), dtype=np.int64)
    tags = np.full((size, n_steps), -1, dtype=np.int64)
    for b, s in enumerate(sentences):
        n = len(s.words)
        words[b, :n] = s.words
        chars[b, :n, : s.chars.shape[1]] = s.chars
        char_lengths[b, :n] = s.char_lengths
        tags[b, :n] = s.tags
    context = None
    with_context = [s.context is not None for s in sentences]
    if any(with_context):
        if not all(with_context):
            raise ValueError("some sentences have a context (contextual vectors) and some not")
        context = np.zeros((size, n_steps, sentences[0].context.shape[1]), dtype=np.float32)
        for b, s in enumerate(sentences):
            context[b, : len(s.words)] = s.context
        context = torch.from_numpy(context)
    return TagBatch(
        *(torch.from_numpy(a) for a in (words, chars, char_lengths)),
        torch.tensor(lengths, dtype=torch.long),
        torch.from_numpy(tags),
        context,
    )


class Tagger(nn.Module):
    """Word + character BiLSTM features → uni/bi recurrent layer → softmax or CRF over tags.

    Per word: e_w = [word embedding (word_dim) ; char BiLSTM final states [h→ ; h←]
    (2·char_hidden)]; per sentence: H = :func:`recurrent_layer` (uni or bi, hidden_size per
    direction) over dropout(e), scores O_t = H_t W + b (B, T, K). ``output="softmax"``:
    P(y_t | ·) = softmax(O_t), trained by cross-entropy, decoded by argmax;
    ``output="crf"``: a :class:`~pirho.nn.LinearChainCRF` over O, trained by its
    log-likelihood, decoded by Viterbi. ``word_dropout``: in training, each word is replaced
    by ``<unk>`` with this probability, so the ``<unk>`` embedding learns to lean on the
    characters (unknown words at test time have nothing else). ``word_dropout_rates`` (V,),
    if given, replaces it with one probability per word (e.g. higher for rarer words); it is
    a training setting, not saved in the ``state_dict``.

    ``embeddings`` (a :class:`~pirho.nn.ContextualStringEmbeddings`, or its ``meta`` to build
    an untrained one of that shape, as :meth:`load_state_dict` then fills): each word's
    contextual vector (2H) joins e_w. The tagger carries the embedding model (its weights are
    in the ``state_dict``, its meta in ``config``), frozen; batches bring the vectors in
    ``TagBatch.context``, computed once by :meth:`contexts` (the embeddings do not change while
    the tagger trains).

    >>> from pirho.data.corpora import EncodedSentence
    >>> tagger = Tagger(10, 8, 5, word_dim=4, char_dim=3, char_hidden=2, hidden_size=6).eval()
    >>> s = EncodedSentence(np.array([1, 2, 3]), np.ones((3, 2), dtype=np.int64),
    ...                     np.array([2, 1, 2]), np.array([0, 4, 1]))
    >>> short = EncodedSentence(np.array([4, 5]), np.ones((2, 2), dtype=np.int64),
    ...                         np.array([1, 2]), np.array([3, 3]))
    >>> batch = pad_batch([s, short])
    >>> scores, tags = tagger.scores(batch), tagger.predict(batch)
    >>> tuple(scores.shape), torch.equal(tags[0], scores[0].argmax(-1)), tags[1, 2].item()
    ((2, 3, 5), True, -1)
    >>> tagger.marginals(batch).sum(-1).round(decimals=4).tolist()  # 0 at padding
    [[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]
    """

    kind = "tagger"

    def __init__(
        self,
        n_words: int,
        n_chars: int,
        n_tags: int,
        *,
        word_dim: int = 64,
        char_dim: int = 32,
        char_hidden: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = True,
        output: str = "softmax",
        dropout: float = 0.3,
        word_dropout: float = 0.05,
        word_dropout_rates: Tensor | np.ndarray | None = None,
        embeddings: ContextualStringEmbeddings | dict | None = None,
    ) -> None:
        super().__init__()
        sizes = dict(
            n_words=n_words,
            n_chars=n_chars,
            n_tags=n_tags,
            word_dim=word_dim,
            char_dim=char_dim,
            char_hidden=char_hidden,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        for name, value in sizes.items():
            check_positive_int(name, value)
        check_choice("cell", cell, CELLS)
        check_choice("output", output, OUTPUTS)
        for name, value in (("dropout", dropout), ("word_dropout", word_dropout)):
            check_float(name, value, minimum=0.0, maximum=0.99)
        self.config = dict(
            sizes,
            cell=cell,
            bidirectional=bool(bidirectional),
            output=output,
            dropout=float(dropout),
            word_dropout=float(word_dropout),
        )
        if isinstance(embeddings, dict):
            embeddings = ContextualStringEmbeddings.from_meta(embeddings)
        if embeddings is not None and not isinstance(embeddings, ContextualStringEmbeddings):
            raise TypeError(
                "embeddings must be a ContextualStringEmbeddings or its meta, "
                f"got {type(embeddings).__name__}"
            )
        if embeddings is not None:
            embeddings.requires_grad_(False)
            self.config["embeddings"] = embeddings.meta
        self.embeddings = embeddings
        context_size = embeddings.output_size if embeddings is not None else 0
        self.word_dropout = float(word_dropout)
        self.register_buffer(
            "word_dropout_rates", _dropout_rates(word_dropout_rates, n_words), persistent=False
        )
        self.word_embedding = nn.Embedding(n_words, word_dim)
        self.char_embedding = nn.Embedding(n_chars, char_dim)
        self.char_encoder = BiRNN(char_dim, char_hidden, cell="lstm", batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.rnn, features = recurrent_layer(
            word_dim + 2 * char_hidden + context_size,
            hidden_size,
            cell=cell,
            bidirectional=bidirectional,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output = nn.Linear(features, n_tags)
        self.crf = LinearChainCRF(n_tags, batch_first=True) if output == "crf" else None

    @property
    def n_tags(self) -> int:
        return self.config["n_tags"]

    def word_features(self, batch: TagBatch) -> Tensor:
        """e (B, T, word_dim + 2·char_hidden [+ 2H]): word embedding ⊕ character BiLSTM
        states [⊕ contextual vector]."""
        words = batch.words
        if self.training and (self.word_dropout_rates is not None or self.word_dropout > 0):
            rates = (
                self.word_dropout
                if self.word_dropout_rates is None
                else self.word_dropout_rates[words]
            )
            dropped = torch.rand(words.shape, device=words.device) < rates
            words = words.masked_fill(dropped, 0)
        size, steps, n_chars = batch.chars.shape
        char_inputs = self.char_embedding(batch.chars.reshape(size * steps, n_chars))
        _, state = self.char_encoder(char_inputs, lengths=batch.char_lengths.reshape(-1))
        forward_h, backward_h = state.forward[0][0], state.backward[0][0]
        chars = torch.cat([forward_h, backward_h], dim=-1).reshape(size, steps, -1)
        features = [self.word_embedding(words), chars]
        if self.embeddings is not None:
            if batch.context is None:
                raise ValueError(
                    "this tagger reads contextual string embeddings: the batch has no context "
                    "(encode the sentences with Tagger.contexts)"
                )
            features.append(batch.context.to(chars.dtype))
        return torch.cat(features, dim=-1)

    def scores(self, batch: TagBatch) -> Tensor:
        """Tag scores O (B, T, K): logits for softmax, emission potentials for the CRF."""
        features = self.dropout(self.word_features(batch))
        hidden = _run_recurrent(self.rnn, features, batch.lengths)
        return self.output(self.dropout(hidden))

    def forward(self, batch: TagBatch) -> Tensor:
        """Same as :meth:`scores`."""
        return self.scores(batch)

    def loss(self, batch: TagBatch) -> Tensor:
        """Mean negative log-likelihood per real token: cross-entropy, or the CRF's
        −log p(y_1..y_T | x) summed over sentences and divided by the number of tokens."""
        scores = self(batch)
        if self.crf is None:
            return F.cross_entropy(
                scores.reshape(-1, self.n_tags), batch.tags.reshape(-1), ignore_index=-1
            )
        log_likelihood = self.crf.log_likelihood(
            scores, batch.tags.clamp(min=0), lengths=batch.lengths, reduction="sum"
        )
        return -log_likelihood / batch.lengths.sum()

    def marginals(self, batch: TagBatch) -> Tensor:
        """P(y_t = k | x) (B, T, K), zero at padding (eval mode)."""
        with evaluating(self):
            scores = self(batch)
            if self.crf is None:
                probs = torch.softmax(scores, dim=-1)
            else:
                probs = self.crf.marginals(scores, batch.lengths)
        return probs * _padding_mask(batch).unsqueeze(-1)

    def predict(self, batch: TagBatch) -> Tensor:
        """Tags (B, T) int64, −1 at padding: argmax for softmax, Viterbi for the CRF."""
        with evaluating(self):
            scores = self(batch)
            if self.crf is None:
                tags = scores.argmax(-1)
            else:
                tags = self.crf.decode(scores, batch.lengths)[0]
        return tags.masked_fill(~_padding_mask(batch), -1)


def _dropout_rates(rates: Tensor | np.ndarray | None, n_words: int) -> Tensor | None:
    """Per-word replacement probabilities as a float32 tensor (n_words,), checked."""
    if rates is None:
        return None
    if not isinstance(rates, (Tensor, np.ndarray)):
        raise TypeError(f"word_dropout_rates must be a tensor or array, got {type(rates).__name__}")
    values = torch.as_tensor(rates).detach().to(torch.float32)
    if values.shape != (n_words,):
        raise ValueError(
            f"word_dropout_rates must have shape ({n_words},) (one per word), "
            f"got {tuple(values.shape)}"
        )
    bad = ~((values >= 0) & (values < 1))
    if bad.any():
        index = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"word_dropout_rates must lie in [0, 1), got {float(values[index])} at word {index}"
        )
    return values


def _padding_mask(batch: TagBatch) -> Tensor:
    steps = torch.arange(batch.words.shape[1])
    return steps.unsqueeze(0) < batch.lengths.unsqueeze(1)
