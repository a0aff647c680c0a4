"""pirho.train under DDP: 2 CPU processes (gloo, localhost) equal single-process gradient averaging.

The two ranks are started with ``torch.multiprocessing.spawn`` and the environment torchrun would
set (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK), so ``train`` joins the group exactly as it does
under ``torchrun --nproc_per_node 2``. The reference is written here by hand: one process, one
optimiser step per pair of batches on the mean of the two batches' losses.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from pirho.data import SeqDataLoader
from pirho.nn.lm_losses import rnnlm_loss
from pirho.train import TrainConfig, load_checkpoint, train

VOCAB, BATCH, STEPS = 10, 3, 8
EPOCHS, LR, CLIP = 2, 0.5, 1.0
DDP_TIMEOUT_S = 300  # generous: both ranks import torch and torch._dynamo on shared cores

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(), reason="torch built without gloo"
)


class SmallLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 6)
        self.rnn = nn.GRU(6, 12, batch_first=True)
        self.out = nn.Linear(12, VOCAB)

    def forward(self, X, state=None):
        hidden, state = self.rnn(self.embed(X), state)
        return self.out(hidden), state


def bypassing_loss(model, batch, state):
    """Calls the wrapped module directly, so DDP never sees the forward pass."""
    return rnnlm_loss(model.module, batch, state)


def make_model():
    torch.manual_seed(0)
    return SmallLM()


def make_loader(random_iter):
    g = torch.Generator().manual_seed(1)
    corpus = (torch.cumsum(torch.randint(1, 3, (400,), generator=g), 0) % VOCAB).tolist()
    return SeqDataLoader(corpus, BATCH, STEPS, random_iter=random_iter, seed=2)


SCENARIOS = {
    "stride": dict(random_iter=True, shard="stride"),
    "contiguous": dict(random_iter=False, shard="contiguous"),
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world_size, ports, out_dir):
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        WORLD_SIZE=str(world_size),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        GLOO_SOCKET_IFNAME="lo",
    )
    ports = iter(ports)
    report = {}
    for name, scenario in SCENARIOS.items():
        os.environ["MASTER_PORT"] = str(next(ports))
        model = make_model()
        config = TrainConfig(
            epochs=EPOCHS,
            lr=LR,
            clip=CLIP,
            progress=False,
            shard=scenario["shard"],
            checkpoint=os.path.join(out_dir, f"{name}.pt"),
        )
        result = train(model, make_loader(scenario["random_iter"]).epoch, rnnlm_loss, config)
        report[name] = {"params": model.state_dict(), "steps": result.steps}
        report[name]["loss"] = [h["train_loss"] for h in result.history]

    # interrupted at step 5 (mid-epoch), then resumed, both with 2 processes
    checkpoint = os.path.join(out_dir, "resumed.pt")
    for max_steps, resume in ((5, False), (None, True)):
        os.environ["MASTER_PORT"] = str(next(ports))
        model = make_model()
        config = TrainConfig(
            epochs=EPOCHS, lr=LR, clip=CLIP, progress=False, checkpoint=checkpoint,
            checkpoint_every=3, max_steps=max_steps, resume=resume,
        )  # fmt: skip
        train(model, make_loader(True).epoch, rnnlm_loss, config)
    report["resumed"] = {"params": model.state_dict()}

    os.environ["MASTER_PORT"] = str(next(ports))
    try:
        train(make_model(), make_loader(True).epoch, bypassing_loss, TrainConfig(progress=False))
        report["bypass_error"] = None
    except RuntimeError as exc:
        report["bypass_error"] = str(exc)
    torch.save(report, os.path.join(out_dir, f"rank{rank}.pt"))


def reference_training(random_iter, shard):
    """One process; each step averages the losses of the two batches the two ranks would take."""
    model = make_model()
    loader = make_loader(random_iter)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    for epoch in range(EPOCHS):
        batches = list(loader.epoch(epoch))
        if shard == "stride":
            pairs = [(batches[i], batches[i + 1]) for i in range(0, len(batches) - 1, 2)]
        else:
            half = len(batches) // 2
            pairs = list(zip(batches[:half], batches[half : 2 * half], strict=True))
        states = [None, None]  # each rank carries its own state through its own half
        for pair in pairs:
            optimizer.zero_grad()
            losses = []
            for r, batch in enumerate(pair):
                loss, _, state = rnnlm_loss(model, batch, states[r])
                losses.append(loss)
                states[r] = state.detach()
            ((losses[0] + losses[1]) / 2).backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
    return model.state_dict(), len(pairs) * EPOCHS


@pytest.fixture(scope="module")
def ddp_reports(tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp("ddp"))
    ports = [_free_port() for _ in range(5)]
    context = mp.start_processes(
        _worker, args=(2, ports, out_dir), nprocs=2, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + DDP_TIMEOUT_S
    while not context.join(timeout=1.0):  # raises if a rank fails
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the 2-process DDP run did not finish in {DDP_TIMEOUT_S} s (a hang)")
    reports = [torch.load(os.path.join(out_dir, f"rank{r}.pt"), weights_only=True) for r in (0, 1)]
    return reports, out_dir


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_two_process_ddp_equals_single_process_gradient_averaging(ddp_reports, name):
    reports, out_dir = ddp_reports
    expected, steps = reference_training(**SCENARIOS[name])
    for report in reports:
        assert report[name]["steps"] == steps
        for key, value in expected.items():
            torch.testing.assert_close(report[name]["params"][key], value, rtol=1e-5, atol=1e-6)
    for key in expected:  # the ranks hold the very same parameters
        assert torch.equal(reports[0][name]["params"][key], reports[1][name]["params"][key])
    assert reports[0][name]["loss"] == reports[1][name]["loss"]  # epoch loss over both ranks
    # rank 0 wrote the final checkpoint, holding both ranks' random states
    payload = load_checkpoint(os.path.join(out_dir, f"{name}.pt"))
    assert len(payload["progress"]["ranks"]) == 2
    for key, value in payload["model_state"].items():
        assert torch.equal(value, reports[0][name]["params"][key])


def test_two_process_resume_matches_the_uninterrupted_two_process_run(ddp_reports):
    reports, _ = ddp_reports
    for report in reports:
        for key, value in report["stride"]["params"].items():
            assert torch.equal(report["resumed"]["params"][key], value), key


def test_loss_fn_that_bypasses_ddp_is_caught_on_the_first_step(ddp_reports):
    reports, _ = ddp_reports
    for report in reports:
        assert report["bypass_error"] is not None
        assert "must compute the loss by calling the model" in report["bypass_error"]
