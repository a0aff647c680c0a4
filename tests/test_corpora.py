"""pirho.data.corpora: HKCanCor through pycantonese, CoNLL-U and word/TAG files, the split."""

import builtins
import unicodedata
from collections import Counter

import numpy as np
import pytest

from pirho.data import corpora
from pirho.data.corpora import (
    MissingExtraError,
    TaggedCorpus,
    TaggedSentence,
    TaggingVocab,
    read_conllu,
    read_word_tag,
    split_by_document,
)

CONLLU = """\
# newdoc id = first
# sent_id = 1
1\t佢\t佢\tPRON\tr\t_\t2\tnsubj\t_\t_
2-3\t去咗\t_\t_\t_\t_\t_\t_\t_\t_
2\t去\t去\tVERB\tv\t_\t0\troot\t_\t_
3\t咗\t咗\tAUX\tu\t_\t2\taux\t_\t_
3.1\t嘢\t_\tNOUN\t_\t_\t_\t_\t_\t_

# sent_id = 2
1\t好\t好\tADJ\ta\t_\t0\troot\t_\t_

# newdoc id = second
# sent_id = 3
1\t食\t食\tVERB\tv\t_\t0\troot\t_\t_
2\t飯\t飯\tNOUN\tn\t_\t1\tobj\t_\t_

"""


@pytest.fixture(scope="module")
def hkcancor():
    pytest.importorskip("pycantonese")
    return corpora.hkcancor()


def test_hkcancor_sizes_match_the_published_corpus(hkcancor):
    # Luke & Wong (2015): 16,160 tagged utterances, 125,394 tagged tokens, 58 files, 94 tags
    assert len(hkcancor.documents) == 58
    assert (hkcancor.n_sentences, hkcancor.n_tokens, len(hkcancor.tags)) == (16160, 125394, 94)
    assert all(len(s.words) == len(s.tags) > 0 for s in hkcancor.sentences)


def test_hkcancor_ud_tagset_maps_every_token():
    pytest.importorskip("pycantonese")
    ud = corpora.hkcancor("ud")
    assert ud.n_tokens == 125394
    assert len(ud.tags) == 15 and {"NOUN", "VERB", "PART", "PRON"} <= set(ud.tags)


def test_split_is_deterministic_disjoint_by_file_and_about_80_10_10(hkcancor):
    split = split_by_document(hkcancor)
    again = split_by_document(corpora.hkcancor())
    assert split.documents == again.documents and split.test == again.test
    names = [set(split.documents[part]) for part in corpora.SPLITS]
    assert sum(len(n) for n in names) == 58
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    sizes = split.sizes()
    tokens = np.array([sizes[part]["tokens"] for part in corpora.SPLITS])
    assert tokens.sum() == 125394
    assert 0.75 < tokens[0] / tokens.sum() < 0.85
    assert 0.05 < tokens[1] / tokens.sum() < 0.15 and 0.05 < tokens[2] / tokens.sum() < 0.15
    # every sentence of a test document is in test, none elsewhere
    by_name = dict(hkcancor.documents)
    test_sentences = [s for name in split.documents["test"] for s in by_name[name]]
    assert test_sentences == split.test
    # each training sentence knows its document
    assert len(split.train_document_of) == len(split.train)
    for sentence, document in zip(split.train, split.train_document_of, strict=True):
        assert sentence in by_name[split.documents["train"][document]]


