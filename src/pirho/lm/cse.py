"""Pretraining contextual string embeddings: two character LMs over one long character stream.

Akbik et al.'s recipe on :func:`pirho.train.train`: the sentences become one character stream
(words joined by the boundary symbol ``" "``, sentences by ``"\\n"``), the forward LM reads it
and the backward LM reads it reversed; each is cut into ``batch_size`` parallel rows and
trained window by window (``num_steps`` characters) with its LSTM state carried from one window
to the next — truncated back-propagation through time over the whole stream. Held out: the
last ``heldout_fraction`` of the sentences after a seeded shuffle (CTCPC's file is sorted by
text), scored in bits per character for each direction.

Raw text (:func:`pretraining_sentences`): ``"ctcpc"`` is CTCPC without every sentence that shares
an 8-character n-gram with HKCanCor's dev and test conversations (CTCPC contains HKCanCor
utterances), plus the words of HKCanCor's training conversations; or any UTF-8 file, one
sentence per line, words separated by whitespace (optional).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pirho._checks import check_float, check_int, check_positive_int, check_seed
from pirho.data import SeqDataLoader, Vocab
from pirho.data.text import UNK, read_text_file
from pirho.nn.embeddings import BOUNDARY, SENTENCE_MARK, ContextualStringEmbeddings
from pirho.nn.lm_eval import evaluating
from pirho.train import TrainConfig, TrainResult, train

__all__ = [
    "FULL",
    "QUICK",
    "PREDICTION_PREFIXES",
    "CSEData",
    "cse_loss",
    "heldout_bits_per_char",
    "prepare_data",
    "pretraining_sentences",
    "retain_freed_memory",
    "stream_batches",
    "train_embeddings",
]

#: The full pretraining: 3 passes over all the text with H = 512 (6.6 M characters; at the
#: 8,800 characters/s measured on 2 cores with native bf16 about 13 minutes, within the
#: 45-minute budget on a slower or busier machine; see docs/contextual.md).
FULL = dict(
    hidden_size=512,
    embedding_dim=64,
    batch_size=64,
    num_steps=150,
    epochs=3,
    lr=3e-3,
    clip=1.0,
    min_freq=3,
    heldout_fraction=0.01,
    max_chars=None,
)
#: ``--quick``: a smaller LM, rarer characters as ``<unk>``, the first 1,200,000 training
#: characters once (about 2 CPU minutes: under 3 minutes on 2 cores).
QUICK = dict(
    FULL,
    hidden_size=128,
    embedding_dim=32,
    batch_size=32,
    num_steps=100,
    lr=1e-2,
    min_freq=10,
    epochs=1,
    max_chars=1_200_000,
)
#: Cantonese prefixes whose next (forward) and previous (backward) characters are shown.
PREDICTION_PREFIXES = ("我哋今日", "你食咗飯", "佢好鍾意", "唔該")


def retain_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse instead of returning it to the
    kernel; True where that was applied (Linux with glibc), False elsewhere (a no-op).

    Every training step allocates and frees the (B·T, V) logits and their gradients — tens of
    MB, above glibc's default mmap threshold — so each step maps fresh pages and faults them in:
    measured on the quick configuration, 7.9 s of system time beside 13 s of user time, and
    1.2 s with this set (40 steps: 8,490 → 13,223 characters/s). A process-wide setting: the
    command line calls it once, before training, as it sets the thread count.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # glibc's malloc.h
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (m_mmap_threshold, 1 << 30),
            (m_trim_threshold, 1 << 30),
            (m_top_pad, 256 << 20),
        )
    )


def pretraining_sentences(corpus: str | os.PathLike = "ctcpc") -> list[list[str]]:
    """Raw sentences (lists of words) to pretrain on.

    ``"ctcpc"``: :func:`pirho.data.corpora.ctcpc` minus the sentences sharing an 8-character
    n-gram with HKCanCor's dev or test split (:func:`~pirho.data.corpora.drop_overlapping`),
    followed by HKCanCor's training utterances; anything else: a UTF-8 text file, one sentence
    per line (blank lines skipped), split at whitespace.
    """
    if str(corpus) == "ctcpc":
        from pirho.data.corpora import ctcpc, drop_overlapping, hkcancor, split_by_document

        split = split_by_document(hkcancor())
        kept = drop_overlapping(ctcpc(), split.dev + split.test, n=8)
        return kept + [list(s.words) for s in split.train]
    text = read_text_file(corpus)
    sentences = [line.split() for line in text.splitlines()]
    sentences = [words for words in sentences if words]
    if not sentences:
        raise ValueError(f"corpus file {corpus} has no non-blank line")
    return sentences


def _stream(sentences: Sequence[Sequence[str]]) -> str:
    return SENTENCE_MARK + "".join(BOUNDARY.join(w) + SENTENCE_MARK for w in sentences)


@dataclass
class CSEData:
    """Encoded pretraining text: ``train`` and ``heldout`` character ids (1-D int64 arrays,
    each one stream), the ``vocab`` and ``n_sentences`` (train, held out)."""

    train: np.ndarray
    heldout: np.ndarray
    vocab: Vocab
    n_sentences: tuple[int, int]


def prepare_data(
    sentences: Sequence[Sequence[str]],
    *,
    min_freq: int = 3,
    heldout_fraction: float = 0.01,
    max_chars: int | None = None,
    seed: int = 0,
) -> CSEData:
    """Shuffle the sentences (``seed``), hold out the last ``heldout_fraction``, build the
    character vocabulary on the training part (characters seen ``min_freq`` times or more,
    plus ``<unk>``, ``" "``, ``"\\n"``) and encode both streams; ``max_chars`` cuts the
    training stream.

    >>> data = prepare_data([["a", "b"]] * 50, min_freq=1, heldout_fraction=0.1)
    >>> data.vocab.idx_to_token[:3], data.n_sentences, len(data.heldout)
    (['<unk>', ' ', '\\n'], (45, 5), 21)
    """
    check_int("min_freq", min_freq, minimum=1)
    check_float("heldout_fraction", heldout_fraction, minimum=0.0, maximum=0.5)
    check_seed("seed", seed)
    if max_chars is not None:
        check_positive_int("max_chars", max_chars)
    if len(sentences) < 2:
        raise ValueError(f"need at least 2 sentences to hold some out, got {len(sentences)}")
    order = np.random.default_rng(seed).permutation(len(sentences))
    n_heldout = max(1, round(heldout_fraction * len(sentences)))
    train_part = [sentences[i] for i in order[:-n_heldout]]
    heldout_part = [sentences[i] for i in order[-n_heldout:]]
    train_text = _stream(train_part)
    if max_chars is not None:
        train_text = train_text[:max_chars]
    vocab = Vocab(
        list(train_text), reserved_tokens=(UNK, BOUNDARY, SENTENCE_MARK), min_freq=min_freq
    )
    encode = vocab.token_to_idx.get
    unk = vocab.unk
    train_ids = np.fromiter((encode(c, unk) for c in train_text), dtype=np.int64)
    heldout_text = _stream(heldout_part)
    heldout_ids = np.fromiter((encode(c, unk) for c in heldout_text), dtype=np.int64)
    return CSEData(train_ids, heldout_ids, vocab, (len(train_part), len(heldout_part)))


def stream_batches(ids: np.ndarray, batch_size: int, num_steps: int, seed: int = 0):
    """``epoch -> batches`` of (X_f, Y_f, X_b, Y_b), each (batch_size, num_steps): sequential
    windows of the stream and of the reversed stream (:class:`~pirho.data.SeqDataLoader` with
    ``random_iter=False``: row b of one window continues row b of the previous one, so the
    carried states are continuations). Also returns the number of batches per epoch."""
    forward = SeqDataLoader(ids, batch_size, num_steps, random_iter=False, seed=seed)
    backward = SeqDataLoader(ids[::-1].copy(), batch_size, num_steps, random_iter=False, seed=seed)

    def batches(epoch: int):
        for (xf, yf), (xb, yb) in zip(forward.epoch(epoch), backward.epoch(epoch), strict=True):
            yield xf, yf, xb, yb

    return batches, len(forward)


def cse_loss(model: nn.Module, batch, state):
    """Mean of the forward and backward LMs' cross-entropies on one window pair, each LM's
    state carried; ``n_tokens``: characters of the stream in the window (each read by both)."""
    xf, yf, xb, yb = batch
    forward_logits, backward_logits, state = model(xf, xb, state)
    forward_loss = _steps_first_cross_entropy(forward_logits, yf)
    backward_loss = _steps_first_cross_entropy(backward_logits, yb)
    return 0.5 * (forward_loss + backward_loss), xf.numel(), state


def _steps_first_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy of logits (B, T, V) against targets (B, T), read in (T, B) order.

    RNNLM's logits are a (B, T) view of the LSTM's time-major (T, B, V) output; flattening them
    batch-first copies the whole (B·T, V) tensor (and its gradient) every step. With that copy
    pirho's loop ran at 0.94× a plain loop's characters per CPU second
    (``benchmarks/cse_vs_plain_loop.py``); transposing the small targets instead: 1.07×.
    """
    steps_first = logits.transpose(0, 1)
    return F.cross_entropy(steps_first.reshape(-1, steps_first.shape[-1]), targets.t().reshape(-1))


