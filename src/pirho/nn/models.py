"""Character language models built on recurrent layers: the d2l model, an ELMo-style biLM, cloze.

Three models, one file (nanoGPT style); training lives in :mod:`pirho.train`, held-out
perplexities in :mod:`pirho.nn.lm_eval`.

- :class:`RNNLM` — d2l's model: one-hot (or embedded) characters → a uni- or bidirectional
  rnn/gru/lstm → ``Linear`` to the vocabulary. Output at step t predicts x_{t+1}. The
  bidirectional one (``BiRNN``, ``stacking="joint"``, concat merge, d2l's bi-LSTM) reads
  x_{t+1} through its backward direction before it is asked to predict it: the "cheat".
- :class:`BiLM` — ELMo-style: a forward LM and a backward LM in separate stacks
  (``BiRNN(stacking="separate", merge=None)``), one tied input embedding / softmax matrix shared
  by both; the forward state at t (x_1..x_t) predicts x_{t+1}, the backward state at t
  (x_t..x_T) predicts x_{t-1}. Neither direction ever reads the character it predicts.
- :class:`ClozeModel` — a :class:`BiLM` plus a head that predicts x_t from the forward state
  at t−1 and the backward state at t+1 (H→_{t-1}, H←_{t+1}); ``fill()`` fills blanks in text.

Every model carries ``meta = {"kind", "config", "vocab", "text"}`` (what a checkpoint stores)
and rebuilds from it with ``from_meta`` / ``from_checkpoint``.

Shapes: token tensors are batch-first ``(B, T)`` int64 like :class:`pirho.data.SeqDataLoader`
batches; logits are ``(B, T, V)``.

Text policy (generation prefixes and cloze queries): the text is normalised the way the model's
training text was (``text="d2l"``: d2l's tokenisation — letters lowercased, every run of other
characters becomes one space; ``text="raw"``: whitespace runs collapse to one space, optional
lowercasing). A character still outside the vocabulary is mapped to ``<unk>`` with a warning
(``unknown="warn"``, the default) or rejected with a ValueError (``unknown="error"``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pirho._checks import check_choice, check_float, check_int, check_positive_int, check_seed
from pirho.checkpoint import CheckpointError, load_checkpoint
from pirho.data import Vocab
from pirho.data.text import BLANK, TEXT_MODES, encode_cloze_query, encode_query
from pirho.nn.birnn import CELLS, BiRNN
from pirho.nn.lm_eval import evaluating
from pirho.nn.lm_losses import bilm_loss, cloze_loss, loss_for, rnnlm_loss
from pirho.precision import fp32_recurrence

_TORCH_RNN = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

#: The models' own defaults (d2l's chapter-9 network: 2 × 256 LSTM; the cloze model's 64-d
#: embedding). ``pirho.lm.defaults`` holds the same numbers in its recipes (a layer above:
#: ``nn`` never imports ``lm``); ``tests/test_lm_package.py`` checks that they agree.
DEFAULT_HIDDEN_SIZE = 256
DEFAULT_NUM_LAYERS = 2
DEFAULT_CELL = "lstm"
DEFAULT_CLOZE_EMBEDDING_DIM = 64


def _as_vocab(vocab) -> Vocab | None:
    if vocab is None or isinstance(vocab, Vocab):
        return vocab
    if isinstance(vocab, dict):
        return Vocab.from_dict(vocab)
    raise TypeError(f"vocab must be a pirho.data.Vocab or its to_dict(), got {type(vocab)}")


def _check_tokens(tokens: Tensor, vocab_size: int) -> Tensor:
    if not isinstance(tokens, Tensor):
        tokens = torch.as_tensor(tokens)
    if tokens.dim() != 2:
        raise ValueError(f"tokens must be (batch, steps), got shape {tuple(tokens.shape)}")
    if tokens.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"tokens must be an integer tensor, got {tokens.dtype}")
    if tokens.numel() == 0:
        raise ValueError(f"tokens is empty: shape {tuple(tokens.shape)}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"token index {bad} is outside the vocabulary [0, {vocab_size})")
    return tokens.long()


class _MetaMixin:
    """``meta`` (kind, constructor config, vocab, text mode) and the constructors from it."""

    kind: str = ""
    _config: dict
    vocab: Vocab | None
    text_mode: str

    @property
    def meta(self) -> dict:
        """JSON-able description: ``{"kind", "config", "vocab", "text"}``; see ``from_meta``."""
        return {
            "kind": self.kind,
            "config": dict(self._config),
            "vocab": self.vocab.to_dict() if self.vocab is not None else None,
            "text": self.text_mode,
        }

    @classmethod
    def from_meta(cls, meta: dict):
        """A freshly initialised model with the architecture, vocabulary and text mode of
        ``meta`` (a ``model.meta``); ValueError if ``meta["kind"]`` is not this class's kind."""
        if not isinstance(meta, dict) or "kind" not in meta or "config" not in meta:
            raise ValueError(f"not a model meta dict (needs 'kind' and 'config'): {meta!r:.200}")
        if meta["kind"] != cls.kind:
            raise ValueError(
                f"meta describes a {meta['kind']!r} model, not a {cls.kind!r} ({cls.__name__})"
            )
        return cls(**meta["config"], vocab=meta.get("vocab"), text_mode=meta.get("text", "d2l"))

    @classmethod
    def from_checkpoint(cls, path):
        """Load a model written by :func:`pirho.train.train` (or ``save_checkpoint`` with
        ``model_state`` and ``meta``). A checkpoint of another model kind raises
        :class:`pirho.checkpoint.CheckpointError` naming both kinds."""
        return load_model(path, expected_kind=cls.kind)

    def _require_vocab(self) -> Vocab:
        if self.vocab is None:
            raise ValueError(f"this {type(self).__name__} has no vocab; pass vocab= to build it")
        return self.vocab


