"""Tokens per second: ``pirho.train`` against d2l's own training loop, same model, same data.

d2l's loop (re-implemented from its description, chapter 9.5 / 10.4): one-hot input →
``nn.LSTM(bidirectional=...)`` → ``Linear``; SGD with lr 1; global gradient-norm clipping at
1; sequential minibatches of 32 × 35 over the first 10,000 characters of The Time Machine,
with the carried state detached between batches. pirho trains the same architecture
(``RNNLM``, ``bidirectional=True`` → ``BiRNN``) through :func:`pirho.train.train` on the same
batches, with its precision and device resolved by ``--precision`` / ``--device``.

Each round trains a fresh model of each kind for ``--epochs`` epochs (8 steps an epoch),
interleaved (d2l, pirho, d2l, pirho, …) so that machine drift hits both alike. Printed: the
median tokens/s of each, the median of the per-round ratios, and each run's final training
perplexity (d2l's number).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/lm_vs_d2l.py
    .venv/bin/python benchmarks/lm_vs_d2l.py --quick              # a smoke run
    .venv/bin/python benchmarks/lm_vs_d2l.py --device cuda        # on a GPU
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from pirho.data import SeqDataLoader, load_time_machine  # noqa: E402
from pirho.nn.lm_losses import rnnlm_loss  # noqa: E402
from pirho.nn.models import RNNLM  # noqa: E402
from pirho.precision import resolve_device, resolve_precision  # noqa: E402
from pirho.train import TrainConfig, train  # noqa: E402

BATCH, STEPS, HIDDEN, LAYERS, TOKENS = 32, 35, 256, 2, 10_000


class D2LModel(nn.Module):
    """d2l's RNNModel: one-hot → nn.LSTM → Linear, time-major."""

    def __init__(self, vocab_size: int, bidirectional: bool, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = nn.LSTM(vocab_size, hidden, LAYERS, bidirectional=bidirectional)
        self.linear = nn.Linear(hidden * (2 if bidirectional else 1), vocab_size)

    def forward(self, inputs: torch.Tensor, state):
        x = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        y, state = self.rnn(x, state)
        return self.linear(y.reshape(-1, y.shape[-1])), state


def d2l_train(
    corpus, vocab_size: int, epochs: int, bidirectional: bool, device, hidden: int = HIDDEN
) -> tuple:
    """d2l's train_epoch_ch8 loop, sequential partitioning: returns (seconds, tokens, ppl)."""
    torch.manual_seed(0)
    net = D2LModel(vocab_size, bidirectional, hidden).to(device)
    updater = torch.optim.SGD(net.parameters(), lr=1.0)
    loader = SeqDataLoader(corpus, batch_size=BATCH, num_steps=STEPS, random_iter=False, seed=0)
    loss_fn = nn.CrossEntropyLoss()
    started, tokens, loss_sum = time.perf_counter(), 0, 0.0
    for epoch in range(epochs):
        state, loss_sum, n = None, 0.0, 0
        for x, y in loader.epoch(epoch):
            x, y = x.to(device), y.to(device)
            if state is not None:
                state = tuple(s.detach() for s in state)
            y_hat, state = net(x, state)
            loss = loss_fn(y_hat, y.T.reshape(-1))
            updater.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            updater.step()
            loss_sum += loss.item() * y.numel()
            n += y.numel()
        tokens += n
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, tokens, math.exp(loss_sum / n)


def pirho_train(
    corpus, vocab_size, epochs, bidirectional, device, precision, hidden: int = HIDDEN
) -> tuple:
    """The same model and batches through pirho.train: returns (seconds, tokens, ppl)."""
    torch.manual_seed(0)
    model = RNNLM(vocab_size, hidden, LAYERS, "lstm", bidirectional=bidirectional)
    loader = SeqDataLoader(corpus, batch_size=BATCH, num_steps=STEPS, random_iter=False, seed=0)
    config = TrainConfig(
        epochs=epochs,
        lr=1.0,
        clip=1.0,
        progress=False,
        eval_every=epochs,
        seed=0,
        device=str(device.type),
        precision=precision,
    )
    started = time.perf_counter()
    result = train(model, loader.epoch, rnnlm_loss, config)
    seconds = time.perf_counter() - started
    return seconds, result.steps * BATCH * STEPS, result.history[-1]["train_ppl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per run (8 steps each)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default all)")
    parser.add_argument("--uni", action="store_true", help="unidirectional LSTM instead")
    parser.add_argument(
        "--hidden",
        type=int,
        default=HIDDEN,
        help=f"hidden units per direction ({HIDDEN}; a small one such as 8 shows the loops' "
        "per-step overhead instead of the kernels)",
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--precision", default="auto", choices=("fp32", "bf16", "auto"))
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.rounds = 2, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    precision = resolve_precision(args.precision, device)
    corpus, vocab = load_time_machine(max_tokens=TOKENS)
    bidirectional = not args.uni
    kind = "bi-LSTM" if bidirectional else "LSTM"
    print(
        f"{kind} {LAYERS}x{args.hidden}, batch {BATCH}x{STEPS}, {len(corpus):,} characters, "
        f"{args.epochs} epochs x {args.rounds} rounds; torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), device {device}, pirho precision {precision}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    # warm-up with a tiny model: the first optimiser step imports torch._dynamo (seconds), a
    # one-time cost that would otherwise land on whichever loop runs first
    d2l_train(corpus, len(vocab), 1, bidirectional, device, hidden=8)
    pirho_train(corpus, len(vocab), 1, bidirectional, device, precision, hidden=8)
    d2l_rates, pirho_rates, ratios = [], [], []
    for _ in range(args.rounds):
        d_sec, d_tok, d_ppl = d2l_train(
            corpus, len(vocab), args.epochs, bidirectional, device, args.hidden
        )
        p_sec, p_tok, p_ppl = pirho_train(
            corpus, len(vocab), args.epochs, bidirectional, device, precision, args.hidden
        )
        d2l_rates.append(d_tok / d_sec)
        pirho_rates.append(p_tok / p_sec)
        ratios.append(pirho_rates[-1] / d2l_rates[-1])
        print(
            f"  round {len(ratios)}: d2l {d2l_rates[-1]:,.0f}, pirho {pirho_rates[-1]:,.0f} "
            f"tokens/s, ratio {ratios[-1]:.2f}",
            flush=True,
        )
    print(f"{'loop':<24} {'tokens/s':>10} {'final train ppl':>16}")
    print(f"{'d2l (nn.LSTM, fp32)':<24} {statistics.median(d2l_rates):>10,.0f} {d_ppl:>16.3f}")
    label = f"pirho.train ({precision})"
    print(f"{label:<24} {statistics.median(pirho_rates):>10,.0f} {p_ppl:>16.3f}")
    print(f"pirho / d2l tokens/s: {statistics.median(ratios):.2f}x (median of {args.rounds})")


if __name__ == "__main__":
    main()
