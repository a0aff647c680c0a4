"""``pirho embed train``: pretrain contextual string embeddings (two character LMs).

Prints the corpus sizes, a progress bar, the held-out bits per character of each direction, and
what each direction predicts next for a few Cantonese prefixes; ``--json`` writes the numbers.
torch is imported inside the command function.
"""

from __future__ import annotations

import argparse
import json

from pirho.cli._options import (
    checkpoint_file,
    ctcpc_or_file,
    json_file,
    positive_int,
    seed,
    thread_count,
)
from pirho.cli._training import add_device_arguments


def register(subparsers) -> None:
    """Add the ``embed`` command group."""
    embed = subparsers.add_parser(
        "embed", help="contextual string embeddings (forward and backward character LMs)"
    )
    embed_sub = embed.add_subparsers(dest="embed_command", metavar="{train}", required=True)
    train = embed_sub.add_parser(
        "train",
        help="pretrain the two character LMs and save them",
        description="Pretrain a forward and a backward character LSTM LM on raw text "
        "(truncated BPTT over one long character stream, states carried across windows).",
    )
    train.add_argument(
        "--corpus",
        type=ctcpc_or_file,
        default="ctcpc",
        metavar="ctcpc|FILE",
        help="ctcpc (default: CTCPC without HKCanCor's dev/test utterances, plus HKCanCor's "
        "training words; needs pirho[corpora]) or a UTF-8 file, one sentence per line",
    )
    train.add_argument("--checkpoint", type=checkpoint_file, default="cse.pt", help="(cse.pt)")
    train.add_argument(
        "--quick",
        action="store_true",
        help="small LM, 1.2M characters (under 3 minutes on 2 cores)",
    )
    train.add_argument("--epochs", type=positive_int, help="passes over the training stream")
    train.add_argument("--hidden-size", type=positive_int, help="LSTM units per direction")
    train.add_argument("--max-chars", type=positive_int, help="training characters used")
    train.add_argument("--max-steps", type=positive_int, help="stop after N optimiser steps")
    train.add_argument("--batch-size", type=positive_int, help="parallel rows of the stream")
    train.add_argument("--num-steps", type=positive_int, help="characters per BPTT window")
    train.add_argument("--threads", type=thread_count, default=2, help="torch threads (2)")
    train.add_argument("--seed", type=seed, default=0, help="(0)")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    train.add_argument("--json", type=json_file, metavar="PATH", help="write the report")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device_arguments(train)
    train.set_defaults(func=cmd_train, resumable=True)


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from pirho.lm import cse

    torch.set_num_threads(args.threads)  # once, before any work
    cse.retain_freed_memory()  # likewise process-wide: no page faults for every step's logits
    config = dict(cse.QUICK if args.quick else cse.FULL)
    for key in ("epochs", "hidden_size", "max_chars", "batch_size", "num_steps"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    sentences = cse.pretraining_sentences(args.corpus)
    model, report = cse.train_embeddings(
        sentences,
        config,
        seed=args.seed,
        checkpoint=args.checkpoint,
        resume=args.resume,
        progress=not args.no_progress,
        max_steps=args.max_steps,
        precision=args.precision,
        source=str(args.corpus),
    )
    predictions = {
        prefix: {
            "forward": model.predict_next(prefix, "forward", k=3),
            "backward": model.predict_next(prefix, "backward", k=3),
        }
        for prefix in cse.PREDICTION_PREFIXES
    }
    print(
        f"corpus {args.corpus}: {report['sentences_train']:,} sentences, "
        f"{report['chars_train']:,} training characters, {report['chars_heldout']:,} held out, "
        f"{report['vocab_size']:,} symbols"
    )
    print(
        f"{report['steps']:,} steps in {report['seconds']:.0f} s "
        f"({report['cpu_seconds']:.0f} CPU s), {report['tokens_per_s']:,.0f} characters/s, "
        f"{report['precision']}"
    )
    print(
        f"held-out bits per character: forward {report['forward_bpc']:.3f}, "
        f"backward {report['backward_bpc']:.3f}"
    )
    for prefix, guess in predictions.items():
        after = " ".join(f"{c!r}:{p:.2f}" for c, p in guess["forward"])
        before = " ".join(f"{c!r}:{p:.2f}" for c, p in guess["backward"])
        print(f"  {prefix}: next {after} | before it {before}")
    print(f"wrote {args.checkpoint}")
    if args.json:
        from pirho._atomic import atomic_open

        report = {**report, "predictions": predictions, "checkpoint": str(args.checkpoint)}
        with atomic_open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False)
    return 0