# --------------------------------------------------------------------------------------------
# RNNLM: d2l's model


class RNNLM(_MetaMixin, nn.Module):
    """d2l's character RNN language model, uni- or bidirectional.

    tokens (B, T) → one-hot (``embedding_dim=None``, d2l) or ``nn.Embedding`` → rnn/gru/lstm
    (``num_layers``, ``hidden_size``) → ``Linear`` → logits (B, T, V), where logits[:, t] scores
    x_{t+1}. ``bidirectional=True`` uses ``BiRNN(stacking="joint", merge="concat")`` — d2l's
    ``nn.LSTM(bidirectional=True)``: O_t = [H→_t ; H←_t] W_hq + b_q, so the backward half has
    already read x_{t+1}.

    The unidirectional model carries its state across calls (``forward(tokens, state)``), as
    d2l does with sequential minibatches. The bidirectional one takes no initial state (a
    backward state handed over from the *previous* window has no meaning): ``state`` is ignored
    and ``None`` is returned.

    >>> from pirho.data import Vocab
    >>> lm = RNNLM(5, hidden_size=8, num_layers=1, vocab=Vocab("abc "))
    >>> logits, state = lm(torch.zeros(2, 5, dtype=torch.long))
    >>> tuple(logits.shape)
    (2, 5, 5)
    """

    kind = "rnnlm"

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = DEFAULT_HIDDEN_SIZE,
        num_layers: int = DEFAULT_NUM_LAYERS,
        cell: str = DEFAULT_CELL,
        bidirectional: bool = False,
        embedding_dim: int | None = None,
        dropout: float = 0.0,
        *,
        vocab=None,
        text_mode: str = "d2l",
    ):
        super().__init__()
        check_positive_int("vocab_size", vocab_size)
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_layers", num_layers)
        check_choice("cell", cell, CELLS)
        check_choice("text_mode", text_mode, TEXT_MODES)
        if embedding_dim is not None:
            check_positive_int("embedding_dim", embedding_dim)
        self.vocab = _as_vocab(vocab)
        if self.vocab is not None and len(self.vocab) != vocab_size:
            raise ValueError(f"vocab has {len(self.vocab)} tokens but vocab_size={vocab_size}")
        self.text_mode = text_mode
        self._config = dict(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            cell=cell,
            bidirectional=bool(bidirectional),
            embedding_dim=embedding_dim,
            dropout=float(dropout),
        )
        self.vocab_size = vocab_size
        self.bidirectional = bool(bidirectional)
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if embedding_dim else None
        input_size = embedding_dim or vocab_size
        if self.bidirectional:
            self.rnn = BiRNN(
                input_size,
                hidden_size,
                num_layers=num_layers,
                cell=cell,
                merge="concat",
                stacking="joint",
                dropout=dropout,
            )
            rnn_out = 2 * hidden_size
        else:
            self.rnn = _TORCH_RNN[cell](input_size, hidden_size, num_layers, dropout=dropout)
            rnn_out = hidden_size
        self.output = nn.Linear(rnn_out, vocab_size)

    def _inputs(self, tokens: Tensor) -> Tensor:
        """(B, T) int → (T, B, I) float, time-major like d2l."""
        steps_first = tokens.t()
        if self.embedding is None:
            return F.one_hot(steps_first, self.vocab_size).float()
        return self.embedding(steps_first)

    def forward(self, tokens: Tensor, state=None) -> tuple[Tensor, object]:
        """Logits (B, T, V) with logits[:, t] scoring x_{t+1}, and the new state.

        tokens (B, T) int64. ``state``: for the unidirectional model torch's (h, c) or h of
        shape (num_layers, B, hidden_size), or None (zeros); ignored by the bidirectional one.
        """
        tokens = _check_tokens(tokens, self.vocab_size)
        x = self._inputs(tokens)
        if self.bidirectional:
            out, _ = self.rnn(x)
            new_state = None
        else:
            with fp32_recurrence(x):
                out, new_state = self.rnn(x, state)
        return self.output(out).transpose(0, 1), new_state

    def lm_logits(self, tokens: Tensor) -> Tensor:
        """Logits (B, T, V) for x_{t+1} from one pass over ``tokens`` (B, T), fresh state: the
        teacher-forced view. :mod:`pirho.nn.lm_eval` builds both perplexities on it."""
        return self(tokens)[0]

    @torch.no_grad()
    def generate(
        self,
        prefix: str,
        n_chars: int,
        temperature: float = 0.0,
        seed: int | None = None,
        unknown: str = "warn",
    ) -> str:
        """``prefix`` followed by ``n_chars`` generated characters.

        Each character is predicted from the text so far only — the same view as the causal
        perplexity. ``temperature=0``: greedy (argmax, deterministic); ``temperature>0``:
        sampling from softmax(logits / temperature) with a ``torch.Generator`` seeded by
        ``seed`` (computed stably, so a tiny temperature is greedy and a huge one uniform).
        ``<unk>`` is never generated. The prefix is normalised like the training text
        (see the module docstring; unknown characters → ``<unk>`` with a warning, or ValueError
        with ``unknown="error"``, which also refuses characters normalisation would erase); the
        prefix comes back as the model read it (normalised, unknown characters shown as
        ``<unk>``). :meth:`stream` yields the same text piece by piece.

        The unidirectional model carries its state forward one character at a time; the
        bidirectional one re-reads the whole text at every step (its backward direction has to
        start from the current last character).

        >>> from pirho.data import Vocab
        >>> lm = RNNLM(4, hidden_size=8, num_layers=1, vocab=Vocab("ab "))
        >>> len(lm.generate("ab", 4))
        6
        """
        return "".join(self.stream(prefix, n_chars, temperature, seed, unknown))

    def stream(
        self,
        prefix: str,
        n_chars: int,
        temperature: float = 0.0,
        seed: int | None = None,
        unknown: str = "warn",
    ) -> Iterator[str]:
        """:meth:`generate` one piece at a time: the prefix as read, then each new character
        as soon as it is chosen (for printing a long generation as it goes). Arguments are
        checked before the first piece.

        >>> from pirho.data import Vocab
        >>> lm = RNNLM(4, hidden_size=8, num_layers=1, vocab=Vocab("ab "))
        >>> pieces = list(lm.stream("ab", 3))
        >>> pieces[0], len(pieces)
        ('ab', 4)
        """
        vocab = self._require_vocab()
        check_int("n_chars", n_chars, minimum=0)
        check_float("temperature", temperature, minimum=0)
        check_seed("seed", seed)
        ids = encode_query(prefix, vocab, self.text_mode, unknown=unknown)
        if not ids:
            raise ValueError(f"prefix {prefix!r} is empty after normalisation; give a character")
        return self._stream(ids, n_chars, temperature, seed)

    def _stream(self, ids: list[int], n_chars: int, temperature: float, seed) -> Iterator[str]:
        vocab = self._require_vocab()
        generator = torch.Generator().manual_seed(seed if seed is not None else 0)
        out_ids = list(ids)
        yield "".join(vocab.to_tokens(out_ids))
        with evaluating(self):
            logits, state = self(torch.tensor([ids], dtype=torch.long))
            for _ in range(n_chars):
                next_id = _pick(logits[0, -1], temperature, generator, vocab.unk)
                out_ids.append(next_id)
                yield vocab.to_tokens([next_id])[0]
                if self.bidirectional:
                    logits, _ = self(torch.tensor([out_ids], dtype=torch.long))
                else:
                    logits, state = self(torch.tensor([[next_id]], dtype=torch.long), state)


