"""cloze: filling a blank is where the future belongs — both contexts beat either.

A :class:`pirho.nn.ClozeModel` (an ELMo-style BiLM with separate forward and backward stacks
and a head on [H→_{t−1} ; H←_{t+1}]) is trained on The Time Machine. On held-out text every
inner character of each window is masked in turn and predicted from the left context only (the
forward LM), the right context only (the backward LM) and both (the head). None of the three
reads the masked character, so nothing leaks; the gain of "both" over either side is what the
future is worth when it is really there.

Any UTF-8 text works (``--text FILE``, Chinese included), and ``--corpus ctcpc`` trains on the
Cantonese side of CTCPC (:func:`pirho.data.corpora.ctcpc`, written once as a text file, the
sentences shuffled with a fixed seed so that the held-out tail is a sample of the corpus, not
its alphabetical end). The example fills come from the text itself: a few sentences drawn from
its held-out part, one character blanked in each (:func:`heldout_examples`), plus the note's
own queries for The Time Machine and CTCPC; ``--example "..."`` replaces them all.

JSON: ``left_acc``, ``right_acc``, ``both_acc``, ``n_masked`` (+ ``chance_acc``, the
majority-character baseline, ``examples`` of ``fill`` on sample queries, ``history``, ``config``).
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections import Counter
from pathlib import Path

import torch

from pirho._atomic import atomic_open
from pirho._checks import check_positive_int, check_seed, checkpoint_file, existing_file
from pirho.data.text import BLANK, cache_dir
from pirho.experiments.common import (
    ExperimentResult,
    metric,
    resolve_config,
    set_threads,
    time_machine_requirement,
)
from pirho.experiments.options import DEVICE_OPTIONS, Option, config_options
from pirho.lm import fit_language_model, load_lm_text
from pirho.lm.defaults import CLOZE_DEFAULTS
from pirho.nn.lm_eval import cloze_accuracy
from pirho.nn.models import ClozeModel
from pirho.plots.lm import plot_cloze_accuracy, plot_cloze_curves

NAME = "cloze"
DESCRIPTION = (
    "masked characters in held-out Time Machine text: left-only vs right-only vs both "
    "contexts of a leak-free BiLM"
)
TITLE = "Fill in the blank: left, right and both contexts"
EXPLANATION = (
    "Filling a blank is where both directions legitimately help: a character predicted from "
    "the left context only, the right context only, and both. None of the three reads the "
    "masked character. The bars and the learning curve score the same held-out characters, so "
    "the curve's last point is the bar."
)

#: Full run: the whole book except its last 5,000 characters (held out).
FULL = {
    "batch_size": CLOZE_DEFAULTS["batch_size"],
    "num_steps": CLOZE_DEFAULTS["num_steps"],
    "embedding_dim": CLOZE_DEFAULTS["embedding_dim"],
    "hidden_size": CLOZE_DEFAULTS["hidden_size"],
    "num_layers": CLOZE_DEFAULTS["num_layers"],
    "cell": CLOZE_DEFAULTS["cell"],
    "optimizer": CLOZE_DEFAULTS["optimizer"],
    "lr": CLOZE_DEFAULTS["lr"],
    "clip": CLOZE_DEFAULTS["clip"],
    "epochs": CLOZE_DEFAULTS["epochs"],
    "max_tokens": None,
    "heldout_tokens": CLOZE_DEFAULTS["heldout_tokens"],
    "window": 71,
    "eval_every": CLOZE_DEFAULTS["eval_every"],
    "text": None,
    "threads": None,
    "device": "auto",
    "precision": "auto",
    "checkpoint": None,
    "corpus": None,
    "queries": None,
    "n_examples": 3,
}
#: A few minutes on 2 cores.
QUICK = {
    **FULL,
    "embedding_dim": 32,
    "hidden_size": 128,
    "num_layers": 1,
    "lr": 0.01,
    "epochs": 10,
    "max_tokens": 30_000,
    "heldout_tokens": 3_000,
    "eval_every": 2,
}


#: Corpora ``--corpus`` can name (instead of ``--text FILE``).
CORPORA = ("ctcpc",)
#: The note's queries, for the text each is written for; ``n_examples`` held-out sentences are
#: added to them. The note's Chinese sentences ("我___。", "我___饿了。", "我___饿了，我可以吃
#: 半头猪。") are written here by hand in CTCPC's traditional script, with one "_" per missing
#: character, and beside them in Cantonese (我好肚餓: "I am very hungry").
NOTE_QUERIES = {
    "timemachine": ("the time tr___ller", "i ___ hungry", "he put his hand on the le_er"),
    "ctcpc": (
        "我_。",
        "我_餓了。",
        "我_餓了，我可以吃半頭豬。",
        "我_肚餓。",
        "我_肚餓，我可以食半隻豬。",
    ),
}
#: The shuffled CTCPC text is written once into the cache under this name.
CTCPC_FILENAME = "ctcpc-yue-shuffled.txt"
#: Seed of the sentence shuffle that makes the CTCPC text (fixed: one file for every run).
CTCPC_SHUFFLE_SEED = 0


#: Options overriding the (full or quick) configuration, checked while parsing.
OPTIONS = (
    *config_options(
        FULL,
        QUICK,
        {
            "epochs": "training epochs",
            "hidden_size": "hidden units per direction",
            "embedding_dim": "tied embedding size",
            "num_layers": "layers per direction",
            "lr": "Adam learning rate",
            "max_tokens": "training tokens, None = all",
            "heldout_tokens": "held-out tokens",
            "threads": "torch threads, None = torch's choice",
            "n_examples": "held-out sentences filled as examples",
        },
    ),
    Option(
        "--text",
        type=existing_file,
        metavar="FILE",
        help="any UTF-8 text (default: Time Machine)",
        exclusive="source",
    ),
    Option(
        "--corpus",
        choices=CORPORA,
        help="a corpus instead of --text: ctcpc = CTCPC's Cantonese sentences (pirho[corpora])",
        exclusive="source",
    ),
    Option(
        "--example",
        dest="queries",
        action="append",
        metavar="TEXT",
        help="a query to fill after training, one '_' per missing character (repeatable; "
        "default: sentences drawn from the held-out text)",
    ),
    Option(
        "--checkpoint",
        type=checkpoint_file,
        help="also save the trained model here (for cloze fill)",
    ),
    *DEVICE_OPTIONS,
)


#: Configuration keys that must be positive numbers (checked before any work starts).
POSITIVE = (
    "batch_size",
    "num_steps",
    "embedding_dim",
    "hidden_size",
    "num_layers",
    "lr",
    "clip",
    "epochs",
    "heldout_tokens",
    "window",
    "eval_every",
)


def requirements() -> str | None:
    """None when The Time Machine can be found, else why cloze cannot run."""
    return time_machine_requirement()


def ctcpc_text_file(folder: str | Path | None = None) -> Path:
    """CTCPC's Cantonese sentences as one UTF-8 text file, one sentence per line (words joined
    without spaces), shuffled with :data:`CTCPC_SHUFFLE_SEED`; written once into ``folder``
    (default: pirho's cache folder) and reused. Needs ``pirho[corpora]``.

    >>> path = ctcpc_text_file()  # doctest: +SKIP
    >>> path.read_text(encoding="utf-8").count("\\n")  # doctest: +SKIP
    121137
    """
    from pirho.data.corpora import ctcpc

    path = Path(folder if folder is not None else cache_dir()) / CTCPC_FILENAME
    if not path.is_file():
        sentences = ["".join(words) for words in ctcpc()]
        random.Random(CTCPC_SHUFFLE_SEED).shuffle(sentences)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(sentences) + "\n")
    return path


def _is_letter(character: str) -> bool:
    return unicodedata.category(character)[0] in "LN"


def heldout_examples(text: str, n: int, seed: int = 0, width: int = 12) -> list[str]:
    """``n`` cloze queries cut from ``text`` (held-out text), each with one letter blanked.

    The blanked characters are spread over the text (one drawn from each of ``n`` equal parts,
    seeded). Around each, up to ``width`` characters of context on each side, cut at a space:
    in text written with spaces between words (most letters have case, as in English) the
    outermost spaces, so no word is cut; in text without them (most letters are caseless, as
    Chinese characters are, and a space only separates sentences) the innermost, so the query
    stays within one sentence. Fewer than ``n`` when the text has too few candidates.

    >>> heldout_examples("the time traveller was telling us of it", 2, seed=0)
    ['the time _raveller', 'telling u_ of']
    >>> heldout_examples("我好肚餓 佢食咗飯未 我哋一齊去飲茶啦", 2, seed=1)
    ['佢食_飯未', '我哋_齊去飲茶啦']
    """
    check_positive_int("n", n)
    letters = [c for c in text if _is_letter(c)]
    # "Lo": letters without case — Chinese characters, kana, … — written without spaces
    spaced = sum(unicodedata.category(c) == "Lo" for c in letters) * 2 < len(letters)
    part = len(text) / n
    rng = random.Random(seed)
    examples: list[str] = []
    for k in range(n):
        positions = list(range(int(k * part), int((k + 1) * part)))
        rng.shuffle(positions)
        for pos in positions:
            if not _is_letter(text[pos]):
                continue
            left = text[max(0, pos - width) : pos]
            right = text[pos + 1 : pos + 1 + width]
            if spaced:  # drop the partial words at both ends
                left = left[left.find(" ") + 1 :] if pos - width > 0 else left
                right = right[: right.rfind(" ")] if " " in right else right
            else:  # stay within the sentence
                left = left[left.rfind(" ") + 1 :]
                right = right.split(" ", 1)[0]
            left, right = left.lstrip(), right.rstrip()
            query = f"{left}{BLANK}{right}"
            if len(left) >= 2 and len(right) >= 2 and query.count(BLANK) == 1:
                examples.append(query)
                break
    return examples


def run(
    *, quick: bool = False, seed: int = 0, out=None, progress: bool = True, **overrides
) -> ExperimentResult:
    """Train a ClozeModel and measure left / right / both accuracies on held-out text.

    ``quick``: :data:`QUICK`; keyword ``overrides`` change any key of :data:`FULL`.
    ``out``: folder for the plots.

    >>> r = run(quick=True, epochs=1, max_tokens=3_000, progress=False)  # doctest: +SKIP
    >>> sorted(k for k in r.metrics if k.endswith("acc"))  # doctest: +SKIP
    ['both_acc', 'chance_acc', 'left_acc', 'right_acc']
    """
    seed = check_seed("seed", seed)
    cfg = resolve_config(NAME, FULL, QUICK, quick, overrides, positive=POSITIVE)
    if cfg["max_tokens"] is not None:  # None: the whole text
        check_positive_int("max_tokens", cfg["max_tokens"])
    check_positive_int("n_examples", cfg["n_examples"])
    if cfg["corpus"] is not None:
        if cfg["text"] is not None:
            raise ValueError(f"give text or corpus, not both (text={cfg['text']!r})")
        if cfg["corpus"] not in CORPORA:
            raise ValueError(f"corpus must be one of {CORPORA}, got {cfg['corpus']!r}")
    set_threads(cfg["threads"])
    started = time.perf_counter()
    text = ctcpc_text_file() if cfg["corpus"] == "ctcpc" else cfg["text"]
    data = load_lm_text(text, cfg["max_tokens"], cfg["heldout_tokens"])
    torch.manual_seed(seed)
    model = ClozeModel(
        len(data.vocab),
        embedding_dim=cfg["embedding_dim"],
        hidden_size=cfg["hidden_size"],
        num_layers=cfg["num_layers"],
        cell=cfg["cell"],
        vocab=data.vocab,
        text_mode=data.text_mode,
    )
    result = fit_language_model(
        model,
        data,
        batch_size=cfg["batch_size"],
        num_steps=cfg["num_steps"],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        optimizer=cfg["optimizer"],
        clip=cfg["clip"],
        random_iter=True,
        seed=seed,
        eval_every=cfg["eval_every"],
        progress=progress,
        desc="cloze",
        checkpoint=cfg["checkpoint"],
        curve_tokens=None,  # the whole held-out text: the curve ends at the final numbers
        evaluate=lambda net, heldout: cloze_accuracy(net, heldout, cfg["window"]),
        device=cfg["device"],
        precision=cfg["precision"],
    )
    train_seconds = time.perf_counter() - started
    scores = cloze_accuracy(model, data.heldout, cfg["window"])
    # chance: always guess the held-out text's most frequent character
    counts = Counter(data.heldout)
    chance = counts.most_common(1)[0][1] / len(data.heldout)
    queries = example_queries(cfg, data, seed)
    examples = {}
    for query in queries:
        examples[query] = [[filled, prob] for filled, prob in model.cpu().fill(query, top_k=3)]
    metrics = {
        **scores,
        "chance_acc": chance,
        "examples": examples,
        "train_ppl": result.history[-1]["train_ppl"],
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
        "history": result.history,
        "config": {**cfg, "queries": queries, "quick": quick, "seed": seed, "source": data.source},
    }
    figures = []
    if out is not None:
        out = Path(out)
        figures.append(plot_cloze_accuracy(metrics, out / "cloze_accuracy.png"))
        figures.append(plot_cloze_curves(result.history, out / "cloze_curves.png"))
    return ExperimentResult(NAME, metrics, figures, summary(metrics))


def example_queries(cfg: dict, data, seed: int) -> list[str]:
    """The queries filled after training: ``cfg["queries"]`` when given; else the note's queries
    for The Time Machine or CTCPC (:data:`NOTE_QUERIES`) and ``cfg["n_examples"]`` sentences
    of the held-out text (:func:`heldout_examples`), so every text gets examples in its own
    language."""
    if cfg["queries"] is not None:
        return list(cfg["queries"])
    if cfg["corpus"] is not None:
        own = NOTE_QUERIES[cfg["corpus"]]
    else:
        own = NOTE_QUERIES["timemachine"] if cfg["text"] is None else ()
    heldout = "".join(data.vocab.to_tokens(data.heldout))
    return [*own, *heldout_examples(heldout, cfg["n_examples"], seed)]


def headline(metrics: dict) -> str:
    """One line for the demo table: the three accuracies and chance.

    >>> headline({"left_acc": 0.45, "right_acc": 0.44, "both_acc": 0.67, "chance_acc": 0.18})
    'acc: left 0.450, right 0.440, both 0.670 (chance 0.180)'
    """
    return (
        f"acc: left {metric(metrics, 'left_acc')}, right {metric(metrics, 'right_acc')}, "
        f"both {metric(metrics, 'both_acc')} (chance {metric(metrics, 'chance_acc')})"
    )


def summary(metrics: dict) -> str:
    """Accuracies and the sample fills, for people."""
    rows = [
        f"masked characters: {metrics['n_masked']}",
        f"left only : {100 * metrics['left_acc']:5.1f}%",
        f"right only: {100 * metrics['right_acc']:5.1f}%",
        f"both      : {100 * metrics['both_acc']:5.1f}%",
        f"chance (most frequent character): {100 * metrics['chance_acc']:.1f}%",
    ]
    for query, fills in metrics["examples"].items():
        shown = ", ".join(f"{text!r} {prob:.2f}" for text, prob in fills)
        rows.append(f"{query!r} -> {shown}")
    rows.append(f"total time: {metrics['seconds']:.0f} s")
    return "\n".join(rows)
