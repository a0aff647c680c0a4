"""Cloze: filling blanks — exact scores, beam search, query errors, a tiny trained model."""

import itertools

import pytest
import torch

from pirho.data import SeqDataLoader, Vocab
from pirho.data.text import encode_cloze_query
from pirho.nn import ClozeModel
from pirho.nn.lm_eval import cloze_accuracy
from pirho.nn.lm_losses import cloze_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    vocab = Vocab("abcd ")
    return ClozeModel(
        len(vocab), embedding_dim=4, hidden_size=8, num_layers=2, vocab=vocab, text_mode="raw"
    ).eval()


def test_query_blanks_are_one_character_each_and_text_is_normalised():
    vocab = Vocab("the im")
    ids, gaps = encode_cloze_query("The  ti__", vocab)
    assert gaps == [6, 7]
    assert vocab.to_tokens(ids[:6]) == list("the ti")


def test_query_without_blank_is_a_clear_error(small_model):
    with pytest.raises(ValueError, match="has no blank: mark each missing character with '_'"):
        small_model.fill("abc")


def test_scored_fill_probabilities_are_the_softmax_of_independent_sequence_scores(small_model):
    vocab = small_model.vocab
    results = small_model.fill("ab_dc a", top_k=10, method="score")
    candidates = [c for c in vocab.idx_to_token if c != "<unk>"]
    texts = [f"ab{c}dc a" for c in candidates]
    scores = torch.stack(
        [small_model.sequence_log_prob(torch.tensor([vocab[list(t)]]))[0] for t in texts]
    )
    expected = dict(zip(texts, torch.softmax(scores, 0).tolist(), strict=True))
    assert len(results) == len(candidates)
    assert sum(p for _, p in results) == pytest.approx(1.0)
    for filling in results:
        assert filling.probability == pytest.approx(expected[filling.text], rel=1e-5)
    assert [p for _, p in results] == sorted((p for _, p in results), reverse=True)


def test_head_fill_is_the_cloze_heads_softmax_without_unk(small_model):
    vocab = small_model.vocab
    results = dict(small_model.fill("ab_dc", top_k=10, method="head"))
    logits = small_model.cloze_logits(torch.tensor([vocab[list("abadc")]]))[2][0, 1]
    keep = [i for i in range(len(vocab)) if i != vocab.unk]
    probs = torch.softmax(logits[keep], 0)
    for i, p in zip(keep, probs.tolist(), strict=True):
        assert results[f"ab{vocab.to_tokens(i)}dc"] == pytest.approx(p, rel=1e-5)
    with pytest.raises(ValueError, match="exactly one blank"):
        small_model.fill("_abc", method="head")


def test_exhaustive_beam_equals_exact_enumeration(small_model):
    exact = small_model.fill("a__c_b", top_k=5, method="score", max_exact=10_000)
    # a beam wider than every partial set keeps everything: same candidates, same order
    beam = small_model.fill("a__c_b", top_k=5, method="score", max_exact=0, beam_size=1_000)
    assert [t for t, _ in beam] == [t for t, _ in exact]
    assert [p for _, p in beam] == pytest.approx([p for _, p in exact], rel=1e-5)
    narrow = small_model.fill("a__c_b", top_k=3, method="score", max_exact=0, beam_size=2)
    assert len(narrow) == 2 and sum(p for _, p in narrow) == pytest.approx(1.0)  # the beam


def test_exact_enumeration_covers_every_filling(small_model):
    results = small_model.fill("__", top_k=100, method="score")
    letters = "abcd "
    assert sorted(t for t, _ in results) == sorted(
        "".join(p) for p in itertools.product(letters, repeat=2)
    )


