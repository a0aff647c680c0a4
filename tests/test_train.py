"""pirho.train: SGD + clipping, determinism, atomic checkpoints, exact resume, a real LM run."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pirho import train as train_module
from pirho.data import SeqDataLoader, load_time_machine, split_corpus
from pirho.nn.lm_losses import rnnlm_loss
from pirho.train import (
    CheckpointError,
    TrainConfig,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    train,
)

VOCAB = 12


class TinyLM(nn.Module):
    """Embedding → LSTM → dropout → linear: the smallest model with a carried state and noise."""

    def __init__(self, vocab_size: int = VOCAB, hidden: int = 16, dropout: float = 0.2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 8)
        self.rnn = nn.LSTM(8, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, X, state=None):
        hidden, state = self.rnn(self.embed(X), state)
        return self.out(self.drop(hidden)), state


def synthetic_corpus(n=600, seed=0):
    """A token stream with structure (mostly +1 steps) so that a model can learn something."""
    g = torch.Generator().manual_seed(seed)
    jumps = torch.where(
        torch.rand(n, generator=g) < 0.8, 1, torch.randint(0, VOCAB, (n,), generator=g)
    )
    return (torch.cumsum(jumps, 0) % VOCAB).tolist()


def fresh_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return TinyLM(**kwargs)


def params(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def assert_same_parameters(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def comparable(history):
    return [{k: v for k, v in h.items() if k not in ("tokens_per_s", "seconds")} for h in history]


class Interrupt(Exception):
    pass


def interrupting(loss_fn, at_call):
    calls = {"n": 0}

    def wrapped(model, batch, state):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise Interrupt
        return loss_fn(model, batch, state)

    return wrapped


# --- one step is d2l's clipped SGD ---------------------------------------------------------------


@pytest.mark.parametrize("clip", [0.05, 10.0, None])
def test_one_sgd_step_is_d2l_gradient_clipping_then_descent(clip):
    model = fresh_model(dropout=0.0)
    loader = SeqDataLoader(synthetic_corpus(), 4, 10, random_iter=True)
    batch = next(loader.epoch(0))
    reference = fresh_model(dropout=0.0)
    loss, _, _ = rnnlm_loss(reference, batch, None)
    grads = torch.autograd.grad(loss, list(reference.parameters()))
    # d2l's grad_clipping: scale every gradient by clip / norm when the global norm exceeds clip
    norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
    scale = 1.0 if clip is None or norm <= clip else clip / norm
    assert (scale < 0.5) == (clip == 0.05)  # the first case really clips
    lr = 0.5
    expected = [
        p.detach() - lr * scale * g for p, g in zip(reference.parameters(), grads, strict=True)
    ]
    train(model, lambda e: [batch], rnnlm_loss, TrainConfig(lr=lr, clip=clip, progress=False))
    for p, want in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.detach(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_each_epoch_steps_with_its_scheduled_learning_rate(schedule):
    # loss = w·1 has gradient 1 everywhere: one plain SGD step moves w by exactly -lr
    model = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    after_epoch = []
    train(
        model,
        lambda epoch: [None, None],  # two steps per epoch
        lambda m, batch, state: (m.weight.sum(), 1, None),
        TrainConfig(epochs=4, lr=0.5, clip=None, progress=False, lr_schedule=schedule),
        evaluate=lambda m: after_epoch.append(float(m.weight[0, 0])) or {},
    )
    rates = [
        0.5 * f
        for f in {
            "constant": [1, 1, 1, 1],
            "linear": [1, 0.75, 0.5, 0.25],
            "cosine": [(1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)],
        }[schedule]
    ]
    expected = [-2 * sum(rates[: e + 1]) for e in range(4)]
    assert after_epoch == pytest.approx(expected, rel=1e-6)


def test_an_unknown_lr_schedule_is_refused_by_name():
    with pytest.raises(ValueError, match="lr_schedule.*'step'"):
        TrainConfig(lr_schedule="step").validate()


def test_history_reports_token_weighted_mean_loss_and_its_perplexity():
    seen = []

    def recording_loss(model, batch, state):
        loss, n, state = rnnlm_loss(model, batch, state)
        seen.append((float(loss.detach()), n))
        return loss, n, state

    loader = SeqDataLoader(synthetic_corpus(), 4, 10, random_iter=False)
    result = train(
        fresh_model(),
        loader.epoch,
        recording_loss,
        TrainConfig(epochs=2, lr=1.0, progress=False, eval_every=2),
        evaluate=lambda m: {"answer": torch.tensor(42.0)},
    )
    assert [h["epoch"] for h in result.history] == [2]
    record = result.history[0]
    last_epoch = seen[len(loader) :]
    mean = sum(loss * n for loss, n in last_epoch) / sum(n for _, n in last_epoch)
    assert record["train_loss"] == pytest.approx(mean, rel=1e-12)
    assert record["train_ppl"] == pytest.approx(math.exp(mean), rel=1e-12)
    assert record["step"] == result.steps == 2 * len(loader)
    assert record["answer"] == 42.0 and isinstance(record["answer"], float)
    assert record["tokens_per_s"] > 0


# --- determinism and exact resume ----------------------------------------------------------------


def run(config, model_seed=0, loss_fn=rnnlm_loss, random_iter=False, evaluate=None, meta=None):
    model = fresh_model(model_seed)
    loader = SeqDataLoader(synthetic_corpus(), 4, 10, random_iter=random_iter, seed=7)
    result = train(model, loader.epoch, loss_fn, config, evaluate=evaluate, meta=meta)
    return model, result


def test_training_is_deterministic_for_a_seed_and_evaluation_does_not_perturb_it():
    def noisy_evaluate(model):  # draws random numbers: must not shift training's streams
        return {"noise": float(torch.rand(()))}

    config = dict(epochs=2, lr=1.0, seed=3, progress=False)
    a, ra = run(TrainConfig(**config))
    b, rb = run(TrainConfig(**config), evaluate=noisy_evaluate)
    c, _ = run(TrainConfig(**{**config, "seed": 4}))
    assert_same_parameters(params(a), params(b))
    assert [h["train_loss"] for h in ra.history] == [h["train_loss"] for h in rb.history]
    assert not torch.equal(params(a)["out.weight"], params(c)["out.weight"])  # dropout differs


@pytest.mark.parametrize(
    "random_iter, optimizer, every, interrupt_at, schedule",
    [
        (False, "sgd", 5, 23, "constant"),  # sequential: carried LSTM state restored mid-epoch
        (True, "adam", 4, 18, "constant"),  # Adam's moments restored mid-epoch
        (False, "adam", 14, 30, "constant"),  # checkpoint at the very end of an epoch
        (True, "adam", 4, 18, "cosine"),  # the decayed rate of the resumed epoch
    ],
)
def test_resume_after_interrupt_gives_the_uninterrupted_parameters(
    tmp_path, random_iter, optimizer, every, interrupt_at, schedule
):
    config = dict(epochs=3, lr=0.05 if optimizer == "adam" else 1.0, optimizer=optimizer)
    config["lr_schedule"] = schedule
    config.update(seed=11, progress=False, checkpoint_every=every)
    uninterrupted, full = run(
        TrainConfig(**config, checkpoint=str(tmp_path / "a.pt")), random_iter=random_iter
    )
    assert full.steps == 42

    path = str(tmp_path / "b.pt")
    with pytest.raises(Interrupt):
        run(
            TrainConfig(**config, checkpoint=path),
            loss_fn=interrupting(rnnlm_loss, interrupt_at),
            random_iter=random_iter,
        )
    progress = load_checkpoint(path)["progress"]
    assert progress["step"] == (interrupt_at - 1) // every * every
    # a fresh process would build the model from another seed: the checkpoint must win
    resumed, rest = run(
        TrainConfig(**config, checkpoint=path, resume=True), model_seed=99, random_iter=random_iter
    )
    assert rest.resumed_from_step == progress["step"] and rest.steps == 42
    assert_same_parameters(params(uninterrupted), params(resumed))
    assert comparable(rest.history) == comparable(full.history)


def test_max_steps_stops_with_a_checkpoint_and_resume_finishes_identically(tmp_path):
    config = dict(epochs=2, lr=1.0, seed=5, progress=False)
    whole, full = run(TrainConfig(**config))
    path = str(tmp_path / "c.pt")
    _, part = run(TrainConfig(**config, checkpoint=path, max_steps=9))
    assert (part.steps, part.completed) == (9, False)
    resumed, rest = run(TrainConfig(**config, checkpoint=path, resume=True), model_seed=1)
    assert rest.completed and rest.steps == full.steps
    assert_same_parameters(params(whole), params(resumed))
    # resuming a finished run with more epochs continues it
    _, more = run(TrainConfig(**{**config, "epochs": 3}, checkpoint=path, resume=True))
    assert more.steps == full.steps * 3 // 2 and len(more.history) == 3


def test_resume_without_a_checkpoint_file_starts_fresh(tmp_path):
    config = dict(epochs=1, lr=1.0, progress=False)
    a, _ = run(TrainConfig(**config))
    b, result = run(TrainConfig(**config, checkpoint=str(tmp_path / "none.pt"), resume=True))
    assert result.resumed_from_step == 0
    assert_same_parameters(params(a), params(b))


# --- checkpoints ---------------------------------------------------------------------------------


def test_checkpoint_round_trip_keeps_tensors_meta_and_progress(tmp_path):
    meta = {"kind": "tinylm", "config": {"hidden": 16}, "vocab": {"idx_to_token": ["<unk>", "a"]}}
    model, _ = run(
        TrainConfig(epochs=1, progress=False, checkpoint=str(tmp_path / "r.pt")), meta=meta
    )
    payload = load_checkpoint(tmp_path / "r.pt", expected_kind="tinylm")
    assert payload["meta"] == meta and payload["format_version"] == train_module.FORMAT_VERSION
    assert_same_parameters(params(model), payload["model_state"])
    assert payload["progress"]["epoch"] == 1 and payload["progress"]["position"] == 0
    rebuilt = TinyLM()
    rebuilt.load_state_dict(payload["model_state"])
    assert_same_parameters(params(model), params(rebuilt))


def test_corrupt_or_truncated_checkpoint_raises_checkpoint_error(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", {"model_state": TinyLM().state_dict()})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    for path in (truncated, garbage):
        with pytest.raises(CheckpointError, match="corrupt"):
            load_checkpoint(path)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(CheckpointError, match="not a pirho checkpoint"):
        load_checkpoint(foreign)
    assert issubclass(CheckpointError, ValueError)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


class Executable:
    """A pickled object that weights_only loading must refuse to rebuild."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_checkpoint_holding_code_is_refused_not_executed(tmp_path):
    path = tmp_path / "code.pt"
    torch.save({"format_version": 1, "model_state": {}, "meta": {"x": Executable()}}, path)
    with pytest.raises(CheckpointError, match="is not a pirho checkpoint"):
        load_checkpoint(path)


