"""The tagging experiment: a reduced run whose every row is recomputed independently (counts
and an HMM by hand; the neural taggers refitted through pirho.tagging and their tags counted
by hand), options, and a run with contextual string embeddings."""

import argparse
import json
from collections import Counter

import numpy as np
import pytest

from pirho.data.corpora import read_word_tag, split_by_document
from pirho.experiments import tagging
from pirho.hmm import CategoricalHMM
from pirho.tagging import CSE_MODELS, NEURAL, fit_tagger, prepare

TINY = dict(
    epochs=1,
    word_dim=8,
    char_dim=8,
    char_hidden=8,
    hidden_size=8,
    max_lag=1,
    batch_size=16,
)


def tiny_embeddings(split):
    """Untrained contextual string embeddings over the training characters (seed 0)."""
    import torch

    from pirho.data import Vocab
    from pirho.nn import ContextualStringEmbeddings

    torch.manual_seed(0)
    chars = [c for s in split.train for w in s.words for c in w] + [" ", "\n"]
    return ContextualStringEmbeddings(Vocab(chars), hidden_size=8, embedding_dim=4)


def test_reduced_run_every_row_recomputed_independently(
    one_torch_thread, small_corpus_file, tmp_path
):
    prepared, vocab = prepare(small_corpus_file, "hkcancor")  # the run's split and vocabulary
    embeddings = tiny_embeddings(prepared)
    result = tagging.run(
        corpus=small_corpus_file,
        seed=0,
        seeds=2,
        progress=False,
        out=tmp_path,
        embeddings=embeddings,
        **TINY,
    )
    m = result.metrics
    for key in ("n_train_tokens", "n_test_tokens", "unknown_rate"):
        assert key in m
    for model in ("mft", "uni", "bi", "bicrf"):
        assert {"acc", "known_acc", "unk_acc"} <= set(m[model])
    for decoder in ("filter", "smooth", "viterbi"):
        assert {f"{decoder}_acc", f"{decoder}_known_acc", f"{decoder}_unk_acc"} <= set(m["hmm"])
    for model in ("uni", "bi", "bicrf"):
        assert len(m[model]["acc_seeds"]) == 2
        assert m[model]["acc"] == pytest.approx(np.mean(m[model]["acc_seeds"]))
    assert m["lookahead"]["lags"] == [0, 1] and len(m["lookahead"]["bicrf"]) == 2
    # the curves' whole-sentence scores belong to the same (first-seed) taggers
    whole = m["lookahead"]["whole"]
    assert whole["hmm"] == m["hmm"]["smooth_acc"]
    for model in ("uni", "bi", "bicrf"):
        assert whole[model] == m[model]["acc_seeds"][0]
    assert m["lookahead"]["uni"] == [whole["uni"]] * 2

    # independent most-frequent-tag and unknown rate, from plain counting
    split = split_by_document(read_word_tag(small_corpus_file))
    seen = Counter((w, t) for s in split.train for w, t in zip(s.words, s.tags, strict=True))
    words = Counter(w for s in split.train for w in s.words)
    singleton_tags = Counter(
        t for s in split.train for w, t in zip(s.words, s.tags, strict=True) if words[w] == 1
    )
    best = {}
    for (w, t), n in sorted(seen.items(), key=lambda item: item[0][1]):
        if n > best.get(w, ("", 0))[1]:
            best[w] = (t, n)
    fallback = sorted(singleton_tags.items(), key=lambda item: (-item[1], item[0]))[0][0]
    gold = [(w, t) for s in split.test for w, t in zip(s.words, s.tags, strict=True)]
    mft = np.mean([best.get(w, (fallback,))[0] == t for w, t in gold])
    assert m["mft"]["acc"] == pytest.approx(mft)
    assert m["unknown_rate"] == pytest.approx(np.mean([w not in words for w, _ in gold]))
    assert m["n_test_tokens"] == len(gold)
    # independent supervised HMM: add-0.1 counts by hand, words seen once folded into one
    # symbol, decoded by CategoricalHMM; accuracies by a hand count over every test token
    tag_list = list(read_word_tag(small_corpus_file).tags)
    tag_id = {t: i for i, t in enumerate(tag_list)}
    frequent = sorted(w for w, n in words.items() if n >= 2)
    symbol = {w: i + 1 for i, w in enumerate(frequent)}  # 0: every other word
    n_tags, n_symbols = len(tag_list), len(frequent) + 1
    start, trans = np.full(n_tags, 0.1), np.full((n_tags, n_tags), 0.1)
    emit = np.full((n_tags, n_symbols), 0.1)
    for s in split.train:
        y = [tag_id[t] for t in s.tags]
        start[y[0]] += 1
        for a, b in zip(y[:-1], y[1:], strict=True):
            trans[a, b] += 1
        for w, t in zip(s.words, y, strict=True):
            emit[t, symbol.get(w, 0)] += 1
    hand_hmm = CategoricalHMM(
        start / start.sum(), trans / trans.sum(1, keepdims=True), emit / emit.sum(1, keepdims=True)
    )
    test_symbols = [np.array([symbol.get(w, 0) for w in s.words]) for s in split.test]
    decoded = {
        "filter": [p.argmax(1) for p in hand_hmm.filter(test_symbols)],
        "smooth": [p.argmax(1) for p in hand_hmm.posterior(test_symbols)],
        "viterbi": [path for path, _ in hand_hmm.viterbi(test_symbols)],
    }
    gold_ids = np.array([tag_id[t] for _, t in gold])
    is_known = np.array([w in words for w, _ in gold])
    tags_seen = {}
    for w, t in seen:
        tags_seen.setdefault(w, set()).add(t)
    is_ambiguous = np.array([len(tags_seen.get(w, ())) >= 2 for w, _ in gold])
    for decoder, paths in decoded.items():
        right = np.concatenate(paths) == gold_ids
        for name, mask in (
            ("acc", np.ones_like(right)),
            ("known_acc", is_known),
            ("unk_acc", ~is_known),
            ("amb_acc", is_ambiguous),
        ):
            assert m["hmm"][f"{decoder}_{name}"] == right[mask].sum() / mask.sum(), (decoder, name)
    mft_right = np.array([best.get(w, (fallback,))[0] == t for w, t in gold])
    for name, mask in (("known_acc", is_known), ("unk_acc", ~is_known), ("amb_acc", is_ambiguous)):
        assert m["mft"][name] == mft_right[mask].sum() / mask.sum(), name
    assert m["lookahead"]["hmm"][0] == m["hmm"]["filter_acc"]  # lag 0: the filter
    lag_one = [p.argmax(1) for p in hand_hmm.posterior(test_symbols, lag=1)]
    assert m["lookahead"]["hmm"][1] == np.sum(np.concatenate(lag_one) == gold_ids) / len(gold)
    # the neural rows: every tagger refitted by pirho.tagging.fit_tagger (the path of
    # `pirho tag train`) with the run's configuration and seed, its tags of the test split
    # counted right or wrong by hand
    config = dict(tagging.FULL, **TINY)
    test_words = [s.words for s in split.test]
    for model in (*NEURAL, *CSE_MODELS):
        for i, run_seed in enumerate((0, 1)):
            fitted = fit_tagger(model, prepared, vocab, config, seed=run_seed, progress=False,
                                embeddings=embeddings if model in CSE_MODELS else None)  # fmt: skip
            tagged = fitted.tag(test_words)
            right = np.array([p == g for tags, s in zip(tagged, split.test, strict=True)
                              for p, g in zip(tags, s.tags, strict=True)])  # fmt: skip
            for name, mask in (
                ("acc", np.ones_like(right)),
                ("known_acc", is_known),
                ("unk_acc", ~is_known),
                ("amb_acc", is_ambiguous),
            ):
                assert m[model][f"{name}_seeds"][i] == right[mask].sum() / mask.sum(), (model, i)
            assert m[model]["best_epoch"][i] == fitted.info["training"]["best_epoch"]
    # JSON round trip with nested keys, and both figures written
    path = result.write_json(tmp_path / "tagging.json")
    loaded = json.loads(path.read_text())
    assert loaded["hmm"]["viterbi_acc"] == m["hmm"]["viterbi_acc"]
    assert sorted(p.name for p in result.figures) == [
        "tagging_accuracy.png",
        "tagging_lookahead.png",
    ]


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="seeds"):
        tagging.run(seeds=0, progress=False)
    with pytest.raises(TypeError, match="unknown tagging option"):
        tagging.run(n_layers=3, progress=False)
    with pytest.raises(ValueError, match="tagset"):
        tagging.run(tagset="penn", progress=False)
    with pytest.raises(FileNotFoundError, match="missing.conllu"):
        tagging.run(corpus="missing.conllu", progress=False, **TINY)


