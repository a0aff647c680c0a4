"""docs/conventions.md held to its word: every ``save`` writes atomically and returns the path;
the log-space kernels share one argument order (``fixed_lag_posterior``'s old order still
works, with a DeprecationWarning)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pirho.checkpoint import save_checkpoint
from pirho.data import Vocab
from pirho.data.corpora import TaggedSentence, TaggingVocab
from pirho.hmm import casino
from pirho.hmm import kernels as K
from pirho.hmm.fitting import FAMILIES
from pirho.hmm.io import TokenHMM
from pirho.hmm.semi_markov import SemiMarkovHMM
from pirho.nn import ContextualStringEmbeddings
from pirho.tagging import TrainedTagger

START, TRANS = [0.6, 0.4], [[0.7, 0.3], [0.2, 0.8]]
EMISSIONS = {
    "categorical": {"emit": [[0.5, 0.5], [0.1, 0.9]]},
    "gaussian": {"means": [[0.0], [3.0]], "covars": [[1.0], [2.0]], "covariance_type": "diag"},
    "gmm": {
        "weights": [[0.5, 0.5], [0.3, 0.7]],
        "means": [[[0.0], [1.0]], [[3.0], [4.0]]],
        "covars": [[[1.0], [1.0]], [[2.0], [2.0]]],
        "covariance_type": "diag",
    },
    "poisson": {"rates": [[1.0], [5.0]]},
    "bernoulli": {"probs": [[0.2, 0.9], [0.7, 0.1]]},
    "multinomial": {"probs": [[0.5, 0.5], [0.1, 0.9]], "n_trials": 3},
}


def _hmm(family):
    return FAMILIES[family].from_dict({"start": START, "trans": TRANS, **EMISSIONS[family]})


def _mft_tagger():
    train = [TaggedSentence(("佢", "去", "去"), ("r", "v", "v"))]
    vocab = TaggingVocab.build(train, tags=["r", "v"])
    return TrainedTagger("mft", vocab, table=np.zeros(len(vocab.words), dtype=np.int64))


def _embeddings():
    torch.manual_seed(0)
    return ContextualStringEmbeddings(Vocab(list("我哋去 \n")), hidden_size=4, embedding_dim=2)


# (name, make the object, save it to a path, read the file back into something comparable)
SAVERS = {
    **{
        f"{family}_hmm": (
            lambda family=family: _hmm(family),
            lambda m, p: m.save(p),
            lambda m, p: type(m).load(p).to_dict() == m.to_dict(),
        )
        for family in FAMILIES
    },
    "semi_markov": (
        lambda: SemiMarkovHMM.from_hmm(casino(), 12),
        lambda m, p: m.save(p),
        lambda m, p: SemiMarkovHMM.load(p).to_dict() == m.to_dict(),
    ),
    "token_hmm": (
        lambda: TokenHMM(casino(), ["1", "2", "3", "4", "5", "6"]),
        lambda m, p: m.save(p),
        lambda m, p: TokenHMM.load(p).tokens == m.tokens,
    ),
    "checkpoint": (
        lambda: {"model_state": {"w": torch.arange(3.0)}, "meta": {"kind": "demo"}},
        lambda m, p: save_checkpoint(p, m),
        lambda m, p: torch.equal(
            torch.load(p, weights_only=True)["model_state"]["w"], m["model_state"]["w"]
        ),
    ),
    "tagger": (
        _mft_tagger,
        lambda m, p: m.save(p),
        lambda m, p: TrainedTagger.load(p).table.tolist() == m.table.tolist(),
    ),
    "embeddings": (
        _embeddings,
        lambda m, p: m.save(p),
        lambda m, p: torch.equal(
            ContextualStringEmbeddings.load(p).forward_lm.embedding.weight,
            m.forward_lm.embedding.weight,
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SAVERS))
def test_save_returns_the_path_and_leaves_no_temporary_file(name, tmp_path):
    make, save, same = SAVERS[name]
    obj = make()
    target = tmp_path / "sub" / "model.out"
    target.parent.mkdir()
    returned = save(obj, target)
    assert isinstance(returned, Path) and returned == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.out"]
    assert same(obj, target)
    # a second save replaces the file in place, still nothing else beside it
    assert save(obj, str(target)) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.out"]


@pytest.mark.parametrize("name", ["categorical_hmm", "gaussian_hmm", "semi_markov", "token_hmm"])
def test_a_save_that_fails_midway_keeps_the_old_file(name, tmp_path, monkeypatch):
    make, save, _ = SAVERS[name]
    obj = make()
    target = tmp_path / "model.json"
    target.write_text("old contents\n", encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # to_dict runs inside the atomic write: a failure there must leave the old file alone
    monkeypatch.setattr(json, "dump", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save(obj, target)
    assert target.read_text(encoding="utf-8") == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def _kernel_args(n_steps=7, seed=0):
    rng = np.random.default_rng(seed)
    m = _hmm("categorical")
    x = rng.integers(0, 2, n_steps)
    log_lik = np.log(np.asarray(EMISSIONS["categorical"]["emit"]))[:, x].T
    return np.log(m.start), np.log(m.trans), np.ascontiguousarray(log_lik)


def test_fixed_lag_posterior_takes_offsets_fourth_like_every_kernel():
    ls, lt, ll = _kernel_args(9)
    offsets = np.array([0, 4, 9])
    new = K.fixed_lag_posterior(ls, lt, ll, offsets, lag=2)
    keyword = K.fixed_lag_posterior(ls, lt, ll, offsets=offsets, lag=2)
    by_sequence = np.concatenate(
        [K.fixed_lag_posterior(ls, lt, ll[a:b], lag=2) for a, b in [(0, 4), (4, 9)]]
    )
    np.testing.assert_array_equal(new, keyword)
    np.testing.assert_allclose(new, by_sequence, rtol=1e-12, atol=1e-15)
    # the same place as in posterior: lag ≥ T − 1 is the smoothing posterior
    np.testing.assert_allclose(
        K.fixed_lag_posterior(ls, lt, ll, offsets, lag=8), K.posterior(ls, lt, ll, offsets),
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip


def test_fixed_lag_posterior_old_positional_order_still_works_with_a_warning():
    ls, lt, ll = _kernel_args(9)
    offsets = np.array([0, 4, 9])
    expected = K.fixed_lag_posterior(ls, lt, ll, offsets, lag=2)
    with pytest.warns(DeprecationWarning, match="lag=… by keyword"):
        old = K.fixed_lag_posterior(ls, lt, ll, 2, offsets)
    np.testing.assert_array_equal(old, expected)
    with pytest.warns(DeprecationWarning):
        old_single = K.fixed_lag_posterior(ls, lt, ll, np.int64(2))
    np.testing.assert_array_equal(old_single, K.fixed_lag_posterior(ls, lt, ll, lag=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling warns about nothing
        K.fixed_lag_posterior(ls, lt, ll, lag=2)


def test_fixed_lag_posterior_rejects_a_missing_or_doubled_lag():
    ls, lt, ll = _kernel_args()
    with pytest.raises(TypeError, match="'lag'"):
        K.fixed_lag_posterior(ls, lt, ll)
    with pytest.raises(TypeError, match="two lags"):
        K.fixed_lag_posterior(ls, lt, ll, 2, lag=3)
    with pytest.raises(ValueError, match="lag"):
        K.fixed_lag_posterior(ls, lt, ll, lag=-1)


def test_backward_checks_log_start_but_does_not_use_its_values():
    ls, lt, ll = _kernel_args()
    np.testing.assert_array_equal(K.backward(ls, lt, ll), K.backward(np.log([0.01, 0.99]), lt, ll))
    with pytest.raises(ValueError):
        K.backward(np.log([0.2, 0.3, 0.5]), lt, ll)  # three states against a 2 × 2 trans


def test_pirho_counts_states_as_n_states():
    for family in FAMILIES:
        assert _hmm(family).n_states == 2
    assert SemiMarkovHMM.from_hmm(casino(), 12).n_states == 2


def test_pirho_hmm_fit_writes_its_estimator_json_atomically(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import pirho.cli.hmm_fit as hmm_fit
    from pirho.cli import main

    counts = np.random.default_rng(0).poisson(np.repeat([1.0, 8.0, 1.0], 30))
    data = tmp_path / "data" / "counts.npy"
    data.parent.mkdir()
    np.save(data, counts)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "m.json"
    out.write_text("old contents\n", encoding="utf-8")
    argv = ["hmm", "fit", "--emission", "poisson", "--states", "2", "--iter", "5", "--seed", "1",
            str(data), "-o", str(out), "--overwrite"]  # fmt: skip

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hmm_fit, "json", SimpleNamespace(dumps=broken, loads=json.loads))
    with pytest.raises(RuntimeError, match="disk full"):
        main(argv)
    assert out.read_text(encoding="utf-8") == "old contents\n"
    assert [p.name for p in out_dir.iterdir()] == ["m.json"]
    monkeypatch.undo()
    assert main(argv) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["training"]["emission"] == "poisson"
    assert [p.name for p in out_dir.iterdir()] == ["m.json"]
