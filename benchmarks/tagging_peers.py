"""Peers of ``pirho experiment tagging`` on pirho's split: a feature CRF and an averaged perceptron.

Both are trained on the training part of :func:`pirho.data.corpora.split_by_document` over
HKCanCor (94 tags) and scored on its test part with the experiment's own definitions: a token
is *unknown* when its word is not in the training vocabulary and *ambiguous* when its word was
seen in training with two or more tags (:func:`pirho.experiments.tagging.ambiguous_words`).

- ``feature CRF``: python-crfsuite (``pip install python-crfsuite``), L-BFGS, a 2005-style
  template — the word, its first and last 1–2 characters, its length, ASCII / digit shape,
  each of its characters, the previous and next words and their last characters (and
  sentence-edge flags); c1 and c2 chosen on dev from a grid, the model with the best dev
  accuracy kept.
- ``pycantonese perceptron``: pycantonese's averaged perceptron, retrained from scratch on the
  training part with the settings of pycantonese's own training script.

With ``--pirho-json PATH`` (the ``--json`` of ``pirho experiment tagging``) pirho's rows are
printed beside them. Printed per row: accuracy overall, on known, unknown and ambiguous words,
training time and tokens tagged per second.

    .venv/bin/python benchmarks/tagging_peers.py --pirho-json tagging.json
    .venv/bin/python benchmarks/tagging_peers.py --quick     # 30 L-BFGS iterations, c1/c2 fixed
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np

from pirho.experiments.tagging import ambiguous_words
from pirho.tagging import prepare

GRID_C1 = (0.05, 0.1, 0.3)
GRID_C2 = (0.01, 0.05)


def word_features(words: list[str], i: int) -> list[str]:
    """The feature template of token ``i`` of a sentence."""
    word = words[i]
    features = [
        "bias",
        f"w={word}",
        f"p1={word[:1]}",
        f"p2={word[:2]}",
        f"s1={word[-1:]}",
        f"s2={word[-2:]}",
        f"len={min(len(word), 5)}",
        f"ascii={word.isascii()}",
        f"digit={any(c.isdigit() for c in word)}",
        *(f"c={c}" for c in set(word)),
    ]
    if i > 0:
        features += [f"-1w={words[i - 1]}", f"-1s1={words[i - 1][-1:]}"]
    else:
        features.append("BOS")
    if i + 1 < len(words):
        features += [f"+1w={words[i + 1]}", f"+1s1={words[i + 1][-1:]}"]
    else:
        features.append("EOS")
    return features


def sentence_features(words) -> list[list[str]]:
    words = list(words)
    return [word_features(words, i) for i in range(len(words))]


def scores(predicted, sentences, known_words: set, ambiguous: set) -> dict:
    """acc, known_acc, unk_acc, amb_acc with the experiment's definitions."""
    correct, known, amb = [], [], []
    for tags, s in zip(predicted, sentences, strict=True):
        for p, gold, word in zip(tags, s.tags, s.words, strict=True):
            correct.append(p == gold)
            known.append(word in known_words)
            amb.append(word in ambiguous)
    correct, known, amb = np.array(correct), np.array(known), np.array(amb)
    return {
        "acc": float(correct.mean()),
        "known_acc": float(correct[known].mean()),
        "unk_acc": float(correct[~known].mean()),
        "amb_acc": float(correct[amb].mean()),
    }


