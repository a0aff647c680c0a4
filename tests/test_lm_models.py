"""RNNLM, BiLM and ClozeModel: leaks (and their absence), equivalence with torch, meta, text."""

import pytest
import torch
from torch import nn

from pirho.data import Vocab
from pirho.data.text import normalize_text
from pirho.nn import RNNLM, BiLM, ClozeModel
from pirho.nn.models import load_model
from pirho.train import CheckpointError, save_checkpoint

V = 7


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def perturbed(tokens: torch.Tensor, t: int) -> torch.Tensor:
    changed = tokens.clone()
    changed[:, t] = (changed[:, t] + 1) % V
    return changed


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_bilm_forward_lm_before_t_and_backward_lm_after_t_ignore_x_t(cell):
    torch.manual_seed(0)
    model = BiLM(V, embedding_dim=5, hidden_size=6, num_layers=3, cell=cell)
    tokens = torch.randint(0, V, (3, 12))
    t = 5
    fwd, bwd = model(tokens)
    fwd2, bwd2 = model(perturbed(tokens, t))
    assert torch.equal(fwd[:, :t], fwd2[:, :t])  # forward LM up to t-1 never read x_t
    assert torch.equal(bwd[:, t + 1 :], bwd2[:, t + 1 :])  # backward LM after t never read x_t
    # ...while both do read it from t on (the test would catch a model that reads nothing)
    assert (fwd[:, t] - fwd2[:, t]).abs().max() > 1e-4
    assert (bwd[:, t] - bwd2[:, t]).abs().max() > 1e-4


def test_bidirectional_rnnlm_output_before_t_reads_x_t_the_leak():
    torch.manual_seed(0)
    model = RNNLM(V, hidden_size=6, num_layers=2, bidirectional=True)
    tokens = torch.randint(0, V, (2, 10))
    t = 6
    before = model(tokens)[0][:, t - 1]  # scores x_t ...
    after = model(perturbed(tokens, t))[0][:, t - 1]  # ... and changes when x_t does
    assert (before - after).abs().max() > 1e-4
    uni = RNNLM(V, hidden_size=6, num_layers=2)
    assert torch.equal(uni(tokens)[0][:, :t], uni(perturbed(tokens, t))[0][:, :t])


def test_cloze_predictions_of_x_t_do_not_read_x_t():
    torch.manual_seed(1)
    model = ClozeModel(V, embedding_dim=4, hidden_size=6, num_layers=2)
    tokens = torch.randint(0, V, (2, 9))
    t = 4  # cloze outputs are indexed t - 1
    pairs = zip(model.cloze_logits(tokens), model.cloze_logits(perturbed(tokens, t)), strict=True)
    for a, b in pairs:
        assert torch.equal(a[:, t - 1], b[:, t - 1])


def test_bidirectional_rnnlm_is_d2l_torch_bilstm():
    torch.manual_seed(2)
    model = RNNLM(V, hidden_size=5, num_layers=2, bidirectional=True)
    lstm = nn.LSTM(V, 5, 2, bidirectional=True)
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            param.copy_(getattr(model.rnn, name))
    tokens = torch.randint(0, V, (3, 8))
    one_hot = nn.functional.one_hot(tokens.t(), V).float()
    expected = model.output(lstm(one_hot)[0]).transpose(0, 1)
    torch.testing.assert_close(model(tokens)[0], expected, rtol=1e-5, atol=1e-6)


def test_bilm_embed_layers_match_torch_lstms_run_each_way():
    torch.manual_seed(3)
    model = BiLM(V, embedding_dim=4, hidden_size=5, num_layers=2)
    tokens = torch.randint(0, V, (2, 7))
    layers = model.embed(tokens)
    assert [tuple(r.shape) for r in layers] == [(2, 7, 8), (2, 7, 10), (2, 7, 10)]
    emb = model.embedding(tokens.t())
    torch.testing.assert_close(layers[0], torch.cat([emb, emb], -1).transpose(0, 1))
    # reference: two plain torch LSTMs per layer, the backward one on time-reversed input
    x_f = x_b = emb
    for depth in (1, 2):
        k = depth - 1
        fwd, bwd = nn.LSTM(x_f.shape[-1], 5), nn.LSTM(x_b.shape[-1], 5)
        with torch.no_grad():
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(fwd, f"{kind}_l0").copy_(getattr(model.rnn, f"{kind}_l{k}"))
                getattr(bwd, f"{kind}_l0").copy_(getattr(model.rnn, f"{kind}_l{k}_reverse"))
        x_f = fwd(x_f)[0]
        x_b = bwd(x_b.flip(0))[0].flip(0)
        expected = torch.cat([x_f, x_b], -1).transpose(0, 1)
        torch.testing.assert_close(layers[depth], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [RNNLM, BiLM, ClozeModel])
def test_checkpoint_round_trip_rebuilds_the_same_model(cls, tmp_path):
    torch.manual_seed(4)
    vocab = Vocab("abcdef")
    model = cls(len(vocab), hidden_size=6, num_layers=2, vocab=vocab, text_mode="raw")
    path = save_checkpoint(
        tmp_path / "m.pt",
        {"model_state": model.state_dict(), "meta": model.meta, "format_version": 1},
    )
    again = cls.from_checkpoint(path)
    assert again.meta == model.meta and again.vocab == vocab and again.text_mode == "raw"
    tokens = torch.randint(0, len(vocab), (2, 6))
    torch.testing.assert_close(again.lm_logits(tokens), model.eval().lm_logits(tokens))
    assert type(load_model(path)) is cls


