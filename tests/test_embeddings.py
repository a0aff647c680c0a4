"""Contextual string embeddings: which context reaches which half, by-hand states, training."""

import math

import numpy as np
import pytest
import torch

from pirho.data import Vocab
from pirho.lm.cse import QUICK, cse_loss, prepare_data, stream_batches, train_embeddings
from pirho.nn import ContextualStringEmbeddings
from pirho.nn.embeddings import sentence_text

CHARS = list("我哋今日去行山啦佢好鍾意食飯 \n")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ContextualStringEmbeddings(Vocab(CHARS), hidden_size=12, embedding_dim=6)


def test_left_context_reaches_only_the_forward_half(model):
    hidden = model.hidden_size
    a = model.embed([["我哋", "今日", "去", "行山", "啦"]])[0]
    b = model.embed([["佢", "好", "鍾意", "今日", "去", "行山", "啦"]])[0]
    for i, j in ((1, 3), (2, 4), (3, 5), (4, 6)):  # 今日 去 行山 啦 after another left context
        assert torch.equal(a[i, hidden:], b[j, hidden:])
        assert not torch.equal(a[i, :hidden], b[j, :hidden])


def test_right_context_reaches_only_the_backward_half(model):
    hidden = model.hidden_size
    a = model.embed([["我哋", "今日", "去", "行山", "啦"]])[0]
    b = model.embed([["我哋", "今日", "去", "食飯", "好", "鍾意"]])[0]
    for i in range(3):  # 我哋 今日 去, followed by another right context
        assert torch.equal(a[i, :hidden], b[i, :hidden])
        assert not torch.equal(a[i, hidden:], b[i, hidden:])


def test_halves_are_the_lms_states_at_the_word_edges_computed_by_hand(model):
    words = ["佢", "鍾意", "食飯", "啦"]
    text, firsts, lasts = sentence_text(words)
    vectors = model.embed([words, ["我哋"]])  # padded in a batch with a shorter sentence
    ids = torch.tensor(model.encode(text))
    for i, (first, last) in enumerate(zip(firsts, lasts, strict=True)):
        # forward: an LSTM read of text[0..last]; backward: of text[first..end] reversed
        lm = model.forward_lm
        out, _ = lm.rnn(lm.embedding(ids[: last + 1, None]))
        torch.testing.assert_close(vectors[0, i, : model.hidden_size], out[-1, 0])
        lm = model.backward_lm
        out, _ = lm.rnn(lm.embedding(ids[first:].flip(0)[:, None]))
        torch.testing.assert_close(vectors[0, i, model.hidden_size :], out[-1, 0])
    assert torch.equal(vectors[1, 1:], torch.zeros(3, 2 * model.hidden_size))


def test_frozen_by_default_and_fine_tune_lets_gradients_in(model):
    assert not model.embed([["我哋"]]).requires_grad
    tuned = ContextualStringEmbeddings(Vocab(CHARS), hidden_size=4, embedding_dim=2, fine_tune=True)
    vectors = tuned.embed([["我哋", "去"]])
    vectors.sum().backward()
    assert tuned.forward_lm.embedding.weight.grad.abs().sum() > 0
    assert tuned.backward_lm.rnn.weight_hh_l0.grad.abs().sum() > 0


def test_save_and_load_give_identical_vectors(model, tmp_path):
    sentences = [["我哋", "今日", "去", "行山"], ["佢", "好", "X"]]  # X is outside the vocab
    path = model.save(tmp_path / "cse.pt")
    loaded = ContextualStringEmbeddings.load(path)
    assert torch.equal(loaded.embed(sentences), model.embed(sentences))


def test_bad_input_is_named(model, tmp_path):
    with pytest.raises(ValueError, match="sentence 1"):
        model.embed([["我"], []])
    with pytest.raises(ValueError, match="whitespace"):
        model.embed([["我 哋"]])
    with pytest.raises(ValueError, match="boundary symbol"):
        ContextualStringEmbeddings(Vocab("abc"))
    torch.save({"meta": {"kind": "rnnlm"}}, tmp_path / "other.pt")
    with pytest.raises(ValueError):
        ContextualStringEmbeddings.load(tmp_path / "other.pt")