def _pick(logits: Tensor, temperature: float, generator: torch.Generator, unk: int) -> int:
    """Greedy (temperature 0) or sampled next index from logits (V,), never ``unk``.

    Where softmax(logits / temperature) is not finite (a temperature so small or large that
    the division overflows), the logits are first shifted so that their maximum is 0: a tiny
    temperature then puts all mass on the maxima, a huge one spreads it evenly.
    """
    logits = logits.detach().clone()
    logits[unk] = -math.inf
    if temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / temperature, dim=-1)
    if not bool(torch.isfinite(probs).all()):
        scaled = (logits - logits.max()) / temperature
        scaled = torch.nan_to_num(scaled, nan=0.0, posinf=0.0)  # 0 / 0 at the maxima
        scaled[unk] = -math.inf
        probs = torch.softmax(scaled, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


# --------------------------------------------------------------------------------------------
# BiLM: ELMo-style forward and backward LMs


class BiLM(_MetaMixin, nn.Module):
    """ELMo-style bidirectional LM: two LMs with separate stacks and a tied softmax.

    tokens (B, T) → ``nn.Embedding(V, E)`` → ``BiRNN(E, H, num_layers, stacking="separate",
    merge=None)`` → forward states H→ (B, T, H) and backward states H← (B, T, H). Each direction
    projects to E (``proj_forward``/``proj_backward``) and scores against the same embedding
    matrix (input embedding = softmax weights, one output bias):

    - forward LM:  logits_f[:, t] = P(x_{t+1} | x_1..x_t)   (from H→_t)
    - backward LM: logits_b[:, t] = P(x_{t-1} | x_t..x_T)   (from H←_t)

    ``loss`` is the mean of the two directions' cross-entropies. ``lm_logits`` (used by the
    perplexity functions) is the forward LM.

    >>> from pirho.data import Vocab
    >>> lm = BiLM(4, embedding_dim=4, hidden_size=8, num_layers=1, vocab=Vocab("ab "))
    >>> fwd, bwd = lm(torch.zeros(2, 6, dtype=torch.long))
    >>> tuple(fwd.shape), tuple(bwd.shape)
    ((2, 6, 4), (2, 6, 4))
    """

    kind = "bilm"

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = DEFAULT_CLOZE_EMBEDDING_DIM,
        hidden_size: int = DEFAULT_HIDDEN_SIZE,
        num_layers: int = DEFAULT_NUM_LAYERS,
        cell: str = DEFAULT_CELL,
        dropout: float = 0.0,
        *,
        vocab=None,
        text_mode: str = "d2l",
    ):
        super().__init__()
        check_positive_int("vocab_size", vocab_size)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_layers", num_layers)
        check_choice("cell", cell, CELLS)
        check_choice("text_mode", text_mode, TEXT_MODES)
        self.vocab = _as_vocab(vocab)
        if self.vocab is not None and len(self.vocab) != vocab_size:
            raise ValueError(f"vocab has {len(self.vocab)} tokens but vocab_size={vocab_size}")
        self.text_mode = text_mode
        self._config = dict(
            vocab_size=vocab_size,
            embedding_dim=embedding_dim,
            hidden_size=hidden_size,
            num_layers=num_layers,
            cell=cell,
            dropout=float(dropout),
        )
        self.vocab_size = vocab_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = BiRNN(
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            cell=cell,
            merge=None,
            stacking="separate",
            dropout=dropout,
        )
        self.proj_forward = nn.Linear(hidden_size, embedding_dim)
        self.proj_backward = nn.Linear(hidden_size, embedding_dim)
        self.output_bias = nn.Parameter(torch.zeros(vocab_size))

    def states(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Top-layer forward states H→ (B, T, H) — H→_t has read x_1..x_t — and backward
        states H← (B, T, H) — H←_t has read x_t..x_T."""
        tokens = _check_tokens(tokens, self.vocab_size)
        (forward_out, backward_out), _ = self.rnn(self.embedding(tokens.t()))
        return forward_out.transpose(0, 1), backward_out.transpose(0, 1)

    def tied_logits(self, vectors: Tensor) -> Tensor:
        """Scores (..., V) of vectors (..., E) against the shared embedding matrix."""
        return vectors @ self.embedding.weight.t() + self.output_bias

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """(forward_logits, backward_logits), each (B, T, V): forward_logits[:, t] scores
        x_{t+1} from x_1..x_t, backward_logits[:, t] scores x_{t-1} from x_t..x_T."""
        forward_out, backward_out = self.states(tokens)
        return (
            self.tied_logits(self.proj_forward(forward_out)),
            self.tied_logits(self.proj_backward(backward_out)),
        )

    def lm_logits(self, tokens: Tensor) -> Tensor:
        """The forward LM's logits (B, T, V), logits[:, t] scoring x_{t+1}."""
        return self(tokens)[0]

    def embed(self, tokens: Tensor) -> list[Tensor]:
        """ELMo's per-layer contextual representations of ``tokens`` (B, T).

        Returns a list of ``num_layers + 1`` tensors: element 0 is the context-free layer
        [e(x_t) ; e(x_t)] of shape (B, T, 2E); element l (1..L) is [H→_t^(l) ; H←_t^(l)] of
        shape (B, T, 2H), the two directions' layer-l states at t (H→ has read x_1..x_t, H← has
        read x_t..x_T).

        >>> lm = BiLM(5, embedding_dim=4, hidden_size=8, num_layers=2)
        >>> [tuple(r.shape) for r in lm.embed(torch.zeros(1, 3, dtype=torch.long))]
        [(1, 3, 8), (1, 3, 16), (1, 3, 16)]
        """
        tokens = _check_tokens(tokens, self.vocab_size)
        emb = self.embedding(tokens)
        layers = [torch.cat([emb, emb], dim=-1)]
        for forward_out, backward_out in _per_layer_outputs(self.rnn, emb.transpose(0, 1)):
            layers.append(torch.cat([forward_out, backward_out], dim=-1).transpose(0, 1))
        return layers


def _per_layer_outputs(rnn: BiRNN, x: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Each layer's (forward_out, backward_out), each (T, B, H), of a ``stacking="separate"``
    BiRNN on x (T, B, I).

    The BiRNN returns its top layer only; with separate stacks the first l layers of an L-layer
    stack are themselves an l-layer BiRNN, so layer l's outputs come from a copy truncated to l
    layers that shares the same parameter tensors (DESIGN.md's torch parameter names).
    """
    outputs = []
    params = dict(rnn.named_parameters())
    for depth in range(1, rnn.num_layers):
        partial = BiRNN(
            rnn.input_size,
            (rnn.forward_size, rnn.backward_size),
            num_layers=depth,
            cell=rnn.cell,
            merge=None,
            stacking="separate",
            bias=rnn.bias,
        )
        shared = {name: params[name] for name, _ in partial.named_parameters()}
        (forward_out, backward_out), _ = torch.func.functional_call(partial, shared, (x,))
        outputs.append((forward_out, backward_out))
    (forward_out, backward_out), _ = rnn(x)
    outputs.append((forward_out, backward_out))
    return outputs


# --------------------------------------------------------------------------------------------
# Cloze: x_t from H→_{t-1} and H←_{t+1}


class Filling(NamedTuple):
    """One candidate of :meth:`ClozeModel.fill`.

    text: the query with its blanks filled (normalised like the training text).
    probability: its probability among the candidates considered (they sum to 1 over all of
      them, before ``top_k`` keeps the best).
    """

    text: str
    probability: float


class ClozeModel(_MetaMixin, nn.Module):
    """Fill-in-the-blank on a :class:`BiLM`: x_t from the forward state at t−1 and the backward
    state at t+1, neither of which has read x_t.

    ``cloze_logits(tokens)`` gives, for every inner position t = 1..T−2 of tokens (B, T), three
    predictions of x_t, each (B, T−2, V):

    - left:  the forward LM at t−1   (x_1..x_{t-1} only)
    - right: the backward LM at t+1  (x_{t+1}..x_T only)
    - both:  the head, tanh(W [H→_{t-1} ; H←_{t+1}] + b) projected to E and scored against the
      tied embedding.

    Training loss: the mean of the forward LM, backward LM and head cross-entropies.
    ``fill(query)`` fills the ``_`` blanks of a query (see there).

    >>> from pirho.data import Vocab
    >>> m = ClozeModel(4, embedding_dim=4, hidden_size=8, num_layers=1, vocab=Vocab("ab "))
    >>> left, right, both = m.cloze_logits(torch.zeros(2, 6, dtype=torch.long))
    >>> tuple(both.shape)
    (2, 4, 4)
    """

    kind = "cloze"

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = DEFAULT_CLOZE_EMBEDDING_DIM,
        hidden_size: int = DEFAULT_HIDDEN_SIZE,
        num_layers: int = DEFAULT_NUM_LAYERS,
        cell: str = DEFAULT_CELL,
        dropout: float = 0.0,
        *,
        vocab=None,
        text_mode: str = "d2l",
    ):
        super().__init__()
        self.bilm = BiLM(
            vocab_size,
            embedding_dim=embedding_dim,
            hidden_size=hidden_size,
            num_layers=num_layers,
            cell=cell,
            dropout=dropout,
            vocab=vocab,
            text_mode=text_mode,
        )
        self.vocab = self.bilm.vocab
        self.text_mode = text_mode
        self._config = dict(self.bilm._config)
        self.vocab_size = vocab_size
        self.head = nn.Sequential(
            nn.Linear(2 * hidden_size, hidden_size),
            nn.Tanh(),
            nn.Linear(hidden_size, embedding_dim),
        )

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(forward_logits (B, T, V), backward_logits (B, T, V), both_logits (B, T−2, V)):
        the BiLM's two LMs and the head's prediction of x_t, t = 1..T−2."""
        forward_out, backward_out = self.bilm.states(tokens)
        forward_logits = self.bilm.tied_logits(self.bilm.proj_forward(forward_out))
        backward_logits = self.bilm.tied_logits(self.bilm.proj_backward(backward_out))
        both = self.head(torch.cat([forward_out[:, :-2], backward_out[:, 2:]], dim=-1))
        return forward_logits, backward_logits, self.bilm.tied_logits(both)

    def cloze_logits(self, tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(left, right, both) logits of x_t for t = 1..T−2, each (B, T−2, V); targets are
        ``tokens[:, 1:-1]``. Needs T ≥ 3."""
        tokens = _check_tokens(tokens, self.vocab_size)
        if tokens.shape[1] < 3:
            raise ValueError(f"cloze needs at least 3 steps, got {tokens.shape[1]}")
        forward_logits, backward_logits, both = self(tokens)
        return forward_logits[:, :-2], backward_logits[:, 2:], both

    def lm_logits(self, tokens: Tensor) -> Tensor:
        """The forward LM's logits (B, T, V), logits[:, t] scoring x_{t+1}."""
        return self.bilm.lm_logits(tokens)

    @torch.no_grad()
    def sequence_log_prob(self, tokens: Tensor) -> Tensor:
        """Score (B,) of each row of tokens (B, T): the mean of the forward LM's
        Σ_{t≥2} log P(x_t | x_<t) and the backward LM's Σ_{t≤T-1} log P(x_t | x_>t)."""
        forward_logits, backward_logits = self.bilm(tokens)
        fwd = torch.log_softmax(forward_logits[:, :-1], -1).gather(-1, tokens[:, 1:, None])
        bwd = torch.log_softmax(backward_logits[:, 1:], -1).gather(-1, tokens[:, :-1, None])
        return 0.5 * (fwd.sum((1, 2)) + bwd.sum((1, 2)))

    @torch.no_grad()
    def fill(
        self,
        query: str,
        top_k: int = 5,
        method: str = "auto",
        max_exact: int = 1000,
        beam_size: int = 64,
        unknown: str = "warn",
        blank: str = BLANK,
    ) -> list[Filling]:
        """The ``top_k`` best fillings of the blanks in ``query``, with probabilities.

        Each ``blank`` character (``_``) stands for exactly one unknown character; a run of k
        blanks is a k-character gap; several gaps are filled jointly. Returns
        :class:`Filling` ``(text, probability)`` pairs, best first. The text around the blanks is
        normalised like the training text (module docstring); ``<unk>`` is never proposed.

        ``method``:

        - ``"head"`` (one blank with text on both sides): the cloze head's softmax over the
          vocabulary — P(x_t | H→_{t-1}, H←_{t+1}).
        - ``"score"``: every candidate filling is scored by the whole text's log-probability
          averaged over the two LMs (:meth:`sequence_log_prob`), and the probabilities are
          the softmax of those scores over the candidates scored. Exact enumeration when there
          are at most ``max_exact`` candidates (27² = 729 for two letters of the Time Machine
          vocabulary); beyond that a beam search: blanks are filled left to right keeping the
          ``beam_size`` best partial fillings by the forward LM's log-probability of the text
          up to that blank, and the finished beam is rescored by the full two-LM score
          (approximate: probabilities are then relative to the beam).
        - ``"auto"``: ``"head"`` when it applies, else ``"score"``.

        >>> from pirho.data import Vocab
        >>> m = ClozeModel(4, embedding_dim=4, hidden_size=8, num_layers=1, vocab=Vocab("ab "))
        >>> len(m.fill("a_b", top_k=2))
        2
        """
        vocab = self._require_vocab()
        check_choice("method", method, ("auto", "head", "score"))
        check_positive_int("top_k", top_k)
        check_positive_int("beam_size", beam_size)
        check_int("max_exact", max_exact, minimum=0)
        ids, gaps = encode_cloze_query(query, vocab, self.text_mode, unknown=unknown, blank=blank)
        with evaluating(self):
            single_inner = len(gaps) == 1 and 0 < gaps[0] < len(ids) - 1
            if method == "head" and not single_inner:
                raise ValueError(
                    "method='head' needs exactly one blank with text on both sides; "
                    f"query {query!r} has {len(gaps)} blank(s)"
                )
            if method == "head" or (method == "auto" and single_inner):
                scores, fills = self._head_scores(ids, gaps[0])
            else:
                scores, fills = self._candidate_scores(ids, gaps, max_exact, beam_size)
        probs = torch.softmax(scores, dim=0)
        order = torch.argsort(probs, descending=True)[:top_k]
        results = []
        for i in order.tolist():
            filled = list(ids)
            for position, token in zip(gaps, fills[i], strict=True):
                filled[position] = token
            results.append(Filling("".join(vocab.to_tokens(filled)), float(probs[i])))
        return results

    def _candidate_tokens(self) -> list[int]:
        return [i for i in range(self.vocab_size) if i != self.vocab.unk]

    def _head_scores(self, ids: list[int], gap: int) -> tuple[Tensor, list[tuple[int]]]:
        tokens = torch.tensor([ids], dtype=torch.long)
        tokens[0, gap] = self.vocab.unk
        both = self.cloze_logits(tokens)[2][0, gap - 1]
        candidates = self._candidate_tokens()
        return both[candidates], [(c,) for c in candidates]

    def _candidate_scores(
        self, ids: list[int], gaps: list[int], max_exact: int, beam_size: int
    ) -> tuple[Tensor, list[tuple[int, ...]]]:
        candidates = self._candidate_tokens()
        if len(candidates) ** len(gaps) <= max_exact:
            fills = list(itertools.product(candidates, repeat=len(gaps)))
        else:
            fills = self._beam(ids, gaps, candidates, beam_size)
        return self._score_fills(ids, gaps, fills), fills

    def _score_fills(self, ids, gaps, fills, chunk: int = 1024) -> Tensor:
        """Two-LM score (:meth:`sequence_log_prob`) of the text with each filling put in."""
        base = torch.tensor(ids, dtype=torch.long)
        scores = []
        for start in range(0, len(fills), chunk):
            part = fills[start : start + chunk]
            tokens = base.repeat(len(part), 1)
            tokens[:, gaps] = torch.tensor(part, dtype=torch.long)
            scores.append(self.sequence_log_prob(tokens))
        return torch.cat(scores)

    def _beam(self, ids, gaps, candidates, beam_size) -> list[tuple[int, ...]]:
        # The forward LM's log-probability of the text up to a blank, for every candidate at
        # once: log P(x_1..x_{p-1}) of each partial filling plus log P(x_p = c | x_<p), both
        # read off one pass over the partial fillings (B rows), never one pass per candidate
        # (B·V rows: 64 × 2,500 sequences per blank for a Chinese vocabulary).
        base = torch.tensor(ids, dtype=torch.long)
        columns = torch.tensor(candidates, dtype=torch.long)
        beam: list[tuple[int, ...]] = [()]
        for depth, position in enumerate(gaps):
            if position == 0:  # nothing before it to predict from: keep every first character
                beam = [(c,) for c in candidates]
                continue
            prefixes = base[:position].repeat(len(beam), 1)
            if depth:
                prefixes[:, gaps[:depth]] = torch.tensor(beam, dtype=torch.long)
            log_probs = torch.log_softmax(self.bilm.lm_logits(prefixes), -1)
            so_far = log_probs[:, :-1].gather(-1, prefixes[:, 1:, None]).sum((1, 2))
            scores = so_far[:, None] + log_probs[:, -1, columns]  # (B, candidates)
            keep = torch.argsort(scores.reshape(-1), descending=True)[:beam_size].tolist()
            beam = [beam[i // len(candidates)] + (candidates[i % len(candidates)],) for i in keep]
        return beam


MODEL_CLASSES = {cls.kind: cls for cls in (RNNLM, BiLM, ClozeModel)}


def load_model(path, expected_kind: str | None = None) -> nn.Module:
    """Any pirho language model from a checkpoint, rebuilt by its ``meta["kind"]``.

    ``expected_kind`` (a string or tuple of strings) given and the checkpoint holds another
    kind → :class:`pirho.checkpoint.CheckpointError` naming both. The checkpoint's whole meta
    (training settings included) is kept as ``model.checkpoint_meta``.
    """
    payload = load_checkpoint(path)
    meta = payload.get("meta") or {}
    kind = meta.get("kind")
    allowed = (expected_kind,) if isinstance(expected_kind, str) else expected_kind
    if kind not in MODEL_CLASSES:
        raise CheckpointError(f"checkpoint {path} holds a {kind!r} model, not a language model")
    if allowed and kind not in allowed:
        raise CheckpointError(
            f"checkpoint {path} holds a {kind!r} model, expected {' or '.join(map(repr, allowed))}"
        )
    model = MODEL_CLASSES[kind].from_meta(meta)
    model.load_state_dict(payload["model_state"])
    model.eval()
    model.checkpoint_meta = meta  # the whole meta, training settings included
    return model


__all__ = [
    "BiLM",
    "ClozeModel",
    "Filling",
    "RNNLM",
    "bilm_loss",
    "cloze_loss",
    "load_model",
    "loss_for",
    "rnnlm_loss",
]