def test_another_models_checkpoint_raises_checkpoint_error(tmp_path):
    path = tmp_path / "bilm.pt"
    run(TrainConfig(epochs=1, progress=False, checkpoint=str(path)), meta={"kind": "bilm"})
    with pytest.raises(CheckpointError, match="'bilm' model, expected 'rnnlm'"):
        load_checkpoint(path, expected_kind="rnnlm")
    resume = TrainConfig(epochs=2, progress=False, checkpoint=str(path), resume=True)
    with pytest.raises(CheckpointError, match="'bilm' model, expected 'rnnlm'"):
        run(resume, meta={"kind": "rnnlm"})
    # same kind, other shape: the state dict does not fit
    model = TinyLM(hidden=8)
    loader = SeqDataLoader(synthetic_corpus(), 4, 10)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        train(model, loader.epoch, rnnlm_loss, resume, meta={"kind": "bilm"})
    with pytest.raises(CheckpointError, match="optimizer 'sgd', not 'adam'"):
        run(
            TrainConfig(
                epochs=2, optimizer="adam", progress=False, checkpoint=str(path), resume=True
            )
        )


def test_checkpoint_write_is_atomic_when_interrupted(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "ckpt.pt", {"model_state": {"w": torch.ones(3)}})
    before = path.read_bytes()

    def failing_save(obj, handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module.torch, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"model_state": {"w": torch.zeros(3)}})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]  # no temp file left


