"""Data-parallel training of a small character LSTM on The Time Machine with pirho.train.

One process:   python examples/ddp_train.py --epochs 5
Two processes: torchrun --standalone --nproc_per_node 2 examples/ddp_train.py --epochs 5

The script is the same in both cases: ``pirho.train.train`` sees WORLD_SIZE from torchrun, joins
a gloo process group, wraps the model in DistributedDataParallel and gives each rank its share
of every epoch's batches. Rank 0 prints, evaluates and writes the checkpoint; rerun with
``--resume`` to continue from it (with the same number of processes, for an exact replay).
"""

from __future__ import annotations

import argparse
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from pirho.data import SeqDataLoader, load_time_machine, split_corpus
from pirho.nn.lm_losses import rnnlm_loss
from pirho.train import TrainConfig, train


class CharLSTM(nn.Module):
    """Embedding → LSTM → linear: logits (B, T, V) for tokens (B, T)."""

    def __init__(self, vocab_size: int, hidden_size: int = 128, num_layers: int = 1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 32)
        self.rnn = nn.LSTM(32, hidden_size, num_layers, batch_first=True)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens, state=None):
        hidden, state = self.rnn(self.embed(tokens), state)
        return self.out(hidden), state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-steps", type=int, default=35)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--max-tokens", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default="runs/ddp_train.pt")
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--max-steps", type=int, help="stop after N steps (an interruption)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one core per process

    corpus, vocab = load_time_machine(max_tokens=args.max_tokens)
    train_part, heldout = split_corpus(corpus, 0.1)
    # sequential batches carrying the LSTM state, d2l style; "contiguous" keeps each rank's
    # batches a continuation of each other
    loader = SeqDataLoader(train_part, args.batch_size, args.num_steps, random_iter=False)
    heldout_x = torch.tensor(heldout[:-1])[None]
    heldout_y = torch.tensor(heldout[1:])[None]

    def evaluate(model):
        logits, _ = model(heldout_x)
        return {"heldout_ppl": math.exp(F.cross_entropy(logits[0], heldout_y[0]).item())}

    torch.manual_seed(args.seed)
    model = CharLSTM(len(vocab), args.hidden)
    config = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        clip=1.0,
        seed=args.seed,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        max_steps=args.max_steps,
        progress=not args.no_progress,
        shard="contiguous",
        desc="ddp_train",
    )
    meta = {"kind": "example-char-lstm", "config": {"hidden_size": args.hidden}}
    meta["vocab"] = vocab.to_dict()
    result = train(model, loader.epoch, rnnlm_loss, config, evaluate=evaluate, meta=meta)

    if int(os.environ.get("RANK", "0")) == 0:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        print(f"processes {world_size}, steps {result.steps}, {result.seconds:.1f} s")
        print("epoch  train_ppl  heldout_ppl  tokens/s")
        for record in result.history:
            print(
                f"{record['epoch']:5d}  {record['train_ppl']:9.2f}  {record['heldout_ppl']:11.2f}"
                f"  {record['tokens_per_s']:8,.0f}"
            )
        print(f"checkpoint {args.checkpoint}")


if __name__ == "__main__":
    main()
