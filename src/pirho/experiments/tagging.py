"""Tagging real text: counts and exact inference against learned bidirectional taggers.

On a part-of-speech tagged corpus (HKCanCor by default: Cantonese conversations, 94 tags, or a
CoNLL-U / ``word/TAG`` file), split by document (:func:`pirho.data.corpora.split_by_document`;
``split_by="utterance"``: at random by utterance, an easier setting), the taggers of
:mod:`pirho.tagging` are fitted by :func:`pirho.tagging.fit_tagger` — the path ``pirho tag
train`` takes — and scored on the test split: overall, on words seen in training (known) and
on the others (unknown):

- ``mft``: each known word's most frequent training tag; unknown words get the tag most frequent
  among training singletons (words seen once: the best guide to what unseen words are);
- ``hmm``: a supervised HMM — start, transition and emission counts with add-k smoothing, every
  word seen fewer than ``hmm_min_count`` times folded into one ``<unk>`` symbol (so ``<unk>``
  learns what rare words look like) — decoded exactly through :class:`~pirho.hmm.CategoricalHMM`
  with the filter P(y_t | x_1..x_t), the posterior P(y_t | x_1..x_T) and Viterbi. The tables
  call the posterior decoder "smooth" (the JSON prefix ``smooth_``, the row "HMM smoother"), a
  label only: the decoder is ``"posterior"`` (``docs/conventions.md``, Decoders);
- ``uni``, ``bi``, ``bicrf``: :class:`~pirho.nn.taggers.Tagger` (word embedding ⊕ character
  BiLSTM) with a unidirectional LSTM (a learned filter), a BiLSTM (a learned smoother) and a
  BiLSTM with a :class:`~pirho.nn.LinearChainCRF` on top (learned features, exact inference);
  Adam with the learning rate decayed along a half cosine over the epochs
  (``lr_schedule="cosine"``; constant in the 3 epochs of ``--quick``), the epoch with the
  best dev accuracy kept. Word dropout (``word_dropout="document"``) replaces each training
  word by ``<unk>`` with probability 1 / (1 + the number of training documents it occurs in),
  so ``<unk>`` is trained on words like the unknown words of a new conversation
  (:func:`pirho.tagging.word_dropout_rates`).

Contextual string embeddings (``bi+cse``, ``bicrf+cse``): the BiLSTM and the BiLSTM-CRF with
each word's vector from a forward and a backward character LM
(:class:`~pirho.nn.ContextualStringEmbeddings`) as one more input. ``embeddings=PATH`` reuses a
pretrained model (``pirho embed train``); otherwise one is pretrained first
(:func:`pretrained_embeddings`; on HKCanCor: CTCPC without the dev/test utterances plus the
training words; on a file corpus: its training words only), its size from the ``cse_*``
entries of the configuration.

Lookahead: the HMM's fixed-lag smoother P(y_t | x_1..x_{t+L}) and the bidirectional taggers
given only x_1..x_{t+L} (their input cut after t+L) show how much of the future each uses.

Metrics (JSON): ``n_train_tokens``, ``n_test_tokens``, ``unknown_rate``, ``n_tags``,
``mft.{acc, known_acc, unk_acc, amb_acc}``,
``hmm.{filter,smooth,viterbi}_{acc,known_acc,unk_acc,amb_acc}``,
``uni|bi|bicrf|bi+cse|bicrf+cse.{acc, known_acc, unk_acc, amb_acc, best_epoch}`` (with
``seeds`` > 1: the mean over seeds, ``acc_std``, ``unk_acc_std``, ``amb_acc_std`` and the
per-seed ``acc_seeds``, ``unk_acc_seeds``, ``amb_acc_seeds``),
``lookahead`` (``lags``, an accuracy list per model and ``whole``: each model's accuracy on whole
sentences; with ``seeds`` > 1 the taggers behind it are the first seed's), ``sizes``,
``split_by``, ``config``, ``ambiguous_rate`` and ``cse`` (the embeddings' source and
held-out bits per character). ``amb_acc``: accuracy on the test tokens whose word was seen in
training with two or more tags (:func:`ambiguous_words`) — the real-text "bank".
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pirho._checks import (
    check_choice,
    check_positive_int,
    check_seed,
    nonnegative_float,
    positive_int,
)
from pirho.data.corpora import (
    TAGSETS,
    CorpusSplit,
    EncodedSentence,
    TaggedSentence,
    TaggingVocab,
    corpora_available,
)
from pirho.experiments.common import (
    ExperimentResult,
    resolve_config,
    set_threads,
)
from pirho.experiments.options import Option, config_options
from pirho.nn.embeddings import ContextualStringEmbeddings
from pirho.nn.taggers import Tagger
from pirho.tagging import (
    CSE_MODELS,
    HMM_DECODERS,
    NEURAL,
    SPLIT_BY,
    WORD_DROPOUTS,
    fit_tagger,
    hmm_decode,
    hmm_symbols,
    predict_tags,
    prepare,
)
from pirho.train import LR_SCHEDULES

NAME = "tagging"
DESCRIPTION = (
    "POS tagging of real text (HKCanCor, or a CoNLL-U file): most-frequent tag, supervised HMM "
    "(filter/smoother/Viterbi), uni-LSTM, BiLSTM, BiLSTM-CRF."
)
TITLE = "Tagging Cantonese: exact HMM inference against learned bidirectional taggers"
EXPLANATION = (
    "A supervised HMM decoded exactly (filter, smoother, Viterbi) against LSTM taggers with "
    "word and character features: unidirectional (a learned filter), bidirectional (a learned "
    "smoother) and bidirectional with a CRF layer (learned features, exact inference). Scored "
    "on held-out conversations, overall and on words never seen in training."
)
#: The HMM rows' JSON prefix per decoder of :data:`pirho.tagging.HMM_DECODERS`: the tables
#: call the posterior decoder "smooth" (docs/conventions.md).
HMM_COLUMNS = {"filter": "filter", "posterior": "smooth", "viterbi": "viterbi"}

FULL = dict(
    epochs=12,
    batch_size=32,
    lr=2e-3,
    lr_schedule="cosine",
    word_dim=64,
    char_dim=32,
    char_hidden=32,
    hidden_size=128,
    dropout=0.3,
    word_dropout="document",
    smoothing=0.1,
    hmm_min_count=2,
    max_lag=4,
    max_train_sentences=None,
    threads=2,
    # the contextual string embeddings pretrained when no --embeddings file is given
    cse_hidden_size=512,
    cse_epochs=3,
    cse_max_chars=0,  # 0: all of the text
)
QUICK = dict(
    FULL,
    epochs=3,
    lr_schedule="constant",  # 3 epochs: a decayed rate leaves the taggers undertrained
    hidden_size=64,
    max_lag=2,
    cse_hidden_size=128,
    cse_epochs=1,
    cse_max_chars=1_200_000,
)


def requirements() -> str | None:
    """None when HKCanCor can be read (``pirho[corpora]`` installed), else one line."""
    return corpora_available()


#: Trains on real text: ``pirho demo --no-text`` skips it, like lm-leak and cloze.
USES_TEXT = True


def word_dropout_option(text: str) -> float | str:
    """``--word-dropout``: ``document`` or a probability in [0, 1).

    >>> word_dropout_option("0.1"), word_dropout_option("document")
    (0.1, 'document')
    """
    if text in WORD_DROPOUTS:
        return text
    problem = argparse.ArgumentTypeError(
        f"expected a probability in [0, 1) or one of {', '.join(WORD_DROPOUTS)}, got {text!r}"
    )
    try:
        value = nonnegative_float(text)
    except argparse.ArgumentTypeError:
        raise problem from None
    if value >= 1.0:
        raise problem
    return value


#: Options overriding the (full or quick) configuration, checked while parsing.
OPTIONS = (
    *config_options(
        FULL,
        QUICK,
        {
            "epochs": "training epochs per tagger",
            "hidden_size": "LSTM units per direction",
            "max_train_sentences": "training sentences, None = all",
            "threads": "torch threads",
        },
    ),
    Option(
        "--corpus",
        default="hkcancor",
        metavar="hkcancor|FILE",
        help="hkcancor (default), a .conllu file (UPOS tags) or a word/TAG file",
    ),
    Option(
        "--tagset", choices=TAGSETS, default="hkcancor", help="HKCanCor's 94 tags or 15 UD tags"
    ),
    Option("--seeds", type=positive_int, default=1, help="train the taggers with N seeds (1)"),
    Option(
        "--split-by",
        choices=SPLIT_BY,
        default="document",
        help="hold out whole documents (default) or random utterances (easier: a held-out "
        "conversation's names and topic are partly seen in training)",
    ),
    Option(
        "--embeddings",
        metavar="PATH",
        help="contextual string embeddings from 'pirho embed train' for the bi+cse and "
        "bicrf+cse rows (default: pretrain them first)",
    ),
    Option(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        help="each epoch's learning rate: constant, linear or cosine decay from --lr "
        "(full cosine, quick constant)",
    ),
    Option(
        "--word-dropout",
        type=word_dropout_option,
        metavar="P|document",
        help="replace training words by <unk> with probability P, or 'document': "
        "1/(1 + training documents the word occurs in) (document)",
    ),
)


# ---------------------------------------------------------------------------------------------
# Scoring


def accuracies(
    predicted: Sequence[np.ndarray],
    gold: Sequence[np.ndarray],
    known: np.ndarray,
    prefix: str = "",
    ambiguous: np.ndarray | None = None,
) -> dict[str, float]:
    """``acc``, ``known_acc``, ``unk_acc`` of tag sequences (``known``: a flat bool mask), and
    ``amb_acc`` when ``ambiguous`` (a flat bool mask, see :func:`ambiguous_words`) is given.

    >>> accuracies([np.array([1, 2])], [np.array([1, 0])], np.array([True, False]))
    {'acc': 0.5, 'known_acc': 1.0, 'unk_acc': 0.0}
    >>> accuracies([np.array([1, 2])], [np.array([1, 0])], np.array([True, False]),
    ...            ambiguous=np.array([True, False]))["amb_acc"]
    1.0
    """
    correct = np.concatenate(predicted) == np.concatenate(gold)

    def mean(mask: np.ndarray) -> float:
        return float(correct[mask].mean()) if mask.any() else float("nan")

    scores = {
        f"{prefix}acc": float(correct.mean()),
        f"{prefix}known_acc": mean(known),
        f"{prefix}unk_acc": mean(~known),
    }
    if ambiguous is not None:
        scores[f"{prefix}amb_acc"] = mean(np.asarray(ambiguous, dtype=bool))
    return scores


def ambiguous_words(train: Sequence[TaggedSentence]) -> set[str]:
    """The words seen in ``train`` with two or more different tags.

    >>> s = [TaggedSentence(("係", "佢"), ("v", "r")), TaggedSentence(("係",), ("y",))]
    >>> sorted(ambiguous_words(s))
    ['係']
    """
    tags_of: dict[str, set[str]] = {}
    for sentence in train:
        for word, tag in zip(sentence.words, sentence.tags, strict=True):
            tags_of.setdefault(word, set()).add(tag)
    return {word for word, tags in tags_of.items() if len(tags) >= 2}


def token_masks(
    sentences: Sequence[TaggedSentence], vocab: TaggingVocab, ambiguous_types: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Flat bool masks over the tokens of ``sentences``: known (the word is in ``vocab``) and
    ambiguous (the word is in ``ambiguous_types``, see :func:`ambiguous_words`).

    >>> train = [TaggedSentence(("係", "佢"), ("v", "r")), TaggedSentence(("係",), ("y",))]
    >>> known, ambiguous = token_masks([TaggedSentence(("係", "你"), ("v", "r"))],
    ...                                TaggingVocab.build(train), ambiguous_words(train))
    >>> known.tolist(), ambiguous.tolist()
    ([True, False], [True, False])
    """
    words = [w for s in sentences for w in s.words]
    known = np.array([vocab.is_known(w) for w in words], dtype=bool)
    ambiguous = np.array([w in ambiguous_types for w in words], dtype=bool)
    return known, ambiguous