def test_utterance_split_is_seeded_disjoint_and_keeps_each_sentences_document(hkcancor):
    split = corpora.split_by_utterance(hkcancor, seed=0)
    assert split.test == corpora.split_by_utterance(hkcancor, seed=0).test
    assert split.test != corpora.split_by_utterance(hkcancor, seed=1).test
    n = hkcancor.n_sentences
    assert [len(split.dev), len(split.test)] == [n // 10, n // 10]
    assert len(split.train) == n - 2 * (n // 10)
    # the three parts are the corpus's sentences (as a multiset: some utterances repeat)
    together = Counter(split.train + split.dev + split.test)
    assert together == Counter(hkcancor.sentences)
    # conversations fall on both sides: the point of the harder split by document
    assert len(split.documents["test"]) > 40 and len(split.documents["train"]) == 58
    by_name = dict(hkcancor.documents)
    for sentence, document in zip(split.train[:500], split.train_document_of, strict=False):
        assert sentence in by_name[split.documents["train"][document]]


def test_document_frequencies_count_documents_not_tokens(hkcancor):
    split = split_by_document(hkcancor)
    frequencies = corpora.document_frequencies(split)
    by_name = dict(hkcancor.documents)
    documents = [by_name[name] for name in split.documents["train"]]
    for word in ("佢", "我", "嘅", "byte", "意大利"):
        expected = sum(any(word in s.words for s in sentences) for sentences in documents)
        assert frequencies.get(word, 0) == expected
    assert max(frequencies.values()) <= len(documents)
    assert set(frequencies) == {w for s in split.train for w in s.words}
    without = split._replace(train_document_of=())
    with pytest.raises(ValueError, match="document of 0 of its"):
        corpora.document_frequencies(without)


def test_vocab_unknown_class_and_characters(hkcancor):
    split = split_by_document(hkcancor)
    vocab = TaggingVocab.build(split.train, tags=hkcancor.tags)
    train_words = {w for s in split.train for w in s.words}
    assert len(vocab.words) == len(train_words) + 1  # + <unk>
    test_tokens = [w for s in split.test for w in s.words]
    unknown = [w for w in test_tokens if w not in train_words]
    assert sum(not vocab.is_known(w) for w in test_tokens) == len(unknown)
    assert 0.03 < len(unknown) / len(test_tokens) < 0.08  # ~5 %, as the issue measured
    encoded = vocab.encode(unknown[:1] + ["佢"])
    assert encoded.words[0] == vocab.words.unk and encoded.words[1] != vocab.words.unk
    # an unknown word keeps its known characters
    chars = encoded.chars[0, : encoded.char_lengths[0]]
    assert [vocab.chars.to_tokens(int(c)) for c in chars if c] == [
        ch for ch in unknown[0] if ch in vocab.chars
    ]


def test_read_conllu_skips_multiword_and_empty_nodes_and_keeps_documents(tmp_path):
    pytest.importorskip("conllu")
    path = tmp_path / "toy.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    corpus = read_conllu(path)
    assert [name for name, _ in corpus.documents] == ["first", "second"]
    assert corpus.sentences == [
        TaggedSentence(("佢", "去", "咗"), ("PRON", "VERB", "AUX")),
        TaggedSentence(("好",), ("ADJ",)),
        TaggedSentence(("食", "飯"), ("VERB", "NOUN")),
    ]
    assert [s.tags for s in read_conllu(path, column="xpos").sentences][0] == ("r", "v", "u")


def test_read_conllu_names_a_missing_tag(tmp_path):
    pytest.importorskip("conllu")
    path = tmp_path / "bad.conllu"
    path.write_text("# sent_id = s7\n1\t好\t好\t_\t_\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"sentence s7, word '好' has no 'upos'"):
        read_conllu(path)


def test_read_word_tag_and_its_errors(tmp_path):
    path = tmp_path / "toy.txt"
    path.write_text("佢/r 去/v\n\n1/2/m 啊/y\n", encoding="utf-8")
    corpus = read_word_tag(path)
    assert corpus.sentences == [
        TaggedSentence(("佢", "去"), ("r", "v")),
        TaggedSentence(("1/2", "啊"), ("m", "y")),
    ]
    path.write_text("佢/r 去\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: token '去' is not word/TAG"):
        read_word_tag(path)
    with pytest.raises(FileNotFoundError, match="no/such.txt"):
        read_word_tag(tmp_path / "no/such.txt")


def test_small_corpus_is_split_in_contiguous_blocks():
    sentences = tuple(TaggedSentence((f"w{i}",), ("X",)) for i in range(40))
    split = split_by_document(TaggedCorpus("toy", "file", (("only", sentences),)))
    assert (len(split.train), len(split.dev), len(split.test)) == (32, 4, 4)
    assert split.dev == list(sentences[16:18] + sentences[36:38])


def test_missing_extra_names_the_pip_command(monkeypatch):
    real_import = builtins.__import__

    def no_pycantonese(name, *args, **kwargs):
        if name.startswith("pycantonese"):
            raise ImportError("No module named 'pycantonese'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(corpora.importlib, "import_module", lambda name: no_pycantonese(name))
    with pytest.raises(MissingExtraError, match=r"pip install 'pirho\[corpora\]'"):
        corpora.hkcancor()
    assert "pirho[corpora]" in corpora.corpora_available()
    with pytest.raises(ValueError, match="tagset"):
        corpora.hkcancor("penn")


def test_ctcpc_reads_every_sentence_of_the_shipped_file_as_words():
    pytest.importorskip("pycantonese")
    import importlib.resources
    import json

    sentences = corpora.ctcpc()
    shipped = importlib.resources.files("pycantonese") / "data" / "ctcpc" / "sents.json"
    raw = json.loads(shipped.read_text(encoding="utf-8"))
    # one entry of the file is a lone control character (ESC); every other one is kept
    assert len(raw) == 121138 and len(sentences) == 121137
    assert all(isinstance(w, str) and w and not w.isspace() for s in sentences for w in s)
    characters = sum(len(w) for s in sentences for w in s)
    whole = sum(len("".join(line.split())) for line in raw)
    assert characters == 1850735 and whole - characters == 2  # two control characters dropped
    assert not any(unicodedata.category(c) == "Cc" for s in sentences for w in s for c in w)
    assert ["我個女住喺土瓜灣欣榮花園"] in sentences  # unsegmented: one word
    assert ["主角", "︰", "所以", "，", "我哋要唔要", "AA", "制啊", "？"] in sentences
