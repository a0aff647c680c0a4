"""The tagging experiment: supervised HMM counts by hand, baselines, and a reduced run."""

import argparse
import json
from collections import Counter

import numpy as np
import pytest

from pirho.data.corpora import TaggedSentence, TaggingVocab, read_word_tag, split_by_document
from pirho.experiments import tagging
from pirho.hmm import CategoricalHMM

TINY = dict(
    epochs=1,
    word_dim=8,
    char_dim=8,
    char_hidden=8,
    hidden_size=8,
    max_lag=1,
    batch_size=16,
)


def test_hmm_counts_match_a_hand_count():
    # tags: A=0, B=1; symbols: x=0, y=1, z=2
    tags = [np.array([0, 0, 1]), np.array([1, 0])]
    symbols = [np.array([0, 1, 2]), np.array([2, 0])]
    start, trans, emit = tagging.hmm_counts(symbols, tags, n_states=2, n_symbols=3)
    assert start.tolist() == [1, 1]  # first tags: A, B
    assert trans.tolist() == [[1, 1], [1, 0]]  # A→A, A→B, B→A
    assert emit.tolist() == [[2, 1, 0], [0, 0, 2]]  # A emits x, y, x; B emits z, z


def test_supervised_hmm_is_add_k_smoothed_relative_frequency():
    tags = [np.array([0, 0, 1]), np.array([1, 0])]
    symbols = [np.array([0, 1, 2]), np.array([2, 0])]
    m = tagging.supervised_hmm(symbols, tags, 2, 3, smoothing=0.5)
    np.testing.assert_allclose(m.start, [1.5 / 3, 1.5 / 3])
    np.testing.assert_allclose(m.trans, [[1.5 / 3, 1.5 / 3], [1.5 / 2, 0.5 / 2]])
    np.testing.assert_allclose(
        m.emit, [[2.5 / 4.5, 1.5 / 4.5, 0.5 / 4.5], [0.5 / 3.5, 0.5 / 3.5, 2.5 / 3.5]]
    )


def test_most_frequent_tag_and_the_singleton_prior():
    train = [
        TaggedSentence(("a", "b", "a"), ("N", "V", "N")),
        TaggedSentence(("a", "c", "d"), ("V", "V", "A")),
    ]
    vocab = TaggingVocab.build(train, tags=["A", "N", "V"])
    # singletons b, c, d carry V, V, A: unknown words get V
    assert tagging.singleton_tag_counts(train, vocab).tolist() == [1, 0, 2]
    fitted = tagging.TrainedTagger(
        "mft", vocab, table=tagging.fit_mft(tagging.CorpusSplit(train, [], [], {}), vocab)
    )
    assert fitted.tag([["a", "d", "zzz"]]) == [["N", "A", "V"]]


@pytest.fixture(scope="module")
def small_corpus_file(tmp_path_factory):
    """400 HKCanCor utterances as a word/TAG file (one document: split in 20 blocks)."""
    pytest.importorskip("pycantonese")
    from pirho.data.corpora import hkcancor

    sentences = hkcancor().sentences[:400]
    path = tmp_path_factory.mktemp("corpus") / "hk400.txt"
    lines = [" ".join(f"{w}/{t}" for w, t in zip(s.words, s.tags, strict=True)) for s in sentences]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reduced_run_returns_every_key_with_independent_baselines(
    one_torch_thread, small_corpus_file, tmp_path
):
    result = tagging.run(
        corpus=small_corpus_file, seed=0, seeds=2, progress=False, out=tmp_path, **TINY
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


def test_document_word_dropout_rates_follow_document_counts(small_corpus_file):
    split = split_by_document(read_word_tag(small_corpus_file))
    vocab = TaggingVocab.build(split.train)
    rates = tagging.word_dropout_rates(split, vocab, "document")
    blocks: dict[int, set[str]] = {}
    for document, s in zip(split.train_document_of, split.train, strict=True):
        blocks.setdefault(document, set()).update(s.words)
    assert rates.shape == (len(vocab.words),) and rates[0] == 0.0
    for word, index in list(vocab.words.token_to_idx.items())[1:]:
        n_documents = sum(word in words for words in blocks.values())
        assert rates[index] == pytest.approx(1.0 / (1.0 + n_documents))
    assert tagging.word_dropout_rates(split, vocab, 0.05) is None
    with pytest.raises(ValueError, match="word_dropout"):
        tagging.word_dropout_rates(split, vocab, "sentence")
    data = [vocab.encode(s.words, s.tags) for s in split.train[:5]]
    with pytest.raises(ValueError, match="needs dropout_rates"):
        tagging.train_tagger(data, data, vocab, model="bi", config=dict(tagging.QUICK))


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


def test_split_by_utterance_or_document(small_corpus_file):
    by_document, _ = tagging.prepare(small_corpus_file, "hkcancor")
    by_utterance, vocab = tagging.prepare(small_corpus_file, "hkcancor", split_by="utterance")
    assert [len(p) for p in by_utterance[:3]] == [320, 40, 40]
    assert by_utterance.test != by_document.test
    assert vocab.words.idx_to_token[1:] and len(by_utterance.train_document_of) == 320
    # the rates follow the (single) document of this file: every training word gets 1/2
    rates = tagging.word_dropout_rates(by_utterance, vocab)
    assert np.allclose(rates[1:], 0.5)
    with pytest.raises(ValueError, match="split_by"):
        tagging.prepare(small_corpus_file, "hkcancor", split_by="sentence")


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


def test_tagger_with_embeddings_saves_loads_and_tags_identically(
    one_torch_thread, small_corpus_file, tmp_path
):
    import torch

    from pirho.nn import ContextualStringEmbeddings

    corpus = read_word_tag(small_corpus_file)
    split = split_by_document(corpus)
    vocab = TaggingVocab.build(split.train, tags=corpus.tags)
    torch.manual_seed(0)
    chars = [c for s in split.train for w in s.words for c in w] + [" ", "\n"]
    from pirho.data import Vocab

    embeddings = ContextualStringEmbeddings(Vocab(chars), hidden_size=8, embedding_dim=4)
    config = dict(tagging.QUICK, **TINY)
    fitted = tagging.fit_tagger(
        "bicrf+cse", split, vocab, config, progress=False, embeddings=embeddings
    )
    path = fitted.save(tmp_path / "tagger.pt", corpus="file")
    loaded = tagging.TrainedTagger.load(path)
    sentences = [list(s.words) for s in split.test]
    assert loaded.tag(sentences) == fitted.tag(sentences)
    # the file alone carries the embeddings: same weights, same vectors
    assert torch.equal(
        loaded.tagger.embeddings.embed(sentences[:3]), embeddings.embed(sentences[:3])
    )
    # the contextual input matters: other vectors change the scores
    encoded = [vocab.encode(w) for w in sentences[:4]]
    with_ctx = tagging.with_contexts(encoded, sentences[:4], loaded.tagger)
    from pirho.nn.taggers import pad_batch

    batch = pad_batch(with_ctx)
    scores = loaded.tagger.scores(batch)
    shifted = batch._replace(context=batch.context + 1.0)
    assert not torch.allclose(loaded.tagger.scores(shifted), scores)
    with pytest.raises(ValueError, match="no context"):
        loaded.tagger.scores(pad_batch(encoded))
    with pytest.raises(ValueError, match="needs embeddings"):
        tagging.fit_tagger("bi+cse", split, vocab, config, progress=False)