# --- errors and progress -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", -1),
        ("lr", 0.0),
        ("optimizer", "rmsprop"),
        ("clip", 0.0),
        ("seed", -2),
        ("checkpoint_every", 5),
        ("eval_every", 0),
        ("shard", "random"),
        ("resume", True),
    ],
)
def test_invalid_config_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        run(TrainConfig(progress=False, **{field: value}))


def test_non_finite_loss_raises_with_the_step():
    def nan_loss(model, batch, state):
        loss, n, state = rnnlm_loss(model, batch, state)
        return loss * float("nan"), n, state

    with pytest.raises(FloatingPointError, match="step 1"):
        run(TrainConfig(progress=False), loss_fn=nan_loss)


def test_a_loss_without_finite_perplexity_stops_naming_lr_and_clip(tmp_path):
    def huge_loss(model, batch, state):  # finite, but exp(loss) overflows: diverged
        loss, n, state = rnnlm_loss(model, batch, state)
        return loss * 0 + 710.0, n, state

    config = TrainConfig(lr=0.5, clip=None, progress=False, checkpoint=str(tmp_path / "r.pt"))
    with pytest.raises(FloatingPointError) as exc:
        run(config, loss_fn=huge_loss)
    assert str(exc.value) == (
        "training diverged: loss is 710 (perplexity inf) at step 1 (epoch 1) with lr=0.5, "
        f"clip=None, optimizer=sgd; lower lr or clip gradients; no checkpoint was written "
        f"({tmp_path / 'r.pt'})"
    )