def lookahead_tags(
    tagger: Tagger, encoded: Sequence[EncodedSentence], lag: int, batch_size: int = 256
) -> list[np.ndarray]:
    """Tags (T_i,) int64 predicted at each t from x_1..x_{t+lag} only (the sentence cut
    after t+lag); ``encoded`` as for :func:`~pirho.tagging.predict_tags`.

    >>> from pirho.data.corpora import TaggingVocab
    >>> vocab = TaggingVocab.build([TaggedSentence(("a", "b", "c"), ("X", "Y", "Z"))])
    >>> sentences = [vocab.encode(["a", "b", "c", "a"]), vocab.encode(["c", "b"])]
    >>> uni = Tagger(len(vocab.words), len(vocab.chars), 3, hidden_size=4, bidirectional=False)
    >>> whole = predict_tags(uni.eval(), sentences)  # a causal tagger needs no lookahead:
    >>> all(np.array_equal(a, b) for a, b in zip(lookahead_tags(uni, sentences, 0), whole))
    True
    """
    prefixes, owners = [], []
    for i, s in enumerate(encoded):
        for t in range(len(s.words)):
            end = min(t + lag + 1, len(s.words))
            prefixes.append(EncodedSentence(*(None if a is None else a[:end] for a in s)))
            owners.append((i, t))
    predicted_prefixes = predict_tags(tagger, prefixes, batch_size)
    tags = [np.empty(len(s.words), dtype=np.int64) for s in encoded]
    for (i, t), prefix_tags in zip(owners, predicted_prefixes, strict=True):
        tags[i][t] = prefix_tags[t]
    return tags


