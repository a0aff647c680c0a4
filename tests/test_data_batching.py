"""pirho.data.batching: d2l's random and sequential partitioning, deterministic per epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pirho.data import SeqDataLoader, split_corpus

# With the corpus 0, 1, 2, ... every token id is its own position, so a batch shows exactly
# which windows of the corpus it holds.
N_TOKENS, BATCH, STEPS = 1000, 4, 7
POSITIONS = list(range(N_TOKENS))


def epoch_batches(loader, e):
    return list(loader.epoch(e))


@pytest.mark.parametrize("random_iter", [True, False])
def test_every_batch_target_is_input_shifted_by_one(random_iter):
    loader = SeqDataLoader(POSITIONS, BATCH, STEPS, random_iter=random_iter, seed=3)
    for e in range(3):
        batches = epoch_batches(loader, e)
        assert len(batches) == len(loader)
        for X, Y in batches:
            assert X.shape == Y.shape == (BATCH, STEPS) and X.dtype == torch.int64
            assert torch.equal(Y, X + 1)
            assert torch.equal(X[:, 1:], X[:, :-1] + 1)  # each row is a contiguous window


def test_sequential_batches_continue_each_other_like_d2l():
    loader = SeqDataLoader(POSITIONS, BATCH, STEPS, random_iter=False, seed=1)
    for e in range(4):
        batches = epoch_batches(loader, e)
        offset = int(batches[0][0][0, 0])
        assert 0 <= offset <= STEPS
        # d2l's layout: the tokens after the offset as BATCH rows, cut into STEPS-wide columns
        n_columns = (N_TOKENS - offset - 1) // BATCH
        rows = torch.arange(offset, offset + n_columns * BATCH).reshape(BATCH, n_columns)
        for i, (X, _) in enumerate(batches):
            assert torch.equal(X, rows[:, i * STEPS : (i + 1) * STEPS])
            if i:
                assert torch.equal(X[:, 0], batches[i - 1][0][:, -1] + 1)


def test_random_batches_are_disjoint_aligned_windows_covering_the_corpus():
    loader = SeqDataLoader(POSITIONS, BATCH, STEPS, random_iter=True, seed=0)
    covered = np.zeros(N_TOKENS, dtype=int)
    offsets = set()
    for e in range(30):
        starts = torch.cat([X[:, 0] for X, _ in loader.epoch(e)]).numpy()
        offset = starts.min() % STEPS
        offsets.add(int(offset))
        assert np.all(starts % STEPS == offset)  # one offset per epoch, windows aligned to it
        assert len(np.unique(starts)) == len(starts) == len(loader) * BATCH  # no overlap
        assert starts.max() + STEPS < N_TOKENS  # the target of the last token exists
        for start in starts:
            covered[start : start + STEPS] += 1
    # in one epoch nearly all of the corpus is used; over epochs every token is
    assert len(loader) * BATCH * STEPS >= N_TOKENS - (BATCH + 1) * STEPS - 1
    assert covered[STEPS : N_TOKENS - STEPS].min() > 0
    assert len(offsets) > 1


def test_random_order_is_a_shuffle_not_the_corpus_order():
    loader = SeqDataLoader(POSITIONS, BATCH, STEPS, random_iter=True, seed=0)
    first_column = torch.cat([X[:, 0] for X, _ in loader.epoch(0)])
    assert not torch.equal(first_column, first_column.sort().values)


@pytest.mark.parametrize("random_iter", [True, False])
def test_batches_are_deterministic_per_seed_and_epoch(random_iter):
    def make(seed):
        return SeqDataLoader(POSITIONS, BATCH, STEPS, random_iter=random_iter, seed=seed)

    a, b = make(5), make(5)
    for _ in a.epoch(0):  # consuming other epochs first changes nothing
        pass
    for e in (2, 0):
        xs_a = torch.stack([X for X, _ in a.epoch(e)])
        xs_b = torch.stack([X for X, _ in b.epoch(e)])
        assert torch.equal(xs_a, xs_b)
    epochs = [torch.stack([X for X, _ in a.epoch(e)]) for e in range(8)]
    assert any(not torch.equal(epochs[0], other) for other in epochs[1:])
    other_seed = [torch.stack([X for X, _ in make(6).epoch(e)]) for e in range(8)]
    assert any(not torch.equal(x, y) for x, y in zip(epochs, other_seed, strict=True))


def test_batch_count_is_the_least_over_offsets_and_constant():
    for n_tokens in (100, 101, 257, 1000):
        for random_iter in (True, False):
            loader = SeqDataLoader(list(range(n_tokens)), 3, 5, random_iter=random_iter)
            counts = {len(list(loader.epoch(e))) for e in range(10)}
            assert counts == {len(loader)}
            if random_iter:  # d2l: ((n - offset - 1) // steps) // batch, offset in [0, steps)
                d2l = [((n_tokens - o - 1) // 5) // 3 for o in range(5)]
            else:  # d2l: ((n - offset - 1) // batch) // steps, offset in [0, steps]
                d2l = [((n_tokens - o - 1) // 3) // 5 for o in range(6)]
            assert len(loader) == min(d2l) >= max(d2l) - 1


def test_tensor_and_list_corpora_give_the_same_batches():
    a = SeqDataLoader(POSITIONS, BATCH, STEPS, seed=2)
    b = SeqDataLoader(torch.arange(N_TOKENS), BATCH, STEPS, seed=2)
    for (xa, ya), (xb, yb) in zip(a.epoch(1), b.epoch(1), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_bad_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="batch_size"):
        SeqDataLoader(POSITIONS, 0, STEPS)
    with pytest.raises(TypeError, match="num_steps must be an integer, got 2.0"):
        SeqDataLoader(POSITIONS, BATCH, 2.0)
    with pytest.raises(ValueError, match="seed"):
        SeqDataLoader(POSITIONS, BATCH, STEPS, seed=-1)
    with pytest.raises(ValueError, match="too short"):
        SeqDataLoader(list(range(20)), BATCH, STEPS)
    with pytest.raises(ValueError, match="epoch"):
        SeqDataLoader(POSITIONS, BATCH, STEPS).epoch(-1)
    with pytest.raises(ValueError, match="integer"):
        SeqDataLoader([0.5] * 100, BATCH, STEPS)


def test_split_corpus_holds_out_the_contiguous_tail():
    train, heldout = split_corpus(POSITIONS, 0.1)
    assert train == POSITIONS[:900] and heldout == POSITIONS[900:]
    train, heldout = split_corpus(torch.arange(10), 0.25)
    assert (train, heldout) == (list(range(8)), [8, 9])  # round(2.5) = 2
    for bad in (0.0, 1.0, -0.1, "0.1"):
        with pytest.raises(ValueError, match="heldout_fraction"):
            split_corpus(POSITIONS, bad)
    with pytest.raises(ValueError, match="non-empty"):
        split_corpus([1, 2], 0.1)