def test_stream_batches_read_the_reversed_stream_backwards():
    ids = np.arange(1, 202)
    batches, n = stream_batches(ids, batch_size=2, num_steps=10)
    xf, yf, xb, yb = next(iter(batches(0)))
    assert bool((yf == xf + 1).all()) and bool((yb == xb - 1).all())
    # the next window of each row continues it: the carried state is a continuation
    second = list(batches(0))[1]
    assert bool((second[0][:, 0] == xf[:, -1] + 1).all())
    assert bool((second[2][:, 0] == xb[:, -1] - 1).all())


def _sentences():
    rng = np.random.default_rng(0)
    words = ["我哋", "今日", "去", "行山", "啦", "佢", "好", "鍾意", "食飯"]
    # a toy language with structure: 我哋 today go X / 佢 好 鍾意 Y
    out = []
    for _ in range(600):
        if rng.random() < 0.5:
            out.append(["我哋", "今日", "去", str(rng.choice(["行山", "食飯"])), "啦"])
        else:
            out.append(["佢", "好", "鍾意", str(rng.choice(words[3:5] + words[8:]))])
    return out


TOY = dict(
    QUICK,
    hidden_size=16,
    embedding_dim=8,
    batch_size=8,
    num_steps=20,
    lr=1e-2,
    min_freq=1,
    heldout_fraction=0.05,
    max_chars=None,
)


def test_quick_pretraining_learns_both_directions(one_torch_thread):
    sentences = _sentences()
    model, report = train_embeddings(
        sentences, dict(TOY, epochs=3), progress=False, precision="fp32"
    )
    uniform = math.log2(report["vocab_size"])
    # untrained: about uniform; trained on a toy language with little entropy: far below
    assert report["forward_bpc"] < 0.5 * uniform
    assert report["backward_bpc"] < 0.5 * uniform
    assert report["steps"] > 20 and report["tokens_per_s"] > 0
    # each direction predicts its own next character: a sentence starting "我哋 今" goes on
    # with 日; one ending "哋 今日 去 行山 啦" has 我 before it
    assert model.predict_next("我哋 今", "forward", k=1)[0][0] == "日"
    assert model.predict_next("哋 今日 去 行山 啦", "backward", k=1)[0][0] == "我"


def test_resume_is_exact(one_torch_thread, tmp_path):
    sentences = _sentences()[:200]
    config = dict(TOY, epochs=2)
    straight, _ = train_embeddings(sentences, config, progress=False, precision="fp32")
    path = str(tmp_path / "cse.pt")
    train_embeddings(
        sentences, config, progress=False, precision="fp32", checkpoint=path, max_steps=7
    )
    resumed, report = train_embeddings(
        sentences, config, progress=False, precision="fp32", checkpoint=path, resume=True
    )
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert torch.equal(
        ContextualStringEmbeddings.load(path).embed([["我哋"]]), resumed.embed([["我哋"]])
    )


def test_cse_loss_is_the_mean_of_the_two_directions(model):
    data = prepare_data([["我哋", "去"]] * 30, min_freq=1)
    batches, _ = stream_batches(data.train, 2, 5)
    net = ContextualStringEmbeddings(data.vocab, hidden_size=4, embedding_dim=2, fine_tune=True)
    batch = next(iter(batches(0)))
    loss, n_tokens, state = cse_loss(net, batch, None)
    forward_logits, _ = net.forward_lm(batch[0])
    backward_logits, _ = net.backward_lm(batch[2])
    ce = torch.nn.functional.cross_entropy
    expected = 0.5 * (
        ce(forward_logits.reshape(-1, len(data.vocab)), batch[1].reshape(-1))
        + ce(backward_logits.reshape(-1, len(data.vocab)), batch[3].reshape(-1))
    )
    torch.testing.assert_close(loss, expected)
    assert n_tokens == 10 and len(state) == 2


def test_a_short_text_trains_with_fewer_rows_and_too_short_a_text_is_named(one_torch_thread):
    sentences = [["我哋", "今日", "去", "行山"]] * 20  # 18 trained on: a 199-character stream
    config = dict(TOY, batch_size=64, num_steps=20, heldout_fraction=0.1)
    _, report = train_embeddings(sentences, config, progress=False, precision="fp32")
    assert report["config"]["batch_size"] == (199 - 21) // 20 and report["steps"] == 1
    with pytest.raises(ValueError, match="too few for one window"):
        train_embeddings(sentences[:4], config, progress=False, precision="fp32")


def test_retain_freed_memory_applies_under_glibc():
    import platform

    from pirho.lm.cse import retain_freed_memory

    applied = retain_freed_memory()
    assert isinstance(applied, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied
