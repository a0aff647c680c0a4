"""Held-out perplexities (teacher-forced vs causal) and cloze accuracy, against naive references."""

import math

import pytest
import torch
import torch.nn.functional as F

from pirho.data import SeqDataLoader
from pirho.nn import RNNLM, BiLM, ClozeModel
from pirho.nn.lm_eval import (
    causal_nll,
    cloze_accuracy,
    heldout_windows,
    perplexities,
    teacher_forced_nll,
)
from pirho.nn.lm_losses import rnnlm_loss

V = 6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def corpus(n=60, seed=0):
    return torch.randint(0, V, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def naive_nll(model, tokens, num_steps, causal):
    """One window at a time, one target at a time, straight from the definition."""
    total = 0.0
    n_windows = (len(tokens) - 1) // num_steps
    with torch.no_grad():
        for w in range(n_windows):
            window = tokens[w * num_steps : (w + 1) * num_steps + 1]
            for t in range(num_steps):
                seen = window[: t + 1] if causal else window[:num_steps]
                logits = model.lm_logits(torch.tensor([seen]))[0, t]
                total -= float(F.log_softmax(logits, -1)[window[t + 1]])
    return total


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_perplexities_match_a_naive_per_window_per_prefix_reference(causal, bidirectional):
    torch.manual_seed(0)
    model = RNNLM(V, hidden_size=8, num_layers=2, bidirectional=bidirectional).eval()
    tokens = corpus(40)
    fn = causal_nll if causal else teacher_forced_nll
    nll, n = fn(model, tokens, num_steps=7, batch_size=2)  # several batches of windows
    assert n == 5 * 7
    assert nll == pytest.approx(naive_nll(model, tokens, 7, causal), rel=1e-5)


def test_unidirectional_teacher_forced_equals_causal_but_bidirectional_does_not():
    torch.manual_seed(1)
    tokens = corpus(200)
    uni = perplexities(RNNLM(V, hidden_size=8, num_layers=2), tokens, num_steps=10)
    assert uni["teacher_forced_ppl"] == pytest.approx(uni["causal_ppl"], rel=1e-6)
    bi = perplexities(RNNLM(V, hidden_size=8, num_layers=2, bidirectional=True), tokens, 10)
    assert abs(math.log(bi["teacher_forced_ppl"] / bi["causal_ppl"])) > 1e-4
    # a BiLM is scored by its forward LM, which is causal by construction
    bilm = perplexities(BiLM(V, embedding_dim=4, hidden_size=8, num_layers=2), tokens, 10)
    assert bilm["teacher_forced_ppl"] == pytest.approx(bilm["causal_ppl"], rel=1e-6)


def test_heldout_windows_drop_the_incomplete_tail_and_reject_short_text():
    inputs, targets = heldout_windows(list(range(23)), 5)
    assert inputs.shape == (4, 5) and targets[-1].tolist() == [16, 17, 18, 19, 20]
    with pytest.raises(ValueError, match="need at least num_steps"):
        heldout_windows([1, 2, 3], 5)
    with pytest.raises(ValueError, match="num_steps"):
        heldout_windows([1, 2, 3], 0)


def test_cloze_accuracy_equals_masking_one_character_at_a_time():
    torch.manual_seed(2)
    model = ClozeModel(V, embedding_dim=4, hidden_size=8, num_layers=2).eval()
    tokens = corpus(50, seed=3)
    scores = cloze_accuracy(model, tokens, window=12)
    correct = {"left": 0, "right": 0, "both": 0}
    with torch.no_grad():
        for w in range(4):
            window = torch.tensor([tokens[w * 12 : (w + 1) * 12]])
            for t in range(1, 11):
                masked = window.clone()
                masked[0, t] = 0  # whatever stands at t must not matter
                left, right, both = (x[0, t - 1] for x in model.cloze_logits(masked))
                for name, logits in zip(correct, (left, right, both), strict=True):
                    correct[name] += int(logits.argmax() == window[0, t])
    assert scores["n_masked"] == 40
    for name in correct:
        assert scores[f"{name}_acc"] == pytest.approx(correct[name] / 40)


def test_a_small_real_training_run_lowers_heldout_perplexity(time_machine):
    from pirho.data import load_time_machine

    tokens, vocab = load_time_machine(max_tokens=6_000, path=time_machine)
    train, heldout = tokens[:5_000], tokens[5_000:]
    torch.manual_seed(0)
    model = RNNLM(len(vocab), hidden_size=32, num_layers=1, vocab=vocab)
    before = perplexities(model, heldout, 35, causal=False)["teacher_forced_ppl"]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = SeqDataLoader(train, batch_size=16, num_steps=35, random_iter=True)
    for epoch in range(4):
        for batch in loader.epoch(epoch):
            loss, _, _ = rnnlm_loss(model, batch, None)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    after = perplexities(model, heldout, 35)
    assert before > 25  # ~uniform over 28 characters
    assert after["teacher_forced_ppl"] < 0.6 * before
    assert after["causal_ppl"] == pytest.approx(after["teacher_forced_ppl"], rel=1e-5)
