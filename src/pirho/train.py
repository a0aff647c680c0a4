"""The training loop every pirho model shares: optimiser, clipping, progress, checkpoints, DDP.

``train(model, batches, loss_fn, config)`` runs ``config.epochs`` epochs of minibatch SGD (d2l:
lr 1, global gradient-norm clipping at 1) or Adam. The loop knows nothing about models: the
caller's ``loss_fn(model, batch, state) -> (mean loss, n_tokens, new state)`` does the forward
pass, and ``state`` (a hidden state, say) is detached and handed back at the next step, reset to
None at the start of every epoch — d2l's sequential partitioning with a carried state.

Exact resume. A checkpoint holds the model, the optimiser, the epoch and the position inside it,
the carried state, the running epoch loss, the history, and every random generator (Python,
numpy, torch — per rank under DDP). Batches come from ``batches(epoch)``, which must be a pure
function of the epoch (``SeqDataLoader.epoch`` is), so resuming replays the epoch's batches,
skips those already trained on and continues with the same numbers an uninterrupted run would
have seen: the final parameters are bit-for-bit the same. Evaluation runs with the random
generators saved and restored, so how often one evaluates does not change training.

Data parallel. Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment) the loop joins a gloo
process group, wraps the model in ``DistributedDataParallel`` and lets rank ``r`` take batches
``r, r + W, r + 2W, ...`` of every epoch (an incomplete last group is dropped so that all ranks
take the same number of steps; ``shard="contiguous"`` gives each rank one contiguous stretch
instead, so that a sequential loader's carried state stays a continuation). DDP averages the
gradients, so one step equals a single-process step on the mean gradient of the ``W`` batches.
Rank 0 alone writes checkpoints and shows the progress bar. ``loss_fn`` must call the model
itself (``model(X, state)``), since that call is what DDP hooks; the first step checks that the
ranks' gradients agree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pirho._checks import check_choice, check_float, check_int, check_seed
from pirho.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from pirho.distributed import (
    DistributedInfo,
    broadcast_from_rank0,
    check_gradients_agree,
    gather,
    join_process_group,
    leave_process_group,
    shard_batches,
    wrap_ddp,
)
from pirho.nn.lm_eval import evaluating, perplexity
from pirho.precision import DEVICES, PRECISIONS, autocast, resolve_device, resolve_precision

__all__ = [
    "FORMAT_VERSION",
    "LR_SCHEDULES",
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "detach_state",
    "epoch_lr",
    "load_checkpoint",
    "loss_limit",
    "save_checkpoint",
    "seed_everything",
    "train",
]

_OPTIMIZERS = ("sgd", "adam")
_SHARDS = ("stride", "contiguous")
#: ``TrainConfig.lr_schedule``: the learning rate of each epoch as a multiple of ``lr``.
LR_SCHEDULES = ("constant", "linear", "cosine")
_RECORD_KEYS = ("epoch", "step", "train_loss", "train_ppl", "tokens_per_s", "seconds")


@dataclass
class TrainConfig:
    """How to train. ``epochs`` may be raised when resuming to train further.

    ``max_steps`` stops after that many optimiser steps in all (writing a checkpoint if
    ``checkpoint`` is set) — for budgets and tests; None runs every epoch. ``shard`` chooses how
    DDP ranks split an epoch: ``"stride"`` (rank r takes batches r, r+W, ...) or
    ``"contiguous"`` (rank r takes the r-th W-th of the epoch, so a sequential loader's carried
    state stays a continuation on every rank). ``device`` (``"cpu" | "cuda" | "auto"``) and
    ``precision`` (``"fp32" | "bf16" | "auto"``) are resolved by :mod:`pirho.precision`; the
    model and every batch move to the device, the forward pass and loss run under
    :func:`pirho.precision.autocast`, and evaluation runs in float32. The defaults (cpu, fp32)
    keep callers whose data or evaluation code assumes CPU tensors exact; the command line and
    :func:`pirho.lm.fit_language_model` default to ``"auto"``. ``max_loss`` (nats per token,
    e.g. :func:`loss_limit` of the number of classes): the run stops with FloatingPointError
    when the mean loss since the last check (each checkpoint write and each epoch's end) is
    above it — divergence to finite but useless parameters — and that check comes before the
    checkpoint is written, so the last good checkpoint is kept. ``lr_schedule``
    (``"constant" | "linear" | "cosine"``): each epoch's learning rate, :func:`epoch_lr`.
    """

    epochs: int = 1
    lr: float = 1.0
    optimizer: str = "sgd"
    clip: float | None = 1.0
    seed: int = 0
    checkpoint: str | None = None
    checkpoint_every: int = 0
    resume: bool = False
    progress: bool = True
    eval_every: int = 1
    desc: str = "train"
    max_steps: int | None = None
    shard: str = "stride"
    device: str = "cpu"
    precision: str = "fp32"
    max_loss: float | None = None
    lr_schedule: str = "constant"

    def validate(self) -> None:
        """Raise ValueError (TypeError for a non-number) naming the first invalid field."""
        check_int("epochs", self.epochs, minimum=1)
        check_float("lr", self.lr, minimum=0.0, strict_minimum=True)
        check_choice("optimizer", self.optimizer, _OPTIMIZERS)
        if self.clip is not None:
            check_float("clip", self.clip, minimum=0.0, strict_minimum=True)
        check_seed("seed", self.seed)
        check_int("checkpoint_every", self.checkpoint_every, minimum=0)
        if self.checkpoint_every and not self.checkpoint:
            raise ValueError("checkpoint_every is set but checkpoint (the file path) is not")
        if self.resume and not self.checkpoint:
            raise ValueError("resume=True needs checkpoint (the file path to resume from)")
        check_int("eval_every", self.eval_every, minimum=1)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, minimum=0)
        check_choice("shard", self.shard, _SHARDS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if not isinstance(self.device, torch.device):
            check_choice("device", self.device, DEVICES)
        check_choice("precision", self.precision, PRECISIONS)
        if self.max_loss is not None:
            check_float("max_loss", self.max_loss, minimum=0.0, strict_minimum=True)


@dataclass
class TrainResult:
    """What a training run did.

    history: one dict per evaluated epoch — ``epoch`` (epochs completed), ``step`` (optimiser
      steps so far), ``train_loss`` (mean token loss over the epoch, all ranks), ``train_ppl``
      (its exp), ``tokens_per_s``, ``seconds`` (training time so far), then evaluate()'s keys.
    steps: optimiser steps taken in all (including those before a resume).
    seconds: training time in all (including that before a resume).
    completed: False when ``max_steps`` stopped the run before the last epoch ended.
    resumed_from_step: the step the run resumed from (0 for a fresh run).
    device, precision: where and how it trained, resolved (``"cpu"``/``"cuda"``,
      ``"fp32"``/``"bf16"``).
    """

    history: list[dict]
    steps: int
    seconds: float
    completed: bool = True
    resumed_from_step: int = 0
    device: str = "cpu"
    precision: str = "fp32"


# ---------------------------------------------------------------------------------------------
# Seeds and random-generator state


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch's CPU generator.

    >>> seed_everything(3); a = torch.rand(2); seed_everything(3); bool((a == torch.rand(2)).all())
    True
    """
    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    # the legacy global generator is seeded on purpose: user code may draw from it
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


def _rng_state() -> dict:
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        # numpy arrays are not allowed under weights_only loading: keep the keys as a tensor
        "numpy": (
            name,
            torch.from_numpy(keys.astype(np.int64)),
            position,
            has_gauss,
            cached_gaussian,
        ),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached_gaussian = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            name,
            keys.numpy().astype(np.uint32),
            int(position),
            int(has_gauss),
            float(cached_gaussian),
        )
    )
    torch.set_rng_state(state["torch"])
    cuda_states = state.get("cuda", [])
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)