def test_word_dropout_option_parses_a_probability_or_document():
    from pirho.cli._options import add_options

    parser = argparse.ArgumentParser()
    add_options(parser, tagging.OPTIONS)
    assert parser.parse_args(["--word-dropout", "0.1"]).word_dropout == 0.1
    assert parser.parse_args(["--word-dropout", "document"]).word_dropout == "document"
    assert parser.parse_args([]).word_dropout is None  # the configuration's default
    for bad in ("1", "-0.1", "nan", "docs"):
        with pytest.raises(argparse.ArgumentTypeError, match="probability in"):
            tagging.word_dropout_option(bad)


CSE_TINY = dict(TINY, cse_hidden_size=16, cse_epochs=1, cse_max_chars=0)


def test_quick_run_with_contextual_embeddings_has_every_row_and_ambiguous_accuracy(
    one_torch_thread, small_corpus_file
):
    result = tagging.run(corpus=small_corpus_file, seed=0, progress=False, **CSE_TINY)
    m = result.metrics
    for model in ("bi+cse", "bicrf+cse"):
        assert {"acc", "known_acc", "unk_acc", "amb_acc", "best_epoch"} <= set(m[model])
        assert 0.0 < m[model]["acc"] <= 1.0
    for model in ("mft", "uni", "bi", "bicrf", "bi+cse", "bicrf+cse"):
        assert "amb_acc" in m[model]
    for decoder in ("filter", "smooth", "viterbi"):
        assert f"{decoder}_amb_acc" in m["hmm"]
    assert m["cse"]["forward_bpc"] > 0 and m["cse"]["backward_bpc"] > 0
    assert "BiLSTM-CRF + CSE" in result.summary and "ambiguous" in result.summary

    # amb_acc of the most-frequent-tag baseline, recounted by hand
    split = split_by_document(read_word_tag(small_corpus_file))
    tags_of, counts = {}, Counter()
    for s in split.train:
        for w, t in zip(s.words, s.tags, strict=True):
            tags_of.setdefault(w, set()).add(t)
            counts[(w, t)] += 1
    best = {}
    for (w, t), n in sorted(counts.items(), key=lambda item: item[0][1]):
        if n > best.get(w, ("", 0))[1]:
            best[w] = (t, n)
    ambiguous = [
        (w, t)
        for s in split.test
        for w, t in zip(s.words, s.tags, strict=True)
        if len(tags_of.get(w, ())) >= 2
    ]
    assert m["ambiguous_rate"] == pytest.approx(len(ambiguous) / m["n_test_tokens"])
    assert m["mft"]["amb_acc"] == pytest.approx(np.mean([best[w][0] == t for w, t in ambiguous]))