@torch.no_grad()
def heldout_bits_per_char(
    model: ContextualStringEmbeddings, ids: np.ndarray, rows: int = 16, num_steps: int = 200
) -> dict[str, float]:
    """Bits per character of each direction on the held-out stream ``ids`` (the backward LM
    reads it reversed), states carried over ``rows`` parallel rows: ``{"forward_bpc",
    "backward_bpc"}``."""
    rows = max(1, min(rows, (len(ids) - 1) // 2))
    result = {}
    with evaluating(model):
        for name, lm, stream in (
            ("forward_bpc", model.forward_lm, ids),
            ("backward_bpc", model.backward_lm, ids[::-1].copy()),
        ):
            width = (len(stream) - 1) // rows
            inputs = torch.as_tensor(stream[: rows * width]).reshape(rows, width)
            targets = torch.as_tensor(stream[1 : rows * width + 1]).reshape(rows, width)
            state, total = None, 0.0
            for lo in range(0, width, num_steps):
                logits, state = lm(inputs[:, lo : lo + num_steps], state)
                total += float(
                    F.cross_entropy(
                        logits.float().reshape(-1, logits.shape[-1]),
                        targets[:, lo : lo + num_steps].reshape(-1),
                        reduction="sum",
                    )
                )
            result[name] = total / (rows * width) / math.log(2)
    return result


def train_embeddings(
    sentences: Sequence[Sequence[str]],
    config: dict,
    *,
    seed: int = 0,
    checkpoint: str | None = None,
    resume: bool = False,
    progress: bool = True,
    max_steps: int | None = None,
    precision: str = "auto",
    source: str = "",
) -> tuple[ContextualStringEmbeddings, dict]:
    """Pretrain :class:`~pirho.nn.ContextualStringEmbeddings` on ``sentences`` with
    ``config`` (keys of :data:`FULL`); Adam, global gradient clipping.

    A text too short for ``batch_size`` rows of one window gets fewer rows (the report's
    ``config`` says how many). Returns the model (eval mode, frozen) and a report:
    ``chars_train``, ``chars_heldout``, ``vocab_size``, ``steps``, ``seconds``,
    ``cpu_seconds``, ``tokens_per_s`` (training characters per second, each read by both
    LMs), ``forward_bpc``/``backward_bpc`` (held out, bits per character) and their
    perplexities ``forward_ppl``/``backward_ppl``, ``precision``, ``history``.
    ``checkpoint`` (with ``resume``): :func:`pirho.train.train`'s atomic checkpoints and exact
    resume; :meth:`ContextualStringEmbeddings.load` reads the file.

    >>> model, report = train_embeddings([["今日", "去", "行山"]] * 40,
    ...     dict(QUICK, hidden_size=8, embedding_dim=4, batch_size=2, num_steps=8, min_freq=1,
    ...          heldout_fraction=0.1, max_chars=None), progress=False, precision="fp32")
    >>> report["steps"] > 0 and report["forward_bpc"] > 0
    True
    """
    data = prepare_data(
        sentences,
        min_freq=config["min_freq"],
        heldout_fraction=config["heldout_fraction"],
        max_chars=config["max_chars"],
        seed=seed,
    )
    config = dict(config)
    # rows of one whole window each, after SeqDataLoader's worst-case offset and the target
    fits = (len(data.train) - config["num_steps"] - 1) // config["num_steps"]
    if fits < 1:
        raise ValueError(
            f"the training text has {len(data.train):,} characters, too few for one window of "
            f"num_steps={config['num_steps']}; give more text or a smaller num_steps"
        )
    config["batch_size"] = min(config["batch_size"], fits)  # a short text: fewer rows
    torch.manual_seed(seed)
    model = ContextualStringEmbeddings(
        data.vocab, config["hidden_size"], config["embedding_dim"], fine_tune=True
    )
    batches, n_batches = stream_batches(data.train, config["batch_size"], config["num_steps"], seed)
    meta = {
        **model.meta,
        "training": {
            **{k: v for k, v in config.items() if v is None or isinstance(v, (int, float, str))},
            "seed": seed,
            "source": source,
        },
    }
    train_config = TrainConfig(
        epochs=config["epochs"],
        lr=config["lr"],
        optimizer="adam",
        clip=config["clip"],
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_every=200 if checkpoint else 0,
        resume=resume,
        progress=progress,
        desc="cse",
        max_steps=max_steps,
        precision=precision,
    )
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    result: TrainResult = train(model, batches, cse_loss, train_config, meta=meta)
    cpu_seconds = time.process_time() - cpu_started
    wall_seconds = time.perf_counter() - wall_started
    chars_this_run = (result.steps - result.resumed_from_step) * config["batch_size"]
    chars_this_run *= config["num_steps"]
    model.requires_grad_(False)
    model.fine_tune = False
    model.eval()
    scores = heldout_bits_per_char(model, data.heldout)
    report = {
        "source": source,
        "sentences_train": data.n_sentences[0],
        "sentences_heldout": data.n_sentences[1],
        "chars_train": len(data.train),
        "chars_heldout": len(data.heldout),
        "vocab_size": len(data.vocab),
        "batches_per_epoch": n_batches,
        "steps": result.steps,
        "seconds": result.seconds,
        "cpu_seconds": cpu_seconds,
        "tokens_per_s": chars_this_run / wall_seconds if wall_seconds > 0 else 0.0,
        **scores,
        "forward_ppl": 2 ** scores["forward_bpc"],
        "backward_ppl": 2 ** scores["backward_bpc"],
        "precision": result.precision,
        "completed": result.completed,
        "config": {**config, "seed": seed},
        "history": result.history,
    }
    return model, report
