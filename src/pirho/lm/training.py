"""The language-model recipe: which text a model sees, how it is built and trained, and the
defaults — used by ``pirho lm`` / ``pirho cloze`` and by the lm-leak and cloze experiments.

- :data:`RNNLM_DEFAULTS` (d2l's chapter 9 set-up) and :data:`CLOZE_DEFAULTS`, from the
  torch-free :mod:`pirho.lm.defaults` (the CLI reads them while building its parser).
- :func:`load_lm_text`: the training and held-out split of a text.
- :func:`build_language_model`: a fresh RNNLM / BiLM / ClozeModel for that text.
- :func:`fit_language_model`: :func:`pirho.train.train` with the held-out perplexity curve.
- :func:`resume_mismatches`: what differs between a run's settings and its checkpoint.
- :func:`heldout_in_vocab`: held-out text re-encoded with a trained model's vocabulary.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from pirho._checks import check_choice, check_int, check_positive_int, check_seed
from pirho.checkpoint import load_checkpoint
from pirho.data import SeqDataLoader, Vocab, load_text_corpus, load_time_machine
from pirho.lm.defaults import CLOZE_DEFAULTS, HELDOUT_TOKENS, RNNLM_DEFAULTS
from pirho.nn.lm_eval import perplexities
from pirho.nn.lm_losses import loss_for
from pirho.nn.models import MODEL_CLASSES, RNNLM, BiLM, ClozeModel
from pirho.train import TrainConfig, TrainResult, loss_limit, train

__all__ = [
    "CLOZE_DEFAULTS",
    "HELDOUT_TOKENS",
    "RNNLM_DEFAULTS",
    "LMText",
    "build_language_model",
    "check_resume",
    "epoch_train_ppl",
    "fit_language_model",
    "heldout_in_vocab",
    "load_lm_text",
    "resume_mismatches",
    "train_settings",
]

# The settings a checkpoint records, as (where in its meta, key, the option that sets it).
_RECORDED = (
    ("config", "hidden_size", "--hidden-size"),
    ("config", "num_layers", "--num-layers"),
    ("config", "cell", "--cell"),
    ("config", "embedding_dim", "--embedding-dim"),
    ("config", "bidirectional", "--bidirectional"),
    ("train", "batch_size", "--batch-size"),
    ("train", "num_steps", "--num-steps"),
    ("train", "lr", "--lr"),
    ("train", "optimizer", "--optimizer"),
    ("train", "clip", "--clip"),
    ("train", "random_iter", "--random-iter"),
    ("train", "source", "--text"),
    ("train", "train_tokens", "--max-tokens (training characters)"),
    ("train", "heldout_tokens", "--heldout-tokens"),
    ("train", "seed", "--seed"),
)


@dataclass
class LMText:
    """A character corpus split for language modelling.

    train:    the first ``max_tokens`` tokens (d2l: 10,000 of The Time Machine).
    heldout:  the last ``heldout_tokens`` tokens of the whole text (never in ``train``).
    vocab:    built on the whole text (d2l's 28 for The Time Machine).
    text_mode: how queries are normalised to match (``"d2l"``, ``"raw"``, ``"raw-lower"``).
    source:   a description for reports.
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


def build_language_model(
    kind: str,
    data: LMText,
    *,
    hidden_size: int = RNNLM_DEFAULTS["hidden_size"],
    num_layers: int = RNNLM_DEFAULTS["num_layers"],
    cell: str = RNNLM_DEFAULTS["cell"],
    embedding_dim: int | None = None,
    bidirectional: bool = False,
    seed: int = 0,
) -> nn.Module:
    """A freshly initialised ``"rnnlm"``, ``"bilm"`` or ``"cloze"`` model for ``data``
    (its vocabulary and text mode), its weights drawn after ``torch.manual_seed(seed)``.

    ``embedding_dim=None`` means one-hot input for the RNNLM (d2l) and 64 for the others;
    ``bidirectional`` applies to the RNNLM only.

    >>> data = LMText([1, 2], [2, 1], Vocab("ab"), "raw", "demo")
    >>> model = build_language_model("bilm", data, hidden_size=8, num_layers=1)
    >>> model.meta["config"]["hidden_size"]
    8
    """
    check_choice("kind", kind, tuple(MODEL_CLASSES))
    seed = check_seed("seed", seed)
    if bidirectional and kind != "rnnlm":
        raise ValueError(f"bidirectional applies to the rnnlm (a {kind} is always two-way)")
    torch.manual_seed(seed)
    common = {
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "cell": cell,
        "vocab": data.vocab,
        "text_mode": data.text_mode,
    }
    if kind == "rnnlm":
        return RNNLM(
            len(data.vocab), bidirectional=bidirectional, embedding_dim=embedding_dim, **common
        )
    cls = BiLM if kind == "bilm" else ClozeModel
    return cls(
        len(data.vocab), embedding_dim=embedding_dim or CLOZE_DEFAULTS["embedding_dim"], **common
    )


def train_settings(
    data: LMText,
    *,
    batch_size: int,
    num_steps: int,
    lr: float,
    optimizer: str,
    clip: float | None,
    random_iter: bool,
    seed: int | None = None,
) -> dict:
    """What a checkpoint records of how it was trained (``meta["train"]``); ``seed`` too
    when given (a resumed run must keep it: its random streams come from the checkpoint).

    >>> data = LMText([1, 2], [2, 1], Vocab("ab"), "raw", "demo")
    >>> train_settings(data, batch_size=4, num_steps=5, lr=1.0, optimizer="sgd", clip=None,
    ...                random_iter=False)["train_tokens"]
    2
    """
    settings = {
        "batch_size": batch_size,
        "num_steps": num_steps,
        "lr": lr,
        "optimizer": optimizer,
        "clip": clip,
        "random_iter": random_iter,
        "source": data.source,
        "train_tokens": len(data.train),
        "heldout_tokens": len(data.heldout),
    }
    if seed is not None:
        settings["seed"] = seed
    return settings


def resume_mismatches(stored_meta: Mapping, model: nn.Module, settings: Mapping) -> list[str]:
    """Every recorded setting of a checkpoint (``stored_meta``) that differs from this run's
    model (its ``meta``) and training ``settings`` (:func:`train_settings`), one line each:
    ``"--hidden-size: 16 in the checkpoint, 256 now"``. Empty when they all agree.

    >>> data = LMText([1, 2], [2, 1], Vocab("ab"), "raw", "demo")
    >>> old = build_language_model("bilm", data, hidden_size=8, num_layers=1)
    >>> new = build_language_model("bilm", data, hidden_size=16, num_layers=1)
    >>> resume_mismatches(old.meta, new, {})
    ['--hidden-size: 8 in the checkpoint, 16 now']
    """
    now = {"config": model.meta["config"], "train": settings}
    problems = []
    for section, key, option in _RECORDED:
        stored = (stored_meta.get(section) or {}).get(key)
        given = now[section].get(key)
        if key in now[section] and key in (stored_meta.get(section) or {}) and stored != given:
            problems.append(
                f"{option}: {stored!r} in the checkpoint, {given!r} now".replace("'", "")
            )
    return problems


def check_resume(path: str, model: nn.Module, settings: Mapping, epochs: int) -> None:
    """Raise ValueError listing every reason the checkpoint at ``path`` cannot be continued
    by this run: each :func:`resume_mismatches` line, and ``epochs`` not above the epochs it
    has already trained (resuming would train nothing).

    >>> import tempfile, pathlib
    >>> data = LMText([1, 2, 1, 2] * 10, [1, 2] * 5, Vocab("ab"), "raw", "demo")
    >>> model = build_language_model("rnnlm", data, hidden_size=4, num_layers=1)
    >>> path = str(pathlib.Path(tempfile.mkdtemp()) / "lm.pt")
    >>> _ = fit_language_model(model, data, batch_size=2, num_steps=4, epochs=2,
    ...                        checkpoint=path, progress=False)
    >>> check_resume(path, model, {}, epochs=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot resume ...lm.pt: --epochs: the checkpoint has trained 2 epochs; ...
    """
    payload = load_checkpoint(path, expected_kind=model.kind)
    problems = resume_mismatches(payload["meta"], model, settings)
    done = (payload.get("progress") or {}).get("epoch")
    if done is not None and epochs <= done:
        problems.append(
            f"--epochs: the checkpoint has trained {done} epochs; give more than {done} "
            "to train further"
        )
    if problems:
        raise ValueError(f"cannot resume {path}: " + "; ".join(problems))


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


def fit_language_model(
    model: nn.Module,
    data: LMText,
    *,
    batch_size: int = RNNLM_DEFAULTS["batch_size"],
    num_steps: int = RNNLM_DEFAULTS["num_steps"],
    epochs: int = RNNLM_DEFAULTS["epochs"],
    lr: float = RNNLM_DEFAULTS["lr"],
    optimizer: str = RNNLM_DEFAULTS["optimizer"],
    clip: float | None = RNNLM_DEFAULTS["clip"],
    random_iter: bool = RNNLM_DEFAULTS["random_iter"],
    seed: int = 0,
    eval_every: int = RNNLM_DEFAULTS["eval_every"],
    curve_tokens: int | None = 1_750,
    causal_curve: bool = True,
    checkpoint: str | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: bool = True,
    desc: str = "train",
    evaluate: Callable[[nn.Module, list[int]], dict] | None = None,
    device: str = "auto",
    precision: str = "auto",
) -> TrainResult:
    """Train a pirho language model (``RNNLM``, ``BiLM``, ``ClozeModel``) on ``data.train``.

    d2l's defaults: batches of 32 × 35 steps, sequential partitioning (the unidirectional
    model carries its state across batches), SGD with lr 1 and gradient clipping at 1. Every
    ``eval_every`` epochs the history gets ``heldout_teacher_forced_ppl`` (and
    ``heldout_causal_ppl`` with ``causal_curve``) on the first ``curve_tokens`` held-out tokens
    (None: all) — or whatever ``evaluate(model, heldout_tokens) -> dict`` returns when given.
    The model's ``meta`` and :func:`train_settings` go into every checkpoint. ``device`` and
    ``precision``: see :class:`pirho.train.TrainConfig` (``auto``: CUDA if present; bf16 only
    with native hardware support).

    >>> data = LMText([1, 2, 1, 2] * 10, [1, 2] * 5, Vocab("ab"), "raw", "demo")
    >>> model = build_language_model("rnnlm", data, hidden_size=4, num_layers=1)
    >>> fit_language_model(model, data, batch_size=2, num_steps=4, epochs=2, eval_every=1,
    ...                    progress=False).steps
    8
    """
    loader = SeqDataLoader(
        data.train, batch_size=batch_size, num_steps=num_steps, random_iter=random_iter, seed=seed
    )
    curve_text = data.heldout if curve_tokens is None else data.heldout[:curve_tokens]

    def perplexity_curve(net: nn.Module) -> dict:
        if evaluate is not None:
            return evaluate(net, curve_text)
        ppl = perplexities(net, curve_text, num_steps, causal=causal_curve)
        out = {"heldout_teacher_forced_ppl": ppl["teacher_forced_ppl"]}
        if causal_curve:
            out["heldout_causal_ppl"] = ppl["causal_ppl"]
        return out

    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        clip=clip,
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
        progress=progress,
        eval_every=eval_every,
        desc=desc,
        device=device,
        precision=precision,
        max_loss=loss_limit(max(len(data.vocab), 2)),
    )
    meta = dict(model.meta)
    meta["train"] = train_settings(
        data,
        batch_size=batch_size,
        num_steps=num_steps,
        lr=lr,
        optimizer=optimizer,
        clip=clip,
        random_iter=random_iter,
        seed=seed,
    )
    return train(model, loader.epoch, loss_for(model), config, evaluate=perplexity_curve, meta=meta)


def epoch_train_ppl(result: TrainResult) -> float:
    """The last recorded epoch's training perplexity (d2l's number); nan when none was.

    >>> epoch_train_ppl(TrainResult(history=[{"train_ppl": 9.5}], steps=1, seconds=0.0))
    9.5
    """
    return float(result.history[-1]["train_ppl"]) if result.history else math.nan
