"""CTCPC, the raw text behind the contextual string embeddings, and its overlap with HKCanCor."""

import json
from importlib import resources

import pytest

from pirho.data.corpora import (
    CTCPC_RAW_SENTENCES,
    ctcpc,
    ctcpc_overlap,
    drop_overlapping,
    hkcancor,
    split_by_document,
)

pytest.importorskip("pycantonese")


@pytest.fixture(scope="module")
def sentences():
    return ctcpc()


@pytest.fixture(scope="module")
def split():
    return split_by_document(hkcancor())


def test_ctcpc_counts(sentences):
    raw = json.loads(
        (resources.files("pycantonese") / "data" / "ctcpc" / "sents.json").read_text("utf-8")
    )
    assert len(raw) == CTCPC_RAW_SENTENCES == 121_138
    # one sentence is a lone control character: 121,137 left, 1,850,735 characters
    assert len(sentences) == 121_137
    assert sum(len(w) for s in sentences for w in s) == 1_850_735
    assert all(words and all(w and not w.isspace() for w in words) for words in sentences)
    segmented = sum(len(s) > 1 for s in sentences)
    assert segmented == 13_387  # about 11 % come with spaces between words


def test_ctcpc_holds_hkcancor_test_utterances_and_drop_overlapping_removes_them(sentences, split):
    raw = ctcpc_overlap(split.test, sentences, n=8)
    assert raw.n_sentences == 1_862
    # CTCPC contains HKCanCor conversations (punctuated): 713 test utterances share an
    # 8-character n-gram with it, 2 of 8+ characters occur verbatim
    assert (raw.exact, raw.ngram) == (2, 713)
    kept = drop_overlapping(sentences, split.dev + split.test, n=8)
    assert len(sentences) - len(kept) == 1_067
    clean = ctcpc_overlap(split.test, kept, n=8)
    assert (clean.exact, clean.ngram, clean.shared_ngrams) == (0, 0, 0)
    assert ctcpc_overlap(split.dev, kept, n=8).ngram == 0


def test_overlap_counts_by_hand():
    heldout = [["我哋", "今日", "去", "行山"], ["係"], ["食飯", "未"]]
    corpus = [["我哋今日去行山。"], ["係"], ["佢食飯"]]
    result = ctcpc_overlap(heldout, corpus, n=3, min_chars=2)
    # 我哋今日去行山 is inside a corpus sentence (n-grams) but not verbatim (the 。); 係 is
    # verbatim but shorter than min_chars; 食飯未 shares no 3-gram
    assert (result.exact, result.ngram) == (0, 1)
    assert result.n_ngrams == 5 + 1  # 5 three-grams of the first, 食飯未 itself
    assert ctcpc_overlap([["係", "呀"]], [["係呀"]], n=2, min_chars=2).exact == 1
    assert drop_overlapping(corpus, heldout, n=3) == [["係"], ["佢食飯"]]
    with pytest.raises(ValueError, match="n must be"):
        drop_overlapping(corpus, heldout, n=0)
