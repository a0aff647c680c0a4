"""Characters per second: pirho's contextual-string-embedding pretraining against a plain loop.

The plain loop (d2l style, written out here): a forward and a backward character LM, each
``nn.Embedding`` → one-layer ``nn.LSTM`` → ``Linear``; Adam; global gradient-norm clipping
at 1; sequential windows over the CTCPC character stream and over the reversed stream, the
two LSTM states carried from window to window (detached), the loss the mean of the two
cross-entropies. pirho trains the same two LMs (:class:`pirho.nn.ContextualStringEmbeddings`)
through :func:`pirho.train.train` with :func:`pirho.lm.cse.cse_loss` on the same batches
(:func:`pirho.lm.cse.stream_batches`). Both run in the same precision (``--precision``; ``bf16``
autocasts both loops and is only sensible on a CPU with native bfloat16).

Each round trains a fresh model of each kind for ``--steps`` optimiser steps, interleaved
(plain, pirho, plain, pirho, …) so that machine drift hits both alike. Printed: the median
characters/s of each by wall clock and by process CPU time (the machine may be shared), the
median per-round ratios, and each run's last training loss. glibc is asked to keep freed
memory (:func:`pirho.lm.cse.retain_freed_memory`), as ``pirho embed train`` does, for both loops.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/cse_vs_plain_loop.py
    .venv/bin/python benchmarks/cse_vs_plain_loop.py --quick        # a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from pirho.data.corpora import ctcpc  # noqa: E402
from pirho.lm.cse import (  # noqa: E402
    QUICK,
    cse_loss,
    prepare_data,
    retain_freed_memory,
    stream_batches,
)
from pirho.nn import ContextualStringEmbeddings  # noqa: E402
from pirho.precision import autocast, resolve_precision  # noqa: E402
from pirho.train import TrainConfig, train  # noqa: E402


class PlainLM(nn.Module):
    """One character LM: embedding → nn.LSTM → Linear, batch-first tokens, time-major LSTM."""

    def __init__(self, vocab_size: int, hidden: int, embedding_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden)
        self.output = nn.Linear(hidden, vocab_size)

    def forward(self, tokens: torch.Tensor, state):
        out, state = self.rnn(self.embedding(tokens.T), state)
        return self.output(out), state  # (T, B, V)


def plain_train(batches, vocab_size, config, steps, precision) -> tuple[float, float, int, float]:
    """The hand-written loop: returns (wall seconds, CPU seconds, characters, last loss)."""
    torch.manual_seed(0)
    forward_lm = PlainLM(vocab_size, config["hidden_size"], config["embedding_dim"])
    backward_lm = PlainLM(vocab_size, config["hidden_size"], config["embedding_dim"])
    params = [*forward_lm.parameters(), *backward_lm.parameters()]
    optimizer = torch.optim.Adam(params, lr=config["lr"])
    device = torch.device("cpu")
    wall, cpu = time.perf_counter(), time.process_time()
    forward_state = backward_state = None
    chars, loss_value = 0, float("nan")
    for step, (xf, yf, xb, yb) in enumerate(batches(0)):
        if step == steps:
            break
        optimizer.zero_grad()
        with autocast(precision, device):
            forward_logits, forward_state = forward_lm(xf, forward_state)
            backward_logits, backward_state = backward_lm(xb, backward_state)
            loss = 0.5 * (
                F.cross_entropy(forward_logits.reshape(-1, vocab_size), yf.T.reshape(-1))
                + F.cross_entropy(backward_logits.reshape(-1, vocab_size), yb.T.reshape(-1))
            )
        loss.backward()
        nn.utils.clip_grad_norm_(params, config["clip"])
        optimizer.step()
        forward_state = tuple(s.detach() for s in forward_state)
        backward_state = tuple(s.detach() for s in backward_state)
        chars += xf.numel()
        loss_value = loss.item()
    return time.perf_counter() - wall, time.process_time() - cpu, chars, loss_value


def pirho_train(batches, vocab, config, steps, precision) -> tuple[float, float, int, float]:
    """The same two LMs and batches through pirho.train: (wall s, CPU s, characters, loss)."""
    torch.manual_seed(0)
    model = ContextualStringEmbeddings(
        vocab, config["hidden_size"], config["embedding_dim"], fine_tune=True
    )
    train_config = TrainConfig(
        epochs=1,
        lr=config["lr"],
        optimizer="adam",
        clip=config["clip"],
        progress=False,
        max_steps=steps,
        precision=precision,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    last = {}

    def loss_fn(net, batch, state):
        loss, n_tokens, state = cse_loss(net, batch, state)
        last["loss"] = loss
        return loss, n_tokens, state

    result = train(model, batches, loss_fn, train_config)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    chars = result.steps * config["batch_size"] * config["num_steps"]
    return seconds, cpu_seconds, chars, float(last["loss"].detach())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="optimiser steps per run (30)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--hidden", type=int, default=QUICK["hidden_size"], help="LSTM units")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"))
    parser.add_argument("--quick", action="store_true", help="5 steps, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds = 5, 1
    torch.set_num_threads(args.threads)
    retained = retain_freed_memory()  # as `pirho embed train` does; both loops gain alike
    precision = resolve_precision(args.precision, torch.device("cpu"))
    config = dict(QUICK, hidden_size=args.hidden)
    data = prepare_data(ctcpc(), min_freq=config["min_freq"], max_chars=config["max_chars"], seed=0)
    batches, _ = stream_batches(data.train, config["batch_size"], config["num_steps"])
    vocab_size = len(data.vocab)
    print(
        f"two 1-layer LSTM LMs, hidden {config['hidden_size']}, embedding "
        f"{config['embedding_dim']}, {vocab_size:,} symbols; batch {config['batch_size']} x "
        f"{config['num_steps']} characters; {args.steps} steps x {args.rounds} rounds; torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s), {precision}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, freed memory retained "
        f"{retained}, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    # warm-up: the first optimiser step imports torch._dynamo (a one-time cost)
    plain_train(batches, vocab_size, dict(config, hidden_size=8), 1, precision)
    pirho_train(batches, data.vocab, dict(config, hidden_size=8), 1, precision)
    rows = {"plain": [], "pirho": []}
    ratios, cpu_ratios = [], []
    for _ in range(args.rounds):
        rows["plain"].append(plain_train(batches, vocab_size, config, args.steps, precision))
        rows["pirho"].append(pirho_train(batches, data.vocab, config, args.steps, precision))
        (p_wall, p_cpu, p_chars, _), (q_wall, q_cpu, q_chars, _) = (
            rows["plain"][-1],
            rows["pirho"][-1],
        )
        ratios.append((q_chars / q_wall) / (p_chars / p_wall))
        cpu_ratios.append((q_chars / q_cpu) / (p_chars / p_cpu))
        print(
            f"  round {len(ratios)}: plain {p_chars / p_wall:,.0f}, pirho {q_chars / q_wall:,.0f} "
            f"chars/s (wall), ratio {ratios[-1]:.2f}; by CPU time {cpu_ratios[-1]:.2f}",
            flush=True,
        )
    print(f"{'loop':<22} {'chars/s wall':>13} {'chars/CPU s':>12} {'last loss':>10}")
    for name, runs in rows.items():
        wall = statistics.median(c / w for w, _, c, _ in runs)
        cpu = statistics.median(c / u for _, u, c, _ in runs)
        print(f"{name:<22} {wall:>13,.0f} {cpu:>12,.0f} {runs[-1][3]:>10.4f}")
    print(
        f"pirho / plain characters/s: {statistics.median(ratios):.2f}x wall, "
        f"{statistics.median(cpu_ratios):.2f}x CPU time (median of {args.rounds})"
    )


if __name__ == "__main__":
    main()