def feature_crf(split, iterations: int, grid) -> tuple[dict, float, float, dict]:
    """Train on train for each (c1, c2), keep the best on dev; (test scores' inputs...)."""
    import os
    import tempfile

    import pycrfsuite

    train_x = [sentence_features(s.words) for s in split.train]
    dev_x = [sentence_features(s.words) for s in split.dev]
    best = {"dev_acc": -1.0}
    started = time.perf_counter()
    folder = tempfile.mkdtemp()
    for c1, c2 in grid:
        trainer = pycrfsuite.Trainer(verbose=False)
        for x, s in zip(train_x, split.train, strict=True):
            trainer.append(x, list(s.tags))
        trainer.set_params({"c1": c1, "c2": c2, "max_iterations": iterations})
        path = os.path.join(folder, f"crf_{c1}_{c2}.crfsuite")
        trainer.train(path)
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        dev_pred = [tagger.tag(x) for x in dev_x]
        dev_acc = float(
            np.mean([p == g for tags, s in zip(dev_pred, split.dev, strict=True)
                     for p, g in zip(tags, s.tags, strict=True)])
        )  # fmt: skip
        print(f"  CRF c1={c1} c2={c2}: dev accuracy {dev_acc:.4f}", flush=True)
        if dev_acc > best["dev_acc"]:
            best = {"dev_acc": dev_acc, "tagger": tagger, "c1": c1, "c2": c2}
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [best["tagger"].tag(sentence_features(s.words)) for s in split.test]
    tag_seconds = time.perf_counter() - started
    chosen = {"c1": best["c1"], "c2": best["c2"], "dev_acc": best["dev_acc"]}
    return predicted, train_seconds, tag_seconds, chosen


def perceptron(split) -> tuple[list, float, float]:
    from pycantonese.pos_tagging.tagger import _POSTagger

    tagger = _POSTagger(frequency_threshold=10, ambiguity_threshold=0.9, n_iter=10, random_seed=42)
    started = time.perf_counter()
    tagger.fit([list(s.words) for s in split.train], [list(s.tags) for s in split.train])
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = tagger.predict([list(s.words) for s in split.test])
    return predicted, train_seconds, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pirho-json", metavar="PATH", help="pirho experiment tagging --json")
    parser.add_argument("--iterations", type=int, default=150, help="L-BFGS iterations (150)")
    parser.add_argument("--quick", action="store_true", help="30 iterations, c1=0.3, c2=0.05")
    parser.add_argument("--json", metavar="PATH", help="write the peers' rows here")
    args = parser.parse_args()
    grid = list(itertools.product(GRID_C1, GRID_C2))
    if args.quick:
        args.iterations, grid = 30, [(0.3, 0.05)]
    split, vocab = prepare("hkcancor", "hkcancor")
    known_words = {w for w in vocab.words.idx_to_token if vocab.is_known(w)}
    ambiguous = ambiguous_words(split.train)
    n_test = sum(len(s.words) for s in split.test)
    print(
        f"HKCanCor split by document: {sum(len(s.words) for s in split.train):,} training "
        f"tokens, {n_test:,} test tokens"
    )
    rows = {}
    predicted, train_s, tag_s, chosen = feature_crf(split, args.iterations, grid)
    rows["feature CRF"] = {
        **scores(predicted, split.test, known_words, ambiguous),
        "train_seconds": train_s,
        "tokens_per_s": n_test / tag_s,
        "chosen": chosen,
        "iterations": args.iterations,
    }
    predicted, train_s, tag_s = perceptron(split)
    rows["pycantonese perceptron"] = {
        **scores(predicted, split.test, known_words, ambiguous),
        "train_seconds": train_s,
        "tokens_per_s": n_test / tag_s,
    }
    print(
        f"{'tagger':<26}{'accuracy':>9}{'known':>8}{'unknown':>9}{'ambig.':>8}"
        f"{'train s':>9}{'tokens/s':>10}"
    )
    for name, row in rows.items():
        print(
            f"{name:<26}{row['acc']:9.4f}{row['known_acc']:8.4f}{row['unk_acc']:9.4f}"
            f"{row['amb_acc']:8.4f}{row['train_seconds']:9.1f}{row['tokens_per_s']:10,.0f}"
        )
    if args.pirho_json:
        metrics = json.loads(open(args.pirho_json, encoding="utf-8").read())
        for model in ("mft", "bi", "bicrf", "bi+cse", "bicrf+cse"):
            if model in metrics:
                row = metrics[model]
                spread = f" ± {row['acc_std']:.4f}" if "acc_std" in row else ""
                print(
                    f"{'pirho ' + model:<26}{row['acc']:9.4f}{row['known_acc']:8.4f}"
                    f"{row['unk_acc']:9.4f}{row.get('amb_acc', float('nan')):8.4f}{spread}"
                )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