def test_cloze_on_a_tiny_trained_model_beats_chance_and_either_side(time_machine):
    from pirho.data import load_time_machine

    tokens, vocab = load_time_machine(max_tokens=None, path=time_machine)
    train, heldout = tokens[:12_000], tokens[-2_000:]
    torch.manual_seed(0)
    model = ClozeModel(len(vocab), embedding_dim=16, hidden_size=48, num_layers=1, vocab=vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = SeqDataLoader(train, batch_size=32, num_steps=35, random_iter=True)
    for epoch in range(4):
        for batch in loader.epoch(epoch):
            loss, _, _ = cloze_loss(model, batch, None)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    scores = cloze_accuracy(model, heldout)
    chance = max(heldout.count(i) for i in set(heldout)) / len(heldout)  # most frequent char
    assert scores["both_acc"] > chance + 0.2
    assert scores["both_acc"] > max(scores["left_acc"], scores["right_acc"]) + 0.05
    # measured: both 0.45, left 0.33, right 0.33, chance 0.18
    assert "the time traveller" in [text for text, _ in model.fill("the time tr_veller", top_k=3)]


def _forward_prefix_log_prob(model, tokens):
    """Σ_{t≥1} log P_f(x_t | x_<t) of each row, from full passes (the reference)."""
    logits = model.bilm.lm_logits(tokens)[:, :-1]
    return torch.log_softmax(logits, -1).gather(-1, tokens[:, 1:, None]).sum((1, 2))


def test_beam_keeps_the_partial_fillings_the_forward_lm_ranks_best(small_model):
    vocab = small_model.vocab
    ids, gaps = encode_cloze_query("ab_d_a", vocab, "raw")
    candidates = small_model._candidate_tokens()
    with torch.no_grad():
        beam = small_model._beam(ids, gaps, candidates, beam_size=3)

        def ranked(partials, upto):
            tokens = torch.tensor([ids] * len(partials))
            tokens[:, gaps[: len(partials[0])]] = torch.tensor(partials)
            scores = _forward_prefix_log_prob(small_model, tokens[:, : upto + 1])
            order = torch.argsort(scores, descending=True)[:3].tolist()
            return [partials[i] for i in order]

        first = ranked([(c,) for c in candidates], gaps[0])
        expected = ranked([f + (c,) for f in first for c in candidates], gaps[1])
    assert beam == expected


def test_fill_with_a_large_vocabulary_scores_partial_fillings_in_one_pass_per_blank():
    torch.manual_seed(0)
    vocab = Vocab([chr(0x4E00 + i) for i in range(2500)])  # 2,500 CJK characters
    model = ClozeModel(
        len(vocab), embedding_dim=8, hidden_size=16, num_layers=1, vocab=vocab, text_mode="raw"
    )
    calls = []
    original = model.bilm.lm_logits
    model.bilm.lm_logits = lambda tokens: calls.append(tuple(tokens.shape)) or original(tokens)
    query = "".join(vocab.idx_to_token[1:4]) + "___" + "".join(vocab.idx_to_token[5:8])
    results = model.fill(query, top_k=3, beam_size=8)
    assert len(results) == 3 and sum(p for _, p in results) <= 1.0 + 1e-6
    # one forward-LM call per blank, on at most beam_size rows (not beam_size × 2,500)
    assert calls == [(1, 3), (8, 4), (8, 5)]


def test_examples_are_drawn_from_the_heldout_text_in_its_own_language(tmp_path):
    from pirho.experiments import cloze
    from pirho.lm import load_lm_text

    sentences = ["我好肚餓", "佢食咗飯未", "我哋一齊去飲茶啦", "今日天氣好好", "你去邊度呀"] * 40
    path = tmp_path / "yue.txt"
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    data = load_lm_text(str(path), None, 100)
    cfg = {**cloze.QUICK, "text": str(path)}
    queries = cloze.example_queries(cfg, data, seed=0)
    heldout = "".join(data.vocab.to_tokens(data.heldout))
    assert len(queries) == cfg["n_examples"] == 3
    for query in queries:
        assert query.count("_") == 1 and " " not in query  # one blank, within one sentence
        left, right = query.split("_")
        assert any(left + c + right in heldout for c in data.vocab.idx_to_token[1:])
        assert all(c in data.vocab.token_to_idx for c in left + right)  # nothing becomes <unk>
    # the note's English queries belong to The Time Machine only; --example replaces them all
    assert not any(q in queries for q in cloze.NOTE_QUERIES["timemachine"])
    assert cloze.example_queries({**cfg, "queries": ["我_肚餓"]}, data, 0) == ["我_肚餓"]


def test_ctcpc_text_file_is_written_once_shuffled_one_sentence_per_line(tmp_path):
    pytest.importorskip("pycantonese")
    from pirho.data.corpora import ctcpc
    from pirho.experiments.cloze import ctcpc_text_file

    path = ctcpc_text_file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    sentences = ["".join(words) for words in ctcpc()]
    assert len(lines) == len(sentences) == 121137
    assert sorted(lines) == sorted(sentences) and lines != sentences  # shuffled, nothing lost
    stamp = path.stat().st_mtime_ns
    assert ctcpc_text_file(tmp_path) == path and path.stat().st_mtime_ns == stamp  # reused


def test_cloze_cli_takes_a_corpus_or_a_text_not_both(tmp_path, capsys):
    from pirho.cli import main

    text = tmp_path / "t.txt"
    text.write_text("abc " * 100, encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["experiment", "cloze", "--quick", "--text", str(text), "--corpus", "ctcpc"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["experiment", "cloze", "--quick", "--corpus", "hkcancor"])
    assert "invalid choice: 'hkcancor'" in capsys.readouterr().err
