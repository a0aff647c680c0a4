"""pirho.tagging: the counting taggers by hand, word dropout rates, splits, fit_tagger's
checks, and a tagger with embeddings saved, loaded and tagging identically."""

from collections import Counter

import numpy as np
import pytest

from pirho.data.corpora import (
    CorpusSplit,
    TaggedSentence,
    TaggingVocab,
    read_word_tag,
    split_by_document,
)
from pirho.tagging import (
    MODELS,
    TrainedTagger,
    fit_hmm,
    fit_mft,
    fit_tagger,
    prepare,
    singleton_tag_counts,
    train_tagger,
    with_contexts,
    word_dropout_rates,
)

TINY = dict(
    epochs=1,
    batch_size=16,
    lr=2e-3,
    word_dim=8,
    char_dim=8,
    char_hidden=8,
    hidden_size=8,
    dropout=0.3,
    word_dropout="document",
)


def test_supervised_hmm_is_add_k_smoothed_counts_over_the_frequent_words():
    # tags: A=0, B=1, C=2 (never seen); words x, y (seen twice or more), z, w (once: <unk>)
    train = [
        TaggedSentence(("x", "y", "z"), ("A", "A", "B")),
        TaggedSentence(("w", "x", "y"), ("B", "A", "B")),
    ]
    vocab = TaggingVocab.build(train, tags=["A", "B", "C"])
    hmm, hmm_vocab = fit_hmm(CorpusSplit(train, [], [], {}), vocab, smoothing=0.5, min_count=2)
    assert hmm_vocab.words.idx_to_token == ["<unk>", "x", "y"]
    np.testing.assert_allclose(hmm.start, np.array([1.5, 1.5, 0.5]) / 3.5, rtol=1e-12)
    # A→A, A→B, B→A, A→B
    np.testing.assert_allclose(hmm.trans, [np.array([1.5, 2.5, 0.5]) / 4.5,
                                           np.array([1.5, 0.5, 0.5]) / 2.5,
                                           np.full(3, 1 / 3)], rtol=1e-12)  # fmt: skip
    # A emits x, y, x; B emits <unk>, <unk>, y
    np.testing.assert_allclose(hmm.emit, [np.array([0.5, 2.5, 1.5]) / 4.5,
                                          np.array([2.5, 0.5, 1.5]) / 4.5,
                                          np.full(3, 1 / 3)], rtol=1e-12)  # fmt: skip
    fitted = fit_tagger("hmm", CorpusSplit(train, [], [], {}), vocab,
                        {"smoothing": 0.5, "hmm_min_count": 2})  # fmt: skip
    assert np.array_equal(fitted.hmm.emit, hmm.emit) and fitted.vocab == hmm_vocab
    with pytest.raises(ValueError, match="smoothing"):
        fit_hmm(CorpusSplit(train, [], [], {}), vocab, smoothing=-1.0)


def test_most_frequent_tag_and_the_singleton_prior():
    train = [
        TaggedSentence(("a", "b", "a"), ("N", "V", "N")),
        TaggedSentence(("a", "c", "d"), ("V", "V", "A")),
    ]
    vocab = TaggingVocab.build(train, tags=["A", "N", "V"])
    # singletons b, c, d carry V, V, A: unknown words get V
    assert singleton_tag_counts(train, vocab).tolist() == [1, 0, 2]
    fitted = TrainedTagger("mft", vocab, table=fit_mft(CorpusSplit(train, [], [], {}), vocab))
    assert fitted.tag([["a", "d", "zzz"]]) == [["N", "A", "V"]]
    assert fitted.predict([["a", "d", "zzz"]])[0].tolist() == [1, 0, 2]


def test_fit_tagger_names_a_bad_model_or_a_missing_config_entry():
    train = [TaggedSentence(("a",), ("N",))] * 20
    split = CorpusSplit(train, train[:2], train[:2], {})
    vocab = TaggingVocab.build(train)
    with pytest.raises(ValueError, match="model"):
        fit_tagger("lstm", split, vocab, TINY)
    with pytest.raises(ValueError, match=r"lacks \['hmm_min_count'\]"):
        fit_tagger("hmm", split, vocab, {"smoothing": 0.1})
    with pytest.raises(ValueError, match=r"'bicrf' lacks \['lr'\]"):
        fit_tagger("bicrf", split, vocab, {k: v for k, v in TINY.items() if k != "lr"})
    assert set(MODELS) == {"mft", "hmm", "uni", "bi", "bicrf", "bi+cse", "bicrf+cse"}


def test_document_word_dropout_rates_follow_document_counts(small_corpus_file):
    split = split_by_document(read_word_tag(small_corpus_file))
    vocab = TaggingVocab.build(split.train)
    rates = word_dropout_rates(split, vocab, "document")
    blocks: dict[int, set[str]] = {}
    for document, s in zip(split.train_document_of, split.train, strict=True):
        blocks.setdefault(document, set()).update(s.words)
    assert rates.shape == (len(vocab.words),) and rates[0] == 0.0
    for word, index in list(vocab.words.token_to_idx.items())[1:]:
        n_documents = sum(word in words for words in blocks.values())
        assert rates[index] == pytest.approx(1.0 / (1.0 + n_documents))
    assert word_dropout_rates(split, vocab, 0.05) is None
    with pytest.raises(ValueError, match="word_dropout"):
        word_dropout_rates(split, vocab, "sentence")
    data = [vocab.encode(s.words, s.tags) for s in split.train[:5]]
    with pytest.raises(ValueError, match="needs dropout_rates"):
        train_tagger(data, data, vocab, model="bi", config=TINY)


def test_split_by_utterance_or_document(small_corpus_file):
    by_document, _ = prepare(small_corpus_file, "hkcancor")
    by_utterance, vocab = prepare(small_corpus_file, "hkcancor", split_by="utterance")
    assert [len(p) for p in by_utterance[:3]] == [320, 40, 40]
    assert by_utterance.test != by_document.test
    assert vocab.words.idx_to_token[1:] and len(by_utterance.train_document_of) == 320
    # the rates follow the (single) document of this file: every training word gets 1/2
    rates = word_dropout_rates(by_utterance, vocab)
    assert np.allclose(rates[1:], 0.5)
    with pytest.raises(ValueError, match="split_by"):
        prepare(small_corpus_file, "hkcancor", split_by="sentence")
    short, _ = prepare(small_corpus_file, "hkcancor", max_train_sentences=7)
    assert short.train == by_document.train[:7] and short.test == by_document.test


def test_trained_tagger_accuracy_is_a_hand_count_of_its_tags(one_torch_thread, small_corpus_file):
    split, vocab = prepare(small_corpus_file, "hkcancor")
    fitted = fit_tagger("uni", split, vocab, TINY, seed=0, progress=False)
    tagged = fitted.tag([s.words for s in split.test])
    pairs = Counter(
        p == g for s, tags in zip(split.test, tagged, strict=True)
        for p, g in zip(tags, s.tags, strict=True)
    )  # fmt: skip
    assert fitted.accuracy(split.test) == pairs[True] / (pairs[True] + pairs[False])
    assert fitted.info["training"]["seed"] == 0 and fitted.info["training"]["best_epoch"] == 1


def test_tagger_with_embeddings_saves_loads_and_tags_identically(
    one_torch_thread, small_corpus_file, tmp_path
):
    import torch

    from pirho.data import Vocab
    from pirho.nn import ContextualStringEmbeddings
    from pirho.nn.taggers import pad_batch

    corpus = read_word_tag(small_corpus_file)
    split = split_by_document(corpus)
    vocab = TaggingVocab.build(split.train, tags=corpus.tags)
    torch.manual_seed(0)
    chars = [c for s in split.train for w in s.words for c in w] + [" ", "\n"]
    embeddings = ContextualStringEmbeddings(Vocab(chars), hidden_size=8, embedding_dim=4)
    fitted = fit_tagger("bicrf+cse", split, vocab, TINY, progress=False, embeddings=embeddings)
    path = fitted.save(tmp_path / "tagger.pt", corpus="file")
    assert path == tmp_path / "tagger.pt"
    loaded = TrainedTagger.load(path)
    sentences = [list(s.words) for s in split.test]
    assert loaded.tag(sentences) == fitted.tag(sentences)
    # the file alone carries the embeddings: same weights, same vectors
    assert torch.equal(
        loaded.tagger.embeddings.embed(sentences[:3]), embeddings.embed(sentences[:3])
    )
    # the contextual input matters: other vectors change the scores
    encoded = [vocab.encode(w) for w in sentences[:4]]
    batch = pad_batch(with_contexts(encoded, sentences[:4], loaded.tagger))
    scores = loaded.tagger.scores(batch)
    shifted = batch._replace(context=batch.context + 1.0)
    assert not torch.allclose(loaded.tagger.scores(shifted), scores)
    with pytest.raises(ValueError, match="no context"):
        loaded.tagger.scores(pad_batch(encoded))
    with pytest.raises(ValueError, match="needs embeddings"):
        fit_tagger("bi+cse", split, vocab, TINY, progress=False)


def test_the_library_imports_neither_experiments_nor_the_command_line():
    import subprocess
    import sys

    code = (
        "import sys, pirho.tagging; "
        "above = [m for m in sys.modules if m.startswith(('pirho.experiments', 'pirho.cli'))]; "
        "assert not above, above"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_frozen_embeddings_of_the_same_sentences_are_computed_once():
    from pirho.data import Vocab
    from pirho.data.corpora import TaggedSentence, TaggingVocab
    from pirho.nn import ContextualStringEmbeddings
    from pirho.nn.taggers import Tagger
    from pirho.tagging.neural import encode_with_contexts, with_contexts

    sentences = [TaggedSentence(("我", "食"), ("r", "v")), TaggedSentence(("佢",), ("r",))]
    vocab = TaggingVocab.build(sentences)
    encoded = [vocab.encode(s.words, s.tags) for s in sentences]
    embeddings = ContextualStringEmbeddings(
        Vocab(list("我食佢 \n")), hidden_size=4, embedding_dim=3
    )
    calls = []
    original = embeddings.embed
    embeddings.embed = lambda batch: calls.append(len(batch)) or original(batch)
    first = encode_with_contexts(encoded, sentences, embeddings)
    second = encode_with_contexts(encoded, list(sentences), embeddings)
    assert calls == [2]
    expected = original([["我", "食"], ["佢"]]).numpy()
    for sentence, fresh in zip(second, (expected[0, :2], expected[1, :1]), strict=True):
        np.testing.assert_array_equal(sentence.context, fresh)
    assert first[0].context.shape == (2, 8)
    tagger = Tagger(len(vocab.words), len(vocab.chars), len(vocab.tags), embeddings=embeddings)
    tagged = with_contexts(encoded, [["我", "食"], ["佢"]], tagger)  # what predict reads
    assert calls == [2]
    np.testing.assert_array_equal(tagged[1].context, expected[1, :1])
    embeddings.fine_tune = True  # gradients flow: nothing may be reused
    encode_with_contexts(encoded, sentences, embeddings)
    assert calls == [2, 2]
