"""Device and precision: resolution rules, bf16 vs fp32 training, CUDA errors, ``--json``."""

import json
import math

import pytest
import torch
from torch import nn

import pirho.precision as precision_module
from pirho.cli import main
from pirho.data import SeqDataLoader
from pirho.lm import load_lm_text
from pirho.lm.metrics import LM_TRAIN_METRIC_KEYS
from pirho.nn.models import RNNLM, rnnlm_loss
from pirho.precision import autocast, resolve_device, resolve_precision
from pirho.train import TrainConfig, train

TEXT = "the time traveller came back from the year eight hundred thousand and one. " * 16


@pytest.fixture(autouse=True)
def _threads(one_torch_thread):
    yield


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_precision_follows_the_cpu_bf16_flags(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.delenv("PIRHO_PRECISION", raising=False)
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16", cpu)


def test_pirho_precision_fixes_what_auto_means_and_nothing_else(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setenv("PIRHO_PRECISION", "fp32")
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setenv("PIRHO_PRECISION", "bf16")
    assert resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setenv("PIRHO_PRECISION", "fp16")
    with pytest.raises(ValueError, match="PIRHO_PRECISION='fp16'"):
        resolve_precision("auto", cpu)


def test_auto_device_is_the_cpu_without_cuda(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")


def test_cuda_without_a_gpu_is_a_value_error(no_cuda):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    model = nn.Linear(2, 1)
    data = [(torch.ones(4, 2), torch.ones(4, 1))]

    def loss_fn(m, batch, state):
        x, y = batch
        return ((m(x) - y) ** 2).mean(), len(x), None

    config = TrainConfig(epochs=1, progress=False, device="cuda")
    with pytest.raises(ValueError, match="device='cuda'"):
        train(model, lambda epoch: data, loss_fn, config)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="half").validate()


def test_cli_device_cuda_without_a_gpu_exits_2(no_cuda, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["lm", "train", "--device", "cuda", "--epochs", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--device" in err and "no CUDA GPU" in err
    with pytest.raises(SystemExit) as stop:
        main(["cloze", "train", "--precision", "fp16"])
    assert stop.value.code == 2


def _train_lm(precision: str, cell: str) -> tuple[list[float], RNNLM, list]:
    from pirho.data import SeqDataLoader, Vocab, encode_text

    vocab = Vocab(TEXT)
    corpus = encode_text(TEXT, vocab)
    torch.manual_seed(0)
    model = RNNLM(len(vocab), hidden_size=32, num_layers=1, cell=cell, embedding_dim=16)
    loader = SeqDataLoader(corpus, batch_size=8, num_steps=12, random_iter=False, seed=0)
    seen = []

    def evaluate(net):
        seen.append(torch.is_autocast_enabled("cpu"))
        logits = net(torch.tensor([corpus[:20]]))[0]
        seen.append(logits.dtype)
        return {}

    config = TrainConfig(
        epochs=12, lr=0.01, optimizer="adam", progress=False, device="cpu", precision=precision
    )
    result = train(model, loader.epoch, rnnlm_loss, config, evaluate=evaluate)
    assert result.precision == precision and result.device == "cpu"
    return [record["train_loss"] for record in result.history], model, seen


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_bf16_and_fp32_train_to_comparable_loss(cell):
    fp32_losses, fp32_model, _ = _train_lm("fp32", cell)
    bf16_losses, bf16_model, seen = _train_lm("bf16", cell)
    # both learn: the last epoch's loss is well below the first's (log 27 ≈ 3.3 at the start)
    assert fp32_losses[-1] < 0.7 * fp32_losses[0]
    assert bf16_losses[-1] < 0.7 * bf16_losses[0]
    # and to the same place: bf16 rounding (8 mantissa bits) moves the loss by a few percent
    assert bf16_losses[-1] == pytest.approx(fp32_losses[-1], rel=0.05)
    # bf16 really ran (the numbers differ), while the master weights stay float32
    assert bf16_losses != fp32_losses
    assert all(p.dtype == torch.float32 for p in bf16_model.parameters())
    # evaluation ran outside autocast, in float32
    assert seen[0] is False and seen[1] == torch.float32


def test_autocast_runs_linear_in_bf16_and_the_loss_in_fp32():
    layer = nn.Linear(4, 3)
    with autocast("bf16", torch.device("cpu")):
        logits = layer(torch.randn(5, 4))
        loss = nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1]))
    assert logits.dtype == torch.bfloat16
    assert loss.dtype == torch.float32
    with autocast("fp32", torch.device("cpu")):
        assert layer(torch.randn(5, 4)).dtype == torch.float32


def test_lm_train_json_has_every_key(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.txt").write_text(TEXT, encoding="utf-8")
    args = ["lm", "train", "--text", "text.txt", "--hidden-size", "16", "--num-layers", "1"]
    args += ["--batch-size", "4", "--num-steps", "10", "--heldout-tokens", "100"]
    args += ["--epochs", "2", "--lr", "2", "--no-progress", "--json", "run.json"]
    args += ["--device", "cpu", "--precision", "fp32"]
    assert main(args) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "run.json").read_text())
    assert set(LM_TRAIN_METRIC_KEYS) <= set(metrics)
    assert metrics["device"] == "cpu" and metrics["precision"] == "fp32"
    data = load_lm_text("text.txt", None, 100)
    loader = SeqDataLoader(data.train, batch_size=4, num_steps=10, random_iter=False, seed=0)
    assert metrics["steps"] == sum(len(list(loader.epoch(epoch))) for epoch in range(2))
    assert metrics["seconds"] > 0
    expected_rate = metrics["steps"] * 40 / metrics["seconds"]
    assert metrics["tokens_per_s"] == pytest.approx(expected_rate)
    assert f"{metrics['train_ppl']:8.3f}" in out
    assert f"{metrics['heldout_teacher_forced_ppl']:8.3f}" in out
    # a unidirectional model: teacher-forced and causal perplexity are the same number
    assert metrics["heldout_causal_ppl"] == pytest.approx(
        metrics["heldout_teacher_forced_ppl"], rel=1e-4
    )
    assert 1 < metrics["train_ppl"] < 40 and math.isfinite(metrics["heldout_causal_ppl"])


def test_lm_train_json_under_a_file_fails_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "plain").write_text("a file, not a folder")
    monkeypatch.setattr("pirho.lm.fit_language_model", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(SystemExit) as exit_info:
        main(["lm", "train", "--json", str(tmp_path / "plain" / "run.json")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--json" in err and str(tmp_path / "plain") in err