def pretrained_embeddings(
    corpus: str | os.PathLike, split: CorpusSplit, config: dict, *, seed: int, progress: bool
):
    """Contextual string embeddings for the ``+cse`` rows, pretrained here
    (:func:`pirho.lm.cse.train_embeddings`; :data:`pirho.lm.cse.QUICK` sizes with the ``cse_*``
    entries of ``config``): on HKCanCor, CTCPC without the dev/test utterances plus the
    training words; on any other corpus, its training sentences' words. Returns the model and
    the pretraining report."""
    from pirho.lm import cse

    cse.retain_freed_memory()
    sentences = (
        cse.pretraining_sentences("ctcpc")
        if str(corpus) == "hkcancor"
        else [list(s.words) for s in split.train]
    )
    base = cse.QUICK if config["cse_hidden_size"] <= cse.QUICK["hidden_size"] else cse.FULL
    cse_config = dict(
        base,
        hidden_size=config["cse_hidden_size"],
        epochs=config["cse_epochs"],
        max_chars=config["cse_max_chars"] or None,
    )
    return cse.train_embeddings(
        sentences, cse_config, seed=seed, progress=progress, source=str(corpus)
    )


# ---------------------------------------------------------------------------------------------
# The experiment


def run(
    *,
    quick: bool = False,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    corpus: str | os.PathLike = "hkcancor",
    tagset: str = "hkcancor",
    seeds: int = 1,
    split_by: str = "document",
    embeddings=None,
    **overrides,
) -> ExperimentResult:
    """Run the experiment; ``overrides`` replace entries of :data:`QUICK`/:data:`FULL`.

    ``embeddings``: a path written by ``pirho embed train`` (or a
    :class:`~pirho.nn.ContextualStringEmbeddings`) for the ``+cse`` rows; None pretrains one
    (:func:`pretrained_embeddings`).

    Returns an :class:`ExperimentResult` with the metrics listed in the module docstring.
    """
    check_seed("seed", seed)
    check_positive_int("seeds", seeds)
    check_choice("tagset", tagset, TAGSETS)
    config = resolve_config(NAME, FULL, QUICK, quick, overrides)
    check_positive_int("epochs", config["epochs"])
    set_threads(config["threads"])

    split, vocab = prepare(corpus, tagset, config["max_train_sentences"], split_by)
    test_words = [list(s.words) for s in split.test]
    test_data = [vocab.encode(s.words, s.tags) for s in split.test]
    gold = [s.tags for s in test_data]
    known, ambiguous = token_masks(split.test, vocab, ambiguous_words(split.train))
    sizes = split.sizes()
    lags = list(range(config["max_lag"] + 1))

    mft = fit_tagger("mft", split, vocab, config)
    mft_metrics = accuracies(mft.predict(test_words), gold, known, ambiguous=ambiguous)

    hmm = fit_tagger("hmm", split, vocab, config)
    hmm_test = [hmm_symbols(hmm.vocab, words) for words in test_words]
    hmm_metrics: dict[str, float] = {}
    for decoder in HMM_DECODERS:
        predicted = hmm_decode(hmm.hmm, hmm_test, decoder)
        prefix = f"{HMM_COLUMNS[decoder]}_"
        hmm_metrics.update(accuracies(predicted, gold, known, prefix=prefix, ambiguous=ambiguous))
    lookahead = {
        "lags": lags,
        "hmm": [
            accuracies(hmm_decode(hmm.hmm, hmm_test, "posterior", lag), gold, known)["acc"]
            for lag in lags
        ],
    }

    cse_report: dict = {}
    if embeddings is None:
        embeddings, report = pretrained_embeddings(
            corpus, split, config, seed=seed, progress=progress
        )
        cse_report = {k: v for k, v in report.items() if k not in ("history", "config")}
    elif not isinstance(embeddings, ContextualStringEmbeddings):
        path = embeddings
        embeddings = ContextualStringEmbeddings.load(path)
        cse_report = {"source": str(path), **embeddings.checkpoint_meta.get("training", {})}

    neural: dict[str, list[dict]] = {model: [] for model in NEURAL + CSE_MODELS}
    for run_seed in range(seed, seed + seeds):
        for model in NEURAL + CSE_MODELS:
            uses_cse = model in CSE_MODELS
            fitted = fit_tagger(
                model,
                split,
                vocab,
                config,
                seed=run_seed,
                progress=progress,
                embeddings=embeddings if uses_cse else None,
            )
            predicted = fitted.predict(test_words)
            scores = accuracies(predicted, gold, known, ambiguous=ambiguous)
            scores["best_epoch"] = fitted.info["training"]["best_epoch"]
            if run_seed == seed and not uses_cse:  # cse vectors have read the whole sentence
                lookahead[model] = [
                    accuracies(lookahead_tags(fitted.tagger, test_data, lag), gold, known)["acc"]
                    if model != "uni"  # a causal tagger: every lag sees what it needs
                    else scores["acc"]
                    for lag in lags
                ]
            neural[model].append(scores)
    # the lookahead curves are the first seed's taggers: so are their whole-sentence scores
    lookahead["whole"] = {
        "hmm": hmm_metrics["smooth_acc"],
        **{model: neural[model][0]["acc"] for model in NEURAL},
    }

    metrics = {
        "n_train_tokens": sizes["train"]["tokens"],
        "n_test_tokens": sizes["test"]["tokens"],
        "unknown_rate": float(1.0 - known.mean()),
        "ambiguous_rate": float(ambiguous.mean()),
        "n_tags": len(vocab.tags),
        "mft": mft_metrics,
        "hmm": hmm_metrics,
        **{model: _over_seeds(runs) for model, runs in neural.items()},
        "lookahead": lookahead,
        "sizes": sizes,
        "corpus": str(corpus),
        "tagset": tagset,
        "split_by": split_by,
        "cse": cse_report,
        "config": {"seed": seed, "seeds": seeds, "quick": quick, **config},
    }

    figures: list[Path] = []
    if out is not None:
        from pirho.plots.tagging import plot_accuracy_by_model, plot_tagging_lookahead

        out = Path(out)
        figures.append(plot_accuracy_by_model(metrics, out / "tagging_accuracy.png"))
        figures.append(plot_tagging_lookahead(metrics, out / "tagging_lookahead.png"))
    return ExperimentResult(NAME, metrics, figures, summary=summary(metrics))


