"""Tagger settings compared on dev (and test), the way the experiment's defaults were chosen.

Each variant is a neural tagger kind of ``pirho experiment tagging`` (``bicrf``,
``bicrf+cse``, …) with some entries of the experiment's full configuration replaced; it is
fitted by :func:`pirho.tagging.fit_tagger` on HKCanCor's split by document, once per seed, and
scored on dev and test with the experiment's definitions (unknown: not in the training
vocabulary; ambiguous: seen in training with two or more tags). One JSON line per fit is
appended to ``--out`` and printed; choose on the ``dev_*`` columns.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/tagging_dev_sweep.py \\
        --embeddings cse.pt --seed 0 --out sweep.jsonl \\
        --variant 'base:bicrf+cse:{}' --variant 'cos:bicrf+cse:{"lr_schedule": "cosine"}'

Run one process per seed to use the cores (``--threads 1`` each): the learning-rate schedule
of the tagging defaults was chosen from seeds 0 and 1 run side by side that way.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from pirho._files import same_path
from pirho.experiments.common import set_threads
from pirho.experiments.tagging import FULL, accuracies, ambiguous_words, token_masks
from pirho.tagging import CSE_MODELS, NEURAL, fit_tagger, prepare


def parse_variant(text: str) -> tuple[str, str, dict]:
    """``NAME:MODEL:JSON`` → (name, model, overrides of the full configuration)."""
    name, model, overrides = text.split(":", 2)
    if model not in NEURAL + CSE_MODELS:
        raise argparse.ArgumentTypeError(
            f"model {model!r}: expected one of {', '.join(NEURAL + CSE_MODELS)}"
        )
    replaced = json.loads(overrides)
    unknown = sorted(set(replaced) - set(FULL))
    if unknown:
        raise argparse.ArgumentTypeError(f"not configuration keys of the experiment: {unknown}")
    return name, model, replaced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", type=parse_variant, action="append", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embeddings", help="pirho embed train's checkpoint (for +cse kinds)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="sweep.jsonl")
    args = parser.parse_args()
    if args.embeddings and same_path(args.out, args.embeddings):
        parser.error(f"--out {args.out} is the --embeddings checkpoint: give another file")
    set_threads(args.threads)

    embeddings = None
    if args.embeddings:
        from pirho.nn.embeddings import ContextualStringEmbeddings

        embeddings = ContextualStringEmbeddings.load(args.embeddings)
    split, vocab = prepare("hkcancor", "hkcancor", None, "document")
    ambiguous_types = ambiguous_words(split.train)

    def part(sentences):
        words = [list(s.words) for s in sentences]
        gold = [np.array(s.tags) for s in sentences]
        return words, gold, *token_masks(sentences, vocab, ambiguous_types)

    parts = {"dev": part(split.dev), "test": part(split.test)}
    for name, model, overrides in args.variant:
        uses_cse = model in CSE_MODELS
        if uses_cse and embeddings is None:
            parser.error(f"variant {name!r} ({model}) needs --embeddings")
        started = time.time()
        fitted = fit_tagger(
            model,
            split,
            vocab,
            {**FULL, **overrides},
            seed=args.seed,
            progress=False,
            embeddings=embeddings if uses_cse else None,
        )
        row = {
            "name": name,
            "model": model,
            "seed": args.seed,
            "overrides": overrides,
            "best_epoch": fitted.info["training"]["best_epoch"],
            "seconds": round(time.time() - started),
        }
        for label, (words, gold, known, ambiguous) in parts.items():
            predicted = [np.array(tags) for tags in fitted.tag(words)]
            row.update(accuracies(predicted, gold, known, prefix=f"{label}_", ambiguous=ambiguous))
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
