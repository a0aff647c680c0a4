"""Minibatches of (input, next-token target) windows from one long token sequence.

d2l's two partitionings (``seq_data_iter_random`` / ``seq_data_iter_sequential``), made
deterministic per epoch: epoch ``e`` draws its offset and shuffle from its own generator seeded
by ``(seed, e)``, so any epoch can be replayed on its own — which is what exact resume and
data-parallel ranks need.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from pirho._checks import check_int, check_positive_int


def _as_long_tensor(corpus) -> Tensor:
    if isinstance(corpus, Tensor):
        tensor = corpus.detach().to(torch.int64).reshape(-1)
    else:
        array = np.asarray(corpus)
        if array.ndim != 1:
            raise ValueError(f"corpus must be 1-D token ids, got shape {array.shape}")
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"corpus must hold integer token ids, got dtype {array.dtype}")
        tensor = torch.as_tensor(array.astype(np.int64, copy=False))
    return tensor


def split_corpus(corpus: Sequence[int], heldout_fraction: float = 0.1) -> tuple[list, list]:
    """Split off the last ``heldout_fraction`` of a corpus, contiguously, for evaluation.

    Returns ``(train, heldout)`` as lists; ``len(heldout) = round(len(corpus) * fraction)``,
    and both parts are non-empty.

    >>> split_corpus(list(range(10)), 0.2)
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if not isinstance(heldout_fraction, (int, float)) or not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction!r}")
    tokens = corpus.tolist() if hasattr(corpus, "tolist") else list(corpus)
    n_heldout = round(len(tokens) * heldout_fraction)
    if n_heldout < 1 or n_heldout >= len(tokens):
        raise ValueError(
            f"cannot hold out {heldout_fraction} of {len(tokens)} tokens and keep both parts "
            "non-empty"
        )
    return tokens[:-n_heldout], tokens[-n_heldout:]


class EpochBatches(Iterator):
    """One epoch's batches: an iterator with a length (for progress bars and sharding)."""

    def __init__(self, batches: Iterator, length: int) -> None:
        self._batches = batches
        self._length = length

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return self._length


class SeqDataLoader:
    """Windows of ``num_steps`` tokens and their one-step-shifted targets, d2l style.

    ``random_iter=True`` (d2l's random sampling): each epoch drops a random offset in
    ``[0, num_steps)``, cuts the rest into non-overlapping windows and deals them out in a random
    order; neighbouring batches are unrelated. ``random_iter=False`` (sequential): each epoch
    drops an offset in ``[0, num_steps]``, lays the rest out as ``batch_size`` parallel rows,
    and batch ``i`` is columns ``[i·num_steps, (i+1)·num_steps)`` — row ``b`` of batch ``i+1``
    continues row ``b`` of batch ``i``, so a hidden state may be carried across batches.

    Every epoch yields exactly ``len(loader)`` batches: the count for the least favourable
    offset (d2l's count varies by at most one batch with the offset).

    ``loader.epoch(e)`` yields ``(X, Y)``, both ``(batch_size, num_steps)`` int64, with
    ``Y[:, t] = X[:, t+1]`` in the corpus; the same ``(seed, e)`` always gives the same batches.

    >>> loader = SeqDataLoader(list(range(40)), batch_size=2, num_steps=5, random_iter=False)
    >>> len(loader)
    3
    >>> X, Y = next(iter(loader.epoch(0)))
    >>> X.shape, bool((Y == X + 1).all())
    (torch.Size([2, 5]), True)
    """

    def __init__(
        self,
        corpus: Sequence[int] | Tensor,
        batch_size: int,
        num_steps: int,
        random_iter: bool = True,
        seed: int = 0,
    ) -> None:
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.num_steps = check_positive_int("num_steps", num_steps)
        self.seed = check_int("seed", seed, minimum=0)
        self.random_iter = bool(random_iter)
        self.corpus = _as_long_tensor(corpus)
        self._num_batches = self._count_batches(len(self.corpus))
        if self._num_batches < 1:
            mode = "random" if self.random_iter else "sequential"
            raise ValueError(
                f"corpus of {len(self.corpus)} tokens is too short for one {mode} batch of "
                f"batch_size={batch_size} x num_steps={num_steps}"
            )

    def _count_batches(self, n_tokens: int) -> int:
        batch_size, num_steps = self.batch_size, self.num_steps
        if self.random_iter:  # worst offset num_steps - 1; one token kept back for the target
            n_windows = max(n_tokens - num_steps, 0) // num_steps
            return n_windows // batch_size
        n_columns = max(n_tokens - num_steps - 1, 0) // batch_size  # worst offset num_steps
        return n_columns // num_steps

    def __len__(self) -> int:
        return self._num_batches

    @property
    def tokens_per_batch(self) -> int:
        """``batch_size * num_steps``."""
        return self.batch_size * self.num_steps

    def generator(self, epoch: int) -> np.random.Generator:
        """The generator that draws epoch ``epoch``'s offset and order, seeded by (seed, epoch)."""
        return np.random.default_rng([self.seed, check_int("epoch", epoch, minimum=0)])

    def epoch(self, e: int) -> EpochBatches:
        """The batches ``(X, Y)`` of epoch ``e``, each ``(batch_size, num_steps)`` int64.

        An iterator that also has ``len()`` (the batches it yields in all).
        """
        rng = self.generator(e)  # validates e before the generator starts
        if self.random_iter:
            return EpochBatches(self._random_batches(rng), self._num_batches)
        return EpochBatches(self._sequential_batches(rng), self._num_batches)

    def _random_batches(self, rng: np.random.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        num_steps, batch_size = self.num_steps, self.batch_size
        offset = int(rng.integers(0, num_steps))
        n_windows = (len(self.corpus) - offset - 1) // num_steps
        order = rng.permutation(n_windows)
        starts = torch.as_tensor(offset + num_steps * order, dtype=torch.int64)
        columns = torch.arange(num_steps)
        for i in range(self._num_batches):
            index = starts[i * batch_size : (i + 1) * batch_size, None] + columns
            yield self.corpus[index], self.corpus[index + 1]

    def _sequential_batches(self, rng: np.random.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        num_steps, batch_size = self.num_steps, self.batch_size
        offset = int(rng.integers(0, num_steps + 1))
        n_columns = (len(self.corpus) - offset - 1) // batch_size
        n_used = n_columns * batch_size
        inputs = self.corpus[offset : offset + n_used].reshape(batch_size, n_columns)
        targets = self.corpus[offset + 1 : offset + 1 + n_used].reshape(batch_size, n_columns)
        for i in range(self._num_batches):
            window = slice(i * num_steps, (i + 1) * num_steps)
            yield inputs[:, window].contiguous(), targets[:, window].contiguous()

    def __repr__(self) -> str:
        return (
            f"SeqDataLoader(tokens={len(self.corpus)}, batch_size={self.batch_size}, "
            f"num_steps={self.num_steps}, random_iter={self.random_iter}, seed={self.seed}, "
            f"batches={len(self)})"
        )