@contextlib.contextmanager
def _preserved_rng() -> Iterator[None]:
    """Run a block without consuming the training run's random numbers."""
    saved = _rng_state()
    try:
        yield
    finally:
        _set_rng_state(saved)


def map_tensors(fn: Callable[[Tensor], Tensor], value: Any) -> Any:
    """``value`` with ``fn`` applied to every tensor, through tuple / namedtuple / list / dict.

    >>> map_tensors(lambda t: t * 2, (torch.ones(1), [torch.ones(1)], None))
    (tensor([2.]), [tensor([2.])], None)
    """
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, tuple):
        items = [map_tensors(fn, v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [map_tensors(fn, v) for v in value]
    if isinstance(value, dict):
        return {key: map_tensors(fn, v) for key, v in value.items()}
    return value


def detach_state(state: Any) -> Any:
    """``state`` with every tensor detached, through tuple / list / dict nesting.

    >>> h = torch.ones(2, requires_grad=True) * 2
    >>> detach_state((h, [h], None))[1][0].requires_grad
    False
    """
    return map_tensors(Tensor.detach, state)


def _jsonable_meta(meta: dict | None) -> dict:
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    try:
        # JSON round trip: what is stored is exactly what a JSON reader would get back
        return json.loads(json.dumps(meta))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"meta must be JSON-able: {exc}") from exc


def _plain_number(value: Any) -> Any:
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------------------------
# The loop


@dataclass
class _Progress:
    """Where training stands; saved in every checkpoint (the per-rank part under ``ranks``)."""

    epoch: int = 0  # the epoch in progress (== epochs when training is over)
    position: int = 0  # this rank's batches already trained on in that epoch
    step: int = 0  # optimiser steps in all
    seconds: float = 0.0
    history: list = field(default_factory=list)
    # per rank: running epoch loss sum and token count, carried state
    loss_sum: float = 0.0
    tokens: int = 0
    carried: Any = None


def epoch_lr(lr: float, epoch: int, epochs: int, schedule: str = "constant") -> float:
    """The learning rate of epoch ``epoch`` (0-based) of ``epochs`` under ``schedule``:
    ``"constant"`` lr; ``"linear"`` lr·(1 − e/E); ``"cosine"`` lr·(1 + cos(π e/E))/2. The
    first epoch always runs at ``lr``; a function of the epoch alone, so a resumed run sets
    the same rate as an uninterrupted one (raising ``epochs`` on resume stretches the decay).

    >>> [round(epoch_lr(1.0, e, 4, "cosine"), 3) for e in range(4)]
    [1.0, 0.854, 0.5, 0.146]
    >>> [epoch_lr(0.1, e, 4, "linear") for e in (0, 2)], epoch_lr(0.1, 3, 4)
    ([0.1, 0.05], 0.1)
    """
    check_choice("lr_schedule", schedule, LR_SCHEDULES)
    fraction = epoch / epochs
    if schedule == "linear":
        return lr * (1.0 - fraction)
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * fraction))
    return lr


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr)