def test_checkpoint_of_another_model_kind_is_a_clear_error(tmp_path):
    model = BiLM(V, hidden_size=4, num_layers=1, vocab=Vocab("abcdef"))
    path = save_checkpoint(
        tmp_path / "bilm.pt",
        {"model_state": model.state_dict(), "meta": model.meta, "format_version": 1},
    )
    with pytest.raises(CheckpointError, match="'bilm'.*'rnnlm'"):
        RNNLM.from_checkpoint(path)
    with pytest.raises(CheckpointError, match="holds a 'bilm' model, expected 'cloze'"):
        load_model(path, expected_kind="cloze")
    with pytest.raises(ValueError, match="describes a 'bilm' model"):
        ClozeModel.from_meta(model.meta)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_greedy_generation_is_argmax_of_the_model_on_the_text_so_far(bidirectional):
    torch.manual_seed(5)
    vocab = Vocab("abcd ")
    model = RNNLM(
        len(vocab),
        hidden_size=8,
        num_layers=2,
        bidirectional=bidirectional,
        vocab=vocab,
        text_mode="raw",
    )
    text = model.generate("ab", 12)
    # reference: re-read the whole text at every step, argmax over all but <unk>
    ids = vocab[list("ab")]
    for _ in range(12):
        logits = model.lm_logits(torch.tensor([ids]))[0, -1].detach()
        logits[vocab.unk] = -float("inf")
        ids.append(int(logits.argmax()))
    assert text == "".join(vocab.to_tokens(ids))
    assert model.generate("ab", 12) == text


def test_temperature_sampling_is_seeded():
    torch.manual_seed(6)
    vocab = Vocab("abcdefgh ")
    model = RNNLM(len(vocab), hidden_size=8, num_layers=1, vocab=vocab, text_mode="raw")
    first = model.generate("ab", 40, temperature=2.0, seed=1)
    assert model.generate("ab", 40, temperature=2.0, seed=1) == first
    assert model.generate("ab", 40, temperature=2.0, seed=2) != first
    assert "<unk>" not in first and len(first) == 42


def test_prefix_with_unknown_characters_warns_and_maps_to_unk_or_is_rejected():
    vocab = Vocab("abc ")
    model = RNNLM(len(vocab), hidden_size=4, num_layers=1, vocab=vocab, text_mode="raw")
    with pytest.warns(UserWarning, match="'z'"):
        text = model.generate("az", 3)
    assert text.startswith("a<unk>")
    with pytest.raises(ValueError, match="'z'"):
        model.generate("az", 3, unknown="error")
    with pytest.raises(ValueError, match="empty"):
        model.generate("", 3)


def test_d2l_text_mode_normalises_prefixes_like_the_training_text():
    assert normalize_text("The Time-Traveller!") == "the time traveller "
    assert normalize_text("I ", "d2l") == "i "
    assert normalize_text("  a\n\nB ", "raw") == " a B "
    assert normalize_text("  a\n\nB ", "raw-lower") == " a b "


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="cell='xyz'"):
        RNNLM(V, cell="xyz")
    with pytest.raises(ValueError, match="hidden_size"):
        BiLM(V, hidden_size=0)
    with pytest.raises(ValueError, match="vocab has 5 tokens but vocab_size=7"):
        RNNLM(V, vocab=Vocab("abcd"))
    with pytest.raises(ValueError, match="shape"):
        RNNLM(V, hidden_size=4)(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="token index 9 is outside the vocabulary"):
        BiLM(V, hidden_size=4)(torch.tensor([[1, 9]]))
    lm = RNNLM(4, hidden_size=4, num_layers=1, vocab=Vocab("ab "), text_mode="raw")
    with pytest.raises(ValueError, match="temperature must be a finite number, got nan"):
        lm.generate("ab", 3, temperature=float("nan"))
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        lm.generate("ab", 3, temperature=1.0, seed=-1)
    with pytest.raises(ValueError, match="n_chars must be >= 0, got -1"):
        lm.generate("ab", -1)
    cloze = ClozeModel(4, embedding_dim=4, hidden_size=4, num_layers=1, vocab=Vocab("ab "))
    with pytest.raises(ValueError, match="beam_size must be >= 1, got 0"):
        cloze.fill("a__b", beam_size=0)


def test_heldout_beyond_a_tenth_of_the_text_is_refused_not_clamped(tmp_path):
    from pirho.lm import load_lm_text

    path = tmp_path / "t.txt"
    path.write_text("abc " * 100, encoding="utf-8")  # 399 characters once stripped
    assert len(load_lm_text(str(path), None, 39).heldout) == 39
    with pytest.raises(
        ValueError,
        match=r"heldout_tokens=40 is more than a tenth of .*t.txt "
        r"\(399 characters\): at most 39",
    ):
        load_lm_text(str(path), None, 40)