def test_flipped_tensor_bytes_are_rejected_by_the_content_hash(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", {"model_state": fresh_model().state_dict()})
    load_checkpoint(path)  # intact: loads
    raw = bytearray(path.read_bytes())
    data_at = raw.index(b"/data/0") + 200  # inside the first tensor's stored bytes
    raw[data_at : data_at + 64] = bytes(b ^ 0xFF for b in raw[data_at : data_at + 64])
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="does not match the hash"):
        load_checkpoint(path)


def test_a_folder_given_as_checkpoint_is_reported_as_a_folder(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory"):
        load_checkpoint(tmp_path)


def test_progress_bar_shows_perplexity_and_tokens_per_second(capsys):
    run(TrainConfig(epochs=1, progress=True, desc="tiny"), evaluate=lambda m: {"heldout_ppl": 3.0})
    err = capsys.readouterr().err
    assert "tiny" in err and "ppl=" in err and "tok/s=" in err and "heldout_ppl=3" in err


def test_seed_everything_rejects_negative_seeds():
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


# --- a small real run ----------------------------------------------------------------------------


def test_small_lstm_lm_on_the_time_machine_lowers_heldout_perplexity(time_machine):
    corpus, vocab = load_time_machine(max_tokens=6000, path=time_machine)
    train_part, heldout = split_corpus(corpus, 0.1)
    X = torch.tensor(heldout[:-1])[None]
    Y = torch.tensor(heldout[1:])[None]

    @torch.no_grad()
    def heldout_ppl(model):
        logits, _ = model(X)
        return {"heldout_ppl": math.exp(float(F.cross_entropy(logits[0], Y[0])))}

    model = fresh_model(vocab_size=len(vocab), hidden=32, dropout=0.0)
    before = heldout_ppl(model)["heldout_ppl"]
    loader = SeqDataLoader(train_part, 16, 32, random_iter=False)
    config = TrainConfig(epochs=6, lr=0.02, optimizer="adam", progress=False)
    result = train(model, loader.epoch, rnnlm_loss, config, evaluate=heldout_ppl)
    after = result.history[-1]["heldout_ppl"]
    curve = [h["heldout_ppl"] for h in result.history]
    # untrained: about the vocabulary size (28); after 60 steps well below the unigram level
    assert before > 25 and after < 11, curve
    assert curve == sorted(curve, reverse=True)
    assert result.history[-1]["train_ppl"] < result.history[0]["train_ppl"]


def test_mid_epoch_checkpoint_of_another_world_size_is_refused(tmp_path):
    path = tmp_path / "two.pt"
    run(TrainConfig(progress=False, checkpoint=str(path), max_steps=3))
    payload = load_checkpoint(path)
    payload["progress"]["ranks"] *= 2  # as if written by 2 processes
    save_checkpoint(path, payload)
    with pytest.raises(CheckpointError, match="by 2 process"):
        run(TrainConfig(progress=False, checkpoint=str(path), resume=True))


KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
import test_train as t

def slow_loss(model, batch, state):
    time.sleep(0.05)
    return t.rnnlm_loss(model, batch, state)

t.run(t.TrainConfig(**{config!r}), loss_fn=slow_loss)
"""


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_uninterrupted_parameters(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "killed.pt"
    config = dict(epochs=2, lr=1.0, seed=2, progress=False, checkpoint_every=3)
    script = KILL_SCRIPT.format(
        tests=str(Path(__file__).parent), config={**config, "checkpoint": str(path)}
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if path.exists() and load_checkpoint(path)["progress"]["step"] >= 6:
                break
            assert process.poll() is None, "the training process ended before it was killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    step = load_checkpoint(path)["progress"]["step"]
    assert 6 <= step < 28
    resumed, _ = run(TrainConfig(**config, checkpoint=str(path), resume=True), model_seed=5)
    whole, _ = run(TrainConfig(**config, checkpoint=str(tmp_path / "whole.pt")))
    assert_same_parameters(params(whole), params(resumed))