def _comparable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _restore(
    payload: dict,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    meta: dict,
    dist_info: DistributedInfo,
) -> _Progress:
    path = config.checkpoint
    progress = payload.get("progress")
    if not isinstance(progress, dict) or "optimizer_state" not in payload:
        raise CheckpointError(f"{path} holds no training progress (not written by pirho.train)")
    stored_meta = payload["meta"]
    for key in ("kind", "config", "vocab"):
        if key in meta and key in stored_meta and _comparable(meta[key]) != stored_meta[key]:
            raise CheckpointError(
                f"{path} was written for another model: meta[{key!r}] is {stored_meta[key]!r} "
                f"there and {meta[key]!r} here"
            )
    stored_optimizer = progress.get("config", {}).get("optimizer")
    if stored_optimizer != config.optimizer:
        raise CheckpointError(
            f"{path} was trained with optimizer {stored_optimizer!r}, not {config.optimizer!r}"
        )
    stored_seed = progress.get("config", {}).get("seed")
    if stored_seed is not None and stored_seed != config.seed:
        # the run's random streams come from the checkpoint: another seed would be ignored
        raise CheckpointError(
            f"{path} was trained with seed {stored_seed}, not {config.seed}: a resumed run "
            f"continues the checkpoint's random streams; give seed {stored_seed} (--seed "
            f"{stored_seed}) or start a new run"
        )
    try:
        ranks = list(progress["ranks"])
        restored = _Progress(
            epoch=int(progress["epoch"]),
            position=int(progress["position"]),
            step=int(progress["step"]),
            seconds=float(progress["seconds"]),
            history=list(progress["history"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: training progress is incomplete ({exc!r})") from exc
    if len(ranks) != dist_info.world_size and restored.position:
        raise CheckpointError(
            f"{path} was written mid-epoch by {len(ranks)} process(es); resume it with "
            f"{len(ranks)}, not {dist_info.world_size}"
        )
    try:
        model.load_state_dict(payload["model_state"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit this model: {exc}") from exc
    try:
        optimizer.load_state_dict(payload["optimizer_state"])
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: optimizer state does not fit this model: {exc}") from exc

    if len(ranks) != dist_info.world_size:
        warnings.warn(
            f"resuming a {len(ranks)}-process checkpoint with {dist_info.world_size} "
            "process(es): random streams are re-seeded, so the run will not replay exactly",
            stacklevel=3,
        )
        seed_everything(config.seed + dist_info.rank + 7919 * restored.epoch)
        return restored
    mine = ranks[dist_info.rank]
    _set_rng_state(mine["rng"])
    restored.loss_sum = mine["loss_sum"]
    restored.tokens = mine["tokens"]
    restored.carried = mine["carried"]
    return restored


def _run_evaluate(evaluate: Callable[[nn.Module], dict], model: nn.Module) -> dict:
    """evaluate(model) in eval mode, without gradients, leaving the random streams untouched."""
    with _preserved_rng(), evaluating(model):
        scores = evaluate(model)
    if not isinstance(scores, Mapping):
        raise TypeError(f"evaluate must return a dict of numbers, got {type(scores).__name__}")
    return {str(key): _plain_number(value) for key, value in scores.items()}


def _divergence_message(what: str, step: int, epoch: int, config: TrainConfig) -> str:
    kept = ""
    if config.checkpoint:
        kept = (
            f"; the last checkpoint written before it is kept in {config.checkpoint}"
            if Path(config.checkpoint).is_file()
            else f"; no checkpoint was written ({config.checkpoint})"
        )
    return (
        f"training diverged: {what} at step {step} (epoch {epoch}) with lr={config.lr:g}, "
        f"clip={config.clip if config.clip is None else format(config.clip, 'g')}, "
        f"optimizer={config.optimizer}; lower lr or clip gradients{kept}"
    )


def _check_not_diverged(loss_value: float, step: int, epoch: int, config: TrainConfig) -> None:
    """FloatingPointError once the loss has no finite perplexity (nan, inf, or > ~709 nats)."""
    if not math.isfinite(perplexity(loss_value)):
        what = f"loss is {loss_value:.6g} (perplexity {perplexity(loss_value)})"
        raise FloatingPointError(_divergence_message(what, step, epoch, config))


def loss_limit(n_classes: int) -> float:
    """The mean loss (nats per token) above which training over ``n_classes`` outputs has
    diverged: log V + max(log V, 5), a model worse than a uniform guess (log V) by a factor of
    at least V (and of e⁵ ≈ 150) in perplexity. For :attr:`TrainConfig.max_loss`.

    >>> round(loss_limit(28), 3)
    8.332
    """
    check_int("n_classes", n_classes, minimum=2)
    return math.log(n_classes) + max(math.log(n_classes), 5.0)


def _check_loss_window(
    window: list, step: int, epoch: int, config: TrainConfig, dist_info: DistributedInfo
) -> None:
    """FloatingPointError when the mean loss since the last check is above ``max_loss``
    (every rank's steps counted); resets the window."""
    totals = gather((window[0], window[1]), dist_info)
    loss_sum, tokens = sum(t[0] for t in totals), sum(t[1] for t in totals)
    window[0], window[1] = 0.0, 0
    if config.max_loss is None or not tokens:
        return
    mean = loss_sum / tokens
    if mean > config.max_loss:
        what = (
            f"the mean loss is {mean:.4g} nats per token (perplexity {perplexity(mean):.3g}), "
            f"above {config.max_loss:.4g}, worse than a uniform guess by a wide margin"
        )
        raise FloatingPointError(_divergence_message(what, step, epoch, config))


def _write_checkpoint(
    config: TrainConfig,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    meta: dict,
    progress: _Progress,
    dist_info: DistributedInfo,
) -> None:
    # Every rank must take part in the gather; only rank 0 writes.
    mine = {
        "rng": _rng_state(),
        "loss_sum": progress.loss_sum,
        "tokens": progress.tokens,
        "carried": progress.carried,
    }
    ranks = gather(mine, dist_info)
    if dist_info.rank != 0:
        return
    # never overwrite the last good checkpoint with parameters a diverging step made inf/nan
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise FloatingPointError(
            _divergence_message(
                "the parameters are no longer finite", progress.step, progress.epoch + 1, config
            )
        )
    payload = {
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "meta": meta,
        "progress": {
            "epoch": progress.epoch,
            "position": progress.position,
            "step": progress.step,
            "seconds": progress.seconds,
            "history": progress.history,
            "config": dataclasses.asdict(config),
            "ranks": ranks,
        },
    }
    save_checkpoint(config.checkpoint, payload)


def train(
    model: nn.Module,
    batches: Callable[[int], Iterable],
    loss_fn: Callable[[nn.Module, Any, Any], tuple[Tensor, int, Any]],
    config: TrainConfig,
    evaluate: Callable[[nn.Module], dict] | None = None,
    meta: dict | None = None,
) -> TrainResult:
    """Train ``model`` in place; return its history.

    model: any ``nn.Module``, already initialised (seed before constructing it).
    batches: ``epoch -> iterable of batches`` for that epoch, a pure function of the epoch,
      e.g. ``SeqDataLoader(...).epoch`` (a SeqDataLoader itself is accepted too); must not draw
      from the global random generators.
    loss_fn: ``(model, batch, state) -> (loss, n_tokens, new_state)`` — loss the mean over
      ``n_tokens`` tokens, a scalar tensor with grad; ``state`` is None at each epoch's start and
      afterwards the previous step's ``new_state``, detached.
    config: :class:`TrainConfig`. evaluate: ``model -> dict`` of numbers, called every
      ``eval_every`` epochs and after the last one, under ``torch.no_grad()`` in eval mode, on
      rank 0 (its result is shared with every rank). meta: JSON-able, stored in checkpoints.

    >>> torch.manual_seed(0); model = nn.Linear(1, 1, bias=False)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> data = [(torch.ones(4, 1), torch.full((4, 1), 2.0))]
    >>> def loss_fn(m, batch, state):
    ...     x, y = batch
    ...     return ((m(x) - y) ** 2).mean(), len(x), None
    >>> result = train(model, lambda epoch: data, loss_fn,
    ...                TrainConfig(epochs=50, lr=0.1, clip=None, progress=False))
    >>> round(model.weight.item(), 3), result.steps
    (2.0, 50)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(batches) and callable(getattr(batches, "epoch", None)):
        batches = batches.epoch  # a SeqDataLoader itself
    if not callable(batches):
        raise TypeError("batches must be a callable epoch -> iterable of batches")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a callable (model, batch, state) -> (loss, n, state)")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    config.validate()
    meta = _jsonable_meta(meta)
    dist_info = join_process_group()
    try:
        return _train(model, batches, loss_fn, config, evaluate, meta, dist_info)
    finally:
        if dist_info.owns_group:
            leave_process_group()


def _train(model, batches, loss_fn, config, evaluate, meta, dist_info) -> TrainResult:
    from tqdm.auto import tqdm

    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    # non_blocking copies overlap a host-to-GPU copy with compute; on the CPU they are no-ops
    non_blocking = device.type == "cuda"

    def to_device(tensor: Tensor) -> Tensor:
        return tensor.to(device, non_blocking=non_blocking)

    seed_everything(config.seed + dist_info.rank)
    model.to(device)  # before the optimiser, so that its state lives beside the parameters
    optimizer = _make_optimizer(model, config)
    progress = _Progress()
    if config.resume and Path(config.checkpoint).exists():
        payload = load_checkpoint(config.checkpoint, expected_kind=meta.get("kind"))
        progress = _restore(payload, model, optimizer, config, meta, dist_info)
        progress.carried = map_tensors(to_device, progress.carried)
    resumed_from_step = progress.step

    net = model
    if dist_info.active:
        net = wrap_ddp(model)  # also broadcasts rank 0's parameters to every rank
    model.train()

    show = config.progress and dist_info.rank == 0
    bar = None
    checked_gradients = not dist_info.active
    completed = True
    last_scores: dict = {}  # the latest evaluate() numbers, shown on the progress bar
    run_started = time.perf_counter()
    seconds_before = progress.seconds
    window = [0.0, 0]  # loss sum and tokens since the last max_loss check

    def elapsed() -> float:
        return seconds_before + time.perf_counter() - run_started

    try:
        for epoch in range(progress.epoch, config.epochs):
            skip = progress.position if epoch == progress.epoch else 0
            if not skip:
                progress.loss_sum, progress.tokens, progress.carried = 0.0, 0, None
            progress.epoch, progress.position = epoch, skip
            for group in optimizer.param_groups:
                group["lr"] = epoch_lr(config.lr, epoch, config.epochs, config.lr_schedule)
            rank_batches, per_rank = shard_batches(batches(epoch), dist_info, config.shard)
            if show and bar is None:
                total = None if per_rank is None else per_rank * config.epochs
                bar = tqdm(total=total, initial=progress.step, desc=config.desc, dynamic_ncols=True)
            epoch_started, epoch_tokens = time.perf_counter(), 0
            state = progress.carried
            stop = False
            for batch in itertools.islice(rank_batches, skip, None):
                if config.max_steps is not None and progress.step >= config.max_steps:
                    stop = True
                    break
                optimizer.zero_grad(set_to_none=True)
                with autocast(precision, device):
                    loss, n_tokens, state = loss_fn(net, map_tensors(to_device, batch), state)
                if not isinstance(loss, Tensor) or loss.dim() != 0 or not loss.requires_grad:
                    raise TypeError("loss_fn must return a scalar loss tensor that requires grad")
                loss_value = float(loss.detach())
                _check_not_diverged(loss_value, progress.step + 1, epoch + 1, config)
                loss.backward()
                if not checked_gradients:
                    check_gradients_agree(model, dist_info)
                    checked_gradients = True
                if config.clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                optimizer.step()
                state = detach_state(state)
                n_tokens = int(n_tokens)
                progress.loss_sum += loss_value * n_tokens
                progress.tokens += n_tokens
                window[0] += loss_value * n_tokens
                window[1] += n_tokens
                progress.step += 1
                progress.position += 1
                progress.carried = state
                epoch_tokens += n_tokens
                if bar is not None:
                    rate = (
                        epoch_tokens
                        * dist_info.world_size
                        / max(time.perf_counter() - epoch_started, 1e-9)
                    )
                    ppl = perplexity(progress.loss_sum / max(progress.tokens, 1))
                    shown = {"epoch": epoch + 1, "ppl": f"{ppl:.2f}", "tok/s": f"{rate:,.0f}"}
                    bar.set_postfix({**shown, **last_scores}, refresh=False)
                    bar.update(1)
                if config.checkpoint_every and progress.step % config.checkpoint_every == 0:
                    if config.max_loss is not None:
                        _check_loss_window(window, progress.step, epoch + 1, config, dist_info)
                    progress.seconds = elapsed()
                    _write_checkpoint(config, model, optimizer, meta, progress, dist_info)
            if stop:
                completed = False
                break

            # end of epoch: metrics over all ranks, then evaluation
            if config.max_loss is not None:
                _check_loss_window(window, progress.step, epoch + 1, config, dist_info)
            epoch_seconds = time.perf_counter() - epoch_started
            totals = gather((progress.loss_sum, progress.tokens, epoch_tokens), dist_info)
            loss_sum = sum(t[0] for t in totals)
            tokens = sum(t[1] for t in totals)
            tokens_now = sum(t[2] for t in totals)
            progress.epoch, progress.position = epoch + 1, 0
            progress.loss_sum, progress.tokens, progress.carried = 0.0, 0, None
            if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
                train_loss = loss_sum / tokens if tokens else float("nan")
                record = {
                    "epoch": epoch + 1,
                    "step": progress.step,
                    "train_loss": train_loss,
                    "train_ppl": perplexity(train_loss),
                    "tokens_per_s": tokens_now / epoch_seconds if epoch_seconds > 0 else 0.0,
                    "seconds": elapsed(),
                }
                scores = None
                if evaluate is not None and dist_info.rank == 0:
                    scores = _run_evaluate(evaluate, model)
                record.update(broadcast_from_rank0(scores, dist_info) or {})
                progress.history.append(record)
                last_scores = {
                    key: f"{value:.4g}"
                    for key, value in record.items()
                    if key not in _RECORD_KEYS and isinstance(value, (int, float))
                }
                if bar is not None:
                    shown = {"epoch": epoch + 1, "ppl": f"{record['train_ppl']:.2f}"}
                    shown["tok/s"] = f"{record['tokens_per_s']:,.0f}"
                    bar.set_postfix({**shown, **last_scores}, refresh=True)

    finally:
        if bar is not None:
            bar.close()
    progress.seconds = elapsed()
    if config.checkpoint:
        _write_checkpoint(config, model, optimizer, meta, progress, dist_info)
    return TrainResult(
        history=progress.history,
        steps=progress.step,
        seconds=progress.seconds,
        completed=completed and progress.epoch >= config.epochs,
        resumed_from_step=resumed_from_step,
        device=device.type,
        precision=precision,
    )