def _over_seeds(runs: list[dict]) -> dict:
    """One model's scores: the single run's, or the mean over seeds with spread and per-seed."""
    if len(runs) == 1:
        return runs[0]
    merged: dict = {}
    for key in ("acc", "known_acc", "unk_acc", "amb_acc"):
        values = np.array([r[key] for r in runs])
        merged[key] = float(values.mean())
        merged[f"{key}_std"] = float(values.std(ddof=1))
        merged[f"{key}_seeds"] = values.tolist()
    merged["best_epoch"] = [r["best_epoch"] for r in runs]
    return merged


def _rows(metrics: dict) -> list[tuple[str, dict, str]]:
    rows = [("most frequent tag", metrics["mft"], "")]
    for decoder, label in zip(
        HMM_DECODERS, ("HMM filter", "HMM smoother", "HMM Viterbi"), strict=True
    ):
        rows.append((label, metrics["hmm"], f"{HMM_COLUMNS[decoder]}_"))
    labels = ("uni-LSTM", "BiLSTM", "BiLSTM-CRF", "BiLSTM + CSE", "BiLSTM-CRF + CSE")
    for model, label in zip(NEURAL + CSE_MODELS, labels, strict=True):
        if model in metrics:
            rows.append((label, metrics[model], ""))
    return rows


