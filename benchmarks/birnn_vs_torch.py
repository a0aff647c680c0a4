"""Training-step time of pirho's BiRNN vs torch's bidirectional nn.LSTM/GRU/RNN.

The d2l configuration of the seed's chapter: batch 32, 35 time steps, one-hot inputs over a
vocabulary of 28, 2 bidirectional layers of 256, a Linear head to 28 and cross-entropy. One
"step" is forward + loss + backward + SGD update, timed on the CPU (or ``--device cuda``, where
torch's peer is cuDNN and each block of steps ends with a CUDA synchronise).

Rows are timed interleaved (one block of steps per row, round-robin, ``--repeats`` times), so
drift in machine load hits every row alike; the table shows the median step time and the
median over repeats of the ratio to the torch peer timed in the same round.

    .venv/bin/python benchmarks/birnn_vs_torch.py            # full run, 1 thread
    .venv/bin/python benchmarks/birnn_vs_torch.py --quick    # a smoke run in seconds
    .venv/bin/python benchmarks/birnn_vs_torch.py --device cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pirho.nn import BiRNN  # noqa: E402

VOCAB, BATCH, STEPS, HIDDEN, LAYERS = 28, 32, 35, 256, 2
TORCH_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class Tagger(nn.Module):
    """Recurrent body + Linear head to the vocabulary (d2l's RNNModel, bidirectional)."""

    def __init__(self, body: nn.Module, width: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(width, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(tokens.T, VOCAB).to(torch.float32)  # (T, B, V), time-first like d2l
        out, _ = self.body(x)
        return self.head(out)


def build_rows(cells: list[str]) -> list[tuple[str, str, nn.Module]]:
    """(label, peer label, model) for every row; the peer is the torch module of that cell."""
    rows = []
    for cell in cells:
        peer = f"torch nn.{TORCH_CLASSES[cell].__name__}"
        torch_body = TORCH_CLASSES[cell](VOCAB, HIDDEN, LAYERS, bidirectional=True)
        rows.append((peer, peer, Tagger(torch_body, 2 * HIDDEN)))
        fused = BiRNN(VOCAB, HIDDEN, LAYERS, cell=cell)
        rows.append((f"BiRNN {cell} fused (256)", peer, Tagger(fused, fused.output_size)))
        asym = BiRNN(VOCAB, (HIDDEN, HIDDEN // 2), LAYERS, cell=cell)
        rows.append((f"BiRNN {cell} fused (256, 128)", peer, Tagger(asym, asym.output_size)))
        sep = BiRNN(VOCAB, HIDDEN, LAYERS, cell=cell, stacking="separate")
        rows.append((f"BiRNN {cell} fused separate", peer, Tagger(sep, sep.output_size)))
        ref = BiRNN(VOCAB, HIDDEN, LAYERS, cell=cell, impl="reference")
        rows.append((f"BiRNN {cell} reference (256)", peer, Tagger(ref, ref.output_size)))
    return rows


def time_steps(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Seconds per training step (forward + loss + backward + SGD), averaged over batches."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    start = time.perf_counter()
    for tokens, targets in batches:
        logits = model(tokens)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.T.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    if batches[0][0].is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / len(batches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (1)")
    parser.add_argument("--repeats", type=int, default=9, help="interleaved rounds (9)")
    parser.add_argument("--steps", type=int, default=5, help="training steps per round (5)")
    parser.add_argument("--cells", default="lstm,gru,rnn", help="comma list (lstm,gru,rnn)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 steps, lstm only")
    parser.add_argument("--json", help="also write the table here")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="(cpu)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device cuda: torch {torch.__version__} sees no CUDA GPU here")
    if args.quick:
        args.repeats, args.steps, args.cells = 2, 2, "lstm"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cells = args.cells.split(",")
    rows = [(label, peer, model.to(args.device)) for label, peer, model in build_rows(cells)]
    batches = [
        (
            torch.randint(VOCAB, (BATCH, STEPS), device=args.device),
            torch.randint(VOCAB, (BATCH, STEPS), device=args.device),
        )
        for _ in range(args.steps)
    ]
    for _, _, model in rows:  # warm-up: allocator, kernels, autograd graph caches
        time_steps(model, batches[:1])

    times: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for _ in tqdm(range(args.repeats), desc="rounds", file=sys.stderr):
        for label, _, model in rows:
            times[label].append(time_steps(model, batches))

    print(
        f"training step, batch {BATCH} x {STEPS} steps, one-hot {VOCAB}, {LAYERS} layers; "
        f"torch {torch.__version__}, {args.device}, {args.threads} thread(s), "
        f"{args.repeats} rounds x {args.steps} steps, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    print(f"{'model':32s} {'median ms':>10s} {'min ms':>8s} {'vs torch':>9s}")
    table = {}
    for label, peer, _ in rows:
        ratios = [t / p for t, p in zip(times[label], times[peer], strict=True)]
        median_ms = 1e3 * statistics.median(times[label])
        min_ms = 1e3 * min(times[label])
        ratio = statistics.median(ratios)
        table[label] = {"median_ms": median_ms, "min_ms": min_ms, "ratio_vs_torch": ratio}
        print(f"{label:32s} {median_ms:10.1f} {min_ms:8.1f} {ratio:8.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"threads": args.threads, "repeats": args.repeats, "rows": table}, fh, indent=2
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