def summary(metrics: dict) -> str:
    """A short table: accuracy overall, on known, unknown and ambiguous words, per tagger."""
    lines = [
        f"tagging {metrics['corpus']} ({metrics['n_tags']} tags, split by "
        f"{metrics.get('split_by', 'document')}): "
        f"{metrics['n_train_tokens']:,} training tokens, {metrics['n_test_tokens']:,} test tokens, "
        f"{metrics['unknown_rate']:.1%} unknown"
        + (
            f", {metrics['ambiguous_rate']:.1%} ambiguous (seen with 2+ tags)"
            if "ambiguous_rate" in metrics
            else ""
        ),
        f"{'tagger':<20}{'accuracy':>10}{'known':>10}{'unknown':>10}{'ambiguous':>10}",
    ]
    for label, scores, prefix in _rows(metrics):
        spread = scores.get(f"{prefix}acc_std")
        text = f"{label:<20}{scores[prefix + 'acc']:10.4f}{scores[prefix + 'known_acc']:10.4f}"
        text += f"{scores[prefix + 'unk_acc']:10.4f}"
        text += f"{scores.get(prefix + 'amb_acc', float('nan')):10.4f}"
        if spread is not None:
            text += f"  (± {spread:.4f} over {len(scores['acc_seeds'])} seeds)"
        lines.append(text)
    return "\n".join(lines)


def headline(metrics: dict) -> str:
    """One line for the demo's table."""
    hmm = metrics["hmm"]
    return (
        f"acc: MFT {metrics['mft']['acc']:.3f}, HMM filter {hmm['filter_acc']:.3f} / smoother "
        f"{hmm['smooth_acc']:.3f} / Viterbi {hmm['viterbi_acc']:.3f}, "
        f"uni {metrics['uni']['acc']:.3f}, "
        f"bi {metrics['bi']['acc']:.3f}, BiLSTM-CRF {metrics['bicrf']['acc']:.3f} "
        f"(unknown words {metrics['bicrf']['unk_acc']:.3f})"
        + (
            f", + contextual string embeddings {metrics['bicrf+cse']['acc']:.3f} "
            f"(unknown {metrics['bicrf+cse']['unk_acc']:.3f}, "
            f"ambiguous {metrics['bicrf+cse']['amb_acc']:.3f} vs {metrics['bicrf']['amb_acc']:.3f})"
            if "bicrf+cse" in metrics
            else ""
        )
    )
